"""The venue client's pure cores: rate limits, retry decisions, backoff, heartbeat
monitor, error mapping, and the client config section."""

from __future__ import annotations

import random

import pytest
import trio
import trio.testing
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.client.errors import (
    BadRequest,
    HeartbeatMismatch,
    NotFound,
    RateLimited,
    TransportError,
    Unauthorized,
    VenueError,
    VenueRestarting,
    VenueUnavailable,
    error_for,
)
from engine.client.heartbeat import HeartbeatMonitor
from engine.client.ratelimit import Limit, RateLimiter, RateLimits, parse_key, parse_limits
from engine.client.retry import Action, Backoff, Kind, decide
from engine.config import ClientConfig, Config, ConfigError, load_config
from engine.health import Health


def grant_times(limits: RateLimits, requests: list[tuple[float, str]]) -> list[tuple[float, str]]:
    """Drive the core as `acquire` does: each request waits until it may go."""
    granted = []
    clock = 0.0
    for arrival, key in sorted(requests):
        clock = max(clock, arrival)
        while (wait := limits.try_take(key, clock)) > 0:
            clock += wait
        granted.append((clock, key))
    return granted


def max_in_window(times: list[float], window: float) -> int:
    """The most requests in any half-open window [t, t + window)."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


KEYS = ["POST /order", "DELETE /order", "GET /book", "GET /data/orders"]


@settings(max_examples=200, deadline=None)
@given(
    count=st.integers(1, 8),
    window=st.sampled_from([0.5, 1.0, 10.0]),
    margin=st.sampled_from([0.0, 0.05]),
    arrivals=st.lists(
        st.tuples(st.floats(0, 30, allow_nan=False), st.sampled_from(KEYS)), max_size=80
    ),
)
def test_no_window_ever_holds_more_than_the_limit(
    count: int, window: float, margin: float, arrivals: list[tuple[float, str]]
) -> None:
    limits = RateLimits(
        {"POST /order": [Limit(count, window)], "*": [Limit(count * 2, window * 2)]}, margin
    )
    granted = grant_times(limits, arrivals)
    assert len(granted) == len(arrivals)
    posts = [t for t, key in granted if key == "POST /order"]
    assert max_in_window(posts, window + margin) <= count
    assert max_in_window([t for t, _ in granted], window * 2 + margin) <= count * 2
    # and no request goes before it was asked for
    assert all(g >= a for (g, _), (a, _) in zip(granted, sorted(arrivals), strict=True))


@settings(max_examples=100, deadline=None)
@given(
    count=st.integers(1, 6),
    arrivals=st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=40),
)
def test_a_sliding_window_schedule_passes_the_venues_token_bucket(
    count: int, arrivals: list[float]
) -> None:
    """The server's bucket (capacity COUNT, refill COUNT/WINDOW) never refuses us."""
    from engine.venue.server.ratelimit import RateLimiter as ServerLimiter
    from engine.venue.server.ratelimit import Rule

    limits = RateLimits({"POST /order": [Limit(count, 1.0)]})
    granted = grant_times(limits, [(a, "POST /order") for a in arrivals])
    server = ServerLimiter((Rule("POST", "/order", count, 1.0),))
    assert all(server.check("POST", "/order", "me", t + 100.0) is None for t, _ in granted)


def test_requests_wait_only_on_their_own_endpoint_and_the_general_limit() -> None:
    limits = RateLimits.from_text({"POST /order": "2/1", "*": "100/1"})
    assert limits.try_take("POST /order", 0.0) == 0.0
    assert limits.try_take("POST /order", 0.0) == 0.0
    assert limits.try_take("POST /order", 0.1) == pytest.approx(0.9)
    assert limits.try_take("DELETE /order", 0.1) == 0.0
    assert limits.try_take("POST /order", 1.0) == 0.0


def test_a_path_key_limits_every_method_on_that_path() -> None:
    limits = RateLimits.from_text({"/balance-allowance": "1/10"})
    assert limits.try_take("GET /balance-allowance", 0.0) == 0.0
    assert limits.try_take("POST /balance-allowance", 1.0) == pytest.approx(9.0)


def test_a_pause_holds_the_endpoint_until_its_end() -> None:
    limits = RateLimits.from_text({})
    limits.pause("POST /order", 2.0)
    assert limits.try_take("POST /order", 1.0) == pytest.approx(1.0)
    assert limits.try_take("GET /book", 1.0) == 0.0
    assert limits.try_take("POST /order", 2.0) == 0.0


def test_limits_and_keys_parse_or_fail_clearly() -> None:
    assert parse_limits("2800/10,28800/600") == (Limit(2800, 10.0), Limit(28800, 600.0))
    assert parse_key("post /order") == ("POST", "/order")
    assert parse_key("*") == (None, "*")
    with pytest.raises(ValueError, match="COUNT/SECONDS"):
        parse_limits("ten per second")
    with pytest.raises(ValueError, match="positive"):
        parse_limits("0/10")
    with pytest.raises(ValueError, match="METHOD /path"):
        parse_key("order")


