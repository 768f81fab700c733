"""The engine's Trio-native REST client of the CLOB (httpx.AsyncClient runs on Trio).

Private requests carry L2 headers: POLY_ADDRESS, POLY_API_KEY, POLY_PASSPHRASE,
POLY_TIMESTAMP (unix s) and POLY_SIGNATURE, the native HMAC over timestamp + method +
path (no host, no query) + the exact body bytes sent (spec section 3). Every request
first waits for the client's own rate limits (ratelimit.py), so the client never sends
faster than configured.

Retry policy (retry.py holds the decision table; the reasons are these):
- Reads (GET) and cancels are idempotent: sending them twice leaves the venue as once.
  They are retried on 429, 425, 5xx and transport errors, with exponential backoff and
  seeded jitter, never sooner than the venue's Retry-After, at most `retries` times.
  A cancel retried after a lost answer may come back "not canceled: already canceled";
  the user channel's CANCELLATION report then tells what happened.
- POST /order and /orders answered 429 or 425 were refused before matching: the order
  never reached the book, so it may be sent again after the backoff (at most
  `submit_retries` times). On the local venue server this is so by construction: its
  rate limiter answers 429 before any route runs, and the burst-425/429 faults answer
  before the order is parsed or placed (engine/venue/server/trading.py `burst()`).
  A connection that could not be opened (connect error/timeout, no pooled connection)
  never carried the order and is retried too.
- A timeout, a connection lost after the request was sent, or a 5xx on an order post
  is AMBIGUOUS: the venue may have placed the order. It is never re-sent; the post
  raises SubmitUnknown with the order ids, and `resolve_unknown` asks the venue by
  hash. (Production's 5xx may come after matching; the local server's lost-response
  fault answers 504 after placing the order, exactly this case.)
- Heartbeats are not retried here: their actor's loop is the retry.

Cancellation of a call in flight: for a post the outcome is then unknown to the
caller, who must resolve the order the same way.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import orjson
import trio
from pydantic import SecretStr

from engine._native import OrderSigner, l2_hmac_signature
from engine.client.books import BookFormatError, parse_book
from engine.client.errors import (
    BadRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    SubmitUnknown,
    TransportError,
    VenueError,
    error_for,
)
from engine.client.ratelimit import RateLimiter
from engine.client.retry import Action, Backoff, Kind, decide
from engine.config import ClientConfig
from engine.credentials import ApiCredentials
from engine.gateway import BookSnapshot, OrderSpec, PostResult, Resolution, VenueOrderState
from engine.units import Side, parse_units

logger = logging.getLogger("polyengine.client")

MAX_BATCH = 15
"""Orders per POST /orders (the venue's limit)."""
MAX_CANCEL_BATCH = 1000
"""Ids per DELETE /orders."""
END_CURSOR = "LTE="
MAX_PAGES = 10_000
"""A bound on pagination, so a venue that never ends a listing cannot hang the client."""


@dataclass(frozen=True, slots=True)
class CancelReply:
    """DELETE answers: ids canceled, and the others with the venue's reason."""

    canceled: tuple[str, ...]
    not_canceled: Mapping[str, str]


def _units(text: Any) -> int:
    """Micro units from the venue's decimal strings ("" and None are 0)."""
    if text in ("", None):
        return 0
    try:
        return parse_units(Decimal(str(text)))
    except (InvalidOperation, ValueError):
        raise ValueError(f"not an amount: {text!r}") from None


def _order_state(status: str) -> VenueOrderState:
    upper = status.upper()
    if upper == "LIVE":
        return VenueOrderState.LIVE
    if upper == "MATCHED":
        return VenueOrderState.FILLED
    return VenueOrderState.CANCELED


def order_fill_in_trade(trade: Mapping[str, Any], order_id: str) -> int:
    """Micro-shares of `order_id` matched in one trade (0 if it is not in it)."""
    if trade.get("taker_order_id") == order_id:
        return _units(trade.get("size"))
    total = 0
    for leg in trade.get("maker_orders") or ():
        if isinstance(leg, Mapping) and leg.get("order_id") == order_id:
            total += _units(leg.get("matched_amount"))
    return total


def _involves(trade: Mapping[str, Any], order_id: str) -> bool:
    if trade.get("taker_order_id") == order_id:
        return True
    legs = trade.get("maker_orders") or ()
    return any(isinstance(leg, Mapping) and leg.get("order_id") == order_id for leg in legs)


class RestClient:
    """One account's REST session with the venue (an async context manager).

    `base_url` is EndpointsConfig.clob; `credentials` may be None for public calls
    only. `http` lets tests pass their own AsyncClient; otherwise one is made with the
    configured timeouts. `seed` seeds the backoff jitter; `wallclock` gives POLY_TIMESTAMP.
    """

    def __init__(
        self,
        base_url: str,
        credentials: ApiCredentials | None,
        config: ClientConfig | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        seed: int = 0,
        wallclock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or ClientConfig()
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.limiter = limiter or RateLimiter.from_config(self.config)
        self._base_path = httpx.URL(self.base_url).path.rstrip("/")
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(
                self.config.request_timeout_s, connect=self.config.connect_timeout_s
            ),
            limits=httpx.Limits(
                max_connections=self.config.max_connections,
                max_keepalive_connections=self.config.max_connections,
            ),
            headers={"User-Agent": "polyengine"},
        )
        self._backoff = Backoff(
            self.config.backoff_base_s, self.config.backoff_max_s, self.config.backoff_jitter
        )
        self._rng = random.Random(f"polyengine client backoff {seed}")
        self._wallclock = wallclock
        self.retried = 0
        """Retries made so far (for reports and tests)."""

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    @property
    def address(self) -> str:
        return self._creds.address

    @property
    def api_key(self) -> str:
        return self._creds.api_key

    @property
    def _creds(self) -> ApiCredentials:
        if self.credentials is None:
            raise RuntimeError("this RestClient has no API credentials (public calls only)")
        return self.credentials

    # --- the request pipeline -------------------------------------------------------

    def _l2_headers(self, method: str, path: str, body: bytes | None) -> dict[str, str]:
        creds = self._creds
        timestamp = int(self._wallclock())
        signature = l2_hmac_signature(
            creds.secret.get_secret_value(), timestamp, method, path, body or None
        )
        return {
            "POLY_ADDRESS": creds.address,
            "POLY_SIGNATURE": signature,
            "POLY_TIMESTAMP": str(timestamp),
            "POLY_API_KEY": creds.api_key,
            "POLY_PASSPHRASE": creds.passphrase.get_secret_value(),
        }

    async def _once(
        self,
        method: str,
        path: str,
        endpoint: str,
        params: Mapping[str, str] | None,
        body: bytes | None,
        auth: bool,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        headers = self._l2_headers(method, self._base_path + path, body) if auth else {}
        headers.update(extra_headers or {})
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self.http.request(
                method, self.base_url + path, params=params, content=body, headers=headers
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise TransportError(endpoint, f"{type(exc).__name__}: {exc}", sent=False) from exc
        except httpx.TransportError as exc:
            raise TransportError(endpoint, f"{type(exc).__name__}: {exc}", sent=True) from exc
        raw = response.content
        try:
            payload = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            payload = None
            if response.status_code == 200:
                raise MalformedResponse(200, endpoint, f"not JSON: {raw[:200]!r}") from None
        if response.status_code != 200:
            raise error_for(
                response.status_code, endpoint, payload, raw, response.headers.get("Retry-After")
            )
        return payload

    async def _request(
        self,
        method: str,
        path: str,
        *,
        route: str | None = None,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        auth: bool = True,
        kind: Kind = Kind.READ,
        order_ids: tuple[str, ...] = (),
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        """One request with rate limiting and the retry policy of the module docstring."""
        endpoint = f"{method} {route or path}"
        retries = self.config.submit_retries if kind is Kind.SUBMIT else self.config.retries
        attempt = 0
        while True:
            await self.limiter.acquire(endpoint)
            try:
                return await self._once(method, path, endpoint, params, body, auth, extra_headers)
            except VenueError as exc:
                action = decide(kind, exc, attempt, retries)
                if action is Action.UNKNOWN:
                    logger.warning(
                        "%s: outcome unknown (%s) for %s", endpoint, exc, ", ".join(order_ids)
                    )
                    raise SubmitUnknown(endpoint, exc.text, order_ids, exc.status) from exc
                retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
                if action is Action.RAISE or (
                    retry_after is not None and retry_after > self.config.retry_after_max_s
                ):
                    raise
                delay = self._backoff.delay(attempt, self._rng, retry_after)
                if isinstance(exc, RateLimited):
                    self.limiter.pause(endpoint, delay)
                logger.info("%s: %s; retry %d in %.2fs", endpoint, exc, attempt + 1, delay)
                self.retried += 1
                attempt += 1
                await trio.sleep(delay)

    async def call(
        self, method: str, path: str, params: Mapping[str, str] | None = None
    ) -> tuple[int, Any]:
        """One L2-signed request, rate-limited but not retried and not judged: (HTTP
        status, JSON body or text). For callers with their own reading of statuses
        (reconciliation's queries, actors/reconciler.py HttpVenueQueries)."""
        route = "/data/order" if path.startswith("/data/order/") else path
        await self.limiter.acquire(f"{method} {route}")
        headers = self._l2_headers(method, self._base_path + path, None)
        response = await self.http.request(
            method, self.base_url + path, params=params, headers=headers
        )
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            return response.status_code, response.text
        return response.status_code, body

    async def _paged(self, path: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Every row of a cursor-paginated listing (next_cursor until "LTE=")."""
        rows: list[dict[str, Any]] = []
        cursor = ""
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            query = dict(params)
            if cursor:
                query["next_cursor"] = cursor
            payload = await self._request("GET", path, params=query)
            if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
                raise MalformedResponse(200, f"GET {path}", "expected {data: [...]}")
            rows.extend(row for row in payload["data"] if isinstance(row, dict))
            cursor = str(payload.get("next_cursor") or END_CURSOR)
            if cursor == END_CURSOR:
                return rows
            if cursor in seen:
                raise MalformedResponse(200, f"GET {path}", f"cursor {cursor!r} repeats")
            seen.add(cursor)
        raise MalformedResponse(200, f"GET {path}", f"more than {MAX_PAGES} pages")

    # --- L1: API credentials -----------------------------------------------------------

    def _l1_headers(self, signer: OrderSigner, nonce: int) -> dict[str, str]:
        timestamp = int(self._wallclock())
        return {
            "POLY_ADDRESS": signer.address,
            "POLY_SIGNATURE": signer.clob_auth_signature(timestamp, nonce),
            "POLY_TIMESTAMP": str(timestamp),
            "POLY_NONCE": str(nonce),
        }

    async def create_or_derive_credentials(
        self, signer: OrderSigner, nonce: int = 0
    ) -> ApiCredentials:
        """The signer's L2 credentials: created (POST /auth/api-key) or, when the key
        exists already, derived (GET /auth/derive-api-key), as the official clients do.

        Signed natively with timestamps from `wallclock`, so it also works against a
        venue whose clock is not the real one (an accelerated paper venue). Account
        set-up for live trading goes through the official client (`polyengine account`).
        """
        try:
            payload = await self._request(
                "POST", "/auth/api-key", auth=False, extra_headers=self._l1_headers(signer, nonce)
            )
        except BadRequest:
            payload = await self._request(
                "GET",
                "/auth/derive-api-key",
                auth=False,
                extra_headers=self._l1_headers(signer, nonce),
            )
        if not isinstance(payload, dict) or not all(
            isinstance(payload.get(k), str) for k in ("apiKey", "secret", "passphrase")
        ):
            raise MalformedResponse(200, "/auth/api-key", "expected apiKey, secret, passphrase")
        return ApiCredentials(
            address=signer.address,
            api_key=payload["apiKey"],
            secret=SecretStr(payload["secret"]),
            passphrase=SecretStr(payload["passphrase"]),
        )

    # --- public ---------------------------------------------------------------------

    async def time(self) -> int:
        """The venue's clock, unix seconds."""
        payload = await self._request("GET", "/time", auth=False)
        value = payload.get("time") if isinstance(payload, dict) else payload
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise MalformedResponse(200, "GET /time", f"expected a number, got {payload!r}")
        return int(value)

    async def get_book(self, token_id: str) -> BookSnapshot:
        """The REST book of one token, best first on both sides."""
        payload = await self._request("GET", "/book", params={"token_id": token_id}, auth=False)
        if not isinstance(payload, dict):
            raise MalformedResponse(200, "GET /book", "expected a JSON object")
        try:
            return parse_book(payload, token_id)
        except BookFormatError as exc:
            raise MalformedResponse(200, "GET /book", str(exc)) from None

    # --- orders ---------------------------------------------------------------------

    def _post_result(self, leg: Any, spec: OrderSpec, endpoint: str) -> PostResult:
        if not isinstance(leg, dict):
            raise SubmitUnknown(endpoint, f"unreadable answer {leg!r}", (spec.order_id,), 200)
        error = str(leg.get("errorMsg") or "")
        order_id = str(leg.get("orderID") or "")
        success = leg.get("success") is True and not error and bool(order_id)
        if success and order_id != spec.order_id:
            logger.warning("venue id %s for order %s", order_id, spec.order_id)
        try:
            shares = leg.get("takingAmount") if spec.side is Side.BUY else leg.get("makingAmount")
            matched = _units(shares)
        except ValueError as exc:
            logger.warning("%s: order %s: %s (matched taken as 0)", endpoint, order_id, exc)
            matched = 0
        return PostResult(
            success,
            error if error or success else "rejected without a reason",
            order_id or spec.order_id,
            str(leg.get("status") or ""),
            matched,
        )

    async def post_order(self, spec: OrderSpec) -> PostResult:
        """POST /order with `spec.body` exactly. A refusal (400) is a PostResult with
        success False and the venue's text; an ambiguous outcome raises SubmitUnknown;
        RateLimited/VenueRestarting/TransportError(sent=False) once the retries are
        spent mean "not placed"."""
        try:
            payload = await self._request(
                "POST", "/order", body=spec.body, kind=Kind.SUBMIT, order_ids=(spec.order_id,)
            )
        except BadRequest as exc:
            return PostResult(False, exc.text, spec.order_id, "")
        return self._post_result(payload, spec, "POST /order")

    async def post_orders(self, specs: Sequence[OrderSpec]) -> list[PostResult]:
        """POST /orders (1 to 15 orders): one PostResult per spec, in order. The venue
        judges each leg on its own; a refusal of the whole batch refuses every leg."""
        if not 1 <= len(specs) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1 to {MAX_BATCH} orders, got {len(specs)}")
        ids = tuple(spec.order_id for spec in specs)
        body = b"[" + b",".join(spec.body for spec in specs) + b"]"
        try:
            payload = await self._request(
                "POST", "/orders", body=body, kind=Kind.SUBMIT, order_ids=ids
            )
        except BadRequest as exc:
            return [PostResult(False, exc.text, spec.order_id, "") for spec in specs]
        if not isinstance(payload, list) or len(payload) != len(specs):
            raise SubmitUnknown("POST /orders", f"unreadable answer {payload!r:.200}", ids, 200)
        return [
            self._post_result(leg, spec, "POST /orders")
            for leg, spec in zip(payload, specs, strict=True)
        ]

    @staticmethod
    def _cancel_reply(payload: Any, endpoint: str) -> CancelReply:
        if not isinstance(payload, dict):
            raise MalformedResponse(200, endpoint, f"expected a cancel reply, got {payload!r}")
        canceled = payload.get("canceled") or []
        not_canceled = payload.get("not_canceled") or {}
        if not isinstance(canceled, list) or not isinstance(not_canceled, dict):
            raise MalformedResponse(200, endpoint, f"bad cancel reply {payload!r}")
        return CancelReply(
            tuple(str(i) for i in canceled), {str(k): str(v) for k, v in not_canceled.items()}
        )

    async def cancel_order(self, order_id: str) -> bool:
        """DELETE /order: True if the venue canceled it now, False if it was not live
        (matched, already canceled, unknown)."""
        body = orjson.dumps({"orderID": order_id})
        payload = await self._request("DELETE", "/order", body=body)
        return order_id in self._cancel_reply(payload, "DELETE /order").canceled

    async def cancel_orders(self, order_ids: Sequence[str]) -> CancelReply:
        """DELETE /orders, in chunks of 1000 ids."""
        canceled: list[str] = []
        not_canceled: dict[str, str] = {}
        ids = list(dict.fromkeys(order_ids))
        for start in range(0, len(ids), MAX_CANCEL_BATCH):
            body = orjson.dumps(ids[start : start + MAX_CANCEL_BATCH])
            reply = self._cancel_reply(
                await self._request("DELETE", "/orders", body=body), "DELETE /orders"
            )
            canceled.extend(reply.canceled)
            not_canceled.update(reply.not_canceled)
        return CancelReply(tuple(canceled), not_canceled)

    async def cancel_all(self) -> list[str]:
        """DELETE /cancel-all: the ids the venue canceled."""
        payload = await self._request("DELETE", "/cancel-all")
        return list(self._cancel_reply(payload, "DELETE /cancel-all").canceled)

    async def cancel_market(self, market: str = "", asset_id: str = "") -> list[str]:
        """DELETE /cancel-market-orders for a market (condition id) and/or one token."""
        if not market and not asset_id:
            raise ValueError("cancel_market needs a market or an asset_id (else cancel_all)")
        fields = {k: v for k, v in (("market", market), ("asset_id", asset_id)) if v}
        payload = await self._request("DELETE", "/cancel-market-orders", body=orjson.dumps(fields))
        return list(self._cancel_reply(payload, "DELETE /cancel-market-orders").canceled)

    # --- account data ---------------------------------------------------------------

    async def open_orders(
        self, market: str | None = None, asset_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Every open order (OpenOrder dicts), all pages."""
        params = {k: v for k, v in (("market", market), ("asset_id", asset_id)) if v}
        return await self._paged("/data/orders", params)

    async def get_order(self, order_id: str) -> dict[str, Any] | None:
        """One order (OpenOrder) by id; None if the venue has none (404 or empty)."""
        try:
            payload = await self._request("GET", f"/data/order/{order_id}", route="/data/order")
        except NotFound:
            return None
        if not payload:
            return None
        if not isinstance(payload, dict):
            raise MalformedResponse(200, "GET /data/order", f"expected an order, got {payload!r}")
        return payload

    async def trades(
        self,
        market: str | None = None,
        asset_id: str | None = None,
        *,
        after: int | None = None,
        before: int | None = None,
        trade_id: str | None = None,
        maker_address: str | None = None,
    ) -> list[dict[str, Any]]:
        """The account's trades (the user channel's trade shape), all pages. `after` and
        `before` are unix seconds of the match. Filter by `market`, not `asset_id`: the
        venue filters asset_id on the taker's asset (spec 10.8)."""
        params = {
            key: str(value)
            for key, value in (
                ("market", market),
                ("asset_id", asset_id),
                ("after", after),
                ("before", before),
                ("id", trade_id),
                ("maker_address", maker_address),
            )
            if value not in (None, "")
        }
        return await self._paged("/data/trades", params)

    async def balance_allowance(
        self, asset_type: str = "COLLATERAL", token_id: str | None = None
    ) -> int:
        """The balance (micro units) of collateral, or of one conditional token."""
        params = {"asset_type": asset_type, "signature_type": str(self.config.signature_type)}
        if token_id:
            params["token_id"] = token_id
        payload = await self._request("GET", "/balance-allowance", params=params)
        balance = payload.get("balance") if isinstance(payload, dict) else None
        try:
            return int(str(balance))
        except ValueError:
            raise MalformedResponse(
                200, "GET /balance-allowance", f"bad balance {balance!r}"
            ) from None

    async def heartbeat(self, heartbeat_id: str | None) -> str:
        """POST /v1/heartbeats; returns the id to send next. HeartbeatMismatch (a
        BadRequest) carries the id the venue expects. Not retried here."""
        body = orjson.dumps({"heartbeat_id": heartbeat_id or ""})
        payload = await self._request("POST", "/v1/heartbeats", body=body, kind=Kind.ONCE)
        new_id = payload.get("heartbeat_id") if isinstance(payload, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise MalformedResponse(200, "POST /v1/heartbeats", f"no heartbeat_id in {payload!r}")
        return new_id

    async def resolve_unknown(
        self, order_id: str, market: str | None = None, *, after: int | None = None
    ) -> Resolution:
        """What the venue knows about an order whose post had an unknown outcome: asks
        GET /data/order/{id}, then the trades (of `market`, if known; from `after`).

        Returns NOT_FOUND only when the venue answered and knows neither the order nor a
        trade of it. If the venue cannot be asked, the VenueError (TransportError,
        VenueUnavailable, ...) propagates: "could not ask" is never "does not exist".
        """
        order = await self.get_order(order_id)
        where = market or (str(order.get("market") or "") if order else "") or None
        trades = tuple(t for t in await self.trades(where, after=after) if _involves(t, order_id))
        live_trades = [t for t in trades if str(t.get("status", "")).upper() != "FAILED"]
        from_trades = sum(order_fill_in_trade(t, order_id) for t in live_trades)
        if order is not None:
            state = _order_state(str(order.get("status", "")))
            try:
                matched = _units(order.get("size_matched"))
            except ValueError:
                matched = from_trades
            return Resolution(order_id, state, order, trades, max(matched, from_trades))
        if trades:
            return Resolution(order_id, VenueOrderState.FILLED, None, trades, from_trades)
        return Resolution(order_id, VenueOrderState.NOT_FOUND, None, (), 0)
