"""``prom keys``: signing keys and the trust store of public keys.

A lab makes a key pair once (``prom keys new``), signs its bundles with the private key
(``prom fit --sign-key``, or ``PROM_SIGNING_KEY``; ``prom keys sign`` for an existing
bundle), and everyone who uses the bundles trusts the public key (``prom keys trust``).
Revoking a key is removing it from the store (``prom keys revoke``); rotating is trusting
the new key, re-signing, then revoking the old one. See :mod:`prom.bundle.trust` for the
store's location.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from prom.cli.common import TrustStoreOpt, console, fail

__all__ = ["app"]

app = typer.Typer(
    name="keys",
    help="Signing keys and the trust store: make a key pair, trust, list and revoke public "
    "keys, sign a bundle, check who signed one.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

NameOpt = Annotated[
    str | None,
    typer.Option(
        "--name",
        help="The key's name (letters, digits, '.', '_', '-'; default: the file's name)",
        show_default=False,
    ),
]


def _store(path: Path | None):
    from prom.bundle import BundleError, TrustStore

    try:
        return TrustStore(path)
    except BundleError as e:
        fail(str(e))


@app.command()
def new(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the two key files")],
    name: Annotated[
        str, typer.Option("--name", help="The key's name: its files are NAME.pem, NAME.pub.pem")
    ] = "signing-key",
) -> None:
    """Make an Ed25519 key pair: OUT/NAME.pem (private, file mode 0600) and OUT/NAME.pub.pem.

    Keep the private key to yourself (it signs bundles in your name); hand the public key
    to whoever uses your bundles (prom keys trust NAME.pub.pem). Existing files are never
    replaced.

    Example: prom keys new --out ~/.config/prom --name lab-2026
    """
    from prom.bundle import BundleError, SigningKey, write_key_pair

    try:
        key = SigningKey.generate(name)
        private, public = write_key_pair(key, out)
    except BundleError as e:
        fail(str(e))
    console.print(f"key {key.public.key_id} ({key.name})", highlight=False)
    console.print(f"private key: {private} (mode 0600; keep it secret)", highlight=False)
    console.print(f"public key:  {public} (hand this one out)", highlight=False)
    console.print(
        f"next: prom keys trust {public}; sign with prom fit --sign-key {private} "
        f"(or export PROM_SIGNING_KEY={private})",
        highlight=False,
    )


@app.command()
def trust(
    public_key: Annotated[Path, typer.Argument(help="Public key file (PEM), e.g. NAME.pub.pem")],
    name: NameOpt = None,
    trust_store: TrustStoreOpt = None,
) -> None:
    """Trust a public key: bundles it signs load without --allow-unsigned.

    Example: prom keys trust alice.pub.pem --name alice
    """
    from prom.bundle import BundleError, read_public_key

    store = _store(trust_store)
    try:
        key = read_public_key(public_key, name)
        path = store.add(key)
    except BundleError as e:
        fail(str(e))
    console.print(f"trusted key {key.key_id} ({key.name}): {path}", highlight=False)


@app.command("list")
def list_keys(trust_store: TrustStoreOpt = None) -> None:
    """List the trusted keys (and the package's demonstration pin)."""
    from prom.bundle import BundleError, demo_pin, read_public_key

    store = _store(trust_store)
    try:
        keys = [(read_public_key(path), path) for path in store.files()]
        pin = demo_pin()
    except BundleError as e:
        fail(str(e))
    console.print(f"trust store: {store.path}", highlight=False)
    if keys:
        t = Table(show_lines=False)
        for c in ("name", "key id", "file"):
            t.add_column(c, overflow="fold")
        for k, path in keys:
            t.add_row(k.name, k.key_id, path.name)
        console.print(t)
    else:
        console.print("no trusted keys (prom keys trust PUBLIC_KEY.pem adds one)")
    if pin is not None:
        console.print(
            f"demonstration key {pin.key.key_id} ({pin.key.name}): trusted by the package "
            f"for its embedded demonstration bundle {pin.bundle_id[:12]} only",
            highlight=False,
        )


@app.command()
def revoke(
    key: Annotated[str, typer.Argument(help="The key's name, or its id (8+ leading hex digits)")],
    trust_store: TrustStoreOpt = None,
) -> None:
    """Stop trusting a key: remove it from the trust store.

    Bundles it signed are refused from then on (unless re-signed by a trusted key).
    Example: prom keys revoke alice
    """
    from prom.bundle import BundleError

    store = _store(trust_store)
    try:
        removed = store.remove(key)
    except BundleError as e:
        fail(str(e))
    console.print(
        f"revoked key {removed.key_id} ({removed.name}) from {store.path}", highlight=False
    )


@app.command()
def sign(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory")],
    key: Annotated[
        Path | None,
        typer.Option(
            "--key",
            "--sign-key",
            envvar="PROM_SIGNING_KEY",
            help="Private key (PEM, from `prom keys new`)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Sign an existing bundle (re-signing replaces its signature).

    The bundle's manifest and every file's hash are checked first: only an intact bundle is
    signed. Signing says you vouch for its contents. The key is --key or PROM_SIGNING_KEY.

    Example: prom keys sign bundles/odi --key ~/.config/prom/lab-2026.pem
    """
    from prom.bundle import BundleError, sign_bundle

    if key is None:
        fail("give the private key: --key NAME.pem (or set PROM_SIGNING_KEY)")
    try:
        signature, replaced = sign_bundle(bundle, key)
    except BundleError as e:
        fail(str(e))
    console.print(
        f"signed {bundle} with key {signature.key.key_id} ({signature.key.name}); replaced "
        f"{replaced}",
        highlight=False,
    )


@app.command()
def verify(
    bundle: Annotated[Path, typer.Argument(help="Bundle directory")],
    trust_store: TrustStoreOpt = None,
) -> None:
    """Say who signed a bundle and whether that key is trusted; check every file's hash.

    Exit code 0: signed by a trusted key (or the package's demonstration bundle); 1: unsigned
    or signed by an untrusted key (the message says how to trust it); 2: refused — a
    signature that does not verify, a malformed signature file, a changed file.
    """
    from prom.bundle import BundleError, UntrustedBundleError, check_bundle

    try:
        manifest, trust = check_bundle(bundle, trust_store=trust_store)
    except UntrustedBundleError as e:
        try:  # the rest of the checks still run: is the bundle intact?
            check_bundle(bundle, trust_store=trust_store, allow_unsigned=True)
        except BundleError as e2:
            fail(str(e2))
        fail(str(e), code=1)
    except BundleError as e:
        fail(str(e))
    console.print(
        f"{bundle} (bundle {manifest.bundle_id[:12]}): {trust.describe()}; every file "
        "matches the manifest",
        highlight=False,
    )
