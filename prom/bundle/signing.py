"""Ed25519 keys and the detached signature of a bundle's manifest.

The cryptography is the ``cryptography`` package's Ed25519 (RFC 8032); this module only
reads and writes keys and signature files. A bundle's ``signature.json`` sits beside its
``manifest.json`` and signs the manifest's exact bytes; the manifest lists the SHA-256 of
every other file, so one signature covers the whole bundle. The manifest's format is not
changed by signing, and re-signing replaces the signature file.

``signature.json`` (every field required, nothing else allowed)::

    format        "prom-bundle-signature"
    version       1
    algorithm     "ed25519"
    signed_file   "manifest.json"
    key_id        SHA-256 (hex) of the signer's raw 32-byte public key: the key's id
    key_name      the signer's name for the key — a claim, not authenticated; a trusted
                  key is shown under the name the trust store gives it
    public_key    the signer's raw public key, base64
    signature     the 64-byte Ed25519 signature of manifest.json's bytes, base64

The public key travels with the signature so that any signature can be checked — a
signature that does not verify is refused whoever made it; whether its key is *trusted*
is decided separately, against a trust store (:mod:`prom.bundle.trust`).

Key files are PEM: the private key unencrypted PKCS #8 (written with file mode 0600),
the public key SubjectPublicKeyInfo, as OpenSSL writes them. ``prom keys new`` writes
``NAME.pem`` and ``NAME.pub.pem``; a key's name is its file name without ``.pem``/``.pub.pem``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from prom.bundle.manifest import BundleError

__all__ = [
    "SIGNATURE",
    "SIGNATURE_FORMAT",
    "SIGNATURE_VERSION",
    "ALGORITHM",
    "KeyFileError",
    "SignatureError",
    "PublicKey",
    "SigningKey",
    "Signature",
    "check_key_name",
    "key_name_of",
    "read_signing_key",
    "read_public_key",
    "write_key_pair",
    "read_signature",
    "write_signature",
    "replace_file",
]

SIGNATURE = "signature.json"
SIGNATURE_FORMAT = "prom-bundle-signature"
SIGNATURE_VERSION = 1
ALGORITHM = "ed25519"
_MANIFEST = "manifest.json"
_FIELDS = (
    "format",
    "version",
    "algorithm",
    "signed_file",
    "key_id",
    "key_name",
    "public_key",
    "signature",
)
#: A signature file is a few hundred bytes; anything much larger is not one.
_MAX_SIGNATURE_BYTES = 16_384
_MAX_KEY_FILE_BYTES = 16_384
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class KeyFileError(BundleError):
    """A key file or trust store cannot be read, or a key name is not usable."""


class SignatureError(BundleError):
    """A bundle's signature is malformed or does not verify: refused, with no opt-out."""


