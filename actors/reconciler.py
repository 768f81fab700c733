"""Reconciler: the journal matched with the venue at start (a barrier) and periodically.

`await nursery.start(reconciler.run)` returns only after a first round has matched the
journal with the venue's open orders, trades and balances, so nothing placed after it in
the supervision tree can send an order before the engine knows where it stands. Then it
reconciles every `reconcile_interval_s`. Corrections are journaled first and then sent
as events (`Fill`, `FillReversed`, `OrderAdopted`, `OrderClosed`). A mismatch no record
explains raises `ReconciliationHalt` with a one-line message: trading must stop. A round
where the venue could not be asked changes nothing and is retried; "could not ask" is
never taken for "the venue has nothing".

Resolutions: a market's settlement normally arrives as the market channel's one-shot
`market_resolved` frame, which a dropped or frozen socket loses and a stopped engine
never sees. So each round first reads, over REST (`GET /markets/{condition_id}`), the
markets the journal holds shares in whose end is unknown (held from an earlier run) and
the markets that ended more than `resolution_delay_s` ago without a journaled settlement
(engine/resolutions.py decides which). A resolved one is journaled as a SettlementRecord
(after the round's fills, so it redeems them too; the journal takes one per market) and
announced as `ResolutionRead` for the portfolio to book; a closed, unresolved one has its
differences deferred like any market still settling.

The venue is reached through `VenueQueries` (a Protocol); `HttpVenueQueries` implements
it over any L2-signing HTTP caller, with the venue's pagination and status codes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import quote

import httpx
import trio

from engine.config import StateConfig
from engine.health import Health
from engine.journal import (
    FillRecord,
    FillStatus,
    Journal,
    JournalOrder,
    JournalState,
    OrderPhase,
    SettlementRecord,
)
from engine.mailbox import Mailbox
from engine.messages import (
    Fill,
    FillReversed,
    Liquidity,
    OrderAdopted,
    OrderClosed,
    ReconciliationDone,
    ReconciliationIncomplete,
    ResolutionRead,
)
from engine.reconcile import (
    NOT_FOUND,
    CouldNotAsk,
    Lookup,
    Reconciliation,
    VenueBalances,
    VenueDataError,
    VenueTrades,
    reconcile,
    tokens_to_query,
)
from engine.resolutions import (
    MarketState,
    ResolutionFormatError,
    VenueMarket,
    markets_to_ask,
    parse_clob_market,
    unsettled_in_ledger,
    winner_of,
)

log = logging.getLogger("polyengine.reconciler")


class QueryFailed(Exception):
    """The venue could not be asked (transport error, timeout, 5xx, 429, garbage):
    distinct from an answer that says "no"."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"could not ask the venue for {what}: {reason}")
        self.what = what
        self.reason = reason


class ReconciliationHalt(Exception):
    """The journal and the venue differ in a way no record explains: stop trading."""

    def __init__(self, result: Reconciliation) -> None:
        super().__init__(result.message())
        self.result = result


class VenueQueries(Protocol):
    """What reconciliation asks the venue. Each method raises QueryFailed when the venue
    could not be asked; an answer (even an empty one) is the venue's word."""

    async def open_orders(self) -> list[dict[str, Any]]:
        """Every open order of the account (OpenOrder dicts, all pages)."""
        ...

    async def trades(self, after: int | None = None) -> list[dict[str, Any]]:
        """Every trade of the account with match_time > after (Trade dicts, all pages)."""
        ...

    async def get_order(self, order_id: str) -> dict[str, Any] | None:
        """One order by id, or None when the venue says it does not know it."""
        ...

    async def balances(self, token_ids: Sequence[str]) -> VenueBalances:
        """Collateral and each token's balance, in micro units."""
        ...

    async def market(self, condition_id: str) -> VenueMarket | None:
        """The CLOB's market object (closed, end, winner), or None if it is unknown."""
        ...


