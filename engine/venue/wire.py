"""Polymarket WebSocket frames (spec sections 5 and 11.3), built from venue events.

Frames are compact JSON bytes as the venue sends them: prices and sizes are decimal
strings ("0.57", "200"), timestamps are millisecond strings, and book arrays put the
best level last (bids ascending, asks descending). An empty side reports best_bid "0"
and best_ask "1", as the venue's own examples do. Book hashes are 40 hex digits like the
venue's; they are a SHA-1 of the book here, not the venue's (undocumented) digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from engine.units import Side, format_units
from engine.venue.matching import (
    ERR_FOK,
    LevelChanged,
    MarketResolved,
    MarketSpec,
    OrderCancelled,
    OrderPlaced,
    OrderUpdated,
    TickSizeChanged,
    TradeExecuted,
    VenueEvent,
)

Level = tuple[int, int]
TradeStatus = Literal["MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED"]
TraderSide = Literal["TAKER", "MAKER"]


@dataclass(frozen=True, slots=True)
class Identity:
    """Who an account is on the wire: its API key (`owner`) and wallet address."""

    owner: str
    address: str


def default_identity(account: str) -> Identity:
    """Use the account id as both API key and address (enough for tests and paper)."""
    return Identity(owner=account, address=account)


@dataclass(frozen=True, slots=True)
class PriceChange:
    """One entry of a price_change frame; best_bid/best_ask are the token's after the change."""

    token_id: str
    side: Side
    price: int
    size: int
    hash: str
    best_bid: int | None
    best_ask: int | None


def _dumps(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj)


def _levels(levels: Iterable[Level]) -> list[dict[str, str]]:
    return [{"price": format_units(p), "size": format_units(s)} for p, s in levels]


def book_hash(
    condition_id: str, token_id: str, bids: Sequence[Level], asks: Sequence[Level]
) -> str:
    """A 40-hex digest of a token's book, so equal books get equal hashes."""
    text = f"{condition_id}|{token_id}|{sorted(bids)}|{sorted(asks)}"
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def fake_transaction_hash(trade_id: str) -> str:
    """A deterministic stand-in for the on-chain hash of a trade (0x + 64 hex)."""
    return "0x" + hashlib.sha256(f"tx|{trade_id}".encode()).hexdigest()


# Market channel.


def book_frame(
    spec: MarketSpec,
    token_id: str,
    bids: Sequence[Level],
    asks: Sequence[Level],
    ts_ms: int,
    hash: str | None = None,
) -> bytes:
    """A `book` snapshot; `bids`/`asks` are given best first, as MatchingEngine.book returns."""
    return market_book_frame(spec.condition_id, token_id, bids, asks, ts_ms, hash)


def market_book_frame(
    condition_id: str,
    token_id: str,
    bids: Sequence[Level],
    asks: Sequence[Level],
    ts_ms: int,
    hash: str | None = None,
) -> bytes:
    """A `book` snapshot of any token by its market id (see book_frame)."""
    digest = hash if hash is not None else book_hash(condition_id, token_id, bids, asks)
    return _dumps(
        {
            "event_type": "book",
            "asset_id": token_id,
            "market": condition_id,
            "bids": _levels(sorted(bids)),
            "asks": _levels(sorted(asks, reverse=True)),
            "timestamp": str(ts_ms),
            "hash": digest,
        }
    )


def price_change_frame(condition_id: str, changes: Sequence[PriceChange], ts_ms: int) -> bytes:
    """The array-form `price_change` (since Sep 2025): `size` is the level's new total."""
    return _dumps(
        {
            "event_type": "price_change",
            "market": condition_id,
            "timestamp": str(ts_ms),
            "price_changes": [
                {
                    "asset_id": c.token_id,
                    "price": format_units(c.price),
                    "size": format_units(c.size),
                    "side": c.side.name,
                    "hash": c.hash,
                    "best_bid": format_units(c.best_bid) if c.best_bid is not None else "0",
                    "best_ask": format_units(c.best_ask) if c.best_ask is not None else "1",
                }
                for c in changes
            ],
        }
    )


