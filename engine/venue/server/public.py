"""Public CLOB REST routes: server info, books, prices and market metadata (spec 2, 11.5).

Books come from the matching engine, or from the replayed recording for replayed
assets. `/price?side=BUY` is the best bid and `side=SELL` the best ask, as the live venue
answers (spec section 2).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.units import Side, format_units
from engine.venue.matching import MarketSpec
from engine.venue.server import payloads
from engine.venue.server.context import ServerContext
from engine.venue.server.http import BadRequest, error, json_body, ok, query

ERR_NO_BOOK = "No orderbook exists for the requested token id"
ERR_NO_MARKET = "market not found"
ERR_EMPTY_SIDE = "No orders found on that side of the book"


@dataclass(frozen=True, slots=True)
class BookState:
    """A token's book and metadata, whatever its source (engine or replay)."""

    market: str
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    tick: int
    min_size: int
    neg_risk: bool
    last_trade: tuple[int, Side] | None
    spec: MarketSpec | None

    def best(self) -> tuple[int | None, int | None]:
        return (self.bids[0][0] if self.bids else None, self.asks[0][0] if self.asks else None)

    def payload(self, token_id: str, now_ms: int) -> dict[str, Any]:
        return payloads.book(
            self.market,
            token_id,
            self.bids,
            self.asks,
            tick=self.tick,
            min_size=self.min_size,
            neg_risk=self.neg_risk,
            now_ms=now_ms,
            last_trade=self.last_trade,
        )


def book_state(ctx: ServerContext, token_id: str) -> BookState | None:
    spec = ctx.market_of(token_id)
    if spec is not None:
        engine = ctx.venue.engine
        bids, asks = engine.book(token_id)
        tick = engine.market(spec.condition_id).tick
        last = ctx.exchange.last_trade.get(token_id)
        return BookState(
            spec.condition_id, bids, asks, tick, spec.min_size, spec.neg_risk, last, spec
        )
    replayed = ctx.replay_books.get(token_id)
    if replayed is None:
        return None
    bids, asks = replayed.levels()
    return BookState(
        replayed.market,
        bids,
        asks,
        replayed.tick,
        replayed.min_size,
        False,
        replayed.last_trade,
        None,
    )


def _state(ctx: ServerContext, token_id: str) -> BookState:
    if not token_id:
        raise BadRequest("Invalid token id")
    state = book_state(ctx, token_id)
    if state is None:
        raise BadRequest(ERR_NO_BOOK, 404)
    return state


