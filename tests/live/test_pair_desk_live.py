"""The pair desk against the venue server: a pair is one POST /orders with both legs,
fills come back through the user channel, and every way a pair can end is reached for
real (hedged, flat after confirmed cancels, liquidated at falling prices, the GTC
fallback after post-only crossings), with the journal written before each send."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from pair_desk_kit import RATE, Rig, open_rig, until

from engine.config import PairsConfig
from engine.gateway import VenueOrderState
from engine.orderfsm import OrderState
from engine.pairs import Intent
from engine.units import UNIT, OrderType

LIMIT_S = 900.0
"""Session seconds (RATE times faster than the wall clock: 90 s of wall time)."""


@pytest.fixture
def fast_clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(rate=RATE)


def config(**overrides: Any) -> PairsConfig:
    settings: dict[str, Any] = {"enabled": True, "size": "10", "min_time_left_s": 0}
    settings.update(overrides)
    return PairsConfig(**settings)


def order_ids(rig: Rig, pair_id: str, intent: Intent | None = None) -> list[str]:
    """The venue ids of a pair's orders, in posting order (from the journal)."""
    return [
        line["order_id"]
        for line in rig.journal_lines()
        if line["kind"] == "signed"
        and line["key"].startswith(f"{pair_id}:")
        and (intent is None or _intent_of(line["key"]) is intent)
    ]


def _intent_of(key: str) -> Intent:
    what = key.split(":", 1)[1]
    if what.startswith("buy0"):
        return Intent.ENTRY0
    if what.startswith("buy1"):
        return Intent.ENTRY1
    return Intent.LIQUIDATE if what.startswith("liq") else Intent.EXIT


def assert_journaled_before_sent(rig: Rig, order_id: str, closed_state: OrderState) -> None:
    kinds = [line["kind"] for line in rig.journal_lines() if line.get("order_id") == order_id]
    assert kinds[0] == "signed", kinds
    assert kinds.index("signed") < kinds.index("submitted"), kinds
    closed = [
        line
        for line in rig.journal_lines()
        if line.get("order_id") == order_id and line["kind"] == "closed"
    ]
    assert [c["state"] for c in closed] == [closed_state.value]


