"""The secret key: `api` and `worker` refuse to start without one, saying why and how to make
one; the embedded `serve` makes one in a file only its owner can read, and reuses it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from adapters.fernet import generate_key
from domain.workload import Credentials
from entrypoints.cli import main
from entrypoints.processes import create_api_app, run_worker
from entrypoints.secret_key import (
    GENERATE_KEY_COMMAND,
    SecretKeyError,
    cipher_from_settings,
    require_secret_key,
    with_embedded_secret_key,
)
from entrypoints.settings import Settings


@pytest.fixture(autouse=True)
def _no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBANALYSIS_SECRET_KEY", raising=False)


@pytest.mark.parametrize("command", ["api", "worker"])
def test_api_and_worker_refuse_to_start_without_a_key_and_say_how_to_make_one(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([command])

    assert code == 2
    error = capsys.readouterr().err
    assert "DBANALYSIS_SECRET_KEY is not set" in error
    assert "encrypts the JDBC credentials" in error
    assert GENERATE_KEY_COMMAND in error


@pytest.mark.parametrize("command", ["api", "worker"])
def test_a_key_that_is_not_a_fernet_key_is_refused_without_being_repeated(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBANALYSIS_SECRET_KEY", "not-a-key-7d3a")

    code = main([command])

    assert code == 2
    error = capsys.readouterr().err
    assert "is not a Fernet key" in error
    assert GENERATE_KEY_COMMAND in error
    assert "7d3a" not in error


async def test_the_api_app_and_the_worker_refuse_to_be_built_without_a_key() -> None:
    settings = Settings(secret_key=None)

    with pytest.raises(SecretKeyError):
        create_api_app(settings)
    with pytest.raises(SecretKeyError):
        await run_worker(settings)


def test_a_key_from_the_environment_is_accepted_and_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = generate_key()
    monkeypatch.setenv("DBANALYSIS_SECRET_KEY", key)

    settings = Settings()

    require_secret_key(settings)
    assert key not in repr(settings)
    cipher = cipher_from_settings(settings)
    assert cipher.decrypt(cipher.encrypt(Credentials("alice", "pw"))) == Credentials("alice", "pw")


def test_the_embedded_default_makes_a_key_file_only_its_owner_can_read(tmp_path: Path) -> None:
    # given no key in the settings, and no key file yet (nor its directory)
    key_file = tmp_path / "var" / "secret.key"
    settings = Settings(secret_key=None, secret_key_file=str(key_file))

    # when the embedded server prepares its settings
    prepared = with_embedded_secret_key(settings)

    # then it made a valid key, in a file of mode 0600, and uses it
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert prepared.secret_key is not None
    assert prepared.secret_key.get_secret_value() == key_file.read_text().strip()
    require_secret_key(prepared)
    assert [p.name for p in key_file.parent.iterdir()] == ["secret.key"]

    # and a restart reuses the same key
    again = with_embedded_secret_key(settings)
    assert again.secret_key is not None
    assert again.secret_key.get_secret_value() == prepared.secret_key.get_secret_value()


def test_the_embedded_default_uses_a_configured_key_and_makes_no_file(tmp_path: Path) -> None:
    key = generate_key()
    key_file = tmp_path / "secret.key"
    settings = Settings(secret_key=SecretStr(key), secret_key_file=str(key_file))

    prepared = with_embedded_secret_key(settings)

    assert prepared.secret_key is not None
    assert prepared.secret_key.get_secret_value() == key
    assert not key_file.exists()


def test_the_embedded_default_refuses_a_key_file_that_holds_no_key(tmp_path: Path) -> None:
    key_file = tmp_path / "secret.key"
    key_file.write_text("garbage-5b9e\n")
    key_file.chmod(0o600)

    with pytest.raises(SecretKeyError, match="does not hold a Fernet key") as refused:
        with_embedded_secret_key(Settings(secret_key=None, secret_key_file=str(key_file)))
    assert "5b9e" not in str(refused.value)
