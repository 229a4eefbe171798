"""The key that encrypts the JDBC credentials while their task runs (`DBANALYSIS_SECRET_KEY`).

`dbanalysis api` and `dbanalysis worker` refuse to start without a valid one: a key made up by
each process would leave every process unable to read what the others stored. The embedded
`dbanalysis serve` makes one on its first start, in `DBANALYSIS_SECRET_KEY_FILE`
(`var/secret.key`, readable by its owner only), and reuses it afterwards.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import SecretStr

from adapters.fernet import FernetCredentialsCipher, generate_key
from entrypoints.settings import Settings

__all__ = [
    "GENERATE_KEY_COMMAND",
    "SecretKeyError",
    "cipher_from_settings",
    "load_or_create_key_file",
    "require_secret_key",
    "with_embedded_secret_key",
]

log = logging.getLogger(__name__)

GENERATE_KEY_COMMAND = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)

_HOW = f"Make one with\n    {GENERATE_KEY_COMMAND}\nand set it in DBANALYSIS_SECRET_KEY"
_WHY = (
    "it encrypts the JDBC credentials of a task while the task runs, and every api and "
    "worker process must share it"
)


class SecretKeyError(Exception):
    """No usable secret key: the message says why it is needed and how to make one."""


def cipher_from_settings(settings: Settings) -> FernetCredentialsCipher:
    """The cipher of the configured key; `SecretKeyError` when it is missing or invalid."""
    key = settings.secret_key.get_secret_value().strip() if settings.secret_key else ""
    if not key:
        raise SecretKeyError(f"DBANALYSIS_SECRET_KEY is not set: {_WHY}. {_HOW}.")
    try:
        return FernetCredentialsCipher(key)
    except ValueError:
        # The key itself is not repeated: it is a secret even when it is a wrong one.
        raise SecretKeyError(
            f"DBANALYSIS_SECRET_KEY is not a Fernet key (32 url-safe base64-encoded bytes). {_HOW}."
        ) from None


def require_secret_key(settings: Settings) -> None:
    """Refuse to go on (`SecretKeyError`) without a valid key: `api` and `worker` call it
    before they start anything."""
    cipher_from_settings(settings)


def with_embedded_secret_key(settings: Settings) -> Settings:
    """The settings with a key: the configured one, else the one in `secret_key_file`, made
    there on first use."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        require_secret_key(settings)
        return settings
    key = load_or_create_key_file(Path(settings.secret_key_file))
    with_key = settings.model_copy(update={"secret_key": SecretStr(key)})
    try:
        require_secret_key(with_key)
    except SecretKeyError:
        raise SecretKeyError(
            f"{settings.secret_key_file} does not hold a Fernet key; delete it to have a new "
            "one made (the credentials of tasks still running are lost), or set "
            "DBANALYSIS_SECRET_KEY"
        ) from None
    return with_key


def load_or_create_key_file(path: Path) -> str:
    """The key in `path`; when there is no such file, a new key written there, mode 0600."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a file of our own, then linked into place: `link` fails when the
        # key exists, so of two processes starting at once both end up with the same key, and
        # nobody ever reads a half-written one.
        draft = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(generate_key() + "\n")
        try:
            os.link(draft, path)
            log.info("made a new secret key in %s", path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("%s can be read by others (mode %o): chmod 600 it", path, mode)
    return path.read_text(encoding="ascii").strip()
