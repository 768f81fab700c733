"""StrategyActor: runs one strategy's pure decision function on every view it receives.

Its mailbox conflates by (message kind, market), so it always decides on the newest view
and holdings; spot views conflate per symbol. A strategy that wants spot prices defines
`on_spot` (see SpotAware); the others never see them. Once the session is stopping it
takes no new intents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import trio

from engine.mailbox import Mailbox, Resync
from engine.messages import MarketView, PositionUpdate, SetQuotes, SpotView, TakeOrders
from engine.stats import EngineStats


class Strategy(Protocol):
    name: str

    def on_view(
        self, view: MarketView, holdings: tuple[int, int]
    ) -> SetQuotes | TakeOrders | None: ...


@runtime_checkable
class SpotAware(Protocol):
    """A strategy that also decides on spot prices (optional; see LatencySniper).

    `on_spot` gets the newest SpotView and the holdings of every market, and may act on
    any market it has seen a view of.
    """

    def on_spot(
        self, spot: SpotView, holdings: Mapping[str, tuple[int, int]]
    ) -> Sequence[SetQuotes | TakeOrders]: ...


StrategyInput = MarketView | PositionUpdate | SpotView


def strategy_mailbox_key(message: StrategyInput) -> tuple[str, str]:
    """Conflation key: the newest view and the newest position per market win, and the
    newest spot view per symbol."""
    if isinstance(message, MarketView):
        return ("view", message.market.condition_id)
    if isinstance(message, SpotView):
        return ("spot", message.symbol)
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
        self.spot_aware: SpotAware | None = strategy if isinstance(strategy, SpotAware) else None

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            message = await self.mailbox.receive()
            if isinstance(message, Resync):
                continue
            if isinstance(message, PositionUpdate):
                self.holdings[message.condition_id] = (message.yes_size, message.no_size)
                continue
            if isinstance(message, SpotView):
                if self.spot_aware is None:
                    continue
                intents = self.spot_aware.on_spot(message, self.holdings)
                if self.stopping.is_set():
                    continue
                for spot_intent in intents:
                    self.stats.intents += 1
                    await self.intents_out.send(spot_intent)
                continue
            if self.stopping.is_set():
                continue
            cid = message.market.condition_id
            intent = self.strategy.on_view(message, self.holdings.get(cid, (0, 0)))
            if intent is not None:
                self.stats.intents += 1
                await self.intents_out.send(intent)
