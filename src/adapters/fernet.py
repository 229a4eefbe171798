"""Credentials sealed with Fernet (`cryptography`): AES-128-CBC with an HMAC-SHA256 tag, so a
ciphertext can be neither read nor altered without the key.

Both secret stores (SQLAlchemy and in memory) keep only what `FernetCredentialsCipher.encrypt`
returns. The key is a Fernet key, 32 url-safe base64-encoded bytes (`generate_key()`).
"""

from __future__ import annotations

import json

from cryptography.fernet import Fernet, InvalidToken

from domain.workload import Credentials

__all__ = ["FernetCredentialsCipher", "UnreadableSecret", "generate_key"]


class UnreadableSecret(Exception):
    """The ciphertext was made with another key (the key changed) or was altered."""


def generate_key() -> str:
    """A new random Fernet key, as text."""
    return Fernet.generate_key().decode("ascii")


class FernetCredentialsCipher:
    """Encrypts `Credentials` into an opaque token and back. A bad key raises `ValueError`
    here, at construction, rather than at the first task."""

    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key.strip())

    @classmethod
    def with_new_key(cls) -> FernetCredentialsCipher:
        """A cipher whose key exists only in this process (for in-memory storage)."""
        return cls(generate_key())

    def encrypt(self, credentials: Credentials) -> bytes:
        document = {
            "user": credentials.user,
            "password": credentials.password,
            "parameters": [list(pair) for pair in credentials.parameters],
        }
        return self._fernet.encrypt(json.dumps(document).encode("utf-8"))

    def decrypt(self, token: bytes) -> Credentials:
        try:
            document = json.loads(self._fernet.decrypt(token))
        except InvalidToken:
            raise UnreadableSecret("the secret was not made with this key") from None
        return Credentials(
            user=document["user"],
            password=document["password"],
            parameters=tuple((name, value) for name, value in document["parameters"]),
        )
