"""The user channel's pure decisions: reconnect delays and health transitions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from actors.user_channel import Backoff, ChannelEvent, next_health
from engine.health import Health


def test_delays_grow_exponentially_to_the_cap_and_restart_after_a_reset() -> None:
    backoff = Backoff(0.5, 4.0, 2.0, 0.0, seed=1)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_jitter_is_seeded_so_a_seed_repeats_its_delays_and_another_differs() -> None:
    def delays(seed: int) -> list[float]:
        backoff = Backoff(0.5, 30.0, 2.0, 0.2, seed)
        return [backoff.next_delay() for _ in range(8)]

    assert delays(3) == delays(3)
    assert delays(3) != delays(4)


@settings(max_examples=200, deadline=None)
@given(
    initial=st.floats(0.01, 5),
    factor=st.floats(1, 5),
    multiplier=st.floats(1, 10),
    jitter=st.floats(0, 0.99),
    seed=st.integers(0, 1_000),
    attempts=st.integers(1, 200),
)
def test_every_delay_stays_within_the_jittered_bounds(
    initial: float, factor: float, multiplier: float, jitter: float, seed: int, attempts: int
) -> None:
    cap = initial * factor
    backoff = Backoff(initial, cap, multiplier, jitter, seed)
    for _ in range(attempts):
        delay = backoff.next_delay()
        assert initial * (1 - jitter) - 1e-9 <= delay <= cap * (1 + jitter) + 1e-9


def test_before_the_first_sync_failures_keep_the_channel_starting() -> None:
    assert next_health(Health.STARTING, ChannelEvent.LOST) is Health.STARTING
    assert next_health(Health.STARTING, ChannelEvent.BACKFILL_FAILED) is Health.STARTING
    assert next_health(Health.STARTING, ChannelEvent.SYNCED) is Health.RUNNING


def test_after_a_sync_a_lost_socket_or_failed_backfill_degrades_the_channel() -> None:
    assert next_health(Health.RUNNING, ChannelEvent.LOST) is Health.DEGRADED
    assert next_health(Health.RUNNING, ChannelEvent.BACKFILL_FAILED) is Health.DEGRADED
    assert next_health(Health.DEGRADED, ChannelEvent.CONNECTING) is Health.DEGRADED
    assert next_health(Health.DEGRADED, ChannelEvent.SYNCED) is Health.RUNNING


def test_refused_credentials_are_an_error_until_a_sync_and_stopping_is_final() -> None:
    assert next_health(Health.RUNNING, ChannelEvent.REFUSED) is Health.ERROR
    assert next_health(Health.ERROR, ChannelEvent.LOST) is Health.ERROR
    assert next_health(Health.ERROR, ChannelEvent.SYNCED) is Health.RUNNING
    for health in Health:
        assert next_health(health, ChannelEvent.STOPPED) is Health.STOPPED
