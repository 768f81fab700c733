"""The portfolio ledger: cash, positions, cost basis, PnL, fees and settlement, exactly.

Everything is integer micro units. A position keeps its total cost rather than an
average price, so selling part of it removes cost by integer division and selling the
rest removes what is left: no rounding residue can accumulate, and the identity

    final_cash = initial_cash + realized_pnl - fees + settlement_pnl - open_cost

holds to the micro-USDC at every moment (`check_identity`). Positions are held per
(strategy, token), so PnL can be reported per strategy and per market.

A fill is provisional until its trade is CONFIRMED (`confirm`); a FAILED trade is voided
(`void`): the ledger becomes exactly the ledger of the other fills, as if the voided one
had never been booked. Voiding replays the remaining history, because a later sale's
realized PnL depends on the cost basis the voided fill helped form.

The venue holds shares per account, not per strategy. A strategy that sells more of a
token than its own book holds (its purchase was voided after it had sold; the venue
allowed the sale because another strategy held the shares) sold the other strategies'
shares: the shortfall is moved to it first, at their cost, and recorded as a `Transfer`.
Only a sale beyond what the whole account holds is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from engine.messages import Fill
from engine.units import UNIT, Side, notional


class LedgerError(ValueError):
    """A fill or settlement that the ledger cannot apply (for example selling unheld shares)."""


@dataclass(slots=True)
class Position:
    """Shares held of one token by one strategy and what they cost (excluding fees)."""

    size: int = 0
    cost: int = 0

    @property
    def average_price(self) -> int | None:
        """Average cost in micro-USDC per share, rounded down; None when flat."""
        if self.size == 0:
            return None
        return self.cost * 1_000_000 // self.size


@dataclass(slots=True)
class Attribution:
    """Running totals for one strategy or one market."""

    fills: int = 0
    volume: int = 0
    fees: int = 0
    realized_pnl: int = 0
    settlement_pnl: int = 0

    @property
    def net_pnl(self) -> int:
        return self.realized_pnl + self.settlement_pnl - self.fees


@dataclass(frozen=True, slots=True)
class SettlementResult:
    condition_id: str
    winner: int | None
    payout: int
    pnl: int


FillStatus = Literal["MATCHED", "CONFIRMED", "FAILED"]


@dataclass(frozen=True, slots=True)
class Transfer:
    """Shares one strategy sold out of another's holding (see the module docstring)."""

    trade_id: str
    token_id: str
    from_strategy: str
    to_strategy: str
    size: int
    cost: int


@dataclass(frozen=True, slots=True)
class _Settlement:
    """A settle() call as recorded for replay."""

    condition_id: str
    token_ids: tuple[str, str]
    payout_per_share: tuple[int, int]
    winner: int | None


