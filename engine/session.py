"""A paper-trading session: the whole supervision tree, in one place.

    root (rest_for_one)
      venue           the in-process simulated venue (paper mode only)
      portfolio       ledger writer: fills and settlements in, positions out
      orders          supervisor of temporary OrderActors (never restarted)
      order-manager   intents -> risk gate -> OrderActors
      user-feed       user channel -> fills to portfolio, reports to orders
      strategies      one_for_one over StrategyActors
      markets         one_for_one over MarketActors (native books)
      feed            market channel -> MarketActors

Consumers start before their producers, so nothing is sent to an actor that is not
there yet; with rest_for_one a restart of a child restarts everything after it. The
parents create every mailbox, so a restarted actor keeps its queue.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import trio
import trio.testing

from actors.feed import FeedActor
from actors.market import MarketActor
from actors.order_manager import OrderManager
from actors.portfolio import PortfolioActor
from actors.strategy import StrategyActor, strategy_mailbox_key
from actors.user_feed import UserFeedActor
from engine.clock import SessionClock
from engine.config import Config
from engine.ledger import Ledger
from engine.mailbox import Mailbox, Overflow
from engine.messages import MarketInfo
from engine.order_factory import OrderFactory, paper_signer
from engine.registry import OrderRegistry
from engine.report import SessionFacts, build_report
from engine.risk import RiskGate
from engine.running import run_to_exit_status, run_tree, strategies_from_config
from engine.shutdown import ShutdownController
from engine.stats import EngineStats
from engine.supervisor import ChildSpec, Supervisor
from engine.supervisor import Strategy as SupervisionStrategy
from engine.venue.scenario import Scenario
from engine.venue.sim import SimVenue, market_info

PAPER_API_KEY = "00000000-0000-4000-8000-00000000beef"
"""The paper account's API key (the `owner` of its orders)."""

LEAD_S = 5.0
"""The session starts this long before the first window opens."""

DRAIN_S = 5.0
"""Session time allowed after the last resolution for the last reports to arrive."""


@dataclass
class Session:
    """Everything one session builds, kept together so tests can inspect it."""

    config: Config
    clock: SessionClock
    account: str
    venue: SimVenue
    ledger: Ledger
    stats: EngineStats
    shutdown: ShutdownController
    root: Supervisor
    supervisors: dict[str, Supervisor]
    manager: OrderManager
    feed: FeedActor
    market_actors: dict[str, MarketActor]
    markets: dict[str, MarketInfo]
    progress: list[str] = field(default_factory=list)


