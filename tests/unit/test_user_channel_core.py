"""The user channel's pure decisions: health transitions (delays: test_backoff.py)."""

from __future__ import annotations

from actors.user_channel import ChannelEvent, next_health
from engine.health import Health


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
