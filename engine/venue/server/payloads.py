"""The REST objects of the CLOB API (spec section 2 and 11.5), built from engine state.

Money and sizes are decimal strings rendered from integer micro units; timestamps are
unix seconds except where the venue uses milliseconds (book `timestamp`). Fields are the
ones the official clients validate (OpenOrder, Trade with `bucket_index` and
`maker_orders`, books with all ten keys, the compact /clob-markets body).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from engine.units import Side, format_units
from engine.venue.matching import MarketSpec, MarketStatus, MatchingEngine, OrderView
from engine.venue.server.signing import EXCHANGE_V2 as STANDARD_EXCHANGE
from engine.venue.server.signing import EXCHANGE_V3, NEG_RISK_ADAPTER, NEG_RISK_EXCHANGE_V2
from engine.venue.wire import Identity, book_hash, trade_event_payload

if TYPE_CHECKING:
    from engine.venue.server.exchange import TradeRecord

MAX_ALLOWANCE = str(2**256 - 1)
"""Paper accounts have approved every exchange for everything."""

_EVENT_ONLY_FIELDS = ("event_type", "type", "trade_owner", "timestamp")


def tick_number(tick: int) -> float:
    """A tick as the JSON number the venue sends (0.01), exact for the six valid ticks."""
    return float(Decimal(tick).scaleb(-6))


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def book(
    market: str,
    token_id: str,
    bids: list[tuple[int, int]],
    asks: list[tuple[int, int]],
    *,
    tick: int,
    min_size: int,
    neg_risk: bool,
    now_ms: int,
    last_trade: tuple[int, Side] | None,
) -> dict[str, Any]:
    """GET /book (all ten keys): bids ascending and asks descending, so the best is last."""
    return {
        "market": market,
        "asset_id": token_id,
        "timestamp": str(now_ms),
        "hash": book_hash(market, token_id, bids, asks),
        "bids": [{"price": format_units(p), "size": format_units(s)} for p, s in sorted(bids)],
        "asks": [
            {"price": format_units(p), "size": format_units(s)}
            for p, s in sorted(asks, reverse=True)
        ],
        "min_order_size": format_units(min_size),
        "tick_size": format_units(tick),
        "neg_risk": neg_risk,
        "last_trade_price": format_units(last_trade[0]) if last_trade else "",
    }


def clob_market(engine: MatchingEngine, spec: MarketSpec) -> dict[str, Any]:
    """GET /markets/{condition_id}: the CLOB's market object."""
    status = engine.market_status(spec.condition_id)
    winner = engine.market_winner(spec.condition_id) if status is MarketStatus.RESOLVED else None
    tokens = []
    for index, (token, outcome) in enumerate(zip(spec.token_ids, spec.outcomes, strict=True)):
        bid, ask = engine.best_bid_ask(token)
        if status is MarketStatus.RESOLVED:
            price = 1.0 if winner == index else (0.5 if winner is None else 0.0)
        elif bid is not None and ask is not None:
            price = float(Decimal(bid + ask).scaleb(-6) / 2)
        else:
            price = 0.5
        tokens.append(
            {"token_id": token, "outcome": outcome, "price": price, "winner": winner == index}
        )
    fee_bps = 1000 if spec.fees.rate_ppm else 0
    return {
        "condition_id": spec.condition_id,
        "question_id": "0x" + spec.condition_id[2:][::-1],
        "question": spec.question,
        "description": f"{spec.question} Resolves Up if the price at the end of the window is "
        "at least the price at its start.",
        "market_slug": spec.slug,
        "tokens": tokens,
        "minimum_tick_size": tick_number(engine.market(spec.condition_id).tick),
        "minimum_order_size": int(Decimal(spec.min_size).scaleb(-6)),
        "neg_risk": spec.neg_risk,
        "neg_risk_market_id": "",
        "neg_risk_request_id": "",
        "accepting_orders": status is MarketStatus.OPEN,
        "accepting_order_timestamp": iso(spec.start_ts),
        "active": status in (MarketStatus.PENDING, MarketStatus.OPEN),
        "closed": status in (MarketStatus.CLOSED, MarketStatus.RESOLVED),
        "archived": False,
        "enable_order_book": True,
        "end_date_iso": iso(spec.end_ts),
        "game_start_time": iso(spec.start_ts),
        "seconds_delay": 0,
        "maker_base_fee": 0,
        "taker_base_fee": fee_bps,
        "fpmm": "",
        "is_50_50_outcome": False,
        "notifications_enabled": False,
        "icon": "",
        "image": "",
        "tags": ["Crypto"],
        "rewards": {"rates": None, "min_size": 0, "max_spread": 0},
    }


