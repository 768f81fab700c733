"""What each trade status from the user channel means for the books, in bounded memory.

The venue re-sends a trade at every settlement step (MATCHED -> MINED -> CONFIRMED, or
-> RETRYING -> FAILED); a frame can come twice or out of order, and the REST backfill
after a reconnect repeats what the socket already delivered. `TradeStatusTracker` turns
that stream into at most one booking and one settlement per trade: each (trade id,
status) pair acts at most once, and a trade's state only moves forward, so a FAILED seen
before its MATCHED books nothing and a CONFIRMED seen first books the fill as final.

Memory is bounded: at most `capacity` trades are remembered, the least recently touched
forgotten first. A forgotten trade that comes back is treated as new; the ledger's own
(trade id, order id) check still refuses to book it twice.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass

STATUSES = ("MATCHED", "MINED", "CONFIRMED", "RETRYING", "FAILED")
"""Every trade status the venue sends (spec sections 2 and 5)."""
_BIT = {status: 1 << index for index, status in enumerate(STATUSES)}


class TradeState(enum.Enum):
    PROVISIONAL = "provisional"
    """Booked, not yet final (MATCHED, MINED or RETRYING seen)."""
    FINAL = "final"
    """Booked and CONFIRMED."""
    VOIDED = "voided"
    """FAILED: booked and reversed, or never booked."""


class TradeAction(enum.Enum):
    NONE = "none"
    """A repeat, or a step that changes nothing (MINED, RETRYING after MATCHED)."""
    BOOK = "book"
    """Book the trade's fills, provisionally."""
    BOOK_FINAL = "book_final"
    """Book the trade's fills and mark them final (first seen as CONFIRMED)."""
    CONFIRM = "confirm"
    """Mark the booked fills final."""
    VOID = "void"
    """Reverse the booked fills."""


def normalize_status(raw: object) -> str:
    """The venue's status text as one of STATUSES; ValueError for anything else.

    Accepts any case and a `TRADE_STATUS_` prefix (both seen in client libraries)."""
    text = str(raw).upper().removeprefix("TRADE_STATUS_")
    if text not in _BIT:
        raise ValueError(f"unknown trade status {str(raw)[:40]!r}")
    return text


def decide(state: TradeState | None, status: str) -> tuple[TradeAction, TradeState | None]:
    """The action for `status` on a trade in `state` (None: never seen), and the new state.

    MINED and RETRYING first seen imply a match, so they book provisionally; FAILED first
    seen books nothing; a final or voided trade never changes again."""
    if state is None:
        if status == "CONFIRMED":
            return TradeAction.BOOK_FINAL, TradeState.FINAL
        if status == "FAILED":
            return TradeAction.NONE, TradeState.VOIDED
        return TradeAction.BOOK, TradeState.PROVISIONAL
    if state is TradeState.PROVISIONAL:
        if status == "CONFIRMED":
            return TradeAction.CONFIRM, TradeState.FINAL
        if status == "FAILED":
            return TradeAction.VOID, TradeState.VOIDED
    return TradeAction.NONE, state


@dataclass(slots=True)
class _Trade:
    state: TradeState | None
    seen: int
    match_s: int


class TradeStatusTracker:
    """The state of the last `capacity` trades, and what each new status means."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self._trades: OrderedDict[str, _Trade] = OrderedDict()
        self.repeats = 0
        """(trade, status) pairs seen again and skipped."""
        self.evictions = 0
        self.latest_match_s: int | None = None

    def __len__(self) -> int:
        return len(self._trades)

    def state(self, trade_id: str) -> TradeState | None:
        trade = self._trades.get(trade_id)
        return None if trade is None else trade.state

    def seen(self, trade_id: str, status: str) -> bool:
        """Whether this (trade, status) pair was observed and is still remembered."""
        trade = self._trades.get(trade_id)
        return trade is not None and bool(trade.seen & _BIT[status])

    def observe(self, trade_id: str, status: str, match_s: int = 0) -> TradeAction:
        """Record one (trade, status) and say what the books must do about it.

        `status` must be one of STATUSES (see normalize_status); `match_s` is the trade's
        match time in unix seconds, used for the backfill window."""
        bit = _BIT[status]
        trade = self._trades.get(trade_id)
        if trade is None:
            trade = _Trade(None, 0, match_s)
            self._trades[trade_id] = trade
            while len(self._trades) > self.capacity:
                self._trades.popitem(last=False)
                self.evictions += 1
        else:
            self._trades.move_to_end(trade_id)
        if trade.seen & bit:
            self.repeats += 1
            return TradeAction.NONE
        trade.seen |= bit
        if match_s > trade.match_s:
            trade.match_s = match_s
        if self.latest_match_s is None or match_s > self.latest_match_s:
            self.latest_match_s = match_s
        action, trade.state = decide(trade.state, status)
        return action

    def backfill_after(self, lookback_s: int) -> int | None:
        """The `after` (unix s) of a REST backfill that misses nothing still in motion:
        before the oldest provisional trade, or before the latest match, less a margin.
        None before any trade was seen (the caller decides how far back to look)."""
        pending = [t.match_s for t in self._trades.values() if t.state is TradeState.PROVISIONAL]
        if pending:
            return min(pending) - lookback_s
        if self.latest_match_s is None:
            return None
        return self.latest_match_s - lookback_s
