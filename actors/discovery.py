"""DiscoveryActor: finds the up/down windows on Gamma and announces them ahead of time.

The decisions (which slugs, when to announce, phases, retirement, tick pinning) live in
engine.discovery.DiscoveryTracker; this actor only does the I/O: it asks Gamma for the
due slugs in one `GET /markets?slug=..&slug=..` request, feeds the answers to the
tracker, publishes what the tracker decides to the output mailbox, and sleeps until the
next moment something changes (a window's announce time, open, closing, end), at most
one poll interval. Channel notices (tick_size_change, market_resolved) arrive through an
optional mailbox or `notice()` and wake it at once.

Gamma errors (connection failures, timeouts, non-200 answers, non-JSON) are counted,
logged and retried with exponential backoff and jitter; a slug Gamma does not list yet,
or lists in a form that cannot be traded (e.g. no token ids), is retried with its own
backoff. None of these ends the actor.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import trio

from engine.clock import SessionClock
from engine.config import DiscoveryConfig
from engine.discovery import (
    Backoff,
    DiscoveryEvent,
    DiscoveryTracker,
    MarketFormatError,
    MarketMetadata,
    TrackerSettings,
    parse_gamma_market,
    parse_gamma_resolution,
)
from engine.mailbox import Mailbox, Resync
from engine.messages import (
    MarketDiscovered,
    MarketPhaseChanged,
    MarketResolutionSeen,
    MarketRetired,
    TickSizeChangeSeen,
)

log = logging.getLogger("polyengine.discovery")

MAX_SLUGS_PER_REQUEST = 20
"""Slugs asked for in one /markets request (keeps URLs short)."""

DiscoveryNotice = TickSizeChangeSeen | MarketResolutionSeen


class GammaError(Exception):
    """Gamma answered something other than a list of markets; carries its text."""


@dataclass(slots=True)
class DiscoveryStats:
    requests: int = 0
    gamma_errors: int = 0
    malformed: int = 0
    not_listed: int = 0
    announced: int = 0
    phase_changes: int = 0
    retired: int = 0
    notices: int = 0


async def fetch_markets(
    http: httpx.AsyncClient, gamma_url: str, slugs: Sequence[str]
) -> list[dict[str, Any]]:
    """GET /markets for these slugs: the market objects Gamma lists (possibly none).

    Raises httpx.HTTPError for transport failures and GammaError for an answer that is
    not a 200 list of objects.
    """
    url = f"{gamma_url.rstrip('/')}/markets"
    params = httpx.QueryParams([("slug", slug) for slug in slugs])
    try:
        response = await http.get(url, params=params)
    except httpx.RemoteProtocolError:
        # A pooled keep-alive connection the server closed just before we used it; the
        # GET is idempotent, so one retry on a fresh connection is safe.
        response = await http.get(url, params=params)
    if response.status_code != 200:
        text = response.text.strip().replace("\n", " ")[:200]
        raise GammaError(f"GET /markets: HTTP {response.status_code}: {text}")
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise GammaError(f"GET /markets: not JSON ({exc})") from None
    if not isinstance(payload, list):
        raise GammaError(f"GET /markets: expected a list, got {type(payload).__name__}")
    return [item for item in payload if isinstance(item, dict)]


class DiscoveryActor:
    """Polls Gamma for the configured assets and series; see the module docstring.

    `out` should be a BLOCK mailbox: announcements and retirements must not be lost.
    """

    def __init__(
        self,
        config: DiscoveryConfig,
        gamma_url: str,
        clock: SessionClock,
        out: Mailbox[DiscoveryEvent],
        *,
        notices: Mailbox[DiscoveryNotice] | None = None,
        http: httpx.AsyncClient | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config
        self.gamma_url = gamma_url
        self.clock = clock
        self.out = out
        self.notices = notices
        self._http = http
        self.stats = DiscoveryStats()
        settings = TrackerSettings(
            assets=config.assets,
            series=tuple(config.series),
            lead_s=config.lead_s,
            closing_s=config.closing_s,
            poll_s=config.poll_s,
            refresh_s=config.refresh_s,
            retire_delay_s=config.retire_delay_s,
            retire_after_s=config.retire_after_s,
        )
        rng = random.Random(f"discovery|{seed}")
        self.tracker = DiscoveryTracker(
            settings, Backoff(config.backoff_initial_s, config.backoff_max_s, rng=rng)
        )
        self._gamma_backoff = Backoff(
            config.backoff_initial_s, config.backoff_max_s, rng=random.Random(f"gamma|{seed}")
        )
        self._failures = 0
        self._fetch_after = float("-inf")
        self._wake = trio.Event()

    def metadata(self, key: str) -> MarketMetadata | None:
        """Tick, neg-risk, fees and minimum size of a tracked market (condition or token id)."""
        return self.tracker.cache.get(key)

    def notice(self, message: DiscoveryNotice) -> None:
        """A channel notice: a new tick is in force at once; a resolution ends a window."""
        self.stats.notices += 1
        match message:
            case TickSizeChangeSeen():
                key = message.asset_id or message.condition_id
                if self.tracker.on_tick_change(key, message.new_tick):
                    log.info("tick of %s is now %d", message.condition_id[:12], message.new_tick)
            case MarketResolutionSeen():
                self.tracker.on_resolution(
                    message.condition_id, message.winning_asset_id, self.clock.now_s()
                )
        self._wake.set()

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Poll and publish until cancelled; ready after the first lookup (even a failed
        one: Gamma being down is retried, not a reason to hold up the session)."""
        if self._http is not None:
            await self._run(self._http, task_status)
            return
        async with httpx.AsyncClient(timeout=self.config.timeout_s) as http:
            await self._run(http, task_status)

    async def _run(self, http: httpx.AsyncClient, task_status: trio.TaskStatus[None]) -> None:
        async with trio.open_nursery() as nursery:
            if self.notices is not None:
                nursery.start_soon(self._receive_notices, self.notices)
            ready = False
            while True:
                self._wake = trio.Event()
                now = self.clock.now_s()
                if now >= self._fetch_after:
                    slugs = self.tracker.due_slugs(now)
                    for i in range(0, len(slugs), MAX_SLUGS_PER_REQUEST):
                        await self._lookup(http, slugs[i : i + MAX_SLUGS_PER_REQUEST])
                await self._publish()
                if not ready:
                    ready = True
                    task_status.started()
                now = self.clock.now_s()
                wake = self.tracker.next_wake(now)
                if self._fetch_after > now:
                    wake = min(wake, self._fetch_after)
                with trio.move_on_at(self.clock.trio_time_of(wake)):
                    await self._wake.wait()

    async def _lookup(self, http: httpx.AsyncClient, slugs: Sequence[str]) -> None:
        self.stats.requests += 1
        try:
            markets = await fetch_markets(http, self.gamma_url, slugs)
        except (httpx.HTTPError, GammaError) as exc:
            self.stats.gamma_errors += 1
            self._failures += 1
            delay = self._gamma_backoff.delay(self._failures)
            self._fetch_after = self.clock.now_s() + delay
            log.warning("gamma lookup failed (%s); retrying in %.1f s", _describe(exc), delay)
            return
        self._failures = 0
        self._fetch_after = float("-inf")
        now = self.clock.now_s()
        by_slug = {m.get("slug"): m for m in markets}
        for slug in slugs:
            payload = by_slug.get(slug)
            if payload is None:
                self.stats.not_listed += 1
                self.tracker.on_missing(slug, now)
                continue
            try:
                info = parse_gamma_market(payload)
            except MarketFormatError as exc:
                self.stats.malformed += 1
                log.warning("skipped a market: %s", exc)
                self.tracker.on_malformed(slug, now)
                continue
            closed = payload.get("closed") is True
            self.tracker.on_market(info, parse_gamma_resolution(payload), closed, now)

    async def _publish(self) -> None:
        for event in self.tracker.step(self.clock.now_s(), time.perf_counter_ns()):
            match event:
                case MarketDiscovered():
                    self.stats.announced += 1
                case MarketPhaseChanged():
                    self.stats.phase_changes += 1
                case MarketRetired():
                    self.stats.retired += 1
            log.debug("discovery: %s", event)
            await self.out.send(event)

    async def _receive_notices(self, notices: Mailbox[DiscoveryNotice]) -> None:
        async for message in notices:
            if isinstance(message, Resync):
                continue  # notices lost to overflow: Gamma refreshes cover them
            self.notice(message)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, GammaError) else f"{type(exc).__name__}: {text}"