HttpCall = Callable[[str, str, Mapping[str, str] | None], Awaitable[tuple[int, Any]]]
"""(method, path, query params) -> (HTTP status, decoded JSON body or text), L2-signed."""

END_CURSOR = "LTE="


class HttpVenueQueries:
    """VenueQueries over the CLOB REST API (spec section 2) through an L2-signing caller.

    Pages are followed until the venue's end cursor; any status but 200 (and 404 for a
    lookup by id, which is "not found") is QueryFailed with the venue's text, as is a
    transport error or a query slower than `timeout_s`.
    """

    def __init__(
        self,
        call: HttpCall,
        *,
        signature_type: int = 0,
        timeout_s: float = 10.0,
        max_pages: int = 1000,
    ) -> None:
        self._call = call
        self.signature_type = signature_type
        self.timeout_s = timeout_s
        self.max_pages = max_pages

    async def _get(self, what: str, path: str, params: Mapping[str, str] | None) -> Any:
        status, body = await self._request(what, path, params)
        if status != 200:
            raise QueryFailed(what, f"HTTP {status}: {_text(body)}")
        return body

    async def _request(
        self, what: str, path: str, params: Mapping[str, str] | None
    ) -> tuple[int, Any]:
        try:
            with trio.fail_after(self.timeout_s):
                return await self._call("GET", path, params)
        except trio.TooSlowError:
            raise QueryFailed(what, f"no answer within {self.timeout_s} s") from None
        except (OSError, httpx.HTTPError, ValueError) as exc:
            raise QueryFailed(what, f"{type(exc).__name__}: {exc}") from None

    async def _pages(self, what: str, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        cursor = ""
        for _ in range(self.max_pages):
            query = dict(params, next_cursor=cursor) if cursor else dict(params)
            body = await self._get(what, path, query)
            if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                raise QueryFailed(what, f"not a page of results: {_text(body)}")
            rows.extend(row for row in body["data"] if isinstance(row, dict))
            cursor = str(body.get("next_cursor") or "")
            if not cursor or cursor == END_CURSOR:
                return rows
        raise QueryFailed(what, f"more than {self.max_pages} pages")

    async def open_orders(self) -> list[dict[str, Any]]:
        return await self._pages("open orders", "/data/orders", {})

    async def trades(self, after: int | None = None) -> list[dict[str, Any]]:
        params = {} if after is None else {"after": str(after)}
        return await self._pages("trades", "/data/trades", params)

    async def get_order(self, order_id: str) -> dict[str, Any] | None:
        what = f"order {order_id}"
        status, body = await self._request(what, f"/data/order/{quote(order_id)}", None)
        if status == 404:
            return None
        if status != 200:
            raise QueryFailed(what, f"HTTP {status}: {_text(body)}")
        if body in (None, "", {}, "null"):
            return None  # the venue may answer empty for a finished order
        if not isinstance(body, dict):
            raise QueryFailed(what, f"not an order: {_text(body)}")
        return body

    async def balances(self, token_ids: Sequence[str]) -> VenueBalances:
        base = {"signature_type": str(self.signature_type)}
        collateral = await self._balance("collateral", dict(base, asset_type="COLLATERAL"))
        tokens: dict[str, int] = {}
        for token in token_ids:
            params = dict(base, asset_type="CONDITIONAL", token_id=token)
            tokens[token] = await self._balance(f"balance of token {token}", params)
        return VenueBalances(collateral, tokens)

    async def _balance(self, what: str, params: dict[str, str]) -> int:
        body = await self._get(what, "/balance-allowance", params)
        try:
            return int(str(body["balance"]))
        except (KeyError, TypeError, ValueError):
            raise QueryFailed(what, f"no balance in {_text(body)}") from None

    async def market(self, condition_id: str) -> VenueMarket | None:
        what = f"market {condition_id}"
        status, body = await self._request(what, f"/markets/{quote(condition_id)}", None)
        if status == 404:
            return None
        if status != 200:
            raise QueryFailed(what, f"HTTP {status}: {_text(body)}")
        try:
            return parse_clob_market(body, condition_id)
        except ResolutionFormatError as exc:
            raise QueryFailed(what, str(exc)) from None


def _closed_since(order_id: str, snapshot: JournalState, journal: JournalState) -> bool:
    """Whether the journal closed this order after the round's snapshot was taken."""
    before = snapshot.orders.get(order_id)
    after = journal.orders.get(order_id)
    return (
        after is not None
        and after.phase is OrderPhase.CLOSED
        and (before is None or before.phase is not OrderPhase.CLOSED)
    )


def _text(body: Any) -> str:
    """The venue's own words: its `error` text when it sent one."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        body = body["error"]
    text = body if isinstance(body, str) else repr(body)
    return text[:200]


STABLE_READ_ATTEMPTS = 3
"""Reads of trades around the balances before giving up on a consistent snapshot."""


class Reconciler:
    """The reconciliation actor (see the module docstring).

    `tokens()` names the conditional tokens the session trades (their balances are
    baselined even before the first order); `active_orders()` the orders a running order
    actor owns right now, which periodic rounds leave to it; `settling()` the tokens of
    markets that closed and whose settlement has not reached the portfolio yet (their
    differences are deferred). Events go to `out`.

    `market_ends()` gives the end (venue seconds) of each market the session knows and
    `now()` the venue's time: together they say when a market's resolution is read over
    REST (see the module docstring). `ledger_settled()` names the markets the ledger has
    settled: a settlement journaled but not yet booked is announced again each round.
    """

    def __init__(
        self,
        journal: Journal,
        queries: VenueQueries,
        out: Mailbox[Any],
        config: StateConfig | None = None,
        *,
        tokens: Callable[[], Iterable[str]] = tuple,
        active_orders: Callable[[], Collection[str]] = frozenset,
        settling: Callable[[], Collection[str]] = frozenset,
        market_ends: Callable[[], Mapping[str, int]] = dict,
        now: Callable[[], float] = time.time,
        ledger_settled: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.journal = journal
        self.queries = queries
        self.out = out
        self.config = config or StateConfig()
        self.tokens = tokens
        self.active_orders = active_orders
        self.settling = settling
        self.market_ends = market_ends
        self.now = now
        self.ledger_settled = ledger_settled
        self.venue_ends: dict[str, int] = {}
        """Ends of markets learnt from the venue's answers (held, not discovered)."""
        self.waiting: dict[str, tuple[str, str]] = {}
        """Markets the venue says are closed but not resolved: their tokens."""
        self.stale_adoptions = 0
        """Adoptions dropped: the order closed here while the venue was being read."""
        self.resolutions_read = 0
        """Settlements journaled from a resolution read over REST."""
        self.health = Health.STOPPED
        self.rounds = 0
        self.failed_rounds = 0
        self.last: Reconciliation | None = None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Barrier, then periodic rounds. Raises ReconciliationHalt on a mismatch.

        Cancellation: a round cancelled midway has journaled only whole corrections.
        """
        self.health = Health.STARTING
        while True:
            result = await self.round()
            if result.halt:
                self._halt(result)
            if result.ok:
                break
            await trio.sleep(self.config.retry_interval_s)
        self.health = Health.RUNNING
        task_status.started()
        while True:
            await trio.sleep(self.config.reconcile_interval_s)
            result = await self.round(exclude=self.active_orders())
            if result.halt:
                # Activity racing the reads can look like a mismatch once: look again.
                await trio.sleep(self.config.confirm_delay_s)
                result = await self.round(exclude=self.active_orders())
                if result.halt:
                    self._halt(result)
            self.health = Health.RUNNING if result.ok else Health.DEGRADED

    def _halt(self, result: Reconciliation) -> None:
        self.health = Health.ERROR
        log.error("%s", result.message())
        raise ReconciliationHalt(result)

    async def round(self, exclude: Collection[str] = ()) -> Reconciliation:
        """One round: read the venue, reconcile, journal and announce the corrections.

        The journal is snapshotted before the venue is read, so everything in the
        snapshot happened before the venue's answers.
        """
        self.rounds += 1
        snapshot = self.journal.state.copy()
        exclude = frozenset(exclude)
        try:
            result = await self._reconcile(snapshot, exclude)
        except QueryFailed as exc:
            result = Reconciliation(could_not_ask=(str(exc),))
        except VenueDataError as exc:
            result = Reconciliation(could_not_ask=(f"the venue's answer is malformed: {exc}",))
        await self._apply(result, snapshot)
        self.last = result
        if result.ok:
            self.failed_rounds = 0
            await self.out.send(
                ReconciliationDone(
                    time.perf_counter_ns(),
                    self.rounds,
                    len(result.adopted),
                    len(result.closed),
                    len(result.booked),
                    len(result.reversals),
                    result.deferred,
                )
            )
        elif not result.halt:
            self.failed_rounds += 1
            log.warning("%s", result.message())
            await self.out.send(
                ReconciliationIncomplete(time.perf_counter_ns(), self.rounds, result.message())
            )
        return result

    async def _resolutions(self, snapshot: JournalState) -> list[SettlementRecord]:
        """Read the resolutions due (see the module docstring); QueryFailed if one could
        not be asked (the round is then incomplete and retried, never halted)."""
        due = markets_to_ask(
            snapshot,
            self.market_ends(),
            self.venue_ends,
            self.now(),
            self.config.resolution_delay_s,
        )
        found: list[SettlementRecord] = []
        for cid in due:
            market = await self.queries.market(cid)
            if market is None:
                continue  # the venue does not know it: nothing to settle from there
            if market.end_ts is not None:
                self.venue_ends[cid] = market.end_ts
            if market.state is MarketState.RESOLVED:
                self.waiting.pop(cid, None)
                found.append(market.settlement())
            elif market.state is MarketState.CLOSED:
                self.waiting[cid] = market.token_ids
            else:
                self.waiting.pop(cid, None)
        return found

    async def _reconcile(self, snapshot: JournalState, exclude: frozenset[str]) -> Reconciliation:
        settlements = await self._resolutions(snapshot)
        after = snapshot.trades_after
        tokens = tokens_to_query(snapshot, self.tokens())
        balances: VenueBalances | CouldNotAsk
        for _ in range(STABLE_READ_ATTEMPTS):
            before = await self.queries.trades(after)
            open_orders = await self.queries.open_orders()
            balances = await self.queries.balances(tokens)
            trades = await self.queries.trades(after)
            if _fingerprint(before) == _fingerprint(trades):
                break
        else:
            balances = CouldNotAsk("balances", "trades kept arriving while reading")
        # Orders signed while the venue was being read are in its answers but not in the
        # snapshot: they are known as signed (no more), so they are not taken for orders
        # someone else placed. Their actors own them: excluded like the active ones (or
        # a round would adopt an order its actor is placing).
        signed_meanwhile: set[str] = set()
        for order_id, order in list(self.journal.state.orders.items()):
            if order_id not in snapshot.orders:
                snapshot.orders[order_id] = JournalOrder(order.signed)
                signed_meanwhile.add(order_id)
        exclude = exclude | signed_meanwhile
        answer = VenueTrades(trades, after)
        settling = frozenset(self.settling()) | {
            token for tokens in self.waiting.values() for token in tokens
        }
        result = reconcile(
            snapshot,
            open_orders,
            answer,
            balances,
            exclude=exclude,
            settling=settling,
            settlements=settlements,
        )
        if not result.needs_lookup:
            return result
        lookups: dict[str, Lookup] = {}
        for order_id in result.needs_lookup:
            try:
                found = await self.queries.get_order(order_id)
            except QueryFailed as exc:
                lookups[order_id] = CouldNotAsk(exc.what, exc.reason)
            else:
                lookups[order_id] = NOT_FOUND if found is None else found
        return reconcile(
            snapshot,
            open_orders,
            answer,
            balances,
            lookups,
            exclude=exclude,
            settling=settling,
            settlements=settlements,
        )

    async def _apply(self, result: Reconciliation, snapshot: JournalState) -> None:
        """Journal each correction, then announce it (only if it changed the journal:
        a fill the user channel booked meanwhile is not booked twice). An order closed
        while the venue was being read is not adopted: its close (the venue confirmed a
        cancel, or it filled) is newer than the read that listed it live."""
        now = time.perf_counter_ns
        for fill in result.booked:
            # A trade first seen FAILED is journaled (the venue did report it) but is no
            # fill: nothing is booked for it.
            if self.journal.fill(fill) and fill.status is not FillStatus.FAILED:
                await self.out.send(_fill_message(fill, now()))
        for fill in (*result.updated, *result.voided):
            if self.journal.fill(fill) and fill.status is FillStatus.FAILED:
                reason = "trade FAILED at the venue"
                if fill in result.voided:
                    reason = "the venue does not list this trade"
                await self.out.send(
                    FillReversed(
                        now(),
                        fill.fill_id,
                        fill.order_id,
                        fill.strategy,
                        fill.condition_id,
                        fill.token_id,
                        fill.side,
                        fill.price,
                        fill.size,
                        fill.fee,
                        reason,
                    )
                )
        for adopted in result.adopted:
            if _closed_since(adopted.order_id, snapshot, self.journal.state):
                self.stale_adoptions += 1
                log.info("order %s closed while the venue was read: not adopted", adopted.order_id)
                continue
            if self.journal.append(adopted):
                s = self.journal.state.orders[adopted.order_id].signed
                await self.out.send(
                    OrderAdopted(
                        now(),
                        s.order_id,
                        s.strategy,
                        s.condition_id,
                        s.key,
                        s.token_id,
                        s.side,
                        s.price,
                        s.size,
                        adopted.size_matched,
                    )
                )
        for closed in result.closed:
            if self.journal.append(closed):
                s = self.journal.state.orders[closed.order_id].signed
                await self.out.send(
                    OrderClosed(
                        now(),
                        s.order_id,
                        s.strategy,
                        s.condition_id,
                        s.key,
                        closed.state,
                        closed.filled,
                    )
                )
        # A settlement is journaled only from a complete round: with every fill of the
        # market booked first, it redeems them all.
        announce: list[tuple[str, Mapping[str, int]]] = []
        if result.complete:
            for settlement in result.settled:
                if self.journal.append(settlement):
                    self.resolutions_read += 1
                    log.warning(
                        "market %s resolved while its frame was missed: settled from the venue",
                        settlement.condition_id[:12],
                    )
                    announce.append((settlement.condition_id, settlement.payouts))
        if self.ledger_settled is not None:
            announce = unsettled_in_ledger(self.journal.state, self.ledger_settled())
        for cid, payouts in announce:
            tokens = tuple(payouts)
            paid = tuple(payouts[t] for t in tokens)
            if len(tokens) == 2:
                await self.out.send(
                    ResolutionRead(
                        now(), cid, (tokens[0], tokens[1]), (paid[0], paid[1]), winner_of(paid)
                    )
                )
        if result.baseline is not None and result.ok:
            self.journal.append(result.baseline)


def _fingerprint(trades: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(str(t.get("id")), str(t.get("status"))) for t in trades}


def _fill_message(fill: FillRecord, ts_ns: int) -> Fill:
    liquidity = Liquidity.TAKER if fill.liquidity == "taker" else Liquidity.MAKER
    return Fill(
        ts_ns, fill.fill_id, fill.order_id, fill.strategy, fill.condition_id, fill.token_id,
        fill.side, fill.price, fill.size, fill.fee, liquidity, fill.match_time,
    )  # fmt: skip
