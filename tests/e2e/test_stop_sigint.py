"""SIGINT stops a paper session with orders resting, and the journal it leaves behind
lists no order as open: each was closed with the venue's word by the graceful stop
(cancel-all, then the close-out), and the money still reconciles to the micro-USDC.

The venue holds its order and cancel answers back (`delayed-acks`), which widens the
race the close-out exists for: an order actor's own "shutdown" cancel empties the order
out of cancel-all's answer, and the actor is stopped before that cancel's delayed answer
reaches it (without the close-out this left orders open in the journal, though not in
every run; tests/live/test_stop_closeout.py pins the close-out itself down)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
from test_network_session import _start_venue, _stop, reconciles

from engine.journal import JOURNAL_FILE, OrderPhase, read_journal

START = 1_793_404_800


def open_orders_in(journal: Path) -> set[str]:
    """Orders the journal lists as open now (the engine is still writing it)."""
    if not journal.exists():
        return set()
    state, _ = read_journal(journal)
    return {o.order_id for o in state.open_orders()}


def test_a_sigint_stopped_paper_session_leaves_no_order_open_in_the_journal(
    tmp_path: Path,
) -> None:
    state_dir = tmp_path / "state"
    report = tmp_path / "report.json"
    venue, urls = _start_venue(
        "--seed", "3", "--windows", "1", "--series", "15m", "--start-ts", str(START),
        "--clock-start", str(START - 30), "--clock-rate", "20", "--no-rebates",
        "--book-model", "per-token", "--faults", "delayed-acks",
    )  # fmt: skip
    try:
        command = [
            sys.executable, "-m", "engine.cli", "run", "--venue-url", urls["clob"],
            "--clock-rate", "20", "--duration", "600", "--quiet",
            "--report-json", str(report), "--state-dir", str(state_dir),
        ]  # fmt: skip
        engine = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            journal = state_dir / JOURNAL_FILE
            deadline = time.monotonic() + 120
            while len(resting := open_orders_in(journal)) < 2:  # the maker's two quotes
                assert engine.poll() is None, engine.communicate()[1]
                assert time.monotonic() < deadline, "no orders rested within 120 s"
                time.sleep(0.1)
            engine.send_signal(signal.SIGINT)
            _, err = engine.communicate(timeout=120)
        finally:
            if engine.poll() is None:
                engine.kill()
                engine.communicate()
    finally:
        _stop(venue)
    assert engine.returncode == 0, err
    final = orjson.loads(report.read_bytes())
    assert "SIGINT" in final["session"]["shutdown_reason"]
    reconciles(final)
    state, load = read_journal(state_dir / JOURNAL_FILE)
    assert load.torn_bytes == 0
    left = [(o.order_id, o.phase.value) for o in state.open_orders()]
    assert left == [], f"orders still open in the journal after SIGINT: {left}\n{err}"
    assert final["state"]["closeout"]["left_open"] == {}
    # The orders open when SIGINT came are closed with a terminal state the venue gave.
    for order_id in resting:
        order = state.orders[order_id]
        assert order.phase is OrderPhase.CLOSED and order.terminal is not None, order
    # The journal's fills are the ledger's, each once.
    assert {(f["trade_id"], f["order_id"]) for f in final["fills"]} == set(state.fills)
    assert state.cash == final["final_cash"]
