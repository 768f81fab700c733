"""PortfolioActor: the only writer of the ledger; fills and settlements in, positions out."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import trio

from engine.ledger import Ledger
from engine.mailbox import Mailbox, Resync
from engine.messages import CashUpdate, Fill, MarketInfo, MarketSettled, PositionUpdate

log = logging.getLogger("polyengine.portfolio")

PortfolioInput = Fill | MarketSettled


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
