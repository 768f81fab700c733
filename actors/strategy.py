"""StrategyActor: runs one strategy's pure decision function on every view it receives.

Its mailbox conflates by (message kind, market), so it always decides on the newest view
and holdings. Once the session is stopping it takes no new intents.
"""

from __future__ import annotations

from typing import Protocol

import trio

from engine.mailbox import Mailbox, Resync
from engine.messages import MarketView, PositionUpdate, SetQuotes, TakeOrders
from engine.stats import EngineStats


class Strategy(Protocol):
    name: str

    def on_view(
        self, view: MarketView, holdings: tuple[int, int]
    ) -> SetQuotes | TakeOrders | None: ...


StrategyInput = MarketView | PositionUpdate


def strategy_mailbox_key(message: StrategyInput) -> tuple[str, str]:
    """Conflation key: the newest view and the newest position per market win."""
    if isinstance(message, MarketView):
        return ("view", message.market.condition_id)
    return ("position", message.condition_id)


class StrategyActor:
    def __init__(
        self,
        strategy: Strategy,
        mailbox: Mailbox[StrategyInput],
        intents_out: Mailbox[SetQuotes | TakeOrders],
        stopping: trio.Event,
        stats: EngineStats,
    ) -> None:
        self.strategy = strategy
        self.mailbox = mailbox
        self.intents_out = intents_out
        self.stopping = stopping
        self.stats = stats
        self.holdings: dict[str, tuple[int, int]] = {}

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            message = await self.mailbox.receive()
            if isinstance(message, Resync):
                continue
            if isinstance(message, PositionUpdate):
                self.holdings[message.condition_id] = (message.yes_size, message.no_size)
                continue
            if self.stopping.is_set():
                continue
            cid = message.market.condition_id
            intent = self.strategy.on_view(message, self.holdings.get(cid, (0, 0)))
            if intent is not None:
                self.stats.intents += 1
                await self.intents_out.send(intent)
