"""Restarting `polyengine run --mode paper --venue-url URL` with the same state directory
resumes: the ledger is rebuilt from the journal, reconciliation matches it with the
venue before any order is sent, and money still reconciles to the micro-USDC. A journal
that does not belong to the venue halts trading with one clear line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from test_network_session import _start_venue, _stop, polyengine

from engine.journal import read_journal

START = 1_793_404_800


def _venue(seed: int) -> tuple[Any, dict[str, str]]:
    return _start_venue(
        "--seed", str(seed), "--windows", "1", "--series", "15m", "--start-ts", str(START),
        "--clock-start", str(START - 30), "--clock-rate", "20", "--no-rebates",
        "--book-model", "per-token",
    )  # fmt: skip


def _run(url: str, state: Path, report: Path, duration: int) -> Any:
    return polyengine(
        "run", "--venue-url", url, "--clock-rate", "20", "--duration", str(duration),
        "--quiet", "--report-json", str(report), "--state-dir", str(state),
    )  # fmt: skip


def _fills(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["trade_id"], f["order_id"]) for f in report["fills"]}


def test_a_second_run_on_the_same_state_dir_resumes_the_first(tmp_path: Path) -> None:
    state = tmp_path / "state"
    venue, urls = _venue(3)
    try:
        first = _run(urls["clob"], state, tmp_path / "first.json", 120)
        assert first.returncode == 0, first.stderr
        second = _run(urls["clob"], state, tmp_path / "second.json", 150)
        assert second.returncode == 0, second.stderr
    finally:
        _stop(venue)
    one = orjson.loads((tmp_path / "first.json").read_bytes())
    two = orjson.loads((tmp_path / "second.json").read_bytes())
    assert one["fills"], "the first run traded nothing"
    assert not one["state"]["resumed"] and two["state"]["resumed"]
    assert "resumed from" in second.stdout or two["state"]["dir"] == str(state)
    # The second run's ledger carries the first run's fills, each once, and its own.
    assert _fills(one) <= _fills(two)
    assert len(two["fills"]) == len(_fills(two))
    assert two["initial_cash"] == one["initial_cash"]
    for report in (one, two):
        assert report["ledger_identity"]["holds"], report["ledger_identity"]
        assert report["venue_cash_matches"] is True
        assert report["state"]["halted"] is None
    # The journal agrees with the ledger: the same fills, the same cash.
    journal, _ = read_journal(state / "journal.jsonl")
    assert {(fid, oid) for fid, oid in journal.fills} == _fills(two)
    assert journal.cash == two["final_cash"]
    assert not journal.open_orders(), "every order is closed after a graceful stop"


def test_a_journal_from_another_venue_halts_before_any_order(tmp_path: Path) -> None:
    state = tmp_path / "state"
    venue, urls = _venue(3)
    try:
        first = _run(urls["clob"], state, tmp_path / "first.json", 120)
        assert first.returncode == 0, first.stderr
    finally:
        _stop(venue)
    assert orjson.loads((tmp_path / "first.json").read_bytes())["fills"]
    other, urls = _venue(5)  # a new venue: it never saw this journal's trades
    try:
        halted = _run(urls["clob"], state, tmp_path / "halted.json", 120)
    finally:
        _stop(other)
    assert halted.returncode == 1, halted.stdout + halted.stderr
    lines = [line for line in halted.stderr.splitlines() if line.startswith("polyengine:")]
    assert lines and lines[-1].startswith("polyengine: trading halted:"), halted.stderr
    assert "journal" in lines[-1] or "venue" in lines[-1]
    report = orjson.loads((tmp_path / "halted.json").read_bytes())
    assert report["orders"]["sent"] == 0, "an order was sent before the barrier passed"
    assert report["state"]["halted"]
