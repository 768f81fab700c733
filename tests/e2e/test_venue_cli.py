"""`polyengine venue` as a user meets it: URLs then `ready`, a client trades, SIGINT, ledger."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from py_clob_client_v2.client import ClobClient
from py_clob_client_v2.clob_types import OrderArgsV2

SERVICES = ["clob", "ws-market", "ws-user", "gamma", "relayer", "binance", "coinbase", "rtds"]


def venue(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "venue", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )


def read_urls(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    urls: dict[str, str] = {}
    for line in process.stdout:
        if line.strip() == "ready":
            return urls
        name, url = line.split()
        urls[name] = url
    raise AssertionError(
        f"no ready line; stderr: {process.stderr.read() if process.stderr else ''}"
    )


def test_venue_serves_until_sigint_then_writes_the_ledger(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.json"
    process = venue("--port", "0", "--seed", "5", "--no-traders", "--ledger-json", str(ledger_path))
    try:
        urls = read_urls(process)
        assert list(urls) == SERVICES
        assert urls["clob"].startswith("http://127.0.0.1:") and urls["ws-user"].endswith("/ws/user")
        key = "0x" + hashlib.sha256(b"polyengine-test-key|cli").hexdigest()
        client = ClobClient(urls["clob"], 137, key=key)
        client.set_api_creds(client.create_or_derive_api_key())
        markets = client.get_markets()["data"]
        open_market = next(m for m in markets if m["accepting_orders"])
        token = open_market["tokens"][0]["token_id"]
        placed = client.create_and_post_order(
            OrderArgsV2(token_id=token, price=0.42, size=10, side="BUY")
        )
        assert placed["success"]
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err and client.creds is not None
    assert client.creds.api_secret not in err
    ledger = orjson.loads(ledger_path.read_bytes())
    (account,) = [a for a in ledger["accounts"] if a["kind"] == "api"]
    assert account["account"] == client.get_address()
    assert account["funded"] == 10_000_000_000
    assert account["collateral"]["reserved"] > 0
    (order,) = account["open_orders"]
    assert (order["id"], order["price"], order["original_size"]) == (
        placed["orderID"],
        420_000,
        10_000_000,
    )
    assert client.creds.api_secret not in ledger_path.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--faults", "ws-drop,gremlins"), "unknown fault gremlins"),
        (("--start-ts", "1000"), "--start-ts must be a multiple of 900"),
        (("--rate-limit", "POST /order=x"), "bad rate limit"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: tuple[str, ...], message: str) -> None:
    process = venue(*args)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 2
    assert message in err and err.strip().count("\n") == 0 and out == ""


def test_help_lists_every_fault() -> None:
    process = venue("--help")
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    for name in ("ws-drop", "silent-freeze", "lost-response", "trades-failed", "burst-429"):
        assert name in out