@dataclass
class Ledger:
    initial_cash: int
    cash: int = field(init=False)
    fees: int = 0
    realized_pnl: int = 0
    settlement_pnl: int = 0
    settlement_payout: int = 0
    positions: dict[tuple[str, str], Position] = field(default_factory=dict)
    by_strategy: dict[str, Attribution] = field(default_factory=dict)
    by_market: dict[str, Attribution] = field(default_factory=dict)
    settlements: list[SettlementResult] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    transfers: list[Transfer] = field(default_factory=list)
    """Shares moved between strategies to cover a sale (oldest first)."""
    voided: list[Fill] = field(default_factory=list)
    """Fills booked and then reversed because their trade FAILED, in void order."""
    confirmed: set[tuple[str, str]] = field(default_factory=set)
    """(trade id, order id) of booked fills whose trade is CONFIRMED."""
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _token_market: dict[str, str] = field(default_factory=dict)
    _booked: dict[tuple[str, str], Fill] = field(default_factory=dict)
    _history: list[Fill | _Settlement] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cash = self.initial_cash

    def apply_fill(self, fill: Fill) -> bool:
        """Book a fill once. Returns False (and changes nothing) for a repeat of one booked."""
        key = (fill.trade_id, fill.order_id)
        if key in self._seen:
            return False
        if fill.size <= 0 or fill.fee < 0:
            raise LedgerError(f"fill {fill.trade_id} has size {fill.size} and fee {fill.fee}")
        position = self.positions.setdefault((fill.strategy, fill.token_id), Position())
        value = notional(fill.price, fill.size)
        realized = 0
        if fill.side is Side.BUY:
            self.cash -= value
            position.size += fill.size
            position.cost += value
        else:
            if fill.size > position.size:
                self._cover(fill, position)
            removed = position.cost * fill.size // position.size
            if fill.size == position.size:
                removed = position.cost
            position.size -= fill.size
            position.cost -= removed
            self.cash += value
            realized = value - removed
        self.cash -= fill.fee
        self.fees += fill.fee
        self.realized_pnl += realized
        self._seen.add(key)
        self._booked[key] = fill
        self._history.append(fill)
        self._token_market[fill.token_id] = fill.condition_id
        self.fills.append(fill)
        for totals in (
            self.by_strategy.setdefault(fill.strategy, Attribution()),
            self.by_market.setdefault(fill.condition_id, Attribution()),
        ):
            totals.fills += 1
            totals.volume += value
            totals.fees += fill.fee
            totals.realized_pnl += realized
        return True

    def _cover(self, fill: Fill, position: Position) -> None:
        """Move the shortfall of a sale from the other strategies' holdings of the token
        (by name, for a deterministic replay), at their cost; refuse, changing nothing,
        when the account as a whole holds too little."""
        need = fill.size - position.size
        lenders = sorted(
            (strategy, held)
            for (strategy, token_id), held in self.positions.items()
            if token_id == fill.token_id and strategy != fill.strategy and held.size > 0
        )
        if sum(held.size for _, held in lenders) < need:
            account = position.size + sum(held.size for _, held in lenders)
            raise LedgerError(
                f"{fill.strategy} sells {fill.size} of {fill.token_id}, "
                f"holds {position.size} (the account {account})"
            )
        for strategy, held in lenders:
            moved = min(need, held.size)
            cost = held.cost if moved == held.size else held.cost * moved // held.size
            held.size -= moved
            held.cost -= cost
            position.size += moved
            position.cost += cost
            self.transfers.append(
                Transfer(fill.trade_id, fill.token_id, strategy, fill.strategy, moved, cost)
            )
            need -= moved
            if need == 0:
                break

    def settle(
        self,
        condition_id: str,
        token_ids: tuple[str, str],
        payout_per_share: tuple[int, int],
        winner: int | None,
    ) -> SettlementResult:
        """Redeem every strategy's shares of a resolved market at the given payouts."""
        payout_total = 0
        pnl_total = 0
        for (strategy, token_id), position in self.positions.items():
            if token_id not in token_ids or position.size == 0:
                continue
            per_share = payout_per_share[token_ids.index(token_id)]
            payout = notional(per_share, position.size)
            pnl = payout - position.cost
            self.cash += payout
            payout_total += payout
            pnl_total += pnl
            self.by_strategy.setdefault(strategy, Attribution()).settlement_pnl += pnl
            self.by_market.setdefault(condition_id, Attribution()).settlement_pnl += pnl
            position.size = 0
            position.cost = 0
        self.settlement_payout += payout_total
        self.settlement_pnl += pnl_total
        result = SettlementResult(condition_id, winner, payout_total, pnl_total)
        self.settlements.append(result)
        self._history.append(_Settlement(condition_id, token_ids, payout_per_share, winner))
        return result

    def confirm(self, trade_id: str, order_id: str) -> bool:
        """Mark a booked fill final. False (nothing changes) if it is not booked."""
        key = (trade_id, order_id)
        if key not in self._booked:
            return False
        self.confirmed.add(key)
        return True

    def void(self, trade_id: str, order_id: str) -> Fill | None:
        """Reverse a booked fill exactly; returns it, or None (nothing changes) when it is
        unknown or already voided. A voided fill is never booked again.

        Raises LedgerError, changing nothing, if the rest of the history cannot stand
        without it (shares it bought were since sold)."""
        key = (trade_id, order_id)
        fill = self._booked.get(key)
        if fill is None:
            return None
        rebuilt = Ledger(initial_cash=self.initial_cash)
        for event in self._history:
            if event is fill:
                continue
            if isinstance(event, _Settlement):
                rebuilt.settle(
                    event.condition_id, event.token_ids, event.payout_per_share, event.winner
                )
            else:
                try:
                    rebuilt.apply_fill(event)
                except LedgerError as exc:
                    raise LedgerError(f"cannot void {trade_id}: {exc}") from None
        for name in (
            "cash", "fees", "realized_pnl", "settlement_pnl", "settlement_payout", "positions",
            "by_strategy", "by_market", "settlements", "fills", "transfers", "_token_market",
            "_history",
        ):  # fmt: skip
            setattr(self, name, getattr(rebuilt, name))
        del self._booked[key]
        self.confirmed.discard(key)
        self.voided.append(fill)
        return fill

    def status(self, trade_id: str, order_id: str) -> FillStatus | None:
        """Where a fill stands: MATCHED (provisional), CONFIRMED, FAILED, or None."""
        key = (trade_id, order_id)
        if key in self.confirmed:
            return "CONFIRMED"
        if key in self._booked:
            return "MATCHED"
        if key in self._seen:
            return "FAILED"
        return None

    @property
    def open_cost(self) -> int:
        return sum(p.cost for p in self.positions.values())

    def holdings(self, strategy: str, token_ids: Iterable[str]) -> tuple[int, ...]:
        return tuple(self.positions.get((strategy, t), Position()).size for t in token_ids)

    def unrealized_pnl(self, marks: dict[str, int]) -> int:
        """Mark open positions at the given prices (token -> micro); unmarked count at cost."""
        total = 0
        for (_, token_id), position in self.positions.items():
            if position.size and token_id in marks:
                total += marks[token_id] * position.size // UNIT - position.cost
        return total

    def check_identity(self) -> None:
        """Raise LedgerError unless cash reconciles exactly with PnL, fees and open cost."""
        expected = (
            self.initial_cash + self.realized_pnl - self.fees + self.settlement_pnl - self.open_cost
        )
        if expected != self.cash:
            raise LedgerError(f"ledger does not reconcile: cash {self.cash} != {expected}")
