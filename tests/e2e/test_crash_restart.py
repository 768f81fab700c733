"""SIGKILL the engine mid-order, restart it on the same state directory, and check that
nothing was lost or done twice.

A venue runs in its own process for the whole test, recording every order it receives
(`--post-log`). The engine (`polyengine run --mode paper --venue-url ... --state-dir`)
is killed with SIGKILL at a crash point (engine/crashpoints.py: after signing, after
sending, after requesting a cancel, between journaling a fill and booking it), chosen
with its pass number by a seeded random generator, then restarted without the crash plan
to run to the end of its duration. Afterwards:

* no order id reached the venue twice (the venue's own post log);
* every order the venue received was journaled as signed first;
* the journal's fills are the venue's trades for the wallet, each exactly once, and its
  cash and positions are the venue's balances;
* every restarted run's report reconciles its ledger, and after the last (graceful)
  stop the journal has no order left open.

All runs stay inside the first 15-minute window (asserted): a market that resolves while
the engine is down is a separate scenario. CRASH_TEST_SEED=<n> runs another plan.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
import orjson
import pytest
import trio
import trio.testing

from engine.client.rest import RestClient
from engine.crashpoints import ENV as CRASH_ENV
from engine.crashpoints import POINTS
from engine.journal import (
    JOURNAL_FILE,
    FillRecord,
    FillStatus,
    JournalState,
    OrderPhase,
    SignedRecord,
    read_journal,
)
from engine.network_session import venue_clock
from engine.order_factory import paper_signer
from engine.reconcile import fills_of_trade
from engine.units import UNIT, OrderType, Side
from engine.venue.server.postlog import PostedOrder, read_post_log

SEED = int(os.environ.get("CRASH_TEST_SEED", "20260611"))
"""Seeds the crash plan (which point, which pass); CRASH_TEST_SEED explores others."""
ENGINE_SEED = 7
"""The session's seed (venue.seed): the paper wallet's key is derived from it."""
RATE = 5.0
"""Venue and engine both run 5 simulated seconds per real second: slow enough that the
whole test (8 runs, their start-ups included) stays inside the first 15-minute window."""
START_TS = 1_793_404_800
WINDOW_END_S = START_TS + 900
CRASH_DURATION_S = 600.0
"""Long enough that the planned pass is always reached first."""
RESTART_DURATION_S = 60.0
MAX_PASS = {"after_sign": 20, "after_send": 20, "after_cancel": 20, "mid_fills": 3}
"""The largest pass number drawn per point: a few seconds of trading reach each."""
RUN_TIMEOUT_S = 240.0


def crash_plan(seed: int) -> list[tuple[str, int]]:
    """Every crash point once, in a seeded order, each at a seeded pass."""
    rng = random.Random(seed)
    points = sorted(POINTS)
    rng.shuffle(points)
    return [(point, rng.randint(1, MAX_PASS[point])) for point in points]


# --- the processes -------------------------------------------------------------------


@dataclass
class Venue:
    process: subprocess.Popen[bytes]
    urls: dict[str, str]
    log: IO[bytes]

    @property
    def url(self) -> str:
        return self.urls["clob"]


def start_venue(tmp_path: Path, post_log: Path) -> Venue:
    """`polyengine venue` in a child process, accelerated, logging every post."""
    log = (tmp_path / "venue.log").open("wb")
    command = [
        sys.executable, "-m", "engine.cli", "venue", "--port", "0",
        "--seed", "3", "--windows", "8", "--series", "15m",
        "--start-ts", str(START_TS), "--clock-start", str(START_TS - 30),
        "--clock-rate", repr(RATE), "--no-rebates", "--book-model", "per-token",
        "--post-log", str(post_log),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    assert process.stdout is not None
    urls: dict[str, str] = {}
    for raw in process.stdout:
        line = raw.decode().strip()
        if line == "ready":
            return Venue(process, urls, log)
        name, _, url = line.partition(" ")
        urls[name] = url
    process.wait(timeout=30)
    log.close()
    raise AssertionError(f"the venue did not start: {(tmp_path / 'venue.log').read_text()}")


def stop_venue(venue: Venue) -> None:
    venue.process.send_signal(signal.SIGINT)
    try:
        venue.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        venue.process.kill()
        venue.process.wait()
    venue.log.close()


def run_engine(
    venue_url: str, state_dir: Path, report: Path, duration_s: float, crash: str | None
) -> subprocess.CompletedProcess[str]:
    """One `polyengine run` against the venue on the state directory."""
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash is not None:
        env[CRASH_ENV] = crash
    command = [
        sys.executable, "-m", "engine.cli", "run", "--mode", "paper",
        "--venue-url", venue_url, "--state-dir", str(state_dir),
        "--seed", str(ENGINE_SEED), "--clock-rate", repr(RATE),
        "--duration", repr(duration_s), "--report-json", str(report), "--quiet",
    ]  # fmt: skip
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
        check=False,
    )


def assert_still_in_the_first_window(venue_url: str) -> None:
    """The plan is sized to run inside the first window: a market settling while the
    engine is down is another scenario (see the module notes), not this test's."""
    now = httpx.get(f"{venue_url}/time", timeout=30).json()
    assert now < WINDOW_END_S, (
        f"venue time {now - START_TS} s into the window: the runs were too slow to stay "
        "inside the first window"
    )


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


