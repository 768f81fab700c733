"""API credentials are secrets: hidden in repr, stored 0600, refused when exposed."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from engine.credentials import ApiCredentials, CredentialsError

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I="
PASSPHRASE = "ab" * 32


def creds() -> ApiCredentials:
    return ApiCredentials(
        address="0x" + "11" * 20,
        api_key="00000000-0000-4000-8000-000000000001",
        secret=SecretStr(SECRET),
        passphrase=SecretStr(PASSPHRASE),
    )


def test_secrets_never_show_in_repr_or_str() -> None:
    shown = repr(creds()) + str(creds())
    assert SECRET not in shown and PASSPHRASE not in shown


def test_saved_file_is_private_and_loads_back(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "creds.json"
    creds().save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = ApiCredentials.load(path)
    assert loaded.secret.get_secret_value() == SECRET
    assert loaded == creds()


def test_a_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    creds().save(path)
    path.chmod(0o644)
    with pytest.raises(CredentialsError, match="readable by others"):
        ApiCredentials.load(path)


def test_errors_name_the_problem_without_the_secret(tmp_path: Path) -> None:
    path = tmp_path / "creds.json"
    path.write_text('{"address": "0x1", "api_key": "k", "secret": "s3cr3t"}')
    path.chmod(0o600)
    with pytest.raises(CredentialsError, match="passphrase") as error:
        ApiCredentials.load(path)
    assert "s3cr3t" not in str(error.value)
    with pytest.raises(CredentialsError, match="not found"):
        ApiCredentials.load(tmp_path / "missing.json")
