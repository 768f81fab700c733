"""PortfolioActor: the only writer of the ledger; fills and settlements in, positions out.

Fills arrive provisional (MATCHED); FillConfirmed makes one final, FillVoided reverses it
(its trade FAILED) and publishes the corrected position and cash; FillReversed (from
reconciliation: a fill the venue does not list, or whose trade failed) reverses it too.
With a journal, each fill, status change and settlement is journaled BEFORE the ledger
books it, so a restart rebuilds the ledger from the journal (`ledger_from_journal`) and
nothing booked is lost or booked twice.

Settlements come from the market channel (MarketSettled) or, when that one-shot frame was
lost or came while the engine was down, from a resolution the reconciler read over REST
(ResolutionRead, already journaled). Either way a market is settled once: the journal
takes one SettlementRecord per market and the ledger is not settled twice. A fill or
settlement of a market this session has not discovered (held from an earlier run) is
booked all the same; only the strategies' position updates need the market's tokens.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import trio

from engine.crashpoints import crash_point
from engine.journal import (
    BaselineRecord,
    FillRecord,
    FillStatus,
    Journal,
    SettlementRecord,
    iter_journal,
)
from engine.ledger import Ledger, LedgerError
from engine.mailbox import Mailbox, Resync
from engine.messages import (
    CashUpdate,
    Fill,
    FillConfirmed,
    FillReversed,
    FillVoided,
    Liquidity,
    MarketInfo,
    MarketSettled,
    PositionUpdate,
    ResolutionRead,
)

log = logging.getLogger("polyengine.portfolio")

PortfolioInput = Fill | FillConfirmed | FillVoided | FillReversed | MarketSettled | ResolutionRead


class PortfolioActor:
    def __init__(
        self,
        ledger: Ledger,
        mailbox: Mailbox[PortfolioInput],
        markets: Mapping[str, MarketInfo],
        strategy_mailboxes: Mapping[str, Mailbox[Any]],
        cash_out: Mailbox[Any],
        *,
        journal: Journal | None = None,
    ) -> None:
        self.ledger = ledger
        self.journal = journal
        self.also_cash_to: list[Mailbox[Any]] = []
        """Other readers of CashUpdate (the pair desk's free-cash check)."""
        self.mailbox = mailbox
        self.markets = markets
        self.strategy_mailboxes = strategy_mailboxes
        self.cash_out = cash_out
        self.void_errors = 0
        """Voids the ledger refused (the voided shares were already sold): logged, kept."""
        self.settlements_repeated = 0
        """Settlements of a market already settled (frame and REST both): ignored."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            message = await self.mailbox.receive()
            match message:
                case Fill():
                    if self.journal is not None:
                        self.journal.fill(fill_record(message, FillStatus.MATCHED))
                        crash_point("mid_fills")
                    transfers = len(self.ledger.transfers)
                    if self.ledger.apply_fill(message):
                        self._confirm_if_final(message)
                        self._publish_position(message.strategy, message.condition_id)
                        for moved in self.ledger.transfers[transfers:]:
                            log.warning(
                                "%s sold %s of %s held by %s (more than its own book held)",
                                moved.to_strategy, moved.size, moved.token_id[:12],
                                moved.from_strategy,
                            )  # fmt: skip
                            self._publish_position(moved.from_strategy, message.condition_id)
                        await self._send_cash()
                case FillConfirmed():
                    self._journal_status(message.trade_id, message.order_id, FillStatus.CONFIRMED)
                    self.ledger.confirm(message.trade_id, message.order_id)
                case FillVoided() | FillReversed():
                    fill_id = message.trade_id  # the fill id (a taker's is "trade#leg")
                    self._journal_status(fill_id, message.order_id, FillStatus.FAILED)
                    try:
                        voided = self.ledger.void(fill_id, message.order_id)
                    except LedgerError as exc:
                        self.void_errors += 1
                        log.error("a failed trade could not be reversed: %s", exc)
                        continue
                    if voided is not None:
                        log.warning(
                            "trade %s failed: reversed %s %s of %s",
                            voided.trade_id, voided.side.name, voided.size, voided.order_id[:12],
                        )  # fmt: skip
                        self._publish_position(voided.strategy, voided.condition_id)
                        await self._send_cash()
                case MarketSettled():
                    market = self.markets.get(message.condition_id)
                    if market is None:
                        log.error("settlement of unknown market %s ignored", message.condition_id)
                        continue
                    await self._settle(
                        message.condition_id,
                        market.token_ids,
                        message.payout_per_share,
                        message.winner,
                    )
                case ResolutionRead():
                    await self._settle(
                        message.condition_id,
                        message.token_ids,
                        message.payout_per_share,
                        message.winner,
                    )
                case Resync():
                    pass

    async def _settle(
        self,
        condition_id: str,
        token_ids: tuple[str, str],
        payout_per_share: tuple[int, int],
        winner: int | None,
    ) -> None:
        """Journal (once per market), then book in the ledger (once per market)."""
        if any(s.condition_id == condition_id for s in self.ledger.settlements):
            self.settlements_repeated += 1
            return
        if self.journal is not None:
            payouts = dict(zip(token_ids, payout_per_share, strict=True))
            self.journal.append(SettlementRecord(condition_id, payouts))
        self.ledger.settle(condition_id, token_ids, payout_per_share, winner)
        for strategy in self.strategy_mailboxes:
            self._publish_position(strategy, condition_id)
        await self._send_cash()

    async def _send_cash(self) -> None:
        update = CashUpdate(time.perf_counter_ns(), self.ledger.cash)
        for mailbox in (self.cash_out, *self.also_cash_to):
            await mailbox.send(update)

    def _confirm_if_final(self, fill: Fill) -> None:
        """A fill reconciliation found already CONFIRMED at the venue is final at once."""
        if self.journal is None:
            return
        known = self.journal.state.fills.get((fill.trade_id, fill.order_id))
        if known is not None and known.status is FillStatus.CONFIRMED:
            self.ledger.confirm(fill.trade_id, fill.order_id)

    def _journal_status(self, fill_id: str, order_id: str, status: FillStatus) -> None:
        """A journaled fill's trade moved on (CONFIRMED, FAILED): journal it first."""
        if self.journal is None:
            return
        known = self.journal.state.fills.get((fill_id, order_id))
        if known is not None:
            self.journal.fill(dataclasses.replace(known, status=status))

    def _publish_position(self, strategy: str, condition_id: str) -> None:
        mailbox = self.strategy_mailboxes.get(strategy)
        market = self.markets.get(condition_id)
        if mailbox is None or market is None:
            return  # a market not discovered in this session: no strategy trades it
        yes, no = self.ledger.holdings(strategy, market.token_ids)
        mailbox.send_nowait(PositionUpdate(time.perf_counter_ns(), strategy, condition_id, yes, no))


def fill_record(fill: Fill, status: FillStatus) -> FillRecord:
    """A fill as the journal keeps it (the trade id without the taker's `#leg`)."""
    return FillRecord(
        fill.trade_id, fill.trade_id.partition("#")[0], fill.order_id, fill.strategy,
        fill.condition_id, fill.token_id, fill.side, fill.price, fill.size, fill.fee,
        "taker" if fill.liquidity is Liquidity.TAKER else "maker", status, fill.match_time,
    )  # fmt: skip


def ledger_from_journal(path: Path) -> Ledger | None:
    """The ledger a journal describes: its cash baseline, then every fill and settlement
    in the order they were journaled (a FAILED fill reversed, a CONFIRMED one final).
    None when the journal has no cash baseline yet (nothing was reconciled)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    ledger: Ledger | None = None
    settled: set[str] = set()
    token_ids: dict[str, tuple[str, ...]] = {}
    for _, record in iter_journal(data, path):
        match record:
            case BaselineRecord(cash=cash) if cash is not None and ledger is None:
                ledger = Ledger(initial_cash=cash)
            case FillRecord() if ledger is not None:
                key = (record.fill_id, record.order_id)
                if record.status is FillStatus.FAILED:
                    ledger.void(*key)
                    continue
                ledger.apply_fill(
                    Fill(
                        0, record.fill_id, record.order_id, record.strategy, record.condition_id,
                        record.token_id, record.side, record.price, record.size, record.fee,
                        Liquidity.TAKER if record.liquidity == "taker" else Liquidity.MAKER,
                        record.match_time,
                    )
                )  # fmt: skip
                token_ids.setdefault(record.condition_id, ())
                if record.status is FillStatus.CONFIRMED:
                    ledger.confirm(*key)
            case SettlementRecord() if ledger is not None:
                if record.condition_id in settled:
                    continue  # a journal written before settlements were deduplicated
                settled.add(record.condition_id)
                tokens = tuple(record.payouts)
                payout = tuple(record.payouts[t] for t in tokens)
                winner = payout.index(max(payout)) if len(set(payout)) > 1 else None
                ledger.settle(
                    record.condition_id, (tokens[0], tokens[1]), (payout[0], payout[1]), winner
                )
    return ledger
