"""The market feed's pure decisions: backoff schedule, watchdog, health, shard placement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.market_feed import (
    HealthBoard,
    Link,
    Verdict,
    market_health,
    place_assets,
    watchdog_verdict,
)
from engine.config import MarketFeedConfig
from engine.health import Health

CONFIG = MarketFeedConfig(
    backoff_initial_s=0.5, backoff_max_s=8.0, backoff_multiplier=2.0, backoff_jitter=0.2
)


@pytest.mark.parametrize(
    ("last_data", "last_pong", "verdict"),
    [
        (9.0, 9.5, Verdict.OK),
        (0.0, 9.5, Verdict.SILENT_FREEZE),  # PONGs arrive, data does not
        (9.0, 0.0, Verdict.NO_PONG),
        (0.0, 0.0, Verdict.NO_PONG),  # silent and dead: dead wins
        (5.0, 9.5, Verdict.SILENT_FREEZE),  # exactly watchdog_s without data
    ],
)
def test_watchdog_verdict(last_data: float, last_pong: float, verdict: Verdict) -> None:
    got = watchdog_verdict(
        10.0, last_data=last_data, last_pong=last_pong, watchdog_s=5.0, pong_timeout_s=3.0
    )
    assert got is verdict


def link() -> Link:
    return Link(error_after=3, healthy_reset_s=10.0)


def test_link_is_running_only_when_subscribed_and_receiving() -> None:
    state = link()
    assert state.health is Health.STARTING
    state.on_subscribed()
    assert state.health is Health.STARTING  # subscribed, no data yet
    state.on_data(1.0)
    assert state.health is Health.RUNNING
    state.on_down(2.0, "closed")
    assert state.health is Health.DEGRADED  # had data, now down
    state.on_subscribed()
    assert state.health is Health.DEGRADED  # reconnected, waiting for fresh data
    state.on_data(3.0)
    assert state.health is Health.RUNNING
    state.on_closed()
    assert state.health is Health.STOPPED


def test_link_is_degraded_after_a_watchdog_trip_until_fresh_data() -> None:
    state = link()
    state.on_subscribed()
    state.on_data(0.0)
    state.on_down(1.0, "silent freeze", watchdog=True)
    state.on_subscribed()
    assert state.health is Health.DEGRADED
    state.on_data(2.0)
    assert state.health is Health.RUNNING
    assert not state.tripped


def test_link_polling_rest_is_degraded_never_running() -> None:
    state = link()
    state.on_down(0.0, "refused")
    state.on_polling(True)
    assert state.health is Health.DEGRADED


def test_link_errors_after_repeated_failures_and_a_healthy_period_forgives_them() -> None:
    state = link()
    for n in range(3):
        assert state.on_down(float(n), "refused") is False
    assert state.health is Health.ERROR
    state.on_subscribed()
    state.on_data(10.0)
    assert state.health is Health.RUNNING  # receiving beats the failure count
    assert state.on_down(25.0, "dropped") is True  # it ran 15 s >= 10 s: reset
    assert state.failures == 1
    assert state.health is Health.DEGRADED
    state.on_subscribed()
    state.on_data(30.0)
    assert state.on_down(31.0, "dropped") is False  # a short session counts as a failure
    assert state.failures == 2


def test_market_health_is_the_worst_link_and_needs_its_own_fresh_data() -> None:
    assert market_health([], fresh=True) is Health.STOPPED
    assert market_health([Health.RUNNING], fresh=True) is Health.RUNNING
    assert market_health([Health.RUNNING], fresh=False) is Health.DEGRADED
    assert market_health([Health.RUNNING, Health.ERROR], fresh=True) is Health.ERROR
    assert market_health([Health.STARTING, Health.DEGRADED], fresh=True) is Health.DEGRADED


def test_450_assets_are_placed_on_3_shards_of_at_most_200_markets_whole() -> None:
    groups = [[f"{m}a", f"{m}b"] for m in range(225)]
    placed = place_assets([], groups, 200)
    assert [len(s) for s in placed] == [200, 200, 50]
    for shard in placed:
        for m in {a[:-1] for a in shard}:
            assert {f"{m}a", f"{m}b"} <= set(shard)


def test_new_assets_fill_existing_shards_with_room_first_and_skip_held_ones() -> None:
    placed = place_assets([{"x", "y"}, {"z"}], [["x"], ["p", "q"], ["r", "s"]], 3)
    assert placed == [[], ["p", "q"], ["r", "s"]]


@given(
    st.lists(st.lists(st.integers(0, 60), min_size=1, max_size=3), max_size=60),
    st.integers(2, 10),
)
def test_placement_never_exceeds_capacity_and_places_each_asset_once(
    groups: list[list[int]], capacity: int
) -> None:
    names = [[str(a) for a in g] for g in groups]
    placed = place_assets([], names, capacity)
    flat = [a for shard in placed for a in shard]
    assert all(0 < len(shard) <= capacity for shard in placed)
    assert sorted(flat) == sorted({a for g in names for a in g})


def test_the_board_counts_changes_only() -> None:
    board = HealthBoard()
    assert board.get("m") == (Health.STOPPED, "not subscribed", 0)
    assert board.set("m", Health.STARTING, "a") == 1
    assert board.set("m", Health.STARTING, "b") is None  # same health: reason only
    assert board.get("m") == (Health.STARTING, "b", 1)
    assert board.set("m", Health.RUNNING, "c") == 2
