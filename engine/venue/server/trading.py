"""Private CLOB REST routes: API keys, orders, cancels, account data, heartbeats.

Authentication failures answer 401 `{"error": ...}`; a refused order answers 400 with
the venue's text (spec section 4), except inside a POST /orders batch, where each leg
gets its own reply (`success: false`, `errorMsg`). Accepted orders answer with
`success, errorMsg, orderID, status, makingAmount, takingAmount, tradeIDs,
transactionsHashes`; trades settle afterwards, so `transactionsHashes` is empty and
clients follow `tradeIDs` (py_clob_client_v2 polls /data/trades until a hash appears).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from engine.units import format_units
from engine.venue.matching import OrderView, SubmitResult
from engine.venue.server import payloads
from engine.venue.server.auth import (
    ERR_KEY_EXISTS,
    ERR_KEY_UNKNOWN,
    AuthError,
    Credentials,
    verify_l1,
    verify_l2,
)
from engine.venue.server.context import ServerContext
from engine.venue.server.exchange import HeartbeatMismatch
from engine.venue.server.http import BadRequest, error, json_body, ok, query, raw_path
from engine.venue.server.orders import MAX_BATCH, OrderRejected, parse_order_body
from engine.venue.server.postlog import ENDPOINT_ORDER, ENDPOINT_ORDERS

PAGE_SIZE = 100
"""Rows per page of /data/orders and /data/trades."""

FIRST_CURSOR = "MA=="
END_CURSOR = "LTE="
MAX_CANCEL_BATCH = 1000

ERR_HEARTBEAT = "Invalid Heartbeat ID"
BURST_TEXT = {
    425: "service restarting, please retry",
    429: "Too Many Requests",
    500: "Internal Server Error",
}

Handler = Callable[[Request], Awaitable[Response]]


def _cursor_offset(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        offset = int(base64.b64decode(cursor, validate=True).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadRequest("invalid next_cursor") from None
    if offset < 0:
        raise BadRequest("invalid next_cursor: the last page was already returned")
    return offset


def page(rows: list[Any], cursor: str, size: int | None = None) -> dict[str, Any]:
    """Cursor pagination as the venue does it: base64 offsets, "LTE=" after the last page."""
    size = size or PAGE_SIZE
    offset = _cursor_offset(cursor)
    chunk = rows[offset : offset + size]
    following = offset + size
    next_cursor = (
        base64.b64encode(str(following).encode()).decode() if following < len(rows) else END_CURSOR
    )
    return {"data": chunk, "next_cursor": next_cursor, "limit": size, "count": len(chunk)}


def order_reply(result: SubmitResult) -> dict[str, Any]:
    """The reply to an accepted order (amounts are "" until something matched)."""
    matched = bool(result.trades)
    return {
        "success": True,
        "errorMsg": "",
        "orderID": result.order_id,
        "status": result.status,
        "makingAmount": format_units(result.making_amount) if matched else "",
        "takingAmount": format_units(result.taking_amount) if matched else "",
        "tradeIDs": list(result.trade_ids),
        "transactionsHashes": [],
    }


def rejected_leg(message: str) -> dict[str, Any]:
    """A refused order inside a POST /orders batch."""
    return {
        "success": False,
        "errorMsg": message,
        "orderID": "",
        "status": "",
        "makingAmount": "",
        "takingAmount": "",
        "tradeIDs": [],
        "transactionsHashes": [],
    }


def routes(ctx: ServerContext) -> list[BaseRoute]:
    """The private routes, bound to one server's state."""
    exchange = ctx.exchange

    def now_s() -> float:
        return ctx.venue.clock.now_s()

    def guarded(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except AuthError as exc:
                return error(401, exc.message)
            except BadRequest as exc:
                return error(exc.status, exc.message)

        return run

    async def l2(request: Request) -> tuple[Credentials, Any]:
        raw, body = await json_body(request)
        creds = verify_l2(
            exchange.keys, request.headers, request.method, raw_path(request), raw, now_s()
        )
        return creds, body

    def burst() -> Response | None:
        status = ctx.faults.burst_status(now_s(), ctx.window_ends())
        if status is None:
            return None
        headers = {"Retry-After": "1"} if status == 429 else None
        response = error(status, BURST_TEXT[status])
        if headers:
            response.headers.update(headers)
        return response

    async def answer(order_id: str, content: Any) -> Response:
        """Send a reply, unless a fault delays or loses it (the venue has already acted)."""
        if ctx.faults.loses_response(order_id):
            await trio.sleep(ctx.faults.lost_response_hold_s)
            return error(504, "upstream request timeout")
        delay = ctx.faults.ack_delay(order_id)
        if delay:
            await trio.sleep(delay)
        return ok(content)

    # API keys (L1).

    async def create_api_key(request: Request) -> Response:
        l1 = verify_l1(request.headers, now_s())
        creds = exchange.create_api_key(l1)
        if creds is None:
            return error(400, ERR_KEY_EXISTS)
        return ok(creds.reply())

    async def derive_api_key(request: Request) -> Response:
        l1 = verify_l1(request.headers, now_s())
        creds = exchange.derive_api_key(l1)
        if creds is None:
            return error(400, ERR_KEY_UNKNOWN)
        return ok(creds.reply())

    async def api_keys(request: Request) -> Response:
        creds, _ = await l2(request)
        return ok({"apiKeys": [c.key for c in exchange.keys.keys_of(creds.address)]})

    async def closed_only(request: Request) -> Response:
        await l2(request)
        return ok({"closed_only": False})

    # Orders.

    def received(endpoint: str, legs: list[Any]) -> None:
        """Record each order in the post log (if any) before anything checks it."""
        log = ctx.post_log
        if log is None:
            return
        now_ms = ctx.venue.clock.now_ms()
        for leg, item in enumerate(legs):
            try:
                order_id = exchange.order_id(parse_order_body(item))
            except OrderRejected:
                order_id = None
            log.record(endpoint, leg, order_id, item, now_ms)

    async def posted(request: Request, endpoint: str) -> tuple[Credentials, Any]:
        """L2-authenticate an order post, after logging the orders it carries."""
        raw, body = await json_body(request)
        received(endpoint, body if isinstance(body, list) else [body])
        creds = verify_l2(
            exchange.keys, request.headers, request.method, raw_path(request), raw, now_s()
        )
        return creds, body

    async def post_order(request: Request) -> Response:
        creds, body = await posted(request, ENDPOINT_ORDER)
        busy = burst()
        if busy is not None:
            return busy
        try:
            result = exchange.place(creds, parse_order_body(body))
        except OrderRejected as exc:
            return error(exc.status, exc.message)
        if not result.success:
            return error(400, result.error)
        return await answer(result.order_id, order_reply(result))

    async def post_orders(request: Request) -> Response:
        creds, body = await posted(request, ENDPOINT_ORDERS)
        if not isinstance(body, list) or not body:
            raise BadRequest("Invalid payload: expected a list of orders")
        if len(body) > MAX_BATCH:
            raise BadRequest(f"Too many orders in payload: {len(body)}, max {MAX_BATCH}")
        busy = burst()
        if busy is not None:
            return busy
        replies: list[dict[str, Any]] = []
        for item in body:
            try:
                result = exchange.place(creds, parse_order_body(item))
            except OrderRejected as exc:
                replies.append(rejected_leg(exc.message))
                continue
            replies.append(order_reply(result) if result.success else rejected_leg(result.error))
        key = next((r["orderID"] for r in replies if r["orderID"]), "batch")
        return await answer(key, replies)

    async def cancel_order(request: Request) -> Response:
        creds, body = await l2(request)
        if not isinstance(body, dict) or not isinstance(body.get("orderID"), str):
            raise BadRequest('Invalid payload: expected {"orderID": ...}')
        busy = burst()
        if busy is not None:
            return busy
        result = exchange.cancel(creds, [body["orderID"]])
        return await answer("cancel|" + body["orderID"], result.reply())

    async def cancel_orders(request: Request) -> Response:
        creds, body = await l2(request)
        if not isinstance(body, list) or not all(isinstance(i, str) for i in body):
            raise BadRequest("Invalid payload: expected a list of order ids")
        if len(body) > MAX_CANCEL_BATCH:
            raise BadRequest(f"Too many orders in payload: max {MAX_CANCEL_BATCH}")
        busy = burst()
        if busy is not None:
            return busy
        result = exchange.cancel(creds, body)
        return await answer("cancel|" + "|".join(body), result.reply())

    async def cancel_all(request: Request) -> Response:
        creds, _ = await l2(request)
        busy = burst()
        if busy is not None:
            return busy
        return await answer("cancel-all", exchange.cancel_all(creds).reply())

    async def cancel_market_orders(request: Request) -> Response:
        creds, body = await l2(request)
        body = body or {}
        if not isinstance(body, dict):
            raise BadRequest('Invalid payload: expected {"market": ..., "asset_id": ...}')
        busy = burst()
        if busy is not None:
            return busy
        market, asset = str(body.get("market") or ""), str(body.get("asset_id") or "")
        result = exchange.cancel_market(creds, market, asset)
        return await answer(f"cancel-market|{market}|{asset}", result.reply())

    # Account data.

    def _open_order(view: OrderView) -> dict[str, Any]:
        spec = ctx.venue.specs[view.condition_id]
        return payloads.open_order(view, spec, exchange.identity_of(view.account))

    async def data_orders(request: Request) -> Response:
        creds, _ = await l2(request)
        market, asset, order_id = (
            query(request, "market"),
            query(request, "asset_id"),
            query(request, "id"),
        )
        rows = [
            _open_order(v)
            for v in exchange.open_orders(creds)
            if (not market or v.condition_id == market)
            and (not asset or v.token_id == asset)
            and (not order_id or v.order_id == order_id)
        ]
        return ok(page(rows, query(request, "next_cursor")))

    async def data_order(request: Request) -> Response:
        creds, _ = await l2(request)
        view = exchange.own_order(creds, request.path_params["order_id"])
        if view is None:
            return error(404, "order not found")
        return ok(_open_order(view))

    async def data_trades(request: Request) -> Response:
        creds, _ = await l2(request)
        wanted = {
            name: query(request, name)
            for name in ("id", "market", "asset_id", "maker_address", "before", "after")
        }
        rows = []
        for record, account in exchange.trades_of(creds):
            trade = record.trade
            identity = exchange.identity_of(account)
            match_s = trade.ts_ms // 1000
            if (
                (wanted["id"] and trade.trade_id != wanted["id"])
                or (wanted["market"] and trade.condition_id != wanted["market"])
                or (wanted["asset_id"] and trade.token_id != wanted["asset_id"])
                or (
                    wanted["maker_address"]
                    and identity.address.lower() != wanted["maker_address"].lower()
                )
                or (wanted["before"] and match_s >= _int(wanted["before"]))
                or (wanted["after"] and match_s <= _int(wanted["after"]))
            ):
                continue
            spec = ctx.venue.specs[trade.condition_id]
            rows.append(payloads.trade(record, spec, account, exchange.identity_of))
        return ok(page(rows, query(request, "next_cursor")))

    async def balance_allowance(request: Request) -> Response:
        creds, _ = await l2(request)
        asset_type = query(request, "asset_type").upper() or "COLLATERAL"
        if asset_type not in ("COLLATERAL", "CONDITIONAL", "CONDITIONAL-V2"):
            raise BadRequest("Invalid asset_type")
        signature_type = _int(query(request, "signature_type") or "0")
        account = exchange.account_for(creds, signature_type)
        balance = ctx.venue.engine.balance(account)
        if asset_type == "COLLATERAL":
            amount = balance.collateral_total
        else:
            token = query(request, "token_id")
            if not token:
                raise BadRequest("token_id is required for conditional balances")
            amount = balance.shares(token)
        return ok(payloads.balance_allowance(amount, asset_type))

    async def balance_update(request: Request) -> Response:
        await l2(request)
        return ok("")

    # Heartbeats (dead-man switch).

    async def heartbeats(request: Request) -> Response:
        creds, body = await l2(request)
        heartbeat_id = body.get("heartbeat_id") if isinstance(body, dict) else None
        if heartbeat_id is not None and not isinstance(heartbeat_id, str):
            raise BadRequest("heartbeat_id must be a string or null")
        try:
            new_id = exchange.heartbeat(creds, heartbeat_id or None)
        except HeartbeatMismatch as exc:
            return error(400, ERR_HEARTBEAT, error_msg=ERR_HEARTBEAT, heartbeat_id=exc.expected)
        return ok({"status": "ok", "heartbeat_id": new_id})

    # The relayer's wallet lookup, for deposit-wallet clients (spec 11.5).

    async def relayer_deployed(request: Request) -> Response:
        address = query(request, "address").lower()
        return ok({"deployed": address in exchange.wallets})

    table: list[tuple[str, Handler, list[str]]] = [
        ("/auth/api-key", create_api_key, ["POST"]),
        ("/auth/derive-api-key", derive_api_key, ["GET"]),
        ("/auth/api-keys", api_keys, ["GET"]),
        ("/auth/ban-status/closed-only", closed_only, ["GET"]),
        ("/order", post_order, ["POST"]),
        ("/order", cancel_order, ["DELETE"]),
        ("/orders", post_orders, ["POST"]),
        ("/orders", cancel_orders, ["DELETE"]),
        ("/cancel-all", cancel_all, ["DELETE"]),
        ("/cancel-market-orders", cancel_market_orders, ["DELETE"]),
        ("/data/orders", data_orders, ["GET"]),
        ("/data/order/{order_id}", data_order, ["GET"]),
        ("/data/trades", data_trades, ["GET"]),
        ("/balance-allowance", balance_allowance, ["GET"]),
        ("/balance-allowance/update", balance_update, ["GET"]),
        ("/v1/heartbeats", heartbeats, ["POST"]),
        ("/heartbeats", heartbeats, ["POST"]),
        ("/relayer/deployed", relayer_deployed, ["GET"]),
    ]
    return [Route(path, guarded(handler), methods=methods) for path, handler, methods in table]


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"not an integer: {text!r}") from None
