"""`polyengine run` over the network: paper against its own venue (with every fault),
against a running venue, and live mode with credentials from `polyengine account`.

These run the real command in a subprocess, with the venue in another process, on
loopback. Money must reconcile to the micro-USDC against the venue's own balance: a
fill lost or counted twice, or a voided fill not reversed, would show as a difference.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from eth_account import Account

ALL_FAULTS = (
    "ws-drop,silent-freeze,duplicate-events,out-of-order-events,trades-failed,"
    "lost-response,burst-429,burst-500"
)


def polyengine(
    *args: str, env: dict[str, str] | None = None, timeout: float = 400
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def reconciles(report: dict[str, Any]) -> None:
    assert report["ledger_identity"]["holds"], report["ledger_identity"]
    assert report["venue_cash_matches"] is True
    assert report["final_cash"] == report["venue_cash"]


def test_paper_trades_over_the_network_and_reports_every_fill(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = polyengine("run", "--windows", "1", "--quiet", "--report-json", str(out))
    assert result.returncode == 0, result.stderr
    assert "venue cash matches" in result.stdout
    assert "frame received -> order sent (engine)" in result.stdout
    assert "order sent -> venue answer (round trip)" in result.stdout
    report = orjson.loads(out.read_bytes())
    reconciles(report)
    assert report["mode"] == "paper"
    assert report["wallet"].startswith("0x") and len(report["wallet"]) == 42
    assert report["fills"], "the paper session traded nothing"
    for fill in report["fills"]:
        assert fill["trade_id"] and fill["status"] in ("MATCHED", "CONFIRMED")
    # The pair desk ran entry+hedge pairs through the same journaled order path.
    pairs = report["pairs"]
    assert pairs["started"] > 0, pairs
    last_phase = {a["pair"]: a["phase"] for a in pairs["audit"]}
    assert len(last_phase) == pairs["started"]
    # Each pair ends hedged, flat, liquidated, held or orphaned: never silently one-legged.
    assert set(last_phase.values()) <= {"hedged", "flat", "liquidated", "held", "orphaned"}
    posted = [a for a in pairs["audit"] if a["step"] == "post batch"]
    assert posted and all(len(a["orders"]) == 2 and all(a["orders"]) for a in posted)
    assert report["state"]["halted"] is None and report["state"]["reconciliation_rounds"] > 0
    assert report["latency_ns"]["frame_to_order"]["count"] > 0
    assert report["latency_ns"]["order_round_trip"]["count"] > 0
    assert report["settlement"]["markets"], "the window did not settle"


def test_every_venue_fault_at_once_still_reconciles_to_the_micro_usdc(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = polyengine(
        "run", "--windows", "1", "--quiet", "--report-json", str(out),
        env={"POLYENGINE_VENUE__FAULTS": ALL_FAULTS},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = orjson.loads(out.read_bytes())
    reconciles(report)
    links = report["connections"]
    assert links["user_channel"]["connects"] > 1, "ws-drop never cut the user channel"
    assert links["user_channel"]["fills_voided"] > 0, "trades-failed voided nothing"
    assert report["voided_fills"], "voided fills are listed in the report"
    assert links["orders_unknown"] > 0, "lost-response left no order unknown"
    assert links["client_retries"] > 0, "the bursts were never retried"
    statuses = {f["status"] for f in report["fills"]}
    assert statuses <= {"MATCHED", "CONFIRMED"}  # FAILED ones are voided, not fills
    assert report["pairs"]["started"] > 0, "the pair desk never traded under the faults"
    assert report["state"]["halted"] is None


def _start_venue(*args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    venue = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "venue", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert venue.stdout is not None
    urls: dict[str, str] = {}
    for line in venue.stdout:
        if line.strip() == "ready":
            return venue, urls
        name, _, url = line.strip().partition(" ")
        urls[name] = url
    raise AssertionError(f"the venue did not start: {venue.stderr.read() if venue.stderr else ''}")


def _stop(venue: subprocess.Popen[str]) -> None:
    venue.send_signal(signal.SIGINT)
    venue.communicate(timeout=60)


def test_paper_against_a_running_venue_for_a_duration(tmp_path: Path) -> None:
    start = 1_793_404_800
    venue, urls = _start_venue(
        "--seed", "3", "--windows", "1", "--series", "15m", "--start-ts", str(start),
        "--clock-start", str(start - 30), "--clock-rate", "20", "--no-rebates",
        "--book-model", "per-token",
    )  # fmt: skip
    try:
        out = tmp_path / "report.json"
        result = polyengine(
            "run", "--venue-url", urls["clob"], "--clock-rate", "20", "--duration", "300",
            "--quiet", "--report-json", str(out), "--state-dir", str(tmp_path / "state"),
        )  # fmt: skip
    finally:
        _stop(venue)
    assert result.returncode == 0, result.stderr
    report = orjson.loads(out.read_bytes())
    assert report["session"]["shutdown_reason"] == "duration 300 s reached"
    assert report["venue_url"] == urls["clob"]
    assert report["fills"], "nothing traded in 300 s"
    assert report["ledger_identity"]["holds"]
    # Mid-window, positions are open: cash is what the venue holds for the account.
    assert report["venue_cash_matches"] is True
    assert report["positions"]


def test_live_mode_uses_account_credentials_and_never_prints_secrets(tmp_path: Path) -> None:
    key = Account.from_key(bytes.fromhex("4c" * 32))
    private = key.key.hex().removeprefix("0x")
    venue, urls = _start_venue("--seed", "4", "--windows", "2", "--series", "15m")
    try:
        creds = tmp_path / "credentials.json"
        made = polyengine(
            "account", "--clob-url", urls["clob"], "--out", str(creds),
            env={"POLYMARKET_PRIVATE_KEY": private},
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        config = tmp_path / "live.toml"
        endpoints = "\n".join(
            f'{name} = "{url}"'
            for name, url in {
                "clob": urls["clob"],
                "ws_market": urls["ws-market"],
                "ws_user": urls["ws-user"],
                "gamma": urls["gamma"],
                "binance": urls["binance"],
                "coinbase": urls["coinbase"],
                "rtds": urls["rtds"],
            }.items()
        )
        config.write_text(
            f'[run]\nmode = "live"\ncredentials_file = "{creds}"\nprogress = false\n\n'
            f"[endpoints]\n{endpoints}\n"
        )
        out = tmp_path / "report.json"
        started = time.monotonic()
        result = polyengine(
            "run", "--config", str(config), "--duration", "20", "--report-json", str(out),
            "--state-dir", str(tmp_path / "state"),
            env={"POLYMARKET_PRIVATE_KEY": private},
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        _stop(venue)
    assert result.returncode == 0, result.stderr
    report = orjson.loads(out.read_bytes())
    assert report["mode"] == "live"
    assert report["wallet"].lower() == key.address.lower()
    assert report["ledger_identity"]["holds"] and report["venue_cash_matches"] is True
    assert elapsed >= 20, "live mode runs on the real clock"
    secrets = orjson.loads(creds.read_bytes())
    shown = made.stdout + made.stderr + result.stdout + result.stderr
    for secret in (private, secrets["secret"], secrets["passphrase"]):
        assert secret not in shown


def test_sigint_stops_a_paper_session_cancelling_its_orders() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", "--windows", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    header = process.stdout.readline()
    assert header.startswith("polyengine: paper session against its own venue")
    progress = process.stdout.readline()  # trading has begun
    assert progress.startswith("[")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "SIGINT" in out
    assert "venue cash matches" in out


def test_an_unreachable_venue_is_one_line_and_exit_1() -> None:
    result = polyengine("run", "--venue-url", "http://127.0.0.1:9", "--duration", "5", timeout=120)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "polyengine: the session could not start: cannot reach the venue at http://127.0.0.1:9"
    )
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
