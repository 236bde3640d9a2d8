"""Personal data at rest: AES-GCM encryption and a keyed blind index (HMAC) for lookup.

One 32-byte key from configuration is split with HKDF into an encryption key and
an index key, so the index cannot be used to decrypt and vice versa.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12

_VERSION = b"\x01"


class PiiKeyError(ValueError):
    pass


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)


class Cipher:
    """Encrypts ID numbers and phones; computes their blind index."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise PiiKeyError("the PII key must be 32 bytes (base64 of 32 random bytes)")
        self._aead = AESGCM(_derive(key, b"guahao pii encryption v1"))
        self._index_key = _derive(key, b"guahao pii blind index v1")

    @classmethod
    def from_base64(cls, text: str) -> Cipher:
        try:
            key = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError) as err:
            raise PiiKeyError("the PII key is not valid base64") from err
        return cls(key)

    @staticmethod
    def generate_key() -> str:
        return base64.b64encode(os.urandom(32)).decode()

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """``context`` (e.g. "id_number") is bound as associated data: a phone ciphertext
        pasted into the ID column does not decrypt."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return base64.b64encode(_VERSION + nonce + sealed).decode()

    def decrypt(self, token: str, *, context: str) -> str:
        raw = base64.b64decode(token)
        if raw[:1] != _VERSION:
            raise PiiKeyError("unknown ciphertext version")
        nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
        return self._aead.decrypt(nonce, sealed, context.encode()).decode()

    def blind_index(self, value: str, *, context: str) -> str:
        mac = hmac.new(self._index_key, f"{context}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]
