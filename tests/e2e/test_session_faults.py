"""What a paper session does when things go wrong: crashes, signals, bad frames."""

from __future__ import annotations

import os
import signal

import orjson
import pytest
import trio

from engine._native import FrameSummary
from engine.clock import SessionClock
from engine.config import load_config
from engine.messages import MarketFrame
from engine.session import LEAD_S, Session, build_session, run_session
from engine.supervisor import SupervisorEscalation

ONE_WINDOW_S = 900 + LEAD_S + 60


def one_window_session() -> Session:
    config = load_config(None, {}, {"venue.windows": 1, "run.progress": False})
    return build_session(config, SessionClock.starting_at(config.venue.start_ts - LEAD_S))


def assert_reconciles(session: Session) -> None:
    session.ledger.check_identity()
    assert session.venue.engine.balance(session.account).collateral_total == session.ledger.cash


async def test_a_crashing_market_actor_is_restarted_and_the_session_still_reconciles(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(2 * ONE_WINDOW_S):
        session = one_window_session()
        actor = next(iter(session.market_actors.values()))
        original = actor.apply
        crashes: list[float] = []

        def apply_then_crash_once(raw: bytes) -> FrameSummary:
            summary = original(raw)
            if not crashes and session.clock.now_s() > actor.info.start_ts + 120:
                crashes.append(session.clock.now_s())
                raise RuntimeError("injected crash")
            return summary

        actor.apply = apply_then_crash_once  # type: ignore[method-assign]
        await run_session(session)

    name = f"market:{actor.info.slug}"
    markets = session.supervisors["markets"]
    assert crashes, "the crash was never injected"
    assert ("crashed", name) in markets.events
    assert ("restarted", name) in markets.events
    assert session.shutdown.shutdown_reason == "all windows resolved"
    assert session.ledger.settlements and session.ledger.open_cost == 0
    assert_reconciles(session)


async def test_sigint_stops_new_intents_cancels_open_orders_and_exits_cleanly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(2 * ONE_WINDOW_S):
        session = one_window_session()
        start = next(iter(session.markets.values())).start_ts

        async def interrupt() -> None:
            await trio.sleep_until(session.clock.trio_time_of(start + 300))
            os.kill(os.getpid(), signal.SIGINT)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(interrupt)
            await run_session(session)

    assert session.shutdown.stopping.is_set()
    assert "SIGINT" in (session.shutdown.shutdown_reason or "")
    assert session.shutdown.hook_outcomes == [("cancel all open orders", "ok")]
    assert session.venue.engine.open_orders(session.account) == []
    assert session.clock.now_s() < start + 301  # stopped then, not at the window's end
    assert_reconciles(session)  # open positions are carried at cost: the identity holds


async def test_malformed_input_is_counted_and_skipped_and_the_actors_survive(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(2 * ONE_WINDOW_S):
        session = one_window_session()
        cid, actor = next(iter(session.market_actors.items()))
        start = actor.info.start_ts

        async def inject() -> None:
            await trio.sleep_until(session.clock.trio_time_of(start + 60))
            session.feed.on_frame(b'{"event_type": "book", "market"', 0)
            session.feed.on_frame(b"[1, 2, 3]", 0)
            # Well-formed JSON for this market, but a price change without a price.
            bad = {
                "event_type": "price_change",
                "market": cid,
                "price_changes": [{"asset_id": actor.info.token_ids[0]}],
            }
            actor.mailbox.send_nowait(MarketFrame(0, orjson.dumps(bad)))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(inject)
            await run_session(session)

    assert session.stats.malformed_frames == 3
    assert not any(kind == "crashed" for kind, _ in session.supervisors["markets"].events)
    assert not any(kind == "crashed" for kind, _ in session.supervisors["root"].events)
    assert session.shutdown.shutdown_reason == "all windows resolved"
    assert_reconciles(session)


async def test_when_the_root_gives_up_open_orders_are_cancelled_and_it_fails(
    autojump_clock: trio.testing.MockClock,
) -> None:
    session = one_window_session()
    actor = next(iter(session.market_actors.values()))
    original = actor.apply

    def crash_on_every_frame_once_trading(raw: bytes) -> FrameSummary:
        summary = original(raw)
        if session.clock.now_s() > actor.info.start_ts + 120:
            raise RuntimeError("persistent fault")
        return summary

    actor.apply = crash_on_every_frame_once_trading  # type: ignore[method-assign]
    with (
        trio.fail_after(2 * ONE_WINDOW_S),
        pytest.RaisesGroup(SupervisorEscalation, flatten_subgroups=True),
    ):
        await run_session(session)

    assert session.shutdown.shutdown_reason == "root supervisor escalated"
    assert session.shutdown.hook_outcomes == [("cancel all open orders", "ok")]
    assert session.venue.engine.open_orders(session.account) == []
    assert ("escalated", "markets") in session.supervisors["markets"].events
    assert ("escalated", "root") in session.root.events
    assert_reconciles(session)
