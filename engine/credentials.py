"""API credentials (L2): loaded as secrets, never printed, stored only with mode 0600.

The API key itself is an identifier (it is the `owner` of every order and shows in
venue answers); the secret and passphrase sign requests and are wrapped in SecretStr, so
repr(), str() and logging show `**********`. `save` refuses nothing but always writes
the file with mode 0600, created that way (never world-readable, even for an instant).
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError


class CredentialsError(ValueError):
    """A credentials file that cannot be used, phrased as one line (no secret in it)."""


class ApiCredentials(BaseModel):
    """One account's L2 credentials and the wallet address they belong to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str
    api_key: str
    secret: SecretStr
    passphrase: SecretStr

    def save(self, path: Path) -> None:
        """Write the credentials as JSON, mode 0600 from creation; replaces a file."""
        data = {
            "address": self.address,
            "api_key": self.api_key,
            "secret": self.secret.get_secret_value(),
            "passphrase": self.passphrase.get_secret_value(),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, orjson.dumps(data, option=orjson.OPT_INDENT_2))
        finally:
            os.close(fd)
        os.replace(temporary, path)

    @classmethod
    def load(cls, path: Path) -> ApiCredentials:
        """Read a credentials file; CredentialsError (one line, no secret) if unusable."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise CredentialsError(f"credentials file not found: {path}") from None
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise CredentialsError(
                f"credentials file {path} is readable by others (mode {mode:o}); chmod 600 it"
            )
        try:
            return cls.model_validate(orjson.loads(raw))
        except orjson.JSONDecodeError:
            raise CredentialsError(f"credentials file {path} is not JSON") from None
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise CredentialsError(f"credentials file {path}: {where}: {first['msg']}") from None