# --- what the venue says -------------------------------------------------------------


@dataclass
class VenueView:
    """The wallet as the venue sees it: its trades, cash, and token balances."""

    wallet: str
    trades: list[dict[str, Any]]
    cash: int
    positions: dict[str, int]


def venue_view(venue_url: str, tokens: set[str]) -> VenueView:
    """Ask the venue (L2, as the paper wallet) for its trades and balances."""

    async def ask() -> VenueView:
        with trio.fail_after(120):
            async with RestClient(venue_url, None, seed=ENGINE_SEED) as public:
                clock = await venue_clock(public)
            signer = paper_signer(ENGINE_SEED)
            async with RestClient(venue_url, None, wallclock=clock.now_s) as l1:
                credentials = await l1.create_or_derive_credentials(signer)
            async with RestClient(venue_url, credentials, wallclock=clock.now_s) as rest:
                trades = await rest.trades()
                every = tokens | {str(t["asset_id"]) for t in trades}
                every |= {str(m["asset_id"]) for t in trades for m in t.get("maker_orders", [])}
                positions = {
                    token: await rest.balance_allowance("CONDITIONAL", token) for token in every
                }
                cash = await rest.balance_allowance("COLLATERAL")
            return VenueView(signer.address, trades, cash, positions)

    return trio.run(ask, clock=trio.testing.MockClock(rate=RATE))


# --- the guarantees ------------------------------------------------------------------


def assert_no_order_sent_twice(posted: list[PostedOrder]) -> None:
    assert all(p.order_id is not None for p in posted), "the venue could not hash a post"
    twice = {oid: n for oid, n in Counter(p.order_id for p in posted).items() if n > 1}
    assert not twice, f"orders that reached the venue more than once: {twice}"


def assert_every_post_was_journaled(posted: list[PostedOrder], state: JournalState) -> None:
    missing = [p.order_id for p in posted if p.order_id not in state.orders]
    assert not missing, f"{len(missing)} orders reached the venue unjournaled: {missing[:5]}"


def _terms(fill: FillRecord) -> tuple[Any, ...]:
    return (fill.token_id, fill.side, fill.price, fill.size, fill.fee, fill.liquidity)


def assert_died_where_planned(point: str, posted: list[PostedOrder], state: JournalState) -> None:
    """The kill left the trace its point implies (so the run tested what it meant to)."""
    sent = {p.order_id for p in posted}
    unanswered = [o for o in state.orders.values() if o.phase is OrderPhase.SIGNED]
    if point == "after_sign":
        assert any(o.order_id not in sent for o in unanswered), "no order signed yet unsent"
    elif point == "after_send":
        assert any(o.order_id in sent for o in unanswered), "no order sent yet unanswered"
    elif point == "after_cancel":
        pending = [o for o in state.open_orders() if o.cancel_requested]
        assert pending, "no cancel journaled as requested and left open"
    else:
        assert state.fills, "no fill journaled before the kill"


def assert_fills_are_the_venues_trades(state: JournalState, view: VenueView) -> None:
    """The journal holds each of the wallet's venue fills exactly once, on the same terms;
    a trade the venue failed is failed in the journal too (others may lag MATCHED ->
    CONFIRMED, which changes no money)."""
    venue_fills: dict[tuple[str, str], FillRecord] = {}
    for trade in view.trades:
        fills, foreign = fills_of_trade(trade, state.orders)
        assert not foreign, f"venue trades of orders the journal never signed: {foreign}"
        for fill in fills:
            assert fill.fill_key not in venue_fills, f"the venue reports {fill.fill_key} twice"
            venue_fills[fill.fill_key] = fill
    assert set(state.fills) == set(venue_fills), (
        f"journal only: {sorted(set(state.fills) - set(venue_fills))[:5]}; "
        f"venue only: {sorted(set(venue_fills) - set(state.fills))[:5]}"
    )
    for key, ours in state.fills.items():
        theirs = venue_fills[key]
        assert _terms(ours) == _terms(theirs), (key, ours, theirs)
        failed = (ours.status is FillStatus.FAILED, theirs.status is FillStatus.FAILED)
        assert failed[0] == failed[1], (key, ours.status, theirs.status)