def last_trade_price_frame(
    condition_id: str,
    token_id: str,
    price: int,
    side: Side,
    size: int,
    ts_ms: int,
    transaction_hash: str,
) -> bytes:
    """`last_trade_price`: side is the taker's; V2 reports fee_rate_bps "0"."""
    return _dumps(
        {
            "event_type": "last_trade_price",
            "asset_id": token_id,
            "market": condition_id,
            "price": format_units(price),
            "side": side.name,
            "size": format_units(size),
            "fee_rate_bps": "0",
            "timestamp": str(ts_ms),
            "transaction_hash": transaction_hash,
        }
    )


def tick_size_change_frame(
    condition_id: str, token_id: str, old_tick: int, new_tick: int, ts_ms: int
) -> bytes:
    return _dumps(
        {
            "event_type": "tick_size_change",
            "asset_id": token_id,
            "market": condition_id,
            "old_tick_size": format_units(old_tick),
            "new_tick_size": format_units(new_tick),
            "timestamp": str(ts_ms),
        }
    )


def best_bid_ask_frame(
    condition_id: str, token_id: str, best_bid: int | None, best_ask: int | None, ts_ms: int
) -> bytes:
    """`best_bid_ask` (custom feature): the token's top of book after a change."""
    bid = best_bid if best_bid is not None else 0
    ask = best_ask if best_ask is not None else 1_000_000
    return _dumps(
        {
            "event_type": "best_bid_ask",
            "market": condition_id,
            "asset_id": token_id,
            "best_bid": format_units(bid),
            "best_ask": format_units(ask),
            "spread": format_units(ask - bid),
            "timestamp": str(ts_ms),
        }
    )


def market_resolved_frame(
    spec: MarketSpec, winner: int | None, ts_ms: int, market_id: str = ""
) -> bytes:
    """`market_resolved` (custom feature); a 50/50 resolution names no winning asset."""
    return _dumps(
        {
            "event_type": "market_resolved",
            "id": market_id,
            "market": spec.condition_id,
            "assets_ids": list(spec.token_ids),
            "winning_asset_id": spec.token_ids[winner] if winner is not None else "",
            "winning_outcome": spec.outcomes[winner] if winner is not None else "",
            "timestamp": str(ts_ms),
            "tags": [],
        }
    )


# User channel.

OrderEvent = OrderPlaced | OrderUpdated | OrderCancelled

_CANCEL_STATUS = {
    "user": "CANCELED",
    "expired": "INVALID",
    "market_closed": "CANCELED_MARKET_RESOLVED",
    "fok_killed": "CANCELED_" + ERR_FOK,
}


