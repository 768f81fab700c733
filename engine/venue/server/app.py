"""The local venue server: Polymarket's protocol on one loopback port, on Trio.

Library choice: Starlette (routing, raw request bodies, WebSockets) served by
Hypercorn's Trio worker. Both are maintained, typed and widely deployed; Hypercorn runs
natively on Trio (so the server shares the engine's event loop, clock and cancellation,
and starts in tests with `nursery.start`, reporting the port it bound), speaks HTTP/1.1
and WebSockets (h11, wsproto) as the official clients do over http://, and keeps header
names with underscores (POLY_API_KEY) intact. Starlette runs on anyio, which uses Trio
here. Writing HTTP on h11 by hand would mean owning keep-alive, chunking and the
WebSocket handshake; aiohttp and uvicorn are asyncio-only.

Everything is served on one port, by path: the CLOB REST API at the root, its
WebSocket channels at /ws/market and /ws/user, Gamma under /gamma, the relayer's wallet
lookup under /relayer, and the price feeds under /binance, /coinbase and /rtds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from engine.clock import SessionClock
from engine.fees import FeeSchedule
from engine.units import UNIT
from engine.venue.matching import BookModel, MarketStatus
from engine.venue.scenario import CRYPTO_FEES_WITH_REBATES, WINDOW_S, Scenario
from engine.venue.server import feeds, gamma, public, trading, ws
from engine.venue.server.context import ServerContext
from engine.venue.server.exchange import HEARTBEAT_TIMEOUT_S, SETTLE_STEP_S, Exchange
from engine.venue.server.faults import FaultPlan
from engine.venue.server.http import error
from engine.venue.server.postlog import PostLog
from engine.venue.server.ratelimit import RateLimiter, retry_after_header
from engine.venue.server.replay import RecordedFrame, load_recording, replay
from engine.venue.sim import SimVenue


@dataclass(frozen=True)
class ServerConfig:
    """How to run the venue server; money in micro units."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 7
    initial_balance: int = 10_000 * UNIT
    windows: int = 96
    start_ts: int | None = None
    """First window start (a multiple of 900); None: the window the clock is in now."""
    step_s: float = 1.0
    traders: bool = True
    """Whether the scenario's noise and informed traders trade (False: only clients)."""
    faults: FaultPlan | None = None
    limiter: RateLimiter = field(default_factory=RateLimiter)
    heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S
    settle_step_s: float = SETTLE_STEP_S
    ws_idle_timeout_s: float = 60.0
    replay: Path | None = None
    replay_speed: float = 1.0
    book_model: BookModel = "unified"
    """Mirrored books with merge matching, as production; "per_token" as the paper venue."""
    series: tuple[str, ...] = ("15m", "5m")
    """Up/down series listed, each over the span of `windows` 15-minute windows."""
    fees: FeeSchedule = CRYPTO_FEES_WITH_REBATES
    """The markets' schedule: crypto taker fees with the 20% maker rebate, as production
    (the paper session keeps rebates off)."""
    clock_start: float | None = None
    """The venue's unix time when it starts (None: the real time now). With a clock rate
    (`polyengine venue --clock-rate`), simulated time then runs from there."""
    post_log: Path | None = None
    """Append one line per order received by POST /order(s) here (engine/venue/server/
    postlog.py), before it is processed."""
    keep_alive_s: float = 5.0
    """Idle HTTP keep-alive, in venue seconds. An accelerated venue scales it with its
    rate: clients expire idle connections on the real clock, and a server that closes an
    idle connection first makes a request sent on it fail ambiguously."""


class RateLimitMiddleware:
    """Charge each HTTP request to its client's buckets; 429 with Retry-After when empty."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.limiter.rules:
            headers = dict(scope.get("headers") or [])
            key = headers.get(b"poly_api_key") or headers.get(b"poly-api-key")
            client = key.decode("latin-1") if key else str((scope.get("client") or ("",))[0])
            wait = self.limiter.check(scope["method"], scope["path"], client, trio.current_time())
            if wait is not None:
                response = error(429, "Too Many Requests")
                response.headers["Retry-After"] = retry_after_header(wait)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def build_app(ctx: ServerContext) -> ASGIApp:
    """The ASGI application over one server's state."""
    routes = [
        *public.routes(ctx),
        *trading.routes(ctx),
        *ws.routes(ctx),
        *gamma.routes(ctx),
        *feeds.routes(ctx),
    ]
    return RateLimitMiddleware(Starlette(routes=routes), ctx.limiter)


def urls(base: str) -> dict[str, str]:
    """Each service's base URL, from the server's http://host:port."""
    ws_base = "ws://" + base.removeprefix("http://")
    return {
        "clob": base,
        "ws-market": f"{ws_base}/ws/market",
        "ws-user": f"{ws_base}/ws/user",
        "gamma": f"{base}/gamma",
        "relayer": f"{base}/relayer",
        "binance": f"{ws_base}/binance",
        "coinbase": f"{base}/coinbase",
        "rtds": f"{ws_base}/rtds",
    }