def assert_holdings_are_the_venues(state: JournalState, view: VenueView) -> None:
    assert state.cash == view.cash, f"journal cash {state.cash}, venue {view.cash}"
    journal = {t: n for t, n in state.positions.items() if n}
    venue = {t: n for t, n in view.positions.items() if n}
    assert journal == venue, f"journal positions {journal}, venue {venue}"


def reconciles(report: dict[str, Any]) -> None:
    assert report["ledger_identity"]["holds"], report["ledger_identity"]
    assert report["venue_cash_matches"] is True
    assert report["final_cash"] == report["venue_cash"]


# --- the test ------------------------------------------------------------------------


def test_the_plan_covers_every_crash_point_once() -> None:
    plan = crash_plan(SEED)
    assert sorted(point for point, _ in plan) == sorted(POINTS)
    assert all(1 <= n <= MAX_PASS[point] for point, n in plan)
    assert crash_plan(SEED) == plan  # seeded: the same runs every time


def _posted(order_id: str) -> PostedOrder:
    return PostedOrder("POST /order", 0, order_id, "key", "0xabc", 0)


def _signed(order_id: str) -> SignedRecord:
    return SignedRecord(
        order_id, "maker", "bid", "0xc", "1", Side.BUY, 500_000, 10 * UNIT, OrderType.GTC,
        True, 70_000, 1, 0, {"order": {}},
    )  # fmt: skip


def test_the_checks_catch_a_post_sent_twice_or_never_journaled() -> None:
    state = JournalState()
    state.apply(_signed("0xa"))
    state.apply(_signed("0xb"))
    once = [_posted("0xa"), _posted("0xb")]
    assert_no_order_sent_twice(once)
    assert_every_post_was_journaled(once, state)
    with pytest.raises(AssertionError, match="more than once"):
        assert_no_order_sent_twice([*once, _posted("0xa")])
    with pytest.raises(AssertionError, match="unjournaled"):
        assert_every_post_was_journaled([*once, _posted("0xc")], state)


def test_sigkill_at_every_crash_point_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path,
) -> None:
    post_log = tmp_path / "posts.jsonl"
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    venue = start_venue(tmp_path, post_log)
    runs: list[str] = []
    started = time.monotonic()
    try:
        for index, (point, n) in enumerate(crash_plan(SEED)):
            crash = f"{point}:{n}"
            assert_still_in_the_first_window(venue.url)
            report = tmp_path / f"crash-{index}.json"
            died = run_engine(venue.url, state_dir, report, CRASH_DURATION_S, crash)
            assert died.returncode == -signal.SIGKILL, (
                f"{crash}: expected SIGKILL, exit {died.returncode}\n{tail(died.stderr)}"
            )
            assert not report.exists(), "a killed engine wrote no report"
            state, _ = read_journal(state_dir / JOURNAL_FILE)
            assert_died_where_planned(point, read_post_log(post_log), state)
            report = tmp_path / f"restart-{index}.json"
            resumed = run_engine(venue.url, state_dir, report, RESTART_DURATION_S, None)
            assert resumed.returncode == 0, (
                f"restart after {crash}: exit {resumed.returncode}\n{tail(resumed.stderr)}"
            )
            final = orjson.loads(report.read_bytes())
            assert (
                final["session"]["shutdown_reason"] == f"duration {RESTART_DURATION_S:g} s reached"
            )
            reconciles(final)
            assert final["state"]["resumed"] is True
            assert final["state"]["halted"] is None, final["state"]["halted"]
            runs.append(crash)

        assert_still_in_the_first_window(venue.url)
        posted = read_post_log(post_log)
        state, load = read_journal(state_dir / JOURNAL_FILE)
        assert load.torn_bytes == 0, "the last run stopped cleanly: no torn line"
        assert posted, "nothing reached the venue"
        assert state.fills, "nothing was filled: the fill checks would be empty"
        assert_no_order_sent_twice(posted)
        assert_every_post_was_journaled(posted, state)
        view = venue_view(venue.url, state.tokens)
        assert {p.maker for p in posted} == {view.wallet}
        assert_fills_are_the_venues_trades(state, view)
        assert_holdings_are_the_venues(state, view)
        # The graceful stop closed every order with the venue's word (engine/closeout.py).
        left = [(o.order_id, o.phase.value) for o in state.open_orders()]
        assert not left, f"orders open in the journal after a graceful stop: {left[:5]}"
    finally:
        stop_venue(venue)
    elapsed = time.monotonic() - started
    print(f"crash runs {runs}: {len(posted)} posts, {len(state.fills)} fills, {elapsed:.0f} s")
