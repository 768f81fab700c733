"""MarketActor: owns the native books of one market's two outcome tokens.

Each MarketFrame is one native call: the raw frame is parsed and applied to the books,
which are checked against the venue's own best bid/ask after every price change. A
mismatch, a tick size change (a new, empty book epoch) or a malformed frame means the
books can no longer be trusted: they are rebuilt from snapshots. The actor publishes a
MarketView to the strategies through conflating edges, so a slow strategy always sees
the latest state rather than a backlog, and also on a timer so that strategies react to
time (a window closing) without new data.

Health: a view is `healthy` only while the books are not resyncing and the market
channel for this market is RUNNING (engine.health). The feed's HealthBoard is the
truth; the actor watches it and publishes an unhealthy view the moment the feed goes
down, so strategies pull quotes at once, not on the next timer tick. Going healthy
again waits for the feed's in-order MarketDataHealth message (behind the fresh
snapshot it follows) or for a REST resync. Without a board (the in-process simulator)
the feed counts as always RUNNING. Books polled from REST while the socket is down
replace the books (a snapshot never merges) but leave the view unhealthy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import httpx
import trio

from actors.market_feed import BookSource, HealthBoard
from engine._native import FrameError, FrameSummary, MarketBooks, Vpin
from engine.client.books import BookFormatError
from engine.clock import SessionClock
from engine.config import MarketDataConfig
from engine.health import Health
from engine.mailbox import Mailbox, Resync
from engine.messages import (
    MarketDataHealth,
    MarketFrame,
    MarketInfo,
    MarketInput,
    MarketPhase,
    MarketSettled,
    MarketView,
    PolledBook,
    TokenTop,
)
from engine.stats import EngineStats
from engine.units import UNIT

log = logging.getLogger("polyengine.market")

RESYNC_RETRY_S = (0.1, 2.0)
"""First and longest wait between REST resync attempts that failed."""
_REST_ERRORS = (httpx.HTTPError, OSError, BookFormatError)


class MarketActor:
    def __init__(
        self,
        info: MarketInfo,
        mailbox: Mailbox[MarketInput],
        views_out: Sequence[Mailbox[Any]],
        settlements_out: Mailbox[Any],
        gateway: BookSource,
        clock: SessionClock,
        stats: EngineStats,
        view_every_s: float = 1.0,
        market_data: MarketDataConfig | None = None,
        health_board: HealthBoard | None = None,
    ) -> None:
        """`gateway` answers /book for resyncs: the simulator's gateway, or in network
        mode the REST venue (anything with `get_book`). `health_board` is the market
        feed's (None: in-process, the feed is always RUNNING)."""
        self.info = info
        self.mailbox = mailbox
        self.views_out = views_out
        self.settlements_out = settlements_out
        self.gateway = gateway
        self.clock = clock
        self.stats = stats
        self.view_every_s = view_every_s
        self.tick = info.tick
        self.books = MarketBooks(info.tick, info.token_ids)
        # VPIN is fed by trades only (last_trade_price), never by book updates.
        md = market_data or MarketDataConfig()
        self.vpin = {
            t: Vpin(md.vpin_bucket_micro, md.vpin_window, classification=md.vpin_classification)
            for t in info.token_ids
        }
        self.resolved_winner: int | None = None
        self.resolved = False
        self.books_ready = False
        """False until the first snapshot and while a resync is under way."""
        self.board = health_board
        self.feed_health = Health.RUNNING if health_board is None else Health.STARTING
        self.feed_reason = ""
        self._feed_seq = 0
        self._published_healthy: bool | None = None
        self._settled: list[MarketSettled] = []

    @property
    def healthy(self) -> bool:
        """Whether strategies may quote on this market's view right now."""
        return self.books_ready and self.feed_health.tradable

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Snapshot first (readiness means holding a book), then frames and timer views."""
        self._read_board()
        await self.resync()
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._publish_on_timer)
            if self.board is not None:
                nursery.start_soon(self._watch_board, self.board)
            while True:
                message = await self.mailbox.receive()
                match message:
                    case Resync():
                        self.stats.overflow_resyncs += 1
                        await self.resync()
                        # A MarketDataHealth may have gone with the backlog: read the truth.
                        self._read_board()
                        await self.publish(0)
                    case MarketDataHealth():
                        self._on_health(message)
                    case PolledBook():
                        self._on_polled(message)
                        await self.publish(message.ts_ns)
                    case MarketFrame():
                        await self._on_frame(message)

    async def _on_frame(self, message: MarketFrame) -> None:
        try:
            summary = self.apply(message.raw)
        except FrameError as exc:
            # Nothing was applied, but the frame's changes are lost: resync.
            self.stats.malformed_frames += 1
            log.warning("%s: malformed frame (%s); resyncing", self.info.slug, exc)
            await self.resync()
        else:
            if summary.needs_resync:
                self.stats.integrity_resyncs += 1
                log.info("%s: %s; resyncing", self.info.slug, _why(summary))
                await self.resync()
        while self._settled:
            await self.settlements_out.send(self._settled.pop(0))
        await self.publish(message.ts_ns)

    async def resync(self) -> None:
        """Replace both books with the venue's snapshots (a snapshot never merges).

        The view is unhealthy (and published so at once) until both books are replaced.
        In network mode /book may fail: it is retried with a growing pause, the actor
        staying unhealthy meanwhile, rather than crashing on a venue hiccup.
        """
        self.books_ready = False
        self._publish_if_health_changed()
        wait, longest = RESYNC_RETRY_S
        for token_id in self.info.token_ids:
            while True:
                try:
                    snapshot = await self.gateway.get_book(token_id)
                except _REST_ERRORS as exc:
                    log.warning("%s: /book failed (%s); retrying", self.info.slug, exc)
                    await trio.sleep(wait)
                    wait = min(longest, wait * 2)
                    continue
                break
            self.books.apply_snapshot(
                token_id, list(snapshot.bids), list(snapshot.asks), tick=self.tick
            )
        self.books_ready = True

    def _on_polled(self, message: PolledBook) -> None:
        """A REST snapshot taken while the socket is down replaces that token's book."""
        snapshot = message.snapshot
        if snapshot.token_id in self.info.token_ids:
            self.books.apply_snapshot(
                snapshot.token_id, list(snapshot.bids), list(snapshot.asks), tick=self.tick
            )

    # Feed health.

    def _read_board(self) -> None:
        """Take the board's current health for this market (the truth)."""
        if self.board is not None:
            self.feed_health, self.feed_reason, self._feed_seq = self.board.get(
                self.info.condition_id
            )

    def _on_health(self, message: MarketDataHealth) -> None:
        """An in-order wake-up from the feed. Its health is taken only if it is still the
        board's latest (a later change may be queued behind newer frames); otherwise
        only a downgrade is taken from the board."""
        if self.board is None:
            self.feed_health, self.feed_reason = message.health, message.reason
        else:
            health, reason, seq = self.board.get(self.info.condition_id)
            if seq == message.seq or not health.tradable:
                self.feed_health, self.feed_reason, self._feed_seq = health, reason, seq
        self._publish_if_health_changed()

    async def _watch_board(self, board: HealthBoard) -> None:
        """Go unhealthy the moment the feed does, whatever is queued in the mailbox.

        Checks before each wait, so a change made before this task first ran is seen.
        """
        cid = self.info.condition_id
        while True:
            health, reason, seq = board.get(cid)
            if not health.tradable and self.feed_health.tradable:
                self.feed_health, self.feed_reason, self._feed_seq = health, reason, seq
                log.info("%s: market data %s (%s)", self.info.slug, health, reason)
                self._publish_if_health_changed()
            await board.wait_change(cid, seq)

    def _publish_if_health_changed(self) -> None:
        if self._published_healthy is not None and self._published_healthy != self.healthy:
            self._send_view(self.view(0))

    def apply(self, raw: bytes) -> FrameSummary:
        """Apply one raw frame to the books (one native call) and act on what it says.

        Raises FrameError for a malformed frame, which then changed nothing.
        """
        summary = self.books.apply_frame(raw)
        self.stats.market_events += summary.events
        for asset_id, price, size, taker_side in summary.trades:
            toxicity = self.vpin.get(asset_id)
            if toxicity is not None:
                toxicity.on_trade(price, size, taker_side)
        for _, _, new_tick in summary.tick_changes:
            self.tick = new_tick
        if summary.resolved is not None:
            self._resolve(summary.resolved)
        return summary

    def _resolve(self, winning_asset_id: str) -> None:
        if self.resolved:
            return
        self.resolved = True
        if winning_asset_id in self.info.token_ids:
            winner: int | None = self.info.token_ids.index(winning_asset_id)
            payout = (UNIT, 0) if winner == 0 else (0, UNIT)
        else:
            winner, payout = None, (UNIT // 2, UNIT // 2)  # a 50/50 resolution
        self.resolved_winner = winner
        self._settled.append(
            MarketSettled(time.perf_counter_ns(), self.info.condition_id, payout, winner)
        )

    def phase(self) -> MarketPhase:
        now = self.clock.now_s()
        if self.resolved:
            return MarketPhase.RESOLVED
        if now < self.info.start_ts:
            return MarketPhase.PRE_OPEN
        if now < self.info.end_ts:
            return MarketPhase.TRADING
        return MarketPhase.CLOSED

    def view(self, frame_ts_ns: int) -> MarketView:
        yes, no = (self._top(t) for t in self.info.token_ids)
        return MarketView(
            ts_ns=time.perf_counter_ns(),
            frame_ts_ns=frame_ts_ns,
            market=self.info,
            now_s=self.clock.now_s(),
            phase=self.phase(),
            healthy=self.healthy,
            yes=yes,
            no=no,
            vpin=(self.vpin[self.info.token_ids[0]].value, self.vpin[self.info.token_ids[1]].value),
        )

    def _top(self, token_id: str) -> TokenTop:
        return TokenTop(token_id, *self.books.top(token_id))

    async def publish(self, frame_ts_ns: int) -> None:
        self._send_view(self.view(frame_ts_ns))

    def _send_view(self, view: MarketView) -> None:
        self._published_healthy = view.healthy
        for out in self.views_out:
            out.send_nowait(view)

    async def _publish_on_timer(self) -> None:
        """Views driven by time alone carry frame_ts_ns 0: no frame to measure from."""
        while True:
            await trio.sleep(self.view_every_s)
            await self.publish(0)


def _why(summary: FrameSummary) -> str:
    """Why a frame asks for a resync, for the log."""
    if summary.mismatches:
        token, mine, theirs = summary.mismatches[0]
        return f"book best {mine} but venue says {theirs} for {token[:12]}"
    return f"tick size changed {summary.tick_changes}: new book epoch"
