"""PortfolioActor: the only writer of the ledger; fills and settlements in, positions out.

Fills arrive provisional (MATCHED); FillConfirmed makes one final, FillVoided reverses it
(its trade FAILED) and publishes the corrected position and cash.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import trio

from engine.ledger import Ledger, LedgerError
from engine.mailbox import Mailbox, Resync
from engine.messages import (
    CashUpdate,
    Fill,
    FillConfirmed,
    FillVoided,
    MarketInfo,
    MarketSettled,
    PositionUpdate,
)

log = logging.getLogger("polyengine.portfolio")

PortfolioInput = Fill | FillConfirmed | FillVoided | MarketSettled


class PortfolioActor:
    def __init__(
        self,
        ledger: Ledger,
        mailbox: Mailbox[PortfolioInput],
        markets: Mapping[str, MarketInfo],
        strategy_mailboxes: Mapping[str, Mailbox[Any]],
        cash_out: Mailbox[Any],
    ) -> None:
        self.ledger = ledger
        self.mailbox = mailbox
        self.markets = markets
        self.strategy_mailboxes = strategy_mailboxes
        self.cash_out = cash_out
        self.void_errors = 0
        """Voids the ledger refused (the voided shares were already sold): logged, kept."""

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            message = await self.mailbox.receive()
            match message:
                case Fill():
                    if self.ledger.apply_fill(message):
                        self._publish_position(message.strategy, message.condition_id)
                        await self.cash_out.send(
                            CashUpdate(time.perf_counter_ns(), self.ledger.cash)
                        )
                case FillConfirmed():
                    self.ledger.confirm(message.trade_id, message.order_id)
                case FillVoided():
                    try:
                        voided = self.ledger.void(message.trade_id, message.order_id)
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
                        await self.cash_out.send(
                            CashUpdate(time.perf_counter_ns(), self.ledger.cash)
                        )
                case MarketSettled():
                    market = self.markets[message.condition_id]
                    self.ledger.settle(
                        message.condition_id,
                        market.token_ids,
                        message.payout_per_share,
                        message.winner,
                    )
                    for strategy in self.strategy_mailboxes:
                        self._publish_position(strategy, message.condition_id)
                    await self.cash_out.send(CashUpdate(time.perf_counter_ns(), self.ledger.cash))
                case Resync():
                    pass

    def _publish_position(self, strategy: str, condition_id: str) -> None:
        mailbox = self.strategy_mailboxes.get(strategy)
        if mailbox is None:
            return
        yes, no = self.ledger.holdings(strategy, self.markets[condition_id].token_ids)
        mailbox.send_nowait(PositionUpdate(time.perf_counter_ns(), strategy, condition_id, yes, no))
