"""Ed25519 signatures in minisign's file format, so anyone can also check them with ``minisign -V``.

The cryptography is the ``cryptography`` library's Ed25519 and hashlib's BLAKE2b;
this module only reads and writes minisign's text formats around them:

* public key (``*.pub``)::

      untrusted comment: minisign public key 0123456789ABCDEF
      base64("Ed" + key id (8 bytes) + public key (32 bytes))

* signature (``FILE.minisig``)::

      untrusted comment: <anything; not covered by the signature>
      base64("ED" + key id (8) + Ed25519(BLAKE2b-512(file)) (64))
      trusted comment: <covered by the signature>
      base64(Ed25519(signature (64) + trusted comment))

"ED" is the pre-hashed kind (minisign's default), so a large artifact is hashed in
blocks and never read into memory whole; the legacy kind "Ed" (Ed25519 over the
file itself) is verified too. Secret keys are PKCS#8 PEM files, optionally
encrypted with a passphrase; they are this project's format, not minisign's.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent_assist.errors import AgentAssistError, VerificationError

__all__ = [
    "PublicKey",
    "SigningKey",
    "VerificationError",
    "generate_key",
    "load_public_key",
    "load_signing_key",
    "sign_bytes",
    "sign_file",
    "verify_bytes",
    "verify_file",
]

_PREHASHED, _LEGACY, _KEY_ALG = b"ED", b"Ed", b"Ed"
_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An Ed25519 public key with minisign's 8-byte key id."""

    key_id: bytes
    raw: bytes

    @property
    def id_hex(self) -> str:
        """The key id as minisign prints it (little-endian, upper-case hex)."""
        return self.key_id[::-1].hex().upper()

    def to_text(self) -> str:
        """The key in minisign's public-key file format (a comment line, then base64)."""
        blob = base64.b64encode(_KEY_ALG + self.key_id + self.raw).decode()
        return f"untrusted comment: minisign public key {self.id_hex}\n{blob}\n"

    @classmethod
    def from_text(cls, text: str, *, source: str = "public key") -> PublicKey:
        """Read a minisign public key from file text; VerificationError if it holds none."""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        keys = [line for line in lines if not line.startswith("untrusted comment:")]
        if not keys:
            raise VerificationError(f"{source} holds no key (is it the placeholder?)")
        blob = _b64(keys[0], source)
        if len(blob) != 42 or blob[:2] != _KEY_ALG:
            raise VerificationError(f"{source} is not a minisign Ed25519 public key")
        return cls(key_id=blob[2:10], raw=blob[10:])


class SigningKey:
    """An Ed25519 secret key and its key id (derived from the public key, so it is stable)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public = PublicKey(key_id=hashlib.blake2b(raw, digest_size=8).digest(), raw=raw)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        """The private key as PKCS#8 PEM, encrypted with ``passphrase`` when one is given."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        return self._private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )

    def _sign(self, data: bytes) -> bytes:
        return self._private.sign(data)


def generate_key() -> SigningKey:
    """A new random signing key."""
    return SigningKey(Ed25519PrivateKey.generate())


def load_signing_key(path: str | os.PathLike[str], passphrase: bytes | None = None) -> SigningKey:
    """Read a PKCS#8 PEM Ed25519 secret key (encrypted ones need ``passphrase``)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AgentAssistError(f"cannot read the signing key {path}: {exc.strerror}") from None
    try:
        key = serialization.load_pem_private_key(data, password=passphrase)
    except TypeError:
        raise AgentAssistError(
            f"the signing key {path} is encrypted: set AGENT_ASSIST_SIGNING_PASSPHRASE"
            if passphrase is None
            else f"the signing key {path} is not encrypted: unset AGENT_ASSIST_SIGNING_PASSPHRASE"
        ) from None
    except ValueError:
        raise AgentAssistError(
            f"{path} is not a PEM secret key, or the passphrase is wrong"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AgentAssistError(f"{path} is not an Ed25519 key")
    return SigningKey(key)


def load_public_key(path: str | os.PathLike[str]) -> PublicKey:
    """Read a minisign public key file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VerificationError(f"cannot read the public key {path}: {exc}") from None
    return PublicKey.from_text(text, source=str(path))


