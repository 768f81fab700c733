"""DiscoveryActor's resilience: Gamma outages, unlisted and malformed markets.

Gamma is an in-memory httpx transport here (no sockets), so the autojump clock can run
the backoff schedule exactly; the real venue server is used in tests/live.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import trio
import trio.testing

from actors.discovery import DiscoveryActor
from engine.clock import SessionClock
from engine.config import DiscoveryConfig
from engine.discovery import DiscoveryEvent, slug_15m
from engine.mailbox import Mailbox, Overflow
from engine.messages import LifecyclePhase, MarketDiscovered

START = 1_791_241_200  # 2026-10-05 23:00 UTC, a 15-minute boundary


def market(start: int, tokens: str = '["111", "222"]') -> dict[str, Any]:
    from datetime import UTC, datetime

    def iso(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "conditionId": "0x" + f"{start:064x}",
        "slug": slug_15m("btc", start),
        "outcomes": '["Up", "Down"]',
        "outcomePrices": '["0.5", "0.5"]',
        "clobTokenIds": tokens,
        "eventStartTime": iso(start),
        "endDate": iso(start + 900),
        "closed": False,
        "enableOrderBook": True,
        "orderPriceMinTickSize": 0.01,
        "orderMinSize": 5,
        "negRisk": False,
        "feesEnabled": True,
        "feeSchedule": {"rate": 0.07, "exponent": 1, "takerOnly": True, "rebateRate": 0.2},
    }


class FakeGamma:
    """Answers /markets from a script: a list of (status, markets) per request, the
    last entry repeating; records when each request came."""

    def __init__(self, script: list[tuple[int, list[dict[str, Any]]]]) -> None:
        self.script = script
        self.times: list[float] = []
        self.slugs: list[list[str]] = []

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.times.append(trio.current_time())
        self.slugs.append(request.url.params.get_list("slug"))
        status, markets = self.script[min(len(self.times), len(self.script)) - 1]
        if status != 200:
            return httpx.Response(status, text="upstream unavailable")
        wanted = set(self.slugs[-1])
        return httpx.Response(
            200, content=orjson.dumps([m for m in markets if m["slug"] in wanted])
        )


async def test_gamma_outages_unlisted_and_malformed_markets_are_retried_and_never_fatal(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(600):
        now = START + 100
        good = market(START)
        gamma = FakeGamma(
            [
                (503, []),
                (503, []),
                (503, []),
                (200, [market(START, tokens="[]")]),  # listed without token ids yet
                (200, [good]),
            ]
        )
        config = DiscoveryConfig(poll_s=1.0, backoff_initial_s=2.0, backoff_max_s=30.0)
        out: Mailbox[DiscoveryEvent] = Mailbox("discovery", 16, Overflow.BLOCK)
        clock = SessionClock.starting_at(now)
        async with httpx.AsyncClient(transport=httpx.MockTransport(gamma.handle)) as http:
            actor = DiscoveryActor(config, "http://gamma.test", clock, out, http=http)
            async with trio.open_nursery() as nursery:
                await nursery.start(actor.run)
                event = await out.receive()
                nursery.cancel_scope.cancel()

        assert isinstance(event, MarketDiscovered)
        assert event.info.token_ids == ("111", "222")
        assert event.phase is LifecyclePhase.TRADING
        assert actor.stats.gamma_errors == 3
        assert actor.stats.malformed == 1
        assert actor.stats.not_listed >= 1  # the next window is not listed at all
        gaps = [b - a for a, b in zip(gamma.times, gamma.times[1:], strict=False)]
        # After each outage the wait grows (2, 4, 8 s nominal, minus up to 20% jitter).
        assert 1.6 <= gaps[0] <= 2.0 and 3.2 <= gaps[1] <= 4.0 and 6.4 <= gaps[2] <= 8.0
        # The malformed market is retried on its own backoff, not at every poll.
        assert gaps[3] >= config.poll_s
        assert all(slug_15m("btc", START) in slugs for slugs in gamma.slugs[:4])


async def test_a_non_json_or_non_list_answer_counts_as_a_gamma_error(
    autojump_clock: trio.testing.MockClock,
) -> None:
    answers = [httpx.Response(200, text="<html>maintenance</html>"), httpx.Response(200, json={})]

    async def handle(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else httpx.Response(200, json=[])

    with trio.fail_after(600):
        config = DiscoveryConfig(poll_s=1.0, backoff_initial_s=1.0)
        out: Mailbox[DiscoveryEvent] = Mailbox("discovery", 16, Overflow.BLOCK)
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as http:
            actor = DiscoveryActor(
                config, "http://gamma.test", SessionClock.starting_at(START), out, http=http
            )
            async with trio.open_nursery() as nursery:
                await nursery.start(actor.run)
                await trio.sleep(20)
                nursery.cancel_scope.cancel()
        assert actor.stats.gamma_errors == 2
        assert actor.stats.requests > 2  # still polling after the errors
        assert len(out) == 0