def order_event_payload(event: OrderEvent, spec: MarketSpec, identity: Identity) -> dict[str, Any]:
    """The fields of an `order` message (see order_event_frame), as a dict."""
    associate: list[str] | None = None
    size_matched = format_units(event.size_matched)
    match event:
        case OrderPlaced():
            kind, status = "PLACEMENT", "LIVE"
        case OrderUpdated():
            kind = "UPDATE"
            status = "MATCHED" if event.size_matched == event.original_size else "LIVE"
            associate = [event.trade_id]
        case OrderCancelled():
            kind, status = "CANCELLATION", _CANCEL_STATUS[event.reason]
            if event.reason == "fok_killed":
                size_matched = ""
    return {
        "event_type": "order",
        "type": kind,
        "id": event.order_id,
        "owner": identity.owner,
        "order_owner": identity.owner,
        "market": event.condition_id,
        "asset_id": event.token_id,
        "side": event.side.name,
        "original_size": format_units(event.original_size),
        "size_matched": size_matched,
        "price": format_units(event.price),
        "associate_trades": associate,
        "outcome": spec.outcomes[spec.outcome_index(event.token_id)],
        "order_type": str(event.order_type),
        "status": status,
        "expiration": str(event.expiration),
        "created_at": str(event.created_ms // 1000),
        "maker_address": identity.address,
        "timestamp": str(event.ts_ms),
    }


def order_event_frame(event: OrderEvent, spec: MarketSpec, identity: Identity) -> bytes:
    """An `order` message: PLACEMENT (LIVE), UPDATE (a fill) or CANCELLATION."""
    return _dumps(order_event_payload(event, spec, identity))


def trade_event_payload(
    trade: TradeExecuted,
    spec: MarketSpec,
    *,
    recipient: str,
    status: TradeStatus = "MATCHED",
    identity_of: Callable[[str], Identity] = default_identity,
    bucket_index: int = 0,
    transaction_hash: str | None = None,
    ts_ms: int | None = None,
) -> dict[str, Any]:
    """The fields of a `trade` message (see trade_event_frame), as a dict.

    The REST Trade object of /data/trades is the same without the event fields.
    """
    who = identity_of(recipient)
    now = trade.ts_ms if ts_ms is None else ts_ms
    trader_side: TraderSide = "TAKER" if recipient == trade.taker_account else "MAKER"
    makers = []
    for leg in trade.maker_legs:
        leg_id = identity_of(leg.account)
        index = spec.outcome_index(leg.token_id)
        makers.append(
            {
                "order_id": leg.order_id,
                "owner": leg_id.owner,
                "maker_address": leg_id.address,
                "matched_amount": format_units(leg.size),
                "price": format_units(leg.price),
                "fee_rate_bps": "0",
                "asset_id": leg.token_id,
                "outcome": spec.outcomes[index],
                "outcome_index": index,
                "side": leg.side.name,
            }
        )
    return {
        "event_type": "trade",
        "type": "TRADE",
        "id": trade.trade_id,
        "taker_order_id": trade.taker_order_id,
        "market": trade.condition_id,
        "asset_id": trade.token_id,
        "side": trade.side.name,
        "size": format_units(trade.size),
        "price": format_units(trade.price),
        "fee_rate_bps": "0",
        "status": status,
        "match_time": str(trade.ts_ms // 1000),
        "last_update": str(now // 1000),
        "outcome": spec.outcomes[spec.outcome_index(trade.token_id)],
        "owner": who.owner,
        "trade_owner": who.owner,
        "maker_address": who.address,
        "bucket_index": bucket_index,
        "trader_side": trader_side,
        "timestamp": str(now),
        "transaction_hash": (
            transaction_hash
            if transaction_hash is not None
            else fake_transaction_hash(trade.trade_id)
        ),
        "maker_orders": makers,
    }


def trade_event_frame(
    trade: TradeExecuted,
    spec: MarketSpec,
    *,
    recipient: str,
    status: TradeStatus = "MATCHED",
    identity_of: Callable[[str], Identity] = default_identity,
    bucket_index: int = 0,
    transaction_hash: str | None = None,
    ts_ms: int | None = None,
) -> bytes:
    """A `trade` message as the account `recipient` sees it on its user channel.

    Top-level side/price/size/asset are the taker's; `trader_side` says whether the
    recipient took or made. `maker_orders` lists every leg; a maker finds its own legs
    by `owner`. The same `id` is re-sent for each status (MATCHED, MINED, CONFIRMED).
    """
    return _dumps(
        trade_event_payload(
            trade,
            spec,
            recipient=recipient,
            status=status,
            identity_of=identity_of,
            bucket_index=bucket_index,
            transaction_hash=transaction_hash,
            ts_ms=ts_ms,
        )
    )


# From events to the frames a market-channel subscriber gets.


class MarketDataPublisher:
    """Turns one market's drained events into its market-channel frames, in order.

    It keeps its own copy of the two books, built only from LevelChanged events, so each
    price_change entry can carry the token's best bid/ask after the change. The level
    changes of one engine operation (same `step`) become one price_change frame; a trade
    also yields last_trade_price frames and, with `book_after_trade`, fresh `book`
    snapshots of the tokens it touched, as the venue sends after trades.
    """

    def __init__(self, spec: MarketSpec, *, book_after_trade: bool = True) -> None:
        self.spec = spec
        self.book_after_trade = book_after_trade
        self._bids: dict[str, dict[int, int]] = {t: {} for t in spec.token_ids}
        self._asks: dict[str, dict[int, int]] = {t: {} for t in spec.token_ids}
        self._pending_books: list[str] = []

    def load(self, token_id: str, bids: Sequence[Level], asks: Sequence[Level]) -> None:
        """Seed a token's book (e.g. from MatchingEngine.book) before publishing."""
        self._bids[token_id] = dict(bids)
        self._asks[token_id] = dict(asks)

    def levels(self, token_id: str) -> tuple[list[Level], list[Level]]:
        """The mirrored book, best first (same shape as MatchingEngine.book)."""
        bids = sorted(self._bids[token_id].items(), reverse=True)
        asks = sorted(self._asks[token_id].items())
        return bids, asks

    def best(self, token_id: str) -> tuple[int | None, int | None]:
        bids, asks = self._bids[token_id], self._asks[token_id]
        return (max(bids) if bids else None, min(asks) if asks else None)

    def snapshot(self, ts_ms: int) -> list[bytes]:
        """The `book` frames a new subscriber gets, one per token."""
        return [self._book(token, ts_ms) for token in self.spec.token_ids]

    def publish(self, events: Iterable[VenueEvent]) -> list[bytes]:
        """Frames for a batch of events; events of other markets are ignored."""
        frames: list[bytes] = []
        group: list[LevelChanged] = []
        cid = self.spec.condition_id
        for event in events:
            if event.condition_id != cid:
                continue
            if isinstance(event, LevelChanged):
                if group and group[-1].step != event.step:
                    self._flush(group, frames)
                group.append(event)
                continue
            self._flush(group, frames)
            match event:
                case TradeExecuted():
                    frames.extend(self._trade_frames(event))
                case MarketResolved():
                    frames.append(market_resolved_frame(self.spec, event.winner, event.ts_ms))
                case TickSizeChanged():
                    for token in self.spec.token_ids:
                        frames.append(
                            tick_size_change_frame(
                                event.condition_id,
                                token,
                                event.old_tick,
                                event.new_tick,
                                event.ts_ms,
                            )
                        )
                case _:
                    pass
        self._flush(group, frames)
        return frames

    def _flush(self, group: list[LevelChanged], frames: list[bytes]) -> None:
        if not group:
            return
        for change in group:
            levels = (self._bids if change.side is Side.BUY else self._asks)[change.token_id]
            if change.size:
                levels[change.price] = change.size
            else:
                levels.pop(change.price, None)
        ts = group[-1].ts_ms
        hashes = {
            t: book_hash(self.spec.condition_id, t, *self.levels(t)) for t in self.spec.token_ids
        }
        entries = []
        for change in group:
            best_bid, best_ask = self.best(change.token_id)
            entries.append(
                PriceChange(
                    change.token_id,
                    change.side,
                    change.price,
                    change.size,
                    hashes[change.token_id],
                    best_bid,
                    best_ask,
                )
            )
        frames.append(price_change_frame(self.spec.condition_id, entries, ts))
        if self._pending_books:
            # A trade's books: its own tokens, and any book its level changes reached
            # (with mirrored books, that is always both outcomes).
            changed = {change.token_id for change in group}
            self._pending_books = [
                t for t in self.spec.token_ids if t in self._pending_books or t in changed
            ]
        for token in self._pending_books:
            frames.append(self._book(token, ts))
        self._pending_books.clear()
        group.clear()

    def _trade_frames(self, trade: TradeExecuted) -> list[bytes]:
        tx = fake_transaction_hash(trade.trade_id)
        frames = [
            last_trade_price_frame(
                trade.condition_id,
                trade.token_id,
                trade.price,
                trade.side,
                trade.size,
                trade.ts_ms,
                tx,
            )
        ]
        crossed = [leg for leg in trade.maker_legs if leg.match_kind != "complementary"]
        if crossed:
            # A mint (merge) is also a BUY (SELL) on the other outcome, at the maker's price.
            other = self.spec.other_token(trade.token_id)
            size = sum(leg.size for leg in crossed)
            last = crossed[-1]
            frames.append(
                last_trade_price_frame(
                    trade.condition_id, other, last.price, last.side, size, trade.ts_ms, tx
                )
            )
        if self.book_after_trade:
            touched = [trade.token_id] + [leg.token_id for leg in trade.maker_legs]
            for token in self.spec.token_ids:
                if token in touched and token not in self._pending_books:
                    self._pending_books.append(token)
        return frames

    def _book(self, token_id: str, ts_ms: int) -> bytes:
        bids, asks = self.levels(token_id)
        return book_frame(self.spec, token_id, bids, asks, ts_ms)
