"""The Gamma API (spec section 6): market and event discovery for the scenario's markets.

The scenario lists consecutive BTC up/down windows, `btc-updown-15m-{start}` and
`btc-updown-5m-{start}` (series `btc-up-or-down-15m` / `-5m`), one event per market, as
production does. Market objects are camelCase with the
venue's JSON-encoded strings (`outcomes`, `outcomePrices`, `clobTokenIds`), the window
times (`eventStartTime` is the window start; `startDate` the listing, a day earlier), tick,
minimum size, fee schedule and, once resolved, the winning outcome's price 1.
Served under /gamma on the server's port.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.units import format_units
from engine.venue.matching import MarketSpec, MarketStatus
from engine.venue.server.context import ServerContext
from engine.venue.server.http import error, ok, query
from engine.venue.server.payloads import iso, tick_number

LISTED_AHEAD_S = 86_400
"""Markets are listed about a day before their window opens."""

Handler = Callable[[Request], Awaitable[Response]]


def recurrence(spec: MarketSpec) -> str:
    """The series a window belongs to, by its length: "15m" or "5m"."""
    return "5m" if spec.end_ts - spec.start_ts == 300 else "15m"


def _window_number(spec: MarketSpec) -> int:
    """Window index within its series; 5m numbers sit 2_000_000 above so ids never clash."""
    if recurrence(spec) == "5m":
        return 2_000_000 + spec.start_ts // 300 % 1_000_000
    return spec.start_ts // 900 % 1_000_000


def market_id(spec: MarketSpec) -> str:
    """A numeric Gamma id, stable for a series and window start."""
    return str(5_000_000 + _window_number(spec))


def event_id(spec: MarketSpec) -> str:
    return str(1_000_000 + _window_number(spec))


def _price(value: int | None) -> float | None:
    return float(format_units(value)) if value is not None else None


def gamma_market(ctx: ServerContext, spec: MarketSpec, *, nested: bool = True) -> dict[str, Any]:
    engine = ctx.venue.engine
    status = engine.market_status(spec.condition_id)
    up_bid, up_ask = engine.best_bid_ask(spec.token_ids[0])
    if status is MarketStatus.RESOLVED:
        winner = engine.market_winner(spec.condition_id)
        prices = ["0.5", "0.5"] if winner is None else ["1" if i == winner else "0" for i in (0, 1)]
    elif up_bid is not None and up_ask is not None:
        mid = format_units((up_bid + up_ask) // 2)
        prices = [mid, format_units(1_000_000 - (up_bid + up_ask) // 2)]
    else:
        prices = ["0.5", "0.5"]
    last = ctx.exchange.last_trade.get(spec.token_ids[0])
    fees = spec.fees
    market: dict[str, Any] = {
        "id": market_id(spec),
        "question": spec.question,
        "conditionId": spec.condition_id,
        "questionID": "0x" + spec.condition_id[2:][::-1],
        "slug": spec.slug,
        "resolutionSource": "https://data.chain.link/streams/btc-usd",
        "description": f"{spec.question}: resolves Up if the BTC/USD price at the end of the "
        "window is greater than or equal to the price at its start, otherwise Down.",
        "startDate": iso(spec.start_ts - LISTED_AHEAD_S),
        "endDate": iso(spec.end_ts),
        "eventStartTime": iso(spec.start_ts),
        "endDateIso": iso(spec.end_ts)[:10],
        "startDateIso": iso(spec.start_ts - LISTED_AHEAD_S)[:10],
        "outcomes": orjson.dumps(list(spec.outcomes)).decode(),
        "outcomePrices": orjson.dumps(prices).decode(),
        "clobTokenIds": orjson.dumps(list(spec.token_ids)).decode(),
        "active": status is not MarketStatus.RESOLVED,
        "closed": status in (MarketStatus.CLOSED, MarketStatus.RESOLVED),
        "archived": False,
        "acceptingOrders": status is MarketStatus.OPEN,
        "acceptingOrdersTimestamp": iso(spec.start_ts - LISTED_AHEAD_S),
        "enableOrderBook": True,
        "orderPriceMinTickSize": tick_number(engine.market(spec.condition_id).tick),
        "orderMinSize": int(spec.min_size // 1_000_000),
        "negRisk": spec.neg_risk,
        "bestBid": _price(up_bid),
        "bestAsk": _price(up_ask),
        "spread": _price(up_ask - up_bid) if up_bid is not None and up_ask is not None else None,
        "lastTradePrice": _price(last[0]) if last else None,
        "umaResolutionStatuses": '["resolved"]' if status is MarketStatus.RESOLVED else "[]",
        "feesEnabled": fees.rate_ppm > 0,
        "feeType": "crypto_fees_v2",
        "makerBaseFee": 1000 if fees.rate_ppm else 0,
        "takerBaseFee": 1000 if fees.rate_ppm else 0,
        "makerRebatesFeeShareBps": 10000,
        "feeSchedule": {
            "exponent": fees.exponent,
            "rate": float(format_units(fees.rate_ppm)),
            "takerOnly": fees.taker_only,
            "rebateRate": float(format_units(fees.rebate_ppm)),
        },
        "version": "v1",
    }
    if nested:
        market["events"] = [_event_stub(spec)]
    return market


def _event_stub(spec: MarketSpec) -> dict[str, Any]:
    return {
        "id": event_id(spec),
        "slug": spec.slug,
        "title": spec.question,
        "startTime": iso(spec.start_ts),
        "seriesSlug": f"btc-up-or-down-{recurrence(spec)}",
        "series": [{"slug": f"btc-up-or-down-{recurrence(spec)}", "recurrence": recurrence(spec)}],
    }


def gamma_event(ctx: ServerContext, spec: MarketSpec) -> dict[str, Any]:
    stub = _event_stub(spec)
    status = ctx.venue.engine.market_status(spec.condition_id)
    return {
        **stub,
        "ticker": spec.slug,
        "description": gamma_market(ctx, spec, nested=False)["description"],
        "startDate": iso(spec.start_ts - LISTED_AHEAD_S),
        "endDate": iso(spec.end_ts),
        "active": status is not MarketStatus.RESOLVED,
        "closed": status in (MarketStatus.CLOSED, MarketStatus.RESOLVED),
        "archived": False,
        "negRisk": spec.neg_risk,
        "enableOrderBook": True,
        "markets": [gamma_market(ctx, spec, nested=False)],
    }


def _flag(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text.lower()) if text else None


def _listed(ctx: ServerContext, request: Request) -> list[MarketSpec]:
    """Markets filtered by the query parameters both /markets and /events take."""
    specs = sorted(ctx.venue.specs.values(), key=lambda s: (s.start_ts, s.slug))
    slugs = set(request.query_params.getlist("slug"))
    ids = set(request.query_params.getlist("id"))
    conditions = {c for v in request.query_params.getlist("condition_ids") for c in v.split(",")}
    tokens = {t for v in request.query_params.getlist("clob_token_ids") for t in v.split(",")}
    active, closed = _flag(query(request, "active")), _flag(query(request, "closed"))
    out = []
    for spec in specs:
        market = gamma_market(ctx, spec, nested=False)
        if slugs and spec.slug not in slugs:
            continue
        if ids and market_id(spec) not in ids and event_id(spec) not in ids:
            continue
        if conditions and spec.condition_id not in conditions:
            continue
        if tokens and not tokens.intersection(spec.token_ids):
            continue
        if active is not None and market["active"] != active:
            continue
        if closed is not None and market["closed"] != closed:
            continue
        out.append(spec)
    offset = int(query(request, "offset") or 0)
    limit = int(query(request, "limit") or 500)
    return out[offset : offset + limit]


def routes(ctx: ServerContext) -> list[BaseRoute]:
    def by(predicate: Callable[[MarketSpec, str], bool], key: str, render: Any) -> Handler:
        async def handler(request: Request) -> Response:
            wanted = request.path_params[key]
            for spec in ctx.venue.specs.values():
                if predicate(spec, wanted):
                    return ok(render(ctx, spec))
            return error(404, "not found")

        return handler

    async def markets(request: Request) -> Response:
        try:
            return ok([gamma_market(ctx, s) for s in _listed(ctx, request)])
        except ValueError:
            return error(400, "invalid query")

    async def events(request: Request) -> Response:
        try:
            return ok([gamma_event(ctx, s) for s in _listed(ctx, request)])
        except ValueError:
            return error(400, "invalid query")

    return [
        Route("/gamma/markets", markets, methods=["GET"]),
        Route(
            "/gamma/markets/slug/{slug}",
            by(lambda s, v: s.slug == v, "slug", gamma_market),
            methods=["GET"],
        ),
        Route(
            "/gamma/markets/{id}",
            by(lambda s, v: market_id(s) == v or s.condition_id == v, "id", gamma_market),
            methods=["GET"],
        ),
        Route("/gamma/events", events, methods=["GET"]),
        Route(
            "/gamma/events/slug/{slug}",
            by(lambda s, v: s.slug == v, "slug", gamma_event),
            methods=["GET"],
        ),
        Route(
            "/gamma/events/{id}",
            by(lambda s, v: event_id(s) == v, "id", gamma_event),
            methods=["GET"],
        ),
    ]