def check_key_name(name: str) -> str:
    """``name`` if it is usable as a key's name (and file name), else :class:`KeyFileError`."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise KeyFileError(
            f"key name {name!r}: expected 1–64 letters, digits, '.', '_' or '-', starting "
            "with a letter or digit"
        )
    return name


def key_name_of(path: Path) -> str:
    """A key's name from its file name: ``alice.pub.pem``, ``alice.pem`` → ``alice``."""
    name = path.name
    for suffix in (".pub.pem", ".pem"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key (its raw 32 bytes) and the name it goes by."""

    raw: bytes
    name: str

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise KeyFileError(f"an Ed25519 public key has 32 bytes, not {len(self.raw)}")
        check_key_name(self.name)

    @property
    def key_id(self) -> str:
        """SHA-256 (hex) of the raw public key."""
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def short_id(self) -> str:
        """The key id's first 16 hex digits, as messages show it."""
        return self.key_id[:16]

    def label(self) -> str:
        """``3f9a1c… (alice)``."""
        return f"{self.short_id}… ({self.name})"

    def verifies(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``data``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def to_pem(self) -> bytes:
        key = Ed25519PublicKey.from_public_bytes(self.raw)
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @classmethod
    def from_pem(cls, data: bytes, name: str, where: str) -> PublicKey:
        if b"PRIVATE KEY" in data:
            raise KeyFileError(
                f"{where} is a private key; give the public key (NAME.pub.pem), and keep "
                "the private key to yourself"
            )
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            raise KeyFileError(f"{where} is not a PEM public key ({e})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyFileError(
                f"{where} holds a {type(key).__name__.removeprefix('_')}; bundles are signed "
                "with Ed25519 keys (prom keys new)"
            )
        return cls(key.public_bytes_raw(), name)


@dataclass(frozen=True, eq=False)
class SigningKey:
    """An Ed25519 private key and its name."""

    private: Ed25519PrivateKey
    name: str

    @classmethod
    def generate(cls, name: str) -> SigningKey:
        return cls(Ed25519PrivateKey.generate(), check_key_name(name))

    @property
    def public(self) -> PublicKey:
        return PublicKey(self.private.public_key().public_bytes_raw(), self.name)

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)

    def to_pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _read_key_file(path: Path, what: str) -> bytes:
    try:
        size = path.stat().st_size
        if size > _MAX_KEY_FILE_BYTES:
            raise KeyFileError(f"{path}: {size:,} bytes is too large for {what}")
        return path.read_bytes()
    except OSError as e:
        raise KeyFileError(f"cannot read {what} {path} ({e.strerror or e})") from None


def _usable_name(path: Path, raw_id: str) -> str:
    name = key_name_of(path)
    return name if _NAME.fullmatch(name) else f"key-{raw_id[:16]}"


def read_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """The Ed25519 private key in a PEM file (unencrypted PKCS #8, as ``prom keys new``
    writes it); its name is the file name without ``.pem``."""
    path = Path(path).expanduser()
    data = _read_key_file(path, "the signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # encrypted, or not a key cryptography can read without a password
        raise KeyFileError(
            f"{path}: an encrypted private key; prom reads unencrypted PEM keys, protected "
            "by their file mode (0600)"
        ) from None
    except (ValueError, UnsupportedAlgorithm) as e:
        raise KeyFileError(
            f"{path} is not a PEM private key ({e}); give the private key written by "
            "prom keys new (NAME.pem, not NAME.pub.pem)"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(
            f"{path} holds a {type(key).__name__.removeprefix('_')}; bundles are signed with "
            "Ed25519 keys (prom keys new)"
        )
    raw_id = hashlib.sha256(key.public_key().public_bytes_raw()).hexdigest()
    return SigningKey(key, _usable_name(path, raw_id))


def read_public_key(path: str | os.PathLike[str], name: str | None = None) -> PublicKey:
    """The Ed25519 public key in a PEM file, named ``name`` or by its file name."""
    path = Path(path).expanduser()
    data = _read_key_file(path, "the public key")
    key = PublicKey.from_pem(data, "key", str(path))
    return PublicKey(key.raw, check_key_name(name) if name else _usable_name(path, key.key_id))


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Write a file that must not exist yet, with exactly ``mode``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask may have removed bits; the mode is meant exactly
        os.write(fd, data)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    os.close(fd)


def write_key_pair(key: SigningKey, directory: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``NAME.pem`` (private, mode 0600) and ``NAME.pub.pem`` (public) into
    ``directory``; refuses to replace an existing file. Returns both paths."""
    directory = Path(directory)
    private, public = directory / f"{key.name}.pem", directory / f"{key.name}.pub.pem"
    for p in (private, public):
        if p.exists():
            raise KeyFileError(f"{p} exists; a key file is never replaced — choose another --name")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        _write_new(private, key.to_pem(), 0o600)
        _write_new(public, key.public.to_pem(), 0o644)
    except OSError as e:
        private.unlink(missing_ok=True)
        raise KeyFileError(f"cannot write the key pair into {directory} ({e})") from None
    return private, public


# --- the signature file ------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    """A detached signature of a manifest: the signer's public key (with the name it
    claims) and the signature bytes."""

    key: PublicKey
    signature: bytes

    @classmethod
    def of(cls, manifest: bytes, key: SigningKey) -> Signature:
        """Sign a manifest's bytes."""
        return cls(key.public, key.sign(manifest))

    def verifies(self, manifest: bytes) -> bool:
        """Whether this signs exactly these manifest bytes."""
        return self.key.verifies(self.signature, manifest)

    def to_json(self) -> bytes:
        doc = {
            "format": SIGNATURE_FORMAT,
            "version": SIGNATURE_VERSION,
            "algorithm": ALGORITHM,
            "signed_file": _MANIFEST,
            "key_id": self.key.key_id,
            "key_name": self.key.name,
            "public_key": base64.b64encode(self.key.raw).decode("ascii"),
            "signature": base64.b64encode(self.signature).decode("ascii"),
        }
        return (json.dumps(doc, indent=1) + "\n").encode("ascii")

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Signature:
        """A signature file read strictly: every field present, known and well formed."""

        def bad(why: str) -> SignatureError:
            return SignatureError(f"{where} is not a valid bundle signature: {why}; refusing it")

        try:
            doc = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise bad(f"not JSON ({e})") from None
        if not isinstance(doc, dict):
            raise bad("not a JSON object")
        missing = [f for f in _FIELDS if f not in doc]
        unknown = sorted(set(doc) - set(_FIELDS))
        if missing or unknown:
            raise bad(
                "; ".join(
                    s
                    for s in (
                        f"missing {', '.join(missing)}" if missing else "",
                        f"unknown field(s) {', '.join(unknown)}" if unknown else "",
                    )
                    if s
                )
            )
        expected = {
            "format": SIGNATURE_FORMAT,
            "version": SIGNATURE_VERSION,
            "algorithm": ALGORITHM,
            "signed_file": _MANIFEST,
        }
        for f, want in expected.items():
            if doc[f] != want or type(doc[f]) is not type(want):
                raise bad(f"{f} is {doc[f]!r}, expected {want!r}")
        for f in ("key_id", "key_name", "public_key", "signature"):
            if not isinstance(doc[f], str):
                raise bad(f"{f} is {type(doc[f]).__name__}, expected text")
        raw = _b64(doc["public_key"], 32, "public_key", bad)
        sig = _b64(doc["signature"], 64, "signature", bad)
        if not _NAME.fullmatch(doc["key_name"]):
            raise bad(f"key_name {doc['key_name'][:80]!r} is not a key name")
        key = PublicKey(raw, doc["key_name"])
        if doc["key_id"] != key.key_id:
            raise bad(
                f"key_id {doc['key_id'][:80]!r} is not the SHA-256 of its public key ({key.key_id})"
            )
        return cls(key, sig)


def _b64(text: str, size: int, field: str, bad: Callable[[str], SignatureError]) -> bytes:
    try:
        value = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise bad(f"{field} is not base64") from None
    if len(value) != size:
        raise bad(f"{field} has {len(value)} bytes, expected {size}")
    return value


def read_signature(bundle: Path) -> Signature | None:
    """The signature beside a bundle's manifest, or None when the bundle has none."""
    path = bundle / SIGNATURE
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_file():
        raise SignatureError(f"{path} is not a file; refusing the bundle")
    try:
        size = path.stat().st_size
        if size > _MAX_SIGNATURE_BYTES:
            raise SignatureError(
                f"{path} is not a valid bundle signature: {size:,} bytes (a signature has "
                "a few hundred); refusing it"
            )
        data = path.read_bytes()
    except OSError as e:
        raise SignatureError(
            f"cannot read {path} ({e.strerror or e}); refusing the bundle"
        ) from None
    return Signature.from_json(data, str(path))


def replace_file(path: Path, data: bytes) -> Path:
    """Write (or replace) ``path`` atomically: through a hidden temporary file beside it,
    renamed into place (a key or signature file is never left half written)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise KeyFileError(f"cannot write {path} ({e.strerror or e})") from None
    return path


def write_signature(bundle: Path, signature: Signature) -> Path:
    """Write (or replace) a bundle's ``signature.json`` atomically."""
    return replace_file(bundle / SIGNATURE, signature.to_json())