class VenueServer:
    """The simulated venue behind the real protocol, on Trio's clock (real time).

    `await nursery.start(server.run)` binds, starts the scenario, and returns once the
    server answers; `urls`, `venue`, `exchange` and `context` are set from then on.
    """

    def __init__(self, config: ServerConfig, *, scenario: Scenario | None = None) -> None:
        self.config = config
        self._scenario = scenario
        self.urls: dict[str, str] = {}
        self.context: ServerContext | None = None
        self._replay_done = trio.Event()

    @property
    def ctx(self) -> ServerContext:
        if self.context is None:
            raise RuntimeError("the venue server is not running")
        return self.context

    @property
    def venue(self) -> SimVenue:
        return self.ctx.venue

    @property
    def exchange(self) -> Exchange:
        return self.ctx.exchange

    def _build(self) -> ServerContext:
        config = self.config
        now = time.time() if config.clock_start is None else config.clock_start
        start = config.start_ts if config.start_ts is not None else int(now) // WINDOW_S * WINDOW_S
        scenario = self._scenario or Scenario(
            config.seed,
            start,
            config.windows,
            config.step_s,
            noise_traders=8 if config.traders else 0,
            informed_traders=2 if config.traders else 0,
            fees=config.fees,
            series=config.series,
        )
        clock = SessionClock.starting_at(now)
        venue = SimVenue(scenario, clock, seed=config.seed, book_model=config.book_model)
        faults = config.faults or FaultPlan.none(config.seed)
        exchange = Exchange(
            venue,
            seed=config.seed,
            initial_balance=config.initial_balance,
            faults=faults,
            heartbeat_timeout_s=config.heartbeat_timeout_s,
            settle_step_s=config.settle_step_s,
        )
        return ServerContext(
            venue, exchange, faults, config.limiter, ws_idle_timeout_s=config.ws_idle_timeout_s
        )

    async def run(
        self, *, task_status: trio.TaskStatus[VenueServer] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until cancelled. On cancellation the listening socket closes at once."""
        ctx = self._build()
        self.context = ctx
        if self.config.post_log is not None:
            ctx.post_log = PostLog.open(self.config.post_log)
        try:
            await self._serve(ctx, task_status)
        finally:
            if ctx.post_log is not None:
                ctx.post_log.close()

    async def _serve(self, ctx: ServerContext, task_status: trio.TaskStatus[VenueServer]) -> None:
        hyper = HypercornConfig()
        hyper.bind = [f"{self.config.host}:{self.config.port}"]
        hyper.accesslog = None
        hyper.loglevel = "WARNING"
        hyper.graceful_timeout = 0.5
        hyper.keep_alive_timeout = self.config.keep_alive_s
        async with trio.open_nursery() as nursery:
            await nursery.start(ctx.exchange.run)
            binds: list[str] = await nursery.start(serve, build_app(ctx), hyper)
            self.urls = urls(binds[0])
            first_step = self._first_step(ctx)
            nursery.start_soon(self._step_venue, ctx, first_step + self.config.step_s)
            if ctx.faults.on("tick-size-change"):
                nursery.start_soon(self._change_ticks, ctx)
            if self.config.replay is not None:
                frames = load_recording(self.config.replay)
                nursery.start_soon(self._replay_file, frames, self.config.replay_speed)
            task_status.started(self)

    def _first_step(self, ctx: ServerContext) -> float:
        """Step the scenario once now, so the current window is open when clients arrive."""
        venue = ctx.venue
        step_s = self.config.step_s
        first = venue.scenario.start_ts
        now = venue.clock.now_s()
        if now < first:
            return first - step_s
        at = first + (now - first) // step_s * step_s
        venue.scenario.step(venue.engine, at)
        venue.flush()
        return at

    async def _step_venue(self, ctx: ServerContext, start_at: float) -> None:
        await ctx.venue.run(start_at=start_at)

    async def _change_ticks(self, ctx: ServerContext) -> None:
        """The tick-size-change fault: each market goes to the finer tick once, mid-window."""
        faults = ctx.faults
        venue = ctx.venue
        pending = sorted(
            (at, spec.condition_id)
            for spec in venue.scenario.markets
            if (at := faults.tick_change_at(spec.condition_id, spec.start_ts)) is not None
        )
        for at, condition_id in pending:
            await trio.sleep_until(venue.clock.trio_time_of(at))
            if venue.engine.market_status(condition_id) is MarketStatus.OPEN:
                venue.engine.set_tick(condition_id, faults.new_tick, now_ms=venue.clock.now_ms())
                venue.flush()

    async def _replay_file(self, frames: list[RecordedFrame], speed: float) -> None:
        await self.replay(frames, speed=speed)

    async def replay(self, frames: list[RecordedFrame], *, speed: float = 0.0) -> int:
        """Send recorded frames to market subscribers of their assets (see replay.py)."""
        ctx = self.ctx
        sent = await replay(frames, ctx.replay_books, ctx.venue.publish_market_frame, speed=speed)
        self._replay_done.set()
        return sent

    def ledger(self) -> dict[str, Any]:
        return self.ctx.exchange.ledger()