def build_session(config: Config, clock: SessionClock) -> Session:
    """Wire the actors and supervisors for a paper session (nothing runs yet)."""
    vc = config.venue
    scenario = Scenario(vc.seed, vc.start_ts, vc.windows, vc.step_s)
    venue = SimVenue(scenario, clock, seed=vc.seed)
    initial = vc.initial_balance_micro
    signer = paper_signer(vc.seed)
    account = signer.address  # the paper account is the signing wallet
    venue.open_account(account, initial)
    gateway = venue.gateway(account, vc.latency_ms / 1000)
    markets = {spec.condition_id: market_info(spec) for spec in scenario.markets}
    stats = EngineStats()
    ledger = Ledger(initial_cash=initial)
    shutdown = ShutdownController()
    registry = OrderRegistry()

    strategies = strategies_from_config(config)

    # Mailboxes: owned here, by the tree, so restarts keep them. Each names its policy.
    portfolio_box: Mailbox[Any] = Mailbox("portfolio", 4096, Overflow.BLOCK)
    manager_box: Mailbox[Any] = Mailbox("order-manager", 4096, Overflow.BLOCK)
    strategy_boxes: dict[str, Mailbox[Any]] = {
        s.name: Mailbox(f"strategy:{s.name}", 256, Overflow.CONFLATE, key=strategy_mailbox_key)
        for s in strategies
    }
    market_boxes: dict[str, Mailbox[Any]] = {
        cid: Mailbox(f"market:{m.slug}", 1024, Overflow.DROP_AND_RESYNC)
        for cid, m in markets.items()
    }

    orders = Supervisor("orders", strategy=SupervisionStrategy.ONE_FOR_ONE)
    manager = OrderManager(
        manager_box,
        orders,
        registry,
        gateway,
        OrderFactory(signer, PAPER_API_KEY, clock, vc.seed),
        markets,
        RiskGate(config.risk),
        stats,
        initial,
        shutdown.stopping,
    )
    portfolio = PortfolioActor(ledger, portfolio_box, markets, strategy_boxes, manager_box)
    user_feed = UserFeedActor(gateway, registry, markets, portfolio_box, stats)
    strategy_sup = Supervisor(
        "strategies",
        [
            ChildSpec(
                f"strategy:{s.name}",
                StrategyActor(s, strategy_boxes[s.name], manager_box, shutdown.stopping, stats).run,
            )
            for s in strategies
        ],
    )
    market_actors = {
        cid: MarketActor(
            m,
            market_boxes[cid],
            list(strategy_boxes.values()),
            portfolio_box,
            gateway,
            clock,
            stats,
            market_data=config.market_data,
        )
        for cid, m in markets.items()
    }
    market_sup = Supervisor(
        "markets",
        [ChildSpec(f"market:{a.info.slug}", a.run) for a in market_actors.values()],
    )
    asset_ids = [t for m in markets.values() for t in m.token_ids]
    feed = FeedActor(gateway, asset_ids, market_boxes, stats)
    root = Supervisor(
        "root",
        [
            ChildSpec("venue", venue.run),
            ChildSpec("portfolio", portfolio.run),
            ChildSpec("orders", orders.run),
            ChildSpec("order-manager", manager.run),
            ChildSpec("user-feed", user_feed.run),
            ChildSpec("strategies", strategy_sup.run),
            ChildSpec("markets", market_sup.run),
            ChildSpec("feed", feed.run),
        ],
        strategy=SupervisionStrategy.REST_FOR_ONE,
    )

    async def cancel_open_orders() -> None:
        await manager.cancel_everything()

    shutdown.add_hook("cancel all open orders", cancel_open_orders)
    supervisors = {s.name: s for s in (root, orders, strategy_sup, market_sup)}
    return Session(
        config, clock, account, venue, ledger, stats, shutdown, root, supervisors, manager, feed,
        market_actors, markets,
    )  # fmt: skip


async def _end_when_done(session: Session) -> None:
    await session.venue.finished.wait()
    await trio.sleep(DRAIN_S)
    await session.shutdown.request_shutdown("all windows resolved")


async def run_session(session: Session, *, echo: bool = False, header: str = "") -> None:
    """Run the tree until every window has resolved, or until a signal stops it."""
    await run_tree(session, partial(_end_when_done, session), echo=echo, header=header)


def session_report(session: Session, wall_s: float) -> dict[str, Any]:
    account = session.venue.engine.balance(session.account)
    facts = SessionFacts(
        seed=session.config.venue.seed,
        windows=session.config.venue.windows,
        simulated_s=session.clock.now_s() - (session.config.venue.start_ts - LEAD_S),
        wall_s=wall_s,
        venue_cash=account.collateral_total,
        shutdown_reason=session.shutdown.shutdown_reason or "stopped",
    )
    return build_report(session.ledger, session.stats, session.markets, facts)


def run_paper_session(config: Config, report_json: Path | None) -> int:
    """`polyengine run`: the paper session on an accelerated clock, then the report."""
    rate = config.clock.rate_for("sim", own_venue=False)
    mock = trio.testing.MockClock(rate=rate, autojump_threshold=0 if rate == 0 else float("inf"))
    echo = config.run.progress
    started = time.perf_counter()
    report: dict[str, Any] = {}

    async def main() -> None:
        clock = SessionClock.starting_at(config.venue.start_ts - LEAD_S)
        session = build_session(config, clock)
        header = (
            f"polyengine: paper session, seed {config.venue.seed}, "
            f"{config.venue.windows} windows of 15 min, clock "
            f"{'as fast as possible' if rate == 0 else f'x{rate:g}'}"
        )
        try:
            await run_session(session, echo=echo, header=header)
        finally:
            report.update(session_report(session, time.perf_counter() - started))

    return run_to_exit_status(main, mock, config.venue.seed, report, report_json)
