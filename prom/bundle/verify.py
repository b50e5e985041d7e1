"""Checking a bundle directory before anything in it is deserialised, and signing one.

:func:`check_bundle` (and :func:`verify_bundle`, which returns the manifest only) checks,
in this order, that

1. the bundle's ``signature.json``, when it has one, is an Ed25519 signature of
   ``manifest.json``'s exact bytes (:mod:`prom.bundle.signing`) — a signature that does not
   verify, or a malformed signature file, is always refused;
2. ``manifest.json`` parses, has a known format version, its ``bundle_id`` equals the
   SHA-256 of its own canonical content (an edited manifest is refused) and it reads as a
   typed :class:`~prom.bundle.manifest.Manifest`;
3. the signer is trusted (:mod:`prom.bundle.trust`: a key in the trust store, or the
   package's pinned demonstration bundle); an unsigned bundle or one signed by another key
   is refused, with how to trust it, unless the caller opts out (``allow_unsigned=True``);
4. every file the manifest lists exists and has the SHA-256 recorded for it; no file
   exists that the manifest does not list besides ``signature.json`` (nothing can be
   slipped in); every file has a name this package knows how to read safely.

The manifest is read once: the bytes whose signature is checked are the bytes parsed.
:func:`sign_bundle` signs (or re-signs) a bundle on disk after steps 2 and 4.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from prom.bundle.formats import MODEL_FILES
from prom.bundle.manifest import BundleError, Manifest
from prom.bundle.signing import (
    SIGNATURE,
    Signature,
    SignatureError,
    SigningKey,
    read_signature,
    read_signing_key,
    write_signature,
)
from prom.bundle.trust import Trust, decide_trust

__all__ = [
    "MANIFEST",
    "RECORD_FILE",
    "check_bundle",
    "verify_bundle",
    "sign_bundle",
    "sha256_file",
]

MANIFEST = "manifest.json"
#: A task's validation record (aggregates for reports, never read as a model), written
#: when the fit carries one.
RECORD_FILE = "validation.json"
#: The only file names a bundle may hold besides its manifest and its signature.
_ALLOWED_SUFFIXES = (*sorted(set(MODEL_FILES.values())), "state.json", f"/{RECORD_FILE}")


# --- hashing -------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- checking -------------------------------------------------------------------------------


def _manifest_bytes(path: Path) -> bytes:
    if not path.exists():
        raise BundleError(f"{path} is not a bundle directory: it does not exist")
    if not path.is_dir():
        raise BundleError(f"{path} is not a bundle directory{_file_hint(path)}")
    mpath = path / MANIFEST
    if not mpath.is_file():
        inner = sorted(p.parent for p in path.glob(f"*/{MANIFEST}"))
        hint = (
            f"; the bundle is one folder down: pass {inner[0]}"
            if len(inner) == 1
            else f"; it holds {len(inner)} bundles, one per folder: pass one of "
            + ", ".join(map(str, inner[:5]))
            if inner
            else ""
        )
        raise BundleError(f"{path} has no {MANIFEST}; it is not a prom model bundle{hint}")
    try:
        return mpath.read_bytes()
    except OSError as e:
        raise BundleError(f"cannot read {mpath} ({e.strerror or e})") from None


def _file_hint(path: Path) -> str:
    """What a file given for a bundle is, when it is an archive one unpacks."""
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError:
        return ""
    if head.startswith(b"PK\x03\x04"):
        return f"; it is a zip archive: unpack it (unzip) and pass the folder holding {MANIFEST}"
    if head.startswith(b"\x1f\x8b") or path.name.endswith((".tar", ".tgz", ".tar.gz")):
        return f"; it looks like a tar or gzip archive: unpack it and pass the folder holding {MANIFEST}"
    return ""


def _read_manifest(path: Path, body: bytes) -> Manifest:
    mpath = path / MANIFEST
    try:
        raw = json.loads(body.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{mpath} is not valid JSON ({e})") from None
    return Manifest.read(raw, str(mpath))


def _check_files(path: Path, manifest: Manifest) -> None:
    """Every listed file present with its hash and a known kind; nothing else but the
    manifest and its signature."""
    listed = manifest.files
    present = {p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()}
    present -= {MANIFEST, SIGNATURE}
    unknown = sorted(present - set(listed))
    if unknown:
        raise BundleError(
            f"{path}: file(s) not listed in the manifest: {', '.join(unknown)}; "
            "refusing a bundle with unknown files"
        )
    missing = sorted(set(listed) - present)
    if missing:
        raise BundleError(
            f"{path}: file(s) listed in the manifest are missing: {', '.join(missing)}"
        )
    for rel, digest in listed.items():
        if sha256_file(path / rel) != digest:
            raise BundleError(
                f"{path / rel}: SHA-256 does not match the manifest; the file was "
                "changed after the bundle was written; refusing it"
            )
        if not rel.endswith(_ALLOWED_SUFFIXES):
            raise BundleError(f"{path / rel}: not a file type a bundle may hold")


def _checked_signature(path: Path, body: bytes) -> Signature | None:
    signature = read_signature(path)
    if signature is not None and not signature.verifies(body):
        raise SignatureError(
            f"bundle {path}: the signature in {SIGNATURE} (key {signature.key.label()}) "
            f"does not verify against {MANIFEST}; the manifest was changed after it was "
            "signed, or the signature is forged; refusing it"
        )
    return signature


def check_bundle(
    path: str | os.PathLike[str],
    *,
    trust_store: str | os.PathLike[str] | None = None,
    allow_unsigned: bool = False,
) -> tuple[Manifest, Trust]:
    """Check a bundle without loading any model: signature, trust, manifest, files.

    ``trust_store``: a trust-store directory (default: the configured one,
    :func:`prom.bundle.trust.default_trust_store`). ``allow_unsigned``: accept an unsigned
    bundle or one signed by an untrusted key, recording it as unverified; a signature that
    does not verify is refused regardless. Returns the typed manifest and the
    :class:`~prom.bundle.trust.Trust` established; refusals are :class:`BundleError`
    (:class:`~prom.bundle.signing.SignatureError`,
    :class:`~prom.bundle.trust.UntrustedBundleError`).
    """
    path = Path(path)
    body = _manifest_bytes(path)  # read once: the bytes checked are the bytes used
    signature = _checked_signature(path, body)
    manifest = _read_manifest(path, body)
    trust = decide_trust(path, signature, manifest.bundle_id, trust_store, allow_unsigned)
    _check_files(path, manifest)
    return manifest, trust


def verify_bundle(
    path: str | os.PathLike[str],
    *,
    trust_store: str | os.PathLike[str] | None = None,
    allow_unsigned: bool = False,
) -> Manifest:
    """Check a bundle without loading any model (:func:`check_bundle`); its typed manifest."""
    return check_bundle(path, trust_store=trust_store, allow_unsigned=allow_unsigned)[0]


def sign_bundle(
    path: str | os.PathLike[str], key: SigningKey | str | os.PathLike[str]
) -> tuple[Signature, str]:
    """Sign a bundle's manifest (replacing any signature) after checking its manifest and
    files; returns the signature and what it replaced (``"no signature"``, ``"a signature
    by key …"`` or ``"a signature that did not verify …"``)."""
    path = Path(path)
    key = key if isinstance(key, SigningKey) else read_signing_key(key)
    body = _manifest_bytes(path)
    _check_files(path, _read_manifest(path, body))
    try:
        old = read_signature(path)
    except SignatureError as e:
        replaced = f"an unreadable signature file ({e})"
    else:
        if old is None:
            replaced = "no signature"
        elif old.verifies(body):
            replaced = f"a signature by key {old.key.label()}"
        else:
            replaced = f"a signature by key {old.key.label()} that did not verify"
    signature = Signature.of(body, key)
    write_signature(path, signature)
    return signature, replaced