def _tokens(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
        raise BadRequest('Invalid payload: expected a list of {"token_id": ...}')
    return body


def _side_price(state: BookState, side: str) -> int:
    bid, ask = state.best()
    if side.upper() not in ("BUY", "SELL"):
        raise BadRequest("Invalid side")
    price = bid if side.upper() == "BUY" else ask
    if price is None:
        raise BadRequest(ERR_EMPTY_SIDE, 404)
    return price


def _mid(state: BookState) -> int:
    bid, ask = state.best()
    if bid is None or ask is None:
        raise BadRequest(ERR_EMPTY_SIDE, 404)
    return (bid + ask) // 2


def _spread(state: BookState) -> int:
    bid, ask = state.best()
    if bid is None or ask is None:
        raise BadRequest(ERR_EMPTY_SIDE, 404)
    return ask - bid


def _last(state: BookState) -> dict[str, str]:
    if state.last_trade is None:
        return {"price": "0", "side": ""}
    price, side = state.last_trade
    return {"price": format_units(price), "side": side.name}


Handler = Callable[[Request], Awaitable[Response]]


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The public routes, bound to one server's state."""

    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except BadRequest as exc:
                return error(exc.status, exc.message)

        return run

    def now_ms() -> int:
        return ctx.venue.clock.now_ms()

    async def root(request: Request) -> Response:
        return ok("OK")

    async def server_time(request: Request) -> Response:
        return ok(int(ctx.venue.clock.now_s()))

    async def version(request: Request) -> Response:
        return ok({"version": 2})

    async def get_book(request: Request) -> Response:
        token = query(request, "token_id")
        return ok(_state(ctx, token).payload(token, now_ms()))

    async def post_books(request: Request) -> Response:
        _, body = await json_body(request)
        items = _tokens(body)
        return ok(
            [
                _state(ctx, str(i.get("token_id"))).payload(str(i["token_id"]), now_ms())
                for i in items
            ]
        )

    async def midpoint(request: Request) -> Response:
        return ok({"mid": format_units(_mid(_state(ctx, query(request, "token_id"))))})

    async def midpoints(request: Request) -> Response:
        _, body = await json_body(request)
        out: dict[str, str] = {}
        for item in _tokens(body):
            token = str(item.get("token_id", ""))
            out[token] = format_units(_mid(_state(ctx, token)))
        return ok(out)

    async def price(request: Request) -> Response:
        state = _state(ctx, query(request, "token_id"))
        return ok({"price": format_units(_side_price(state, query(request, "side")))})

    async def prices(request: Request) -> Response:
        _, body = await json_body(request)
        out: dict[str, dict[str, str]] = {}
        for item in _tokens(body):
            token, side = str(item.get("token_id", "")), str(item.get("side", ""))
            out.setdefault(token, {})[side.upper()] = format_units(
                _side_price(_state(ctx, token), side)
            )
        return ok(out)

    async def spread(request: Request) -> Response:
        return ok({"spread": format_units(_spread(_state(ctx, query(request, "token_id"))))})

    async def spreads(request: Request) -> Response:
        _, body = await json_body(request)
        out = {
            str(i.get("token_id")): format_units(_spread(_state(ctx, str(i.get("token_id", "")))))
            for i in _tokens(body)
        }
        return ok(out)

    async def last_trade_price(request: Request) -> Response:
        return ok(_last(_state(ctx, query(request, "token_id"))))

    async def last_trades_prices(request: Request) -> Response:
        _, body = await json_body(request)
        out = []
        for item in _tokens(body):
            token = str(item.get("token_id", ""))
            out.append({"token_id": token, **_last(_state(ctx, token))})
        return ok(out)

    async def tick_size(request: Request) -> Response:
        state = _state(ctx, query(request, "token_id"))
        return ok({"minimum_tick_size": payloads.tick_number(state.tick)})

    async def neg_risk(request: Request) -> Response:
        return ok({"neg_risk": _state(ctx, query(request, "token_id")).neg_risk})

    async def fee_rate(request: Request) -> Response:
        state = _state(ctx, query(request, "token_id"))
        charges = state.spec is not None and state.spec.fees.rate_ppm > 0
        return ok({"base_fee": 1000 if charges else 0})

    def _market(condition_id: str) -> MarketSpec:
        spec = ctx.market(condition_id)
        if spec is None:
            raise BadRequest(ERR_NO_MARKET, 404)
        return spec

    async def market(request: Request) -> Response:
        spec = _market(request.path_params["condition_id"])
        return ok(payloads.clob_market(ctx.venue.engine, spec))

    async def markets(request: Request) -> Response:
        specs = list(ctx.venue.specs.values())
        data = [payloads.clob_market(ctx.venue.engine, s) for s in specs]
        return ok({"data": data, "next_cursor": "LTE=", "limit": len(data), "count": len(data)})

    async def clob_market(request: Request) -> Response:
        spec = _market(request.path_params["condition_id"])
        return ok(payloads.clob_market_compact(ctx.venue.engine, spec))

    async def markets_by_token(request: Request) -> Response:
        spec = ctx.market_of(request.path_params["token_id"])
        if spec is None:
            raise BadRequest(ERR_NO_MARKET, 404)
        return ok(payloads.markets_by_token(spec))

    table: list[tuple[str, Handler, list[str]]] = [
        ("/", root, ["GET"]),
        ("/ok", root, ["GET"]),
        ("/time", server_time, ["GET"]),
        ("/version", version, ["GET"]),
        ("/book", get_book, ["GET"]),
        ("/books", post_books, ["POST"]),
        ("/midpoint", midpoint, ["GET"]),
        ("/midpoints", midpoints, ["POST"]),
        ("/price", price, ["GET"]),
        ("/prices", prices, ["POST"]),
        ("/spread", spread, ["GET"]),
        ("/spreads", spreads, ["POST"]),
        ("/last-trade-price", last_trade_price, ["GET"]),
        ("/last-trades-prices", last_trades_prices, ["POST"]),
        ("/tick-size", tick_size, ["GET"]),
        ("/neg-risk", neg_risk, ["GET"]),
        ("/fee-rate", fee_rate, ["GET"]),
        ("/markets", markets, ["GET"]),
        ("/markets/{condition_id}", market, ["GET"]),
        ("/clob-markets/{condition_id}", clob_market, ["GET"]),
        ("/markets-by-token/{token_id}", markets_by_token, ["GET"]),
    ]
    return [Route(path, guarded(handler), methods=methods) for path, handler, methods in table]