async def test_both_legs_go_in_one_batch_and_both_filled_is_hedged(
    nursery: trio.Nursery, tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(LIMIT_S):
        async with open_rig(nursery, tmp_path, config(fill_timeout_s=120)) as rig:
            # asks 0.50 + 0.48 = 0.98 <= 0.99: buy each a tick under its ask, post-only
            rig.views.send_nowait(rig.view(yes=("0.45", "0.50"), no=("0.43", "0.48")))
            await until(lambda: len(rig.journal.state.open_orders()) == 2, 0.1)
            assert rig.probe.seen[("POST", "/orders")] == 1
            assert rig.probe.seen[("POST", "/order")] == 0
            resting = await rig.engine.client.open_orders()
            assert sorted(o["price"] for o in resting) == ["0.47", "0.49"]
            up, down = order_ids(rig, "pair1")
            await rig.cross(1, "0.51")  # mints against the desk's BUY Up at 0.49
            await rig.cross(0, "0.53")  # mints against the desk's BUY Down at 0.47
            await until(lambda: rig.desk.desk_stats.hedged == 1)
            [done] = rig.finished()
            assert (done.pair_id, done.phase, done.may_retry) == ("pair1", "hedged", False)
            assert done.position == (10 * UNIT, 10 * UNIT)
            for order_id in (up, down):
                assert_journaled_before_sent(rig, order_id, OrderState.FILLED)
                assert order_id not in rig.desk.registry.mailboxes  # closed in the registry
            assert rig.risk.open_orders == 0
            assert rig.desk.desk_stats.started == 1
            assert rig.probe.seen[("POST", "/orders")] == 1  # nothing was re-sent


async def test_neither_leg_filled_cancels_both_at_the_venue_and_ends_flat(
    nursery: trio.Nursery, tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(LIMIT_S):
        async with open_rig(nursery, tmp_path, config(fill_timeout_s=5, cooldown_s=600)) as rig:
            rig.views.send_nowait(rig.view(yes=("0.45", "0.50"), no=("0.43", "0.48")))
            await until(lambda: rig.desk.desk_stats.flat == 1)
            [done] = rig.finished()
            assert (done.phase, done.position, done.may_retry) == ("flat", (0, 0), True)
            for order_id in order_ids(rig, "pair1"):
                found = await rig.engine.client.resolve_unknown(order_id)
                assert found.state is VenueOrderState.CANCELED  # the venue confirms
                assert_journaled_before_sent(rig, order_id, OrderState.CANCELED)
                kinds = [
                    line["kind"] for line in rig.journal_lines() if line.get("order_id") == order_id
                ]
                assert kinds.index("cancel_requested") < kinds.index("closed")
            assert await rig.engine.client.open_orders() == []
            assert rig.risk.open_orders == 0
            assert sum(rig.desk.reserved.values()) == 0
            steps = rig.steps("pair1")
            assert steps[:1] == ["post batch"] and "unwind" in steps and steps[-1] == "flat"
            # the cooldown holds off the next pair in this market
            rig.views.send_nowait(rig.view(yes=("0.45", "0.50"), no=("0.43", "0.48")))
            await trio.sleep(5)
            assert rig.desk.desk_stats.started == 1


async def test_a_lone_filled_leg_is_liquidated_at_falling_prices(
    nursery: trio.Nursery, tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(LIMIT_S):
        async with open_rig(nursery, tmp_path, config(fill_timeout_s=10, cooldown_s=600)) as rig:
            rig.views.send_nowait(rig.view(yes=("0.45", "0.50"), no=("0.43", "0.48")))
            await until(lambda: len(rig.journal.state.open_orders()) == 2, 0.1)
            await rig.cross(1, "0.51")  # only the Up leg fills
            # the Down leg is cancelled at the timeout; the 10 Up are offered, re-priced
            # one cent lower every 10-20 s (patient band: the market ends far away)
            await until(lambda: len(order_ids(rig, "pair1", Intent.LIQUIDATE)) >= 3)
            liquidations = order_ids(rig, "pair1", Intent.LIQUIDATE)
            signed = {
                line["order_id"]: line for line in rig.journal_lines() if line["kind"] == "signed"
            }
            prices = [signed[i]["price"] for i in liquidations]
            assert prices[0] == 490_000  # a tick under the best ask 0.50
            assert all(a > b for a, b in itertools.pairwise(prices)), prices
            assert all(signed[i]["side"] == "SELL" for i in liquidations)
            assert all(signed[i]["size"] == 10 * UNIT for i in liquidations)
            for earlier in liquidations[:2]:  # each re-price cancelled the previous order
                assert_journaled_before_sent(rig, earlier, OrderState.CANCELED)
            # ... and the journal closes it before the next one is signed
            lines = rig.journal_lines()
            seq = {(line["kind"], line.get("order_id")): line["seq"] for line in lines}
            for earlier, later in itertools.pairwise(liquidations[:3]):
                assert seq[("closed", earlier)] < seq[("signed", later)]
            # the counterparty takes the offer: the excess is sold
            await until(lambda: rig.desk.desk_stats.liquidated == 1 or _resting_price(rig) > 0)
            price = _resting_price(rig)
            await rig.cross(0, f"{price / UNIT:.2f}")
            await until(lambda: rig.desk.desk_stats.liquidated == 1)
            finished = rig.finished()
            assert finished[-1].phase == "liquidated" and finished[-1].position == (0, 0)
            steps = rig.steps("pair1")
            for step in ("post batch", "batch accepted", "fill", "unwind", "cancel", "liquidate"):
                assert step in steps, (step, steps)
            assert steps.count("liquidate") == len(order_ids(rig, "pair1", Intent.LIQUIDATE))
            assert steps[-1] == "liquidated"
            down = order_ids(rig, "pair1", Intent.ENTRY1)[0]
            assert (await rig.engine.client.resolve_unknown(down)).state is VenueOrderState.CANCELED
            assert rig.risk.open_orders == 0


def _resting_price(rig: Rig) -> int:
    """The price of the desk's live liquidation order (0 if none rests right now)."""
    for pair in rig.desk.pairs.values():
        for order in pair.executor.live_orders(Intent.LIQUIDATE):
            if order.tracker.state is OrderState.ACCEPTED:
                return order.leg.price
    return 0


async def test_three_post_only_crossings_make_the_next_pair_go_gtc(
    nursery: trio.Nursery, tmp_path: Path, fast_clock: trio.testing.MockClock
) -> None:
    with trio.fail_after(LIMIT_S):
        cfg = config(fill_timeout_s=60, cooldown_s=0, entry_offset_ticks=0)
        async with open_rig(nursery, tmp_path, cfg) as rig:
            # the counterparty's resting BUY Down at 0.52 makes the Up ask 1 - 0.52 = 0.48
            # (a mint): a post-only BUY Up at that ask crosses the book and is refused;
            # the Down leg rests, and is cancelled because its partner is dead
            await rig.cross(1, "0.52", "10", order_type=OrderType.GTC)
            view = rig.view(yes=("0.40", "0.48"), no=("0.40", "0.50"))
            for attempt in range(1, 4):
                rig.views.send_nowait(view)
                await until(lambda n=attempt: rig.desk.desk_stats.flat == n, 0.2)  # type: ignore[misc]
                assert rig.desk.book.failures(rig.info.condition_id) == attempt
            assert not rig.desk.book.post_only(rig.info.condition_id)
            rig.views.send_nowait(view)
            # GTC: the Up leg takes the resting bid at once; the Down leg rests until the
            # counterparty crosses it
            await until(lambda: len(order_ids(rig, "pair4")) == 2, 0.2)
            await until(lambda: _entry_accepted(rig, "pair4", Intent.ENTRY1), 0.2)
            await rig.cross(0, "0.50")
            await until(lambda: rig.desk.desk_stats.hedged == 1, 0.2)
            assert rig.probe.seen[("POST", "/orders")] == 4  # one batch per pair
            notes = [r.note for r in rig.desk.audit if r.step == "post batch"]
            assert notes == ["post-only"] * 3 + ["GTC fallback"]
            signed = [line for line in rig.journal_lines() if line["kind"] == "signed"]
            assert [s["post_only"] for s in signed] == [True] * 6 + [False] * 2
            rejected = [
                line
                for line in rig.journal_lines()
                if line["kind"] == "submitted" and line["outcome"] == "rejected"
            ]
            assert len(rejected) == 3
            assert all("crosses book" in line["error"] for line in rejected)
            assert rig.desk.book.failures(rig.info.condition_id) == 0  # reset by success
            finished = [f.phase for f in rig.finished()]
            assert finished == ["flat", "flat", "flat", "hedged"]


def _entry_accepted(rig: Rig, pair_id: str, intent: Intent) -> bool:
    pair = rig.desk.pairs.get(pair_id)
    return pair is not None and any(
        o.tracker.state is OrderState.ACCEPTED for o in pair.executor.live_orders(intent)
    )
