"""Resolutions read over REST (pure): what the CLOB says about a market, and which to ask.

A market's settlement normally reaches the engine as the market channel's one-shot
`market_resolved` frame. That frame is never replayed: a socket that is down or frozen
when it is sent loses it, and an engine that is stopped misses it altogether. The venue
keeps the answer, though: `GET /markets/{condition_id}` (spec section 2) has `closed`, the
window's `end_date_iso` and each token's `winner` flag. This module reads that answer and
decides which markets to ask about; actors/reconciler.py does the asking and journals a
SettlementRecord for each resolved market, once (the journal dedupes by condition id).

A market that is closed with no winner is not resolved yet: "closed" is never taken for
"resolved", and a 50/50 resolution (which the CLOB shows with no winner either) is left
deferred rather than guessed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from engine.discovery import Resolution
from engine.journal import JournalState, SettlementRecord


class ResolutionFormatError(ValueError):
    """A CLOB market answer without the documented shape (the venue's text kept)."""


class MarketState(StrEnum):
    OPEN = "open"
    """Not closed: still trading (or not yet open)."""
    CLOSED = "closed"
    """Closed, no resolution yet: the venue may already have redeemed, or not."""
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class VenueMarket:
    """The fields of a CLOB market object that settlement needs."""

    condition_id: str
    token_ids: tuple[str, str]
    state: MarketState
    end_ts: int | None
    resolution: Resolution | None = None

    def settlement(self) -> SettlementRecord:
        """The journal record of this market's resolution (RESOLVED markets only)."""
        if self.resolution is None:
            raise ValueError(f"market {self.condition_id} is not resolved")
        payouts = self.resolution.payout_per_share
        return SettlementRecord(self.condition_id, dict(zip(self.token_ids, payouts, strict=True)))


def _end_ts(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def parse_clob_market(payload: Any, condition_id: str) -> VenueMarket:
    """A `GET /markets/{condition_id}` answer; ResolutionFormatError if it is not one.

    Resolved means `closed` with exactly one token whose `winner` is true.
    """
    if not isinstance(payload, Mapping):
        raise ResolutionFormatError(f"market {condition_id}: not a market object: {payload!r:.200}")
    if payload.get("condition_id") not in (None, condition_id):
        raise ResolutionFormatError(
            f"asked for market {condition_id}, got {payload.get('condition_id')!r}"
        )
    tokens = payload.get("tokens")
    if (
        not isinstance(tokens, list)
        or len(tokens) != 2
        or not all(isinstance(t, Mapping) and t.get("token_id") for t in tokens)
    ):
        raise ResolutionFormatError(f"market {condition_id}: tokens {tokens!r:.200}")
    token_ids = (str(tokens[0]["token_id"]), str(tokens[1]["token_id"]))
    closed = payload.get("closed")
    if not isinstance(closed, bool):
        raise ResolutionFormatError(f"market {condition_id}: closed is {closed!r}")
    end_ts = _end_ts(payload.get("end_date_iso"))
    if not closed:
        return VenueMarket(condition_id, token_ids, MarketState.OPEN, end_ts)
    winners = [i for i, t in enumerate(tokens) if t.get("winner") is True]
    if len(winners) != 1:
        return VenueMarket(condition_id, token_ids, MarketState.CLOSED, end_ts)
    return VenueMarket(
        condition_id, token_ids, MarketState.RESOLVED, end_ts, Resolution(winners[0])
    )


def held_markets(journal: JournalState) -> set[str]:
    """Condition ids in which the journal holds shares (by its fills and orders)."""
    market_of: dict[str, str] = {}
    for order in journal.orders.values():
        market_of[order.signed.token_id] = order.signed.condition_id
    for fill in journal.fills.values():
        market_of[fill.token_id] = fill.condition_id
    return {
        market_of[token]
        for token, size in journal.positions.items()
        if size != 0 and token in market_of
    }


def markets_to_ask(
    journal: JournalState,
    known_ends: Mapping[str, int],
    venue_ends: Mapping[str, int],
    now_s: float,
    delay_s: float,
) -> list[str]:
    """Markets whose resolution should be read from the venue now.

    Candidates are the markets the journal holds shares in and the markets the session
    knows (`known_ends`: condition id -> end); those already settled in the journal are
    left out. A market is asked once `delay_s` has passed since its end (the frame gets
    that long to arrive); one whose end is unknown (held from an earlier run and not
    discovered in this one) is asked at once: the answer tells its end (`venue_ends`).
    """
    out: list[str] = []
    for cid in sorted(held_markets(journal) | set(known_ends)):
        if cid in journal.settled:
            continue
        end = known_ends.get(cid, venue_ends.get(cid))
        if end is None or now_s >= end + delay_s:
            out.append(cid)
    return out


def unsettled_in_ledger(
    journal: JournalState, ledger_settled: Collection[str]
) -> list[tuple[str, Mapping[str, int]]]:
    """Settlements the journal holds but the ledger has not booked (a crash in between):
    they are announced again, and the portfolio books each once."""
    return [(cid, p) for cid, p in journal.settled.items() if cid not in ledger_settled]


def winner_of(payouts: Iterable[int]) -> int | None:
    """The index of the outcome paid most (None when all are paid alike: a 50/50)."""
    values = list(payouts)
    if len(set(values)) <= 1:
        return None
    return values.index(max(values))
