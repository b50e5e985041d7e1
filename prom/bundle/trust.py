"""Whose signature a bundle may carry: the trust store, the demonstration pin, the opt-out.

**The trust store** is a directory of public-key files, one per trusted key
(``NAME.pub.pem``; the key's name is its file name). Its location, first found wins:

1. the path given (``--trust-store PATH``; ``trust_store=`` in Python);
2. the environment variable ``PROM_TRUST_STORE``;
3. ``$XDG_CONFIG_HOME/prom/trusted-keys`` (when ``XDG_CONFIG_HOME`` is an absolute path);
4. ``~/.config/prom/trusted-keys``.

A missing directory is an empty store. Trusting a key is adding its file
(``prom keys trust``); revoking it is removing the file (``prom keys revoke``); rotating a
key is trusting the new one and, once bundles are re-signed, revoking the old one.

**The demonstration pin.** The package's embedded demonstration bundle is signed by a
demonstration key whose private half is published with the source (so that anyone can
rebuild the bundle). The package pins that public key *together with the demonstration
bundle's* ``bundle_id`` (``prom/data/demo_bundle_signer.json``) and trusts the key for a
manifest with that id only: any other bundle signed with it is untrusted, and a trust store
entry for it is ignored (the store refuses to add it).

**The decision** (:func:`decide_trust`) comes after the signature has been checked
cryptographically (a signature that does not verify is refused earlier, always): a bundle
signed by a trusted key, or the pinned demonstration bundle, is trusted; an unsigned bundle
or one signed by any other key is refused — with how to trust it — unless the caller opts
out (``allow_unsigned=True``, ``--allow-unsigned``), and then :class:`Trust` records that it
was used unverified.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from prom.bundle.manifest import BundleError
from prom.bundle.signing import (
    KeyFileError,
    PublicKey,
    Signature,
    check_key_name,
    read_public_key,
    replace_file,
)

__all__ = [
    "TRUST_STORE_ENV",
    "SIGNING_KEY_ENV",
    "DEMO_PIN_PATH",
    "UntrustedBundleError",
    "Trust",
    "TrustStore",
    "DemoPin",
    "default_trust_store",
    "resolve_trust_store",
    "demo_pin",
    "write_demo_pin",
    "decide_trust",
]

TRUST_STORE_ENV = "PROM_TRUST_STORE"
#: The signing key ``prom fit`` and ``prom keys sign`` use when not given one.
SIGNING_KEY_ENV = "PROM_SIGNING_KEY"
DEMO_PIN_PATH = Path(__file__).resolve().parents[1] / "data" / "demo_bundle_signer.json"
_PIN_FORMAT = "prom-demo-bundle-signer"
_OPT_OUT = "or pass --allow-unsigned (allow_unsigned=True in Python) to use it unverified"


class UntrustedBundleError(BundleError):
    """A bundle is unsigned or signed by a key that is not trusted (the opt-out accepts it)."""


@dataclass(frozen=True)
class Trust:
    """How a loaded bundle's origin was established.

    ``status``: ``"trusted"`` (signed by a key in the trust store), ``"demonstration"``
    (the package's pinned demonstration bundle) or ``"unverified"`` (used with the opt-out:
    unsigned, or signed by a key that is not trusted — ``reason`` says which).
    """

    status: Literal["trusted", "demonstration", "unverified"]
    key_id: str | None = None
    key_name: str | None = None
    trust_store: str | None = None
    reason: str = ""

    @property
    def verified(self) -> bool:
        return self.status != "unverified"

    def describe(self) -> str:
        """One line for a terminal, a summary or a report."""
        key = f"{(self.key_id or '')[:16]}… ({self.key_name})"
        if self.status == "trusted":
            return f"signed by key {key}, trusted (trust store {self.trust_store})"
        if self.status == "demonstration":
            return (
                f"signed by the demonstration key {key}, which the package trusts for its "
                "embedded demonstration bundle only"
            )
        return f"unverified: opted out (--allow-unsigned); {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "key_id": self.key_id,
            "key_name": self.key_name,
            "trust_store": self.trust_store,
            "reason": self.reason or None,
            "description": self.describe(),
        }


def default_trust_store() -> Path:
    """``$PROM_TRUST_STORE``, else ``$XDG_CONFIG_HOME/prom/trusted-keys``, else
    ``~/.config/prom/trusted-keys``."""
    env = os.environ.get(TRUST_STORE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG spec ignores a relative value
        return Path(xdg) / "prom" / "trusted-keys"
    try:
        home = Path.home()
    except RuntimeError:
        raise KeyFileError(
            "no trust store: HOME is not set; set PROM_TRUST_STORE or pass --trust-store"
        ) from None
    return home / ".config" / "prom" / "trusted-keys"


def resolve_trust_store(path: str | os.PathLike[str] | None) -> Path:
    """``path``, or the configured default (:func:`default_trust_store`)."""
    return default_trust_store() if path is None else Path(path).expanduser()


class TrustStore:
    """A directory of trusted public keys, one ``NAME.pub.pem`` file per key."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = resolve_trust_store(path)

    def __repr__(self) -> str:
        return f"TrustStore({str(self.path)!r})"

    def files(self) -> list[Path]:
        """The store's key files; a missing directory is an empty store."""
        if not self.path.exists():
            return []
        if not self.path.is_dir():
            raise KeyFileError(f"trust store {self.path} is not a directory")
        try:
            entries = sorted(self.path.iterdir())
        except OSError as e:
            raise KeyFileError(f"cannot read trust store {self.path} ({e.strerror})") from None
        out = []
        for p in entries:
            if p.name.startswith("."):  # editors' and our own temporary files
                continue
            if not p.name.endswith(".pem") or not p.is_file():
                raise KeyFileError(
                    f"trust store {self.path} holds {p.name!r}, which is not a public-key "
                    "file (NAME.pub.pem); remove it or move it elsewhere"
                )
            out.append(p)
        return out

    def keys(self) -> list[PublicKey]:
        """Every trusted key, named by its file; an unreadable file is an error naming it."""
        keys = [read_public_key(p) for p in self.files()]
        seen: dict[str, PublicKey] = {}
        for k in keys:
            if k.key_id in seen:
                raise KeyFileError(
                    f"trust store {self.path} holds key {k.short_id}… twice "
                    f"({seen[k.key_id].name} and {k.name}); remove one"
                )
            seen[k.key_id] = k
        return keys

    def find(self, key_id: str) -> PublicKey | None:
        return next((k for k in self.keys() if k.key_id == key_id), None)

    def add(self, key: PublicKey) -> Path:
        """Trust ``key`` under its name (file ``NAME.pub.pem``)."""
        pin = demo_pin()
        if pin is not None and key.key_id == pin.key.key_id:
            raise KeyFileError(
                f"key {key.short_id}… is the demonstration key: its private half is "
                "published with prom's source, so anyone can sign with it; the package "
                "trusts it for its embedded demonstration bundle only, and it cannot be "
                "added to a trust store"
            )
        existing = self.keys()
        for k in existing:
            if k.key_id == key.key_id:
                raise KeyFileError(
                    f"key {key.short_id}… is already trusted as {k.name!r} in {self.path}"
                )
            if k.name == key.name:
                raise KeyFileError(
                    f"trust store {self.path} already has a key named {key.name!r} "
                    f"({k.short_id}…); choose another --name"
                )
        path = self.path / f"{check_key_name(key.name)}.pub.pem"
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise KeyFileError(f"cannot write {path} ({e.strerror or e})") from None
        return replace_file(path, key.to_pem())

    def match(self, key_id_or_name: str) -> tuple[PublicKey, Path]:
        """The one key with this name, or whose id starts with this (at least 8 hex digits)."""
        pairs = [(read_public_key(p), p) for p in self.files()]
        hits = [(k, p) for k, p in pairs if k.name == key_id_or_name]
        text = key_id_or_name.lower()
        if not hits and len(text) >= 8:
            hits = [(k, p) for k, p in pairs if k.key_id.startswith(text)]
        if len(hits) == 1:
            return hits[0]
        listed = ", ".join(f"{k.name} ({k.short_id}…)" for k, _ in pairs) or "none"
        if not hits:
            raise KeyFileError(
                f"no key named {key_id_or_name!r} or with an id starting so (8 or more hex "
                f"digits) in trust store {self.path}; it holds: {listed}"
            )
        raise KeyFileError(
            f"{key_id_or_name!r} matches {len(hits)} keys in {self.path} "
            f"({', '.join(k.label() for k, _ in hits)}); give more of the key id"
        )

    def remove(self, key_id_or_name: str) -> PublicKey:
        """Revoke a key: remove its file from the store."""
        key, path = self.match(key_id_or_name)
        try:
            path.unlink()
        except OSError as e:
            raise KeyFileError(f"cannot remove {path} ({e.strerror or e})") from None
        return key


