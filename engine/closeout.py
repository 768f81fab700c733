"""The last step of a graceful stop: every order the journal still lists as open is
closed with the venue's word, or left open with a logged line saying why.

After cancel-all, the order actors are stopped before the venue's cancellation reports
reach them, so the journal could end with orders it believes open. The close-out asks
the venue about each by id (`resolve_unknown`) and journals what it says:

* CANCELED / FILLED / NOT_FOUND: the order's fills the journal lacks are booked first
  (through the portfolio, which journals each before the ledger books it, so fills that
  arrive during shutdown are not lost), then the order is closed with the venue's state;
* LIVE (a post that landed after cancel-all): cancelled once more, then asked again;
* the venue cannot be asked, still shows the order live, or the fills could not be
  booked in time: the order stays open in the journal and a warning says so (the next
  start's reconciliation barrier closes it). "Could not ask" is never read as an answer.

`plan_closeout` is the decision (pure, on `engine.order_query.resolution_events`, the
mapping the OrderActor and the pair desk use); `close_out` is the I/O around it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import trio

from engine.client.errors import VenueError
from engine.gateway import Resolution, VenueOrderState
from engine.journal import FillRecord, FillStatus, Journal, JournalOrder, OrderPhase
from engine.messages import Fill, Liquidity
from engine.order_query import order_fills, resolution_events
from engine.order_tracker import OrderTracker, Submit
from engine.orderfsm import InvalidTransition, OrderState
from engine.reconcile import VenueDataError
from engine.stats import EngineStats

log = logging.getLogger("polyengine.closeout")

CLOSEOUT_S = 20.0
"""Session seconds the whole close-out may take (the shutdown hook's own bound)."""

GRACE_S = 1.0
"""Session seconds to let posts in flight be answered before asking about them (a post
still on its way could land after a "not found")."""

POLL_S = 0.02
"""Session seconds between looks at the journal while waiting for it to catch up."""

UNREACHABLE = "UNREACHABLE"
"""The `closeout_queries` count of orders the venue could not be asked about."""


class CloseoutGateway(Protocol):
    """What the close-out needs of the venue (VenueGateway and NetworkGateway have it)."""

    async def cancel_order(self, order_id: str) -> bool: ...

    async def resolve_unknown(self, order_id: str, market: str | None = None) -> Resolution: ...


FillSink = Callable[[Fill], Awaitable[None]]
"""Hands a fill to the ledger's writer (the portfolio's mailbox), which journals it."""


# --- the decision -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CloseoutPlan:
    """What the venue's answer about one journal-open order means for the journal."""

    order_id: str
    answer: VenueOrderState
    state: OrderState | None
    """The terminal state to journal; None: not closable on this answer (still live)."""
    filled: int
    """Size filled, by the venue's trades (unique, not failed)."""
    missing: tuple[FillRecord, ...]
    """The order's venue fills the journal lacks (never a FAILED one): book these first."""


def plan_closeout(
    found: Resolution, order: JournalOrder, journaled: Mapping[tuple[str, str], FillRecord]
) -> CloseoutPlan:
    """Read the venue's answer through a fresh tracker, as the order's actor would.

    The tracker starts SUBMITTED (whatever the journal says, the venue's word decides)
    and takes the answer's events; a terminal state is the state to journal. An answer
    the table cannot take (a trade and then "not found") is no answer: left open.
    """
    signed = order.signed
    tracker = OrderTracker(signed.order_id, signed.size)
    tracker.apply(Submit())
    state: OrderState | None
    try:
        for event in resolution_events(found, order, rests=signed.order_type.rests):
            tracker.apply(event)
        state = tracker.state if tracker.state.terminal else None
    except InvalidTransition:
        state = None
    missing = tuple(
        fill
        for fill in order_fills(found, order)
        if fill.fill_key not in journaled and fill.status is not FillStatus.FAILED
    )
    return CloseoutPlan(signed.order_id, found.state, state, tracker.filled, missing)


def fill_message(fill: FillRecord) -> Fill:
    """A journal fill as the portfolio takes it."""
    liquidity = Liquidity.TAKER if fill.liquidity == "taker" else Liquidity.MAKER
    return Fill(
        time.perf_counter_ns(), fill.fill_id, fill.order_id, fill.strategy, fill.condition_id,
        fill.token_id, fill.side, fill.price, fill.size, fill.fee, liquidity, fill.match_time,
    )  # fmt: skip


# --- the I/O ------------------------------------------------------------------------


@dataclass
class CloseoutReport:
    """What the close-out did: orders closed (id -> state) and left open (id -> why)."""

    closed: dict[str, str] = field(default_factory=dict)
    left_open: dict[str, str] = field(default_factory=dict)
    fills_booked: int = 0


async def close_out(
    journal: Journal,
    gateway: CloseoutGateway,
    book: FillSink,
    stats: EngineStats,
    *,
    budget_s: float = CLOSEOUT_S,
    grace_s: float = GRACE_S,
) -> CloseoutReport:
    """Close every journal-open order with the venue's word, within `budget_s`.

    Orders it could not settle stay open and are logged one line each; the report
    lists both kinds. Never raises for a venue that cannot be asked.
    """
    report = CloseoutReport()
    with trio.move_on_after(budget_s):
        await _posts_answered(journal, grace_s)
        for order in list(journal.state.open_orders()):
            if journal.state.orders[order.order_id].phase is OrderPhase.CLOSED:
                continue  # its actor closed it meanwhile
            why = await _close_one(journal, gateway, book, stats, order, report)
            if why:
                report.left_open[order.order_id] = why
    for order in journal.state.open_orders():
        why = report.left_open.setdefault(
            order.order_id, f"the close-out ran out of its {budget_s:g} s"
        )
        log.warning(
            "order %s left open in the journal: %s; the next start's reconciliation closes it",
            order.order_id,
            why,
        )
    if report.closed:
        log.info("close-out: %d open orders closed with the venue's word", len(report.closed))
    return report


async def _posts_answered(journal: Journal, grace_s: float) -> None:
    """Wait (at most `grace_s`) until no open order's post is still unanswered."""
    with trio.move_on_after(grace_s):
        while any(o.phase is OrderPhase.SIGNED for o in journal.state.open_orders()):
            await trio.sleep(POLL_S)


async def _ask(
    gateway: CloseoutGateway, stats: EngineStats, order: JournalOrder
) -> Resolution | str:
    """The venue's answer, or why it could not be had."""
    try:
        found = await gateway.resolve_unknown(order.order_id, order.signed.condition_id)
    except VenueError as exc:
        stats.closeout_queries[UNREACHABLE] = stats.closeout_queries.get(UNREACHABLE, 0) + 1
        return f"could not ask the venue ({exc})"
    name = found.state.value
    stats.closeout_queries[name] = stats.closeout_queries.get(name, 0) + 1
    return found


async def _close_one(
    journal: Journal,
    gateway: CloseoutGateway,
    book: FillSink,
    stats: EngineStats,
    order: JournalOrder,
    report: CloseoutReport,
) -> str:
    """Close one order; returns why it stays open ("" once closed)."""
    order_id = order.order_id
    plan: CloseoutPlan | None = None
    for attempt in range(2):
        found = await _ask(gateway, stats, order)
        if isinstance(found, str):
            return found
        try:
            plan = plan_closeout(found, order, journal.state.fills)
        except VenueDataError as exc:
            return f"the venue's answer could not be read ({exc})"
        if plan.state is not None or found.state is not VenueOrderState.LIVE or attempt:
            break
        # Live at the venue: its post landed after cancel-all. Cancel it, then ask again.
        journal.cancel_requested(order_id, "shutdown")
        stats.cancels_sent += 1
        try:
            await gateway.cancel_order(order_id)
        except VenueError as exc:
            return f"live at the venue and the cancel went unanswered ({exc})"
    assert plan is not None
    if plan.state is None:
        return f"the venue still shows it {plan.answer.value}"
    for fill in plan.missing:
        await book(fill_message(fill))
    while any(fill.fill_key not in journal.state.fills for fill in plan.missing):
        await trio.sleep(POLL_S)  # the portfolio journals each before booking it
    report.fills_booked += len(plan.missing)
    if journal.closed(
        order_id, plan.state, plan.filled, f"shutdown: the venue says {plan.answer.value}"
    ):
        report.closed[order_id] = plan.state.value
    return ""


__all__ = [
    "CLOSEOUT_S",
    "CloseoutGateway",
    "CloseoutPlan",
    "CloseoutReport",
    "FillSink",
    "close_out",
    "fill_message",
    "plan_closeout",
]
