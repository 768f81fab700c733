"""StrategyActor and spot views: spot-aware strategies get them, the others never do,
and a stopping session takes no spot-driven intents."""

from __future__ import annotations

from typing import Any

import trio

from actors.strategy import SpotAware, StrategyActor, strategy_mailbox_key
from engine.config import LatencyConfig, MakerConfig, ParityConfig
from engine.health import Health
from engine.mailbox import Mailbox, Overflow
from engine.messages import SpotSource, SpotView
from engine.stats import EngineStats
from engine.strategies.latency import LatencySniper
from engine.strategies.parity import ParityArbitrage
from engine.strategies.spread_maker import SpreadMaker


def spot(symbol: str = "BTC", price: int = 1) -> SpotView:
    return SpotView(
        ts_ns=1,
        symbol=symbol,
        now_s=0.0,
        price=price,
        source=SpotSource.BINANCE,
        health=Health.RUNNING,
        price_s=0.0,
        reference=None,
        reference_health=Health.STARTING,
        price_to_beat=(),
        sources=(),
    )


def test_only_the_latency_sniper_is_spot_aware() -> None:
    assert isinstance(LatencySniper(LatencyConfig()), SpotAware)
    assert not isinstance(ParityArbitrage(ParityConfig()), SpotAware)
    assert not isinstance(SpreadMaker(MakerConfig()), SpotAware)


def test_spot_views_conflate_per_symbol() -> None:
    box: Mailbox[Any] = Mailbox("s", 8, Overflow.CONFLATE, strategy_mailbox_key)
    for price in (1, 2, 3):
        box.send_nowait(spot(price=price))
    box.send_nowait(spot("ETH"))
    assert len(box) == 2
    assert box.receive_nowait().price == 3


class Recorder:
    """A spot-aware strategy that records what it saw and asks for one intent each time."""

    name = "recorder"

    def __init__(self) -> None:
        self.seen: list[SpotView] = []

    def on_view(self, view: Any, holdings: tuple[int, int]) -> None:
        return None

    def on_spot(self, view: SpotView, holdings: Any) -> list[Any]:
        self.seen.append(view)
        return [f"intent-{len(self.seen)}"]


async def test_spot_aware_strategies_get_spot_views_and_stop_with_the_session(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(10):
        box: Mailbox[Any] = Mailbox("s", 8, Overflow.CONFLATE, strategy_mailbox_key)
        out: Mailbox[Any] = Mailbox("out", 8, Overflow.BLOCK)
        stopping = trio.Event()
        recorder = Recorder()
        nursery.start_soon(StrategyActor(recorder, box, out, stopping, EngineStats()).run)
        box.send_nowait(spot())
        assert await out.receive() == "intent-1"
        stopping.set()
        box.send_nowait(spot(price=2))
        while len(recorder.seen) < 2:
            await trio.sleep(0.01)
        await trio.sleep(0.05)
        assert len(out) == 0  # seen, but no intent once stopping


async def test_other_strategies_ignore_spot_views(nursery: trio.Nursery) -> None:
    with trio.fail_after(10):
        box: Mailbox[Any] = Mailbox("s", 8, Overflow.CONFLATE, strategy_mailbox_key)
        out: Mailbox[Any] = Mailbox("out", 8, Overflow.BLOCK)
        stats = EngineStats()
        actor = StrategyActor(ParityArbitrage(ParityConfig()), box, out, trio.Event(), stats)
        nursery.start_soon(actor.run)
        box.send_nowait(spot())
        while len(box):
            await trio.sleep(0.01)
        await trio.sleep(0.05)
        assert len(out) == 0 and stats.intents == 0
