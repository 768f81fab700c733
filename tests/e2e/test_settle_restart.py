"""A market that resolves while the engine is down is settled on restart, not halted on.

The engine trades the venue's one window and stops while holding shares; the window
ends and the venue resolves it, redeeming the winning shares into cash, while no engine
is there to see the `market_resolved` frame. The restart on the same state directory
reads the resolution over REST before matching balances: it resumes unhalted, journals
the settlement once, and journal cash, ledger cash and venue cash agree to the micro.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson
from test_network_session import _start_venue, _stop, polyengine

from engine.journal import SettlementRecord, iter_journal, read_journal
from engine.resolutions import held_markets

START = 1_793_404_800
END = START + 900


def _venue_time(clob: str) -> int:
    return int(httpx.get(f"{clob}/time", timeout=10).text)


def test_a_market_resolved_while_the_engine_was_down_is_settled_on_restart(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    venue, urls = _start_venue(
        "--seed", "3", "--windows", "1", "--series", "15m", "--start-ts", str(START),
        "--clock-start", str(START - 30), "--clock-rate", "20", "--no-rebates",
        "--book-model", "per-token",
    )  # fmt: skip
    try:
        first = polyengine(
            "run", "--venue-url", urls["clob"], "--clock-rate", "20", "--duration", "600",
            "--quiet", "--report-json", str(tmp_path / "first.json"), "--state-dir", str(state),
            timeout=120,
        )  # fmt: skip
        assert first.returncode == 0, first.stderr
        stopped, _ = read_journal(state / "journal.jsonl")
        held = held_markets(stopped)
        assert held, "the first run stopped holding nothing: nothing to settle"
        assert _venue_time(urls["clob"]) < END, "the window ended before the engine stopped"
        deadline = time.monotonic() + 60
        while _venue_time(urls["clob"]) < END + 10:  # the venue resolves at the end
            assert time.monotonic() < deadline, "the venue's clock is stuck"
            time.sleep(0.5)
        second = polyengine(
            "run", "--venue-url", urls["clob"], "--clock-rate", "20", "--duration", "60",
            "--quiet", "--report-json", str(tmp_path / "second.json"), "--state-dir", str(state),
            timeout=120,
        )  # fmt: skip
    finally:
        _stop(venue)
    assert second.returncode == 0, second.stdout + second.stderr
    report = orjson.loads((tmp_path / "second.json").read_bytes())
    assert report["state"]["resumed"] and report["state"]["halted"] is None
    # The settlement is journaled once per market held, and booked in the ledger.
    data = (state / "journal.jsonl").read_bytes()
    settlements = [r for _, r in iter_journal(data) if isinstance(r, SettlementRecord)]
    assert sorted(s.condition_id for s in settlements) == sorted(held)
    booked = [m["condition_id"] for m in report["settlement"]["markets"]]
    assert sorted(booked) == sorted(held) and report["session"]["windows"] == len(held)
    assert not report["positions"], "shares of a resolved market are still held"
    # Journal cash == ledger cash == venue cash, to the micro-USDC.
    journal, _ = read_journal(state / "journal.jsonl")
    assert journal.cash == report["final_cash"] == report["venue_cash"]
    assert report["ledger_identity"]["holds"], report["ledger_identity"]
    assert all(size == 0 for size in journal.positions.values()), journal.positions