def _b64(line: str, source: str) -> bytes:
    try:
        return base64.b64decode(line, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(f"{source} is damaged (bad base64)") from None


def _blake2b_file(path: Path) -> bytes:
    digest = hashlib.blake2b(digest_size=64)
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            digest.update(block)
    return digest.digest()


def _signature_text(key: SigningKey, digest: bytes, trusted_comment: str, comment: str) -> str:
    if "\n" in trusted_comment or "\r" in trusted_comment:
        raise ValueError("a trusted comment is one line")
    signature = key._sign(digest)
    global_signature = key._sign(signature + trusted_comment.encode())
    return (
        f"untrusted comment: {comment}\n"
        f"{base64.b64encode(_PREHASHED + key.public.key_id + signature).decode()}\n"
        f"trusted comment: {trusted_comment}\n"
        f"{base64.b64encode(global_signature).decode()}\n"
    )


def _default_trusted_comment(name: str) -> str:
    return f"timestamp:{int(time.time())}\tfile:{name}\thashed"


def sign_bytes(
    data: bytes,
    key: SigningKey,
    *,
    name: str,
    trusted_comment: str | None = None,
    comment: str = "signature from agent-assist secret key",
) -> str:
    """The minisign signature text of ``data``; ``name`` goes into the trusted comment."""
    digest = hashlib.blake2b(data, digest_size=64).digest()
    return _signature_text(key, digest, trusted_comment or _default_trusted_comment(name), comment)


def sign_file(
    path: str | os.PathLike[str], key: SigningKey, *, trusted_comment: str | None = None
) -> Path:
    """Write ``PATH.minisig`` beside ``path``; returns the signature's path."""
    path = Path(path)
    text = _signature_text(
        key,
        _blake2b_file(path),
        trusted_comment or _default_trusted_comment(path.name),
        "signature from agent-assist secret key",
    )
    out = path.with_name(path.name + ".minisig")
    out.write_text(text, encoding="utf-8")
    return out


def _parse_signature(text: str, key: PublicKey, source: str) -> tuple[bytes, bytes, str, bytes]:
    lines = text.splitlines()
    if (
        len(lines) < 4
        or not lines[0].startswith("untrusted comment:")
        or not lines[2].startswith("trusted comment: ")
    ):
        raise VerificationError(f"{source} is not a minisign signature")
    blob = _b64(lines[1].strip(), source)
    if len(blob) != 74 or blob[:2] not in (_PREHASHED, _LEGACY):
        raise VerificationError(f"{source} is not an Ed25519 minisign signature")
    if blob[2:10] != key.key_id:
        raise VerificationError(
            f"{source} was made with key {blob[2:10][::-1].hex().upper()}, "
            f"not with the trusted key {key.id_hex}"
        )
    global_signature = _b64(lines[3].strip(), source)
    return blob[:2], blob[10:], lines[2].removeprefix("trusted comment: "), global_signature


def _check(
    signature: bytes,
    trusted: str,
    global_signature: bytes,
    *,
    message: bytes,
    key: PublicKey,
    source: str,
) -> str:
    public = Ed25519PublicKey.from_public_bytes(key.raw)
    try:
        public.verify(signature, message)
    except InvalidSignature:
        raise VerificationError(
            f"{source}: the signature does not match: the file was changed after it was signed"
        ) from None
    try:
        public.verify(global_signature, signature + trusted.encode())
    except InvalidSignature:
        raise VerificationError(f"{source}: the trusted comment was changed") from None
    return trusted


def verify_bytes(data: bytes, signature_text: str, key: PublicKey, *, source: str) -> str:
    """Check a minisign signature of ``data``; returns the trusted comment.

    ``source`` names the signed thing in error messages. Raises VerificationError.
    """
    algorithm, signature, trusted, global_signature = _parse_signature(signature_text, key, source)
    message = hashlib.blake2b(data, digest_size=64).digest() if algorithm == _PREHASHED else data
    return _check(signature, trusted, global_signature, message=message, key=key, source=source)


def verify_file(
    path: str | os.PathLike[str], key: PublicKey, *, signature: str | os.PathLike[str] | None = None
) -> str:
    """Check ``PATH.minisig`` (or ``signature``) against ``path``; returns the trusted comment."""
    path = Path(path)
    sig_path = Path(signature) if signature is not None else path.with_name(path.name + ".minisig")
    try:
        text = sig_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise VerificationError(f"{path.name}: no readable signature at {sig_path}") from None
    algorithm, sig, trusted, global_signature = _parse_signature(text, key, path.name)
    message = _blake2b_file(path) if algorithm == _PREHASHED else path.read_bytes()
    return _check(sig, trusted, global_signature, message=message, key=key, source=path.name)