async def test_acquire_sleeps_on_the_trio_clock_until_a_token_is_back(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        limiter = RateLimiter(RateLimits.from_text({"POST /order": "3/1"}, margin_s=0.1))
        start = trio.current_time()
        times = []
        for _ in range(7):
            await limiter.acquire("POST /order")
            times.append(trio.current_time() - start)
        assert times == pytest.approx([0, 0, 0, 1.1, 1.1, 1.1, 2.2])
        assert limiter.waited == 2


async def test_concurrent_acquirers_never_overshoot(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        limiter = RateLimiter(RateLimits.from_text({"*": "5/1"}))
        granted: list[float] = []

        async def one() -> None:
            await limiter.acquire("GET /book")
            granted.append(trio.current_time())

        async with trio.open_nursery() as nursery:
            for _ in range(23):
                nursery.start_soon(one)
        assert len(granted) == 23
        assert max_in_window(granted, 1.0) == 5


# --- retry decisions ------------------------------------------------------------------

E = "POST /order"


@pytest.mark.parametrize(
    ("error", "read", "submit"),
    [
        (RateLimited(E, "slow down", 1.0), Action.RETRY, Action.RETRY),
        (VenueRestarting(425, E, "restarting"), Action.RETRY, Action.RETRY),
        (VenueUnavailable(500, E, "oops"), Action.RETRY, Action.UNKNOWN),
        (VenueUnavailable(504, E, "upstream timeout"), Action.RETRY, Action.UNKNOWN),
        (TransportError(E, "ReadTimeout", sent=True), Action.RETRY, Action.UNKNOWN),
        (TransportError(E, "ConnectError", sent=False), Action.RETRY, Action.RETRY),
        (BadRequest(400, E, "invalid"), Action.RAISE, Action.RAISE),
        (Unauthorized(401, E, "Unauthorized"), Action.RAISE, Action.RAISE),
        (NotFound(404, E, "nope"), Action.RAISE, Action.RAISE),
    ],
)
def test_retry_table(error: VenueError, read: Action, submit: Action) -> None:
    assert decide(Kind.READ, error, 0, 3) is read
    assert decide(Kind.SUBMIT, error, 0, 3) is submit
    assert decide(Kind.ONCE, error, 0, 3) is Action.RAISE


def test_retries_stop_at_the_bound_but_an_ambiguous_post_stays_unknown() -> None:
    assert decide(Kind.READ, RateLimited(E, "x"), 3, 3) is Action.RAISE
    assert decide(Kind.SUBMIT, RateLimited(E, "x"), 2, 2) is Action.RAISE
    assert decide(Kind.SUBMIT, VenueUnavailable(502, E, "x"), 9, 2) is Action.UNKNOWN


def test_backoff_doubles_caps_jitters_and_honours_retry_after() -> None:
    backoff = Backoff(0.1, 1.0, 0.5)
    rng = random.Random(1)
    for attempt, raw in [(0, 0.1), (1, 0.2), (2, 0.4), (3, 0.8), (4, 1.0), (30, 1.0)]:
        delay = backoff.delay(attempt, rng)
        assert raw * 0.5 <= delay <= raw
    assert backoff.delay(0, rng, retry_after=3.0) == 3.0
    same = [Backoff(0.1, 1.0, 0.5).delay(2, random.Random(7)) for _ in range(2)]
    assert same[0] == same[1]


# --- errors -----------------------------------------------------------------------------


def test_errors_carry_status_endpoint_and_the_venues_text() -> None:
    error = error_for(400, E, {"error": "invalid expiration"}, b"")
    assert isinstance(error, BadRequest)
    assert (error.status, error.endpoint, error.text) == (400, E, "invalid expiration")
    assert str(error) == "POST /order: 400 invalid expiration"
    limited = error_for(429, E, {"error": "Too Many Requests"}, b"", "2")
    assert isinstance(limited, RateLimited)
    assert limited.retry_after == 2.0
    assert isinstance(error_for(425, E, None, b"restarting"), VenueRestarting)
    assert error_for(425, E, None, b"restarting").text == "restarting"
    assert isinstance(error_for(503, E, {"error": "x"}, b""), VenueUnavailable)
    assert isinstance(error_for(401, E, {"error": "x"}, b""), Unauthorized)
    assert isinstance(error_for(404, E, {"error": "x"}, b""), NotFound)
    mismatch = error_for(
        400, "POST /v1/heartbeats", {"error": "Invalid Heartbeat ID", "heartbeat_id": "h2"}, b""
    )
    assert isinstance(mismatch, HeartbeatMismatch)
    assert mismatch.expected_id == "h2"
    assert type(error_for(418, E, None, b"")) is VenueError


# --- heartbeat monitor -------------------------------------------------------------------


def test_the_switch_is_lost_once_past_the_timeout_and_only_after_it_was_armed() -> None:
    monitor = HeartbeatMonitor(10.0)
    assert monitor.health is Health.STARTING
    assert not monitor.check(1_000.0)  # never armed: the venue has nothing to cancel
    monitor.succeeded(100.0)
    assert monitor.health is Health.RUNNING
    monitor.failed()
    assert monitor.health is Health.DEGRADED
    assert not monitor.check(110.0)
    assert monitor.check(110.1)
    assert not monitor.check(200.0)  # said once
    assert monitor.health is Health.ERROR
    assert monitor.succeeded(201.0)  # a new session
    assert monitor.health is Health.RUNNING
    assert monitor.check(211.5)


# --- config -------------------------------------------------------------------------------


def test_client_config_has_production_like_defaults_and_rejects_bad_limits() -> None:
    config = Config().client
    limits = config.rate_limits
    assert limits["POST /order"].startswith("2800/10")
    assert config.heartbeat_interval_s < config.heartbeat_timeout_s
    RateLimiter.from_config(config)
    custom = load_config(overrides={"client.rate_limits": {"POST /order": "5/1"}})
    assert custom.client.rate_limits == {"POST /order": "5/1"}
    with pytest.raises(ConfigError, match="rate_limits"):
        load_config(overrides={"client.rate_limits": {"POST /order": "fast"}})
    with pytest.raises(ConfigError, match="rate_limits"):
        load_config(overrides={"client.rate_limits": {"order": "5/1"}})
    assert ClientConfig(request_timeout_s=0.5).request_timeout_s == 0.5