def clob_market_compact(engine: MatchingEngine, spec: MarketSpec) -> dict[str, Any]:
    """GET /clob-markets/{condition_id}: the compact body of the V2 clients (spec 11.5)."""
    fees = spec.fees
    return {
        "c": spec.condition_id,
        "t": [{"t": t, "o": o} for t, o in zip(spec.token_ids, spec.outcomes, strict=True)],
        "mts": tick_number(engine.market(spec.condition_id).tick),
        "mos": int(Decimal(spec.min_size).scaleb(-6)),
        "nr": spec.neg_risk,
        "fd": {
            "r": float(Decimal(fees.rate_ppm).scaleb(-6)),
            "e": fees.exponent,
            "to": fees.taker_only,
        },
        "ao": engine.market_status(spec.condition_id) is MarketStatus.OPEN,
        "v": "v1",
    }


def markets_by_token(spec: MarketSpec) -> dict[str, str]:
    return {
        "condition_id": spec.condition_id,
        "primary_token_id": spec.token_ids[0],
        "secondary_token_id": spec.token_ids[1],
    }


def open_order(view: OrderView, spec: MarketSpec, identity: Identity) -> dict[str, Any]:
    """An OpenOrder (GET /data/orders, /data/order/{id})."""
    return {
        "id": view.order_id,
        "status": view.status.value,
        "owner": identity.owner,
        "maker_address": identity.address,
        "market": view.condition_id,
        "asset_id": view.token_id,
        "side": view.side.name,
        "original_size": format_units(view.original_size),
        "size_matched": format_units(view.size_matched),
        "price": format_units(view.price),
        "outcome": spec.outcomes[spec.outcome_index(view.token_id)],
        "expiration": str(view.expiration),
        "order_type": str(view.order_type),
        "associate_trades": list(view.associate_trades),
        "created_at": view.created_ms // 1000,
    }


def trade(
    record: TradeRecord,
    spec: MarketSpec,
    recipient: str,
    identity_of: Callable[[str], Identity],
) -> dict[str, Any]:
    """A Trade (GET /data/trades) as `recipient` sees it: the user event without its frame."""
    payload = trade_event_payload(
        record.trade,
        spec,
        recipient=recipient,
        status=record.status,
        identity_of=identity_of,
        transaction_hash=record.transaction_hash,
        ts_ms=record.updated_ms,
    )
    for key in _EVENT_ONLY_FIELDS:
        payload.pop(key, None)
    return payload


def ledger_order(view: OrderView) -> dict[str, Any]:
    return {
        "id": view.order_id,
        "status": view.status.value,
        "token_id": view.token_id,
        "side": view.side.name,
        "price": view.price,
        "original_size": view.original_size,
        "size_matched": view.size_matched,
        "order_type": str(view.order_type),
        "expiration": view.expiration,
    }


def ledger_trade(
    record: TradeRecord, account: str, identity_of: Callable[[str], Identity]
) -> dict[str, Any]:
    """One trade from one account's side, in integer micro units."""
    taken = record.trade
    if account == taken.taker_account:
        role, token, side = "TAKER", taken.token_id, taken.side
        price, size, fee = taken.price, taken.size, taken.fee
    else:
        legs = [leg for leg in taken.maker_legs if leg.account == account]
        role, token, side = "MAKER", legs[0].token_id, legs[0].side
        price, size, fee = legs[0].price, sum(leg.size for leg in legs), 0
    return {
        "id": taken.trade_id,
        "status": record.status,
        "role": role,
        "market": taken.condition_id,
        "token_id": token,
        "side": side.name,
        "price": price,
        "size": size,
        "fee": fee,
        "match_time_ms": taken.ts_ms,
        "transaction_hash": record.transaction_hash,
        "taker_order_id": taken.taker_order_id,
        "counterparties": sorted({identity_of(a).address for a in record.accounts if a != account}),
    }


def balance_allowance(balance: int, asset_type: str) -> dict[str, Any]:
    """GET /balance-allowance: the new shape with one allowance per spender (spec 11.5)."""
    spenders = (
        [EXCHANGE_V3]
        if asset_type == "CONDITIONAL-V2"
        else [STANDARD_EXCHANGE, NEG_RISK_EXCHANGE_V2, NEG_RISK_ADAPTER]
    )
    return {"balance": str(balance), "allowances": dict.fromkeys(spenders, MAX_ALLOWANCE)}
