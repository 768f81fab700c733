"""MarketActor: owns the native books of one market's two outcome tokens.

It applies each MarketFrame to the books, checks them against the venue's own best
bid/ask after every price change (a mismatch means the book is wrong: resync from a
snapshot), and publishes a MarketView to the strategies through conflating edges, so a
slow strategy always sees the latest state rather than a backlog. It also publishes on
a timer so that strategies react to time (a window closing) without new data.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import trio

from engine._native import OrderBook
from engine.clock import SessionClock
from engine.gateway import VenueGateway
from engine.mailbox import Mailbox, Resync
from engine.messages import (
    MarketFrame,
    MarketInfo,
    MarketPhase,
    MarketSettled,
    MarketView,
    TokenTop,
)
from engine.stats import EngineStats
from engine.units import UNIT, Side, parse_units

log = logging.getLogger("polyengine.market")


class IntegrityError(Exception):
    """The local book disagrees with the venue's best bid/ask."""


def _price_or_none(text: object) -> int | None:
    """The venue sends "0" (or nothing) for an empty side."""
    if text in (None, "", "0", "1"):
        return None
    return parse_units(str(text))


def _levels(raw: Sequence[Mapping[str, str]]) -> list[tuple[int, int]]:
    return [(parse_units(level["price"]), parse_units(level["size"])) for level in raw]


class MarketActor:
    def __init__(
        self,
        info: MarketInfo,
        mailbox: Mailbox[MarketFrame],
        views_out: Sequence[Mailbox[Any]],
        settlements_out: Mailbox[Any],
        gateway: VenueGateway,
        clock: SessionClock,
        stats: EngineStats,
        view_every_s: float = 1.0,
    ) -> None:
        self.info = info
        self.mailbox = mailbox
        self.views_out = views_out
        self.settlements_out = settlements_out
        self.gateway = gateway
        self.clock = clock
        self.stats = stats
        self.view_every_s = view_every_s
        self.tick = info.tick
        self.books: dict[str, OrderBook] = {}
        self.resolved_winner: int | None = None
        self.resolved = False
        self.healthy = False
        self._settled: list[MarketSettled] = []

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Snapshot first (readiness means holding a book), then frames and timer views."""
        await self.resync()
        task_status.started()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._publish_on_timer)
            while True:
                message = await self.mailbox.receive()
                if isinstance(message, Resync):
                    self.stats.overflow_resyncs += 1
                    await self.resync()
                    continue
                try:
                    self.apply(message.events)
                except IntegrityError as exc:
                    self.stats.integrity_resyncs += 1
                    log.info("%s: %s; resyncing", self.info.slug, exc)
                    await self.resync()
                except (KeyError, TypeError, ValueError) as exc:
                    # Counted and skipped; the frame may have been half applied, so resync.
                    self.stats.malformed_frames += 1
                    log.warning(
                        "%s: skipped a malformed event (%r); resyncing", self.info.slug, exc
                    )
                    await self.resync()
                while self._settled:
                    await self.settlements_out.send(self._settled.pop(0))
                await self.publish(message.ts_ns)

    async def resync(self) -> None:
        """Replace both books with the venue's snapshots (a snapshot never merges)."""
        self.healthy = False
        for token_id in self.info.token_ids:
            snapshot = await self.gateway.get_book(token_id)
            book = OrderBook(self.tick)
            book.apply_snapshot(list(snapshot.bids), list(snapshot.asks))
            self.books[token_id] = book
        self.healthy = True

    def apply(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Apply one frame's events; raises IntegrityError on a best bid/ask mismatch."""
        for event in events:
            kind = event.get("event_type")
            if kind == "book":
                book = self.books.get(str(event.get("asset_id")))
                if book is not None:
                    book.apply_snapshot(_levels(event["bids"]), _levels(event["asks"]))
            elif kind == "price_change":
                self._apply_price_change(event["price_changes"])
            elif kind == "tick_size_change":
                self.tick = parse_units(str(event["new_tick_size"]))
                self.books = {t: OrderBook(self.tick) for t in self.info.token_ids}
                raise IntegrityError("tick size changed: new book epoch")
            elif kind == "market_resolved":
                self._resolve(str(event.get("winning_asset_id", "")))

    def _apply_price_change(self, changes: Sequence[Mapping[str, Any]]) -> None:
        """Apply every entry, then compare each touched book with the venue's best bid/ask.

        The comparison waits for the whole event because the venue may state the best
        prices after all of an event's changes rather than after each entry.
        """
        venue_best: dict[str, tuple[int | None, int | None]] = {}
        for change in changes:
            token_id = str(change.get("asset_id"))
            book = self.books.get(token_id)
            if book is None:
                continue
            side = Side.parse(str(change["side"]))
            book.apply_change(int(side), parse_units(change["price"]), parse_units(change["size"]))
            if "best_bid" in change or "best_ask" in change:
                venue_best[token_id] = (
                    _price_or_none(change.get("best_bid")),
                    _price_or_none(change.get("best_ask")),
                )
        for token_id, theirs in venue_best.items():
            mine = self.books[token_id].best()
            if mine != theirs:
                raise IntegrityError(f"book best {mine} but venue says {theirs}")

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
        )

    def _top(self, token_id: str) -> TokenTop:
        book = self.books[token_id]
        bid = book.best_bid()
        ask = book.best_ask()
        return TokenTop(
            token_id,
            bid[0] if bid else None,
            bid[1] if bid else 0,
            ask[0] if ask else None,
            ask[1] if ask else 0,
        )

    async def publish(self, frame_ts_ns: int) -> None:
        view = self.view(frame_ts_ns)
        for out in self.views_out:
            out.send_nowait(view)

    async def _publish_on_timer(self) -> None:
        """Views driven by time alone carry frame_ts_ns 0: no frame to measure from."""
        while True:
            await trio.sleep(self.view_every_s)
            await self.publish(0)
