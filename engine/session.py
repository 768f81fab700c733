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

import random
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import trio
import trio.testing

from actors.feed import FeedActor
from actors.market import MarketActor
from actors.order_manager import OrderManager
from actors.portfolio import PortfolioActor
from actors.strategy import Strategy, StrategyActor, strategy_mailbox_key
from actors.user_feed import UserFeedActor
from engine.clock import SessionClock
from engine.config import Config
from engine.ledger import Ledger
from engine.mailbox import Mailbox, Overflow
from engine.messages import MarketInfo
from engine.order_factory import OrderFactory, paper_signer
from engine.registry import OrderRegistry
from engine.report import SessionFacts, build_report, render_text
from engine.risk import RiskGate
from engine.shutdown import ImmediateExit, ShutdownController
from engine.stats import EngineStats
from engine.strategies.parity import ParityArbitrage
from engine.strategies.spread_maker import SpreadMaker
from engine.supervisor import ChildSpec, Supervisor, SupervisorEscalation
from engine.supervisor import Strategy as SupervisionStrategy
from engine.units import format_units
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

    strategies: list[Strategy] = []
    if config.strategies.parity.enabled:
        strategies.append(ParityArbitrage(config.strategies.parity))
    if config.strategies.maker.enabled:
        strategies.append(SpreadMaker(config.strategies.maker))

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


async def _progress(session: Session, echo: bool) -> None:
    every = session.config.run.progress_every_s
    while True:
        await trio.sleep(every)
        now = session.clock.now_s()
        by: dict[str, int] = {}
        for f in session.ledger.fills:
            by[f.strategy] = by.get(f.strategy, 0) + 1
        live = [m.slug for m in session.markets.values() if m.start_ts <= now < m.end_ts]
        line = (
            f"[{time.strftime('%H:%M:%S', time.gmtime(now))} UTC] {live[0] if live else '-':<26} "
            f"frames {session.stats.frames:>6}  orders {session.stats.orders_sent:>5}  "
            f"fills {len(session.ledger.fills):>4} {by}  cash ${format_units(session.ledger.cash)}"
        )
        session.progress.append(line)
        if echo:
            print(line, flush=True)


async def _end_when_done(session: Session) -> None:
    await session.venue.finished.wait()
    await trio.sleep(DRAIN_S)
    await session.shutdown.request_shutdown("all windows resolved")


async def _supervise_root(
    session: Session, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run the root; if it gives up, cancel every open order (shielded, bounded), then fail.

    The root escalates only when restarts cannot help; the session must then not leave
    orders resting at the venue, and the process must exit non-zero.
    """
    try:
        await session.root.run(task_status=task_status)
    except* SupervisorEscalation:
        await session.shutdown.request_shutdown("root supervisor escalated")
        raise


async def run_session(session: Session, *, echo: bool = False, header: str = "") -> None:
    """Run the tree until every window has resolved, or until a signal stops it.

    The header is printed once signals are handled gracefully, so a user who sees it
    can press Ctrl-C and get the graceful path (cancel orders, report, exit 0).
    """
    async with trio.open_nursery() as nursery:
        await nursery.start(session.shutdown.watch_signals, nursery.cancel_scope)
        if echo and header:
            print(header, flush=True)
        await nursery.start(_supervise_root, session)
        nursery.start_soon(_progress, session, echo)
        nursery.start_soon(_end_when_done, session)


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


def seed_trio_scheduler(seed: int) -> None:
    """Make Trio's task order repeatable, so that a seed gives the same session.

    Trio shuffles the order in which ready tasks run, from a generator seeded by the OS,
    and tasks woken by equal deadlines become ready in an order set by memory addresses
    (its deadline heap breaks ties by `id`). Paper sessions are research runs: the same
    seed must give the same fills. Trio has a deterministic mode for Hypothesis
    (trio/_core/_run.py: `_ALLOW_DETERMINISTIC_SCHEDULING` sorts each batch by task
    creation order before shuffling it with `_r`); there is no public switch, so this
    turns that mode on and seeds `_r`. If a future Trio moves them, sessions stay correct
    but are no longer bit-for-bit repeatable (tests/e2e/test_cli.py would say so).
    """
    run_module = getattr(getattr(trio, "_core", None), "_run", None)
    scheduler_random = getattr(run_module, "_r", None)
    if run_module is None or not isinstance(scheduler_random, random.Random):
        return
    if hasattr(run_module, "_ALLOW_DETERMINISTIC_SCHEDULING"):
        run_module._ALLOW_DETERMINISTIC_SCHEDULING = True
    scheduler_random.seed(f"polyengine-scheduler-{seed}")


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

    immediate: list[ImmediateExit] = []
    escalations: list[SupervisorEscalation] = []
    seed_trio_scheduler(config.venue.seed)
    try:
        trio.run(main, clock=mock)
    except* SupervisorEscalation as group:
        escalations.extend(e for e in group.exceptions if isinstance(e, SupervisorEscalation))
    except* ImmediateExit as group:
        immediate.extend(e for e in group.exceptions if isinstance(e, ImmediateExit))
    except* KeyboardInterrupt:
        # Only possible before the signal watcher is installed: nothing was traded yet.
        immediate.append(ImmediateExit(signal.SIGINT))
    if immediate:
        print("polyengine: stopped at once (second signal)", file=sys.stderr)
        return immediate[0].exit_code
    print(render_text(report))
    if report_json is not None:
        report_json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        print(f"report written to {report_json}")
    if escalations:
        print(
            f"polyengine: the supervision tree gave up: {escalations[0]}; "
            "every open order was cancelled",
            file=sys.stderr,
        )
        return 1
    if not report["ledger_identity"]["holds"] or report["venue_cash_matches"] is False:
        print("polyengine: the ledger does not reconcile (see the report)", file=sys.stderr)
        return 1
    return 0