# --- the demonstration pin -----------------------------------------------------------------


@dataclass(frozen=True)
class DemoPin:
    """The demonstration key and the one bundle id it is trusted for."""

    key: PublicKey
    bundle_id: str


@functools.cache
def _read_pin(path: Path, mtime_ns: int) -> DemoPin:
    where = str(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise KeyFileError(f"{where}: the demonstration pin cannot be read ({e})") from None
    fields = {"format", "note", "key_name", "public_key_pem", "bundle_id"}
    if not isinstance(doc, dict) or set(doc) != fields or doc.get("format") != _PIN_FORMAT:
        raise KeyFileError(f"{where}: not a demonstration pin (expected fields {sorted(fields)})")
    if not all(isinstance(doc[f], str) for f in fields):
        raise KeyFileError(f"{where}: every field of the demonstration pin is text")
    key = PublicKey.from_pem(doc["public_key_pem"].encode("ascii"), doc["key_name"], where)
    return DemoPin(PublicKey(key.raw, doc["key_name"]), doc["bundle_id"])


def demo_pin(path: Path = DEMO_PIN_PATH) -> DemoPin | None:
    """The package's demonstration pin (None when the package has none)."""
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        return None
    return _read_pin(path, mtime)


def write_demo_pin(key: PublicKey, bundle_id: str, path: Path = DEMO_PIN_PATH) -> Path:
    """Pin ``key`` to the demonstration bundle ``bundle_id`` (the rebuild script's step)."""
    doc = {
        "format": _PIN_FORMAT,
        "note": (
            "The demonstration key, trusted for the embedded demonstration bundle with "
            "this bundle_id only (prom.bundle.trust). Its private half is public "
            "(keys/demo-signing-key.pem in the source); written by python -m "
            "prom.workflows.demo.bundle."
        ),
        "key_name": key.name,
        "public_key_pem": key.to_pem().decode("ascii"),
        "bundle_id": bundle_id,
    }
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    return path


# --- the decision ---------------------------------------------------------------------------


def decide_trust(
    where: Path,
    signature: Signature | None,
    bundle_id: str,
    trust_store: str | os.PathLike[str] | None = None,
    allow_unsigned: bool = False,
) -> Trust:
    """Whether the bundle at ``where`` (whose signature has verified, if it has one) is
    trusted; refused with :class:`UntrustedBundleError` unless ``allow_unsigned``."""
    if signature is None:
        if allow_unsigned:
            return Trust("unverified", reason="the bundle is unsigned")
        raise UntrustedBundleError(
            f"bundle {where} is unsigned, so who wrote it cannot be checked; if you trust "
            f"its contents, sign it with your key: prom keys sign {where} --key YOUR_KEY.pem "
            "(prom keys new makes a key pair; prom keys trust YOUR_KEY.pub.pem trusts it); "
            + _OPT_OUT
        )
    key = signature.key
    pin = demo_pin()
    if pin is not None and key.key_id == pin.key.key_id:
        if bundle_id == pin.bundle_id:
            return Trust("demonstration", key.key_id, pin.key.name)
        reason = (
            f"signed by the demonstration key {key.short_id}…, whose private half is "
            "public; the package trusts it for its embedded demonstration bundle "
            f"({pin.bundle_id[:12]}) only, not for bundle {bundle_id[:12]}"
        )
        if allow_unsigned:
            return Trust("unverified", key.key_id, key.name, reason=reason)
        raise UntrustedBundleError(
            f"bundle {where} is {reason}; have its author sign it with their own key, or "
            + _OPT_OUT
        )
    store = TrustStore(trust_store)
    trusted = store.find(key.key_id)
    if trusted is not None:
        return Trust("trusted", key.key_id, trusted.name, str(store.path))
    reason = f"signed by key {key.label()} which is not in your trust store {store.path}"
    listed = store.keys()  # a TrustStore, not a mapping: its trusted public keys
    namesakes = [k for k in listed if k.name == key.name]
    if namesakes:  # a key wearing a trusted key's name: what impersonation looks like
        reason += (
            f" — it is named {key.name!r} like your trusted key {namesakes[0].short_id}…, but "
            "it is a different key: a name is only a label, the key id is what is checked"
        )
    if allow_unsigned:
        return Trust("unverified", key.key_id, key.name, str(store.path), reason)
    raise UntrustedBundleError(
        f"bundle {where} is {reason}; if you trust its author: prom keys trust "
        f"THEIR_PUBLIC_KEY.pem (key id {key.key_id}); " + _OPT_OUT
    )
