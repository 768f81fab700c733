"""`polyengine account`: create or derive L2 API credentials and store them 0600.

The official client (polymarket-client, `import polymarket`) does the L1 dance: it signs
the ClobAuth message with the private key and calls POST /auth/api-key, falling back to
GET /auth/derive-api-key when the venue says the key exists (400), so running the
command again gives the same credentials. The client is asked for the EOA's own wallet
(`wallet=<EOA>`), so set-up needs the CLOB only (no relayer, no deposit-wallet deploy);
the credentials belong to the EOA whatever wallet later trades. A custom CLOB URL (the
local venue) goes through the client's environment config (spec 11.6).

The private key comes from an environment variable or a key file that only its owner
can read. Nothing the command prints contains the key, the secret or the passphrase:
errors are one line, scrubbed of the key, with exit status 2 for bad input and 1 for
venue or transport errors (the venue's own text included).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from engine.credentials import ApiCredentials

PRODUCTION_CLOB = "https://clob.polymarket.com"
KEY_ENV = "POLYMARKET_PRIVATE_KEY"
DEFAULT_OUT = Path("~/.config/polyengine/credentials.json")
_KEY = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


class AccountError(Exception):
    """A one-line failure of the account command, with its exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def add_account_arguments(parser: argparse.ArgumentParser) -> None:
    """The `account` subcommand's options."""
    parser.add_argument(
        "--clob-url",
        default=PRODUCTION_CLOB,
        metavar="URL",
        help=f"CLOB REST base URL (default {PRODUCTION_CLOB}; the local venue's http://host:port)",
    )
    parser.add_argument(
        "--key-file",
        type=Path,
        metavar="PATH",
        help="file holding the private key (hex); must not be readable by group or others",
    )
    parser.add_argument(
        "--key-env",
        default=KEY_ENV,
        metavar="NAME",
        help=f"environment variable holding the private key when no --key-file (default {KEY_ENV})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="PATH",
        help=f"where to store the credentials, mode 0600 (default {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--nonce", type=int, default=0, help="key derivation nonce (default 0: the usual key)"
    )


def read_private_key(key_file: Path | None, key_env: str, env: Mapping[str, str]) -> SecretStr:
    """The private key as 0x + 64 hex; AccountError(status 2) naming where it was sought."""
    if key_file is not None:
        try:
            mode = key_file.stat().st_mode & 0o777
        except FileNotFoundError:
            raise AccountError(f"key file not found: {key_file}", 2) from None
        if mode & 0o077:
            raise AccountError(
                f"key file {key_file} is accessible by others (mode {mode:o}); chmod 600 it", 2
            )
        try:
            text = key_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise AccountError(
                f"cannot read key file {key_file}: {type(exc).__name__}", 2
            ) from None
        source = f"key file {key_file}"
    else:
        text = env.get(key_env, "").strip()
        if not text:
            raise AccountError(f"no private key: set {key_env} or pass --key-file", 2)
        source = f"${key_env}"
    if not _KEY.match(text):
        raise AccountError(f"{source} does not hold a private key (64 hex digits)", 2)
    return SecretStr(text if text.startswith("0x") else "0x" + text)


def create_credentials(private_key: SecretStr, clob_url: str, nonce: int = 0) -> ApiCredentials:
    """Create or derive the key's L2 credentials through polymarket-client (blocking).

    Raises the client's errors (polymarket.errors.*) as they come.
    """
    from eth_account import Account
    from polymarket import SecureClient
    from polymarket._internal.environment import PRODUCTION_CONFIG, create_environment
    from polymarket.environments import PRODUCTION

    key = private_key.get_secret_value()
    address = str(Account.from_key(key).address)
    url = clob_url.rstrip("/")
    if url == PRODUCTION_CLOB:
        environment = PRODUCTION
    else:
        config = dataclasses.replace(PRODUCTION_CONFIG, clob_url=url)
        environment = create_environment(name="polyengine-custom", config=config)
    client = SecureClient.create(
        private_key=key, wallet=address, environment=environment, nonce=nonce
    )
    try:
        creds = client.credentials
        return ApiCredentials(
            address=str(client.signer),
            api_key=creds.key,
            secret=SecretStr(creds.secret),
            passphrase=SecretStr(creds.passphrase),
        )
    finally:
        client.close()


def _venue_error(exc: Exception, clob_url: str) -> AccountError:
    from polymarket.errors import PolymarketError, RequestRejectedError, UserInputError

    text = " ".join(str(exc).split())
    if isinstance(exc, RequestRejectedError):
        return AccountError(f"the venue refused ({exc.status}): {text}", 1)
    if isinstance(exc, UserInputError):
        return AccountError(f"rejected by the client: {text}", 2)
    if isinstance(exc, PolymarketError):
        return AccountError(f"venue error at {clob_url}: {type(exc).__name__}: {text}", 1)
    return AccountError(f"cannot reach {clob_url}: {type(exc).__name__}: {text}", 1)


def _scrub(message: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "<redacted>")
    return message


def run_account(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> int:
    """`polyengine account`: 0 with the wallet address and file path printed; 2 for bad
    input, 1 for venue errors; one line on stderr, never a secret."""
    environ = os.environ if env is None else env
    secrets: list[str] = []
    try:
        if args.nonce < 0:
            raise AccountError("--nonce must not be negative", 2)
        key = read_private_key(args.key_file, args.key_env, environ)
        secrets += [key.get_secret_value(), key.get_secret_value()[2:]]
        try:
            creds = create_credentials(key, args.clob_url, args.nonce)
        except Exception as exc:  # the client's and httpx's errors, reported as one line
            raise _venue_error(exc, args.clob_url) from None
        secrets += [creds.secret.get_secret_value(), creds.passphrase.get_secret_value()]
        out = Path(args.out).expanduser()
        try:
            creds.save(out)
        except OSError as exc:
            raise AccountError(f"cannot write {out}: {exc.strerror or exc}", 1) from None
    except AccountError as exc:
        print(f"polyengine account: {_scrub(str(exc), secrets)}", file=sys.stderr)
        return exc.status
    print(f"wallet {creds.address}")
    print(f"credentials {out}")
    return 0
