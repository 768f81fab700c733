"""`polyengine account` (engine.account.run_account) against the venue server.

run_account is the blocking CLI entry point (the official sync client inside); tests
run it in a worker thread while the venue serves on the test's Trio loop.
"""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

import httpx
import pytest
import trio
from venue_client import Client, Creds, seeded_key

from engine.account import add_account_arguments, run_account
from engine.credentials import ApiCredentials
from engine.venue.server.app import VenueServer


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="polyengine account")
    add_account_arguments(parser)
    return parser.parse_args(list(argv))


async def account(
    args: argparse.Namespace, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    status = await trio.to_thread.run_sync(run_account, args, env)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text
        assert secret.removeprefix("0x") not in text


async def test_account_creates_credentials_that_work_and_stores_them_0600(
    venue_server: VenueServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(30):
        wallet = seeded_key("account-create")
        key_hex = "0x" + wallet.key.hex().removeprefix("0x")
        out = tmp_path / "conf" / "credentials.json"
        args = parse("--clob-url", venue_server.urls["clob"], "--out", str(out))
        status, stdout, stderr = await account(args, {"POLYMARKET_PRIVATE_KEY": key_hex}, capsys)

        assert status == 0, stderr
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        creds = ApiCredentials.load(out)
        assert creds.address == wallet.address
        assert stdout.splitlines() == [f"wallet {wallet.address}", f"credentials {out}"]
        secret, passphrase = creds.secret.get_secret_value(), creds.passphrase.get_secret_value()
        assert_no_secret(stdout + stderr, secret, passphrase, key_hex)

        # The stored credentials sign L2 requests the venue accepts.
        async with httpx.AsyncClient(base_url=venue_server.urls["clob"]) as http:
            client = Client(http, wallet)
            client.creds = Creds(creds.api_key, secret, passphrase)
            response = await client.call("GET", "/auth/api-keys")
            assert response.status_code == 200, response.text
            assert response.json() == {"apiKeys": [creds.api_key]}

        # Again: the venue says the key exists, so the same credentials are derived.
        status, stdout, stderr = await account(args, {"POLYMARKET_PRIVATE_KEY": key_hex}, capsys)
        assert status == 0, stderr
        again = ApiCredentials.load(out)
        assert again == creds
        assert again.secret.get_secret_value() == secret
        assert_no_secret(stdout + stderr, secret, passphrase, key_hex)


async def test_a_key_file_only_its_owner_can_read_is_accepted(
    venue_server: VenueServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(30):
        wallet = seeded_key("account-key-file")
        key_hex = wallet.key.hex().removeprefix("0x")  # without 0x, as some tools write it
        key_file = tmp_path / "key"
        key_file.write_text(key_hex + "\n")
        os.chmod(key_file, 0o600)
        out = tmp_path / "creds.json"
        args = parse(
            "--clob-url", venue_server.urls["clob"], "--key-file", str(key_file), "--out", str(out)
        )
        status, stdout, stderr = await account(args, {}, capsys)
        assert status == 0, stderr
        assert ApiCredentials.load(out).address == wallet.address
        assert_no_secret(stdout + stderr, key_hex)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
async def test_a_key_file_readable_by_others_is_refused_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: int
) -> None:
    with trio.fail_after(30):
        key_hex = seeded_key("account-open-file").key.hex()
        key_file = tmp_path / "key"
        key_file.write_text(key_hex)
        os.chmod(key_file, mode)
        out = tmp_path / "creds.json"
        args = parse("--key-file", str(key_file), "--out", str(out), "--clob-url", "http://x")
        status, stdout, stderr = await account(args, {}, capsys)
        assert status == 2
        assert stdout == ""
        assert stderr.count("\n") == 1 and "chmod 600" in stderr
        assert_no_secret(stderr, key_hex)
        assert not out.exists()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "no private key"),
        ({"POLYMARKET_PRIVATE_KEY": "0x1234"}, "does not hold a private key"),
        ({"POLYMARKET_PRIVATE_KEY": "zz" * 32}, "does not hold a private key"),
    ],
)
async def test_a_missing_or_malformed_key_is_bad_input_and_is_not_echoed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], env: dict[str, str], expected: str
) -> None:
    with trio.fail_after(30):
        args = parse("--out", str(tmp_path / "creds.json"), "--clob-url", "http://x")
        status, stdout, stderr = await account(args, env, capsys)
        assert status == 2 and stdout == ""
        assert expected in stderr and stderr.count("\n") == 1
        for value in env.values():
            assert value not in stderr


async def test_venue_errors_exit_1_with_the_venues_text_and_no_secret(
    venue_server: VenueServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with trio.fail_after(30):
        key_hex = seeded_key("account-venue-error").key.hex()
        env = {"POLYMARKET_PRIVATE_KEY": key_hex}
        out = tmp_path / "creds.json"
        # A URL where the venue has no such route: it answers 404 with its own text.
        args = parse("--clob-url", venue_server.urls["clob"] + "/nowhere", "--out", str(out))
        status, stdout, stderr = await account(args, env, capsys)
        assert status == 1 and stdout == ""
        assert "404" in stderr and stderr.count("\n") == 1
        assert_no_secret(stderr, key_hex)
        # Nothing listening at all.
        with trio.socket.socket() as sock:
            await sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        args = parse("--clob-url", f"http://127.0.0.1:{port}", "--out", str(out))
        status, stdout, stderr = await account(args, env, capsys)
        assert status == 1, stderr
        assert f"127.0.0.1:{port}" in stderr
        assert stderr.count("\n") == 1
        assert_no_secret(stderr, key_hex)
        assert not out.exists()
