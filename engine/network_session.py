"""A networked session: the engine against a venue over HTTP and WebSockets.

The supervision tree (the in-process simulator's is in engine/session.py):

    root (rest_for_one)
      heartbeat       POST /v1/heartbeats; the venue cancels everything if they stop
      portfolio       ledger writer: fills, confirmations, voids and settlements in,
                      each journaled before it is booked
      execution       one_for_all: any crash here restarts all three, barrier first
        reconciler    journal vs the venue's open orders, trades and balances: a
                      barrier before any order is sent, then every 30 s; halts
                      trading on a mismatch nothing explains
        orders        supervisor of temporary OrderActors (never restarted)
        order-manager intents -> risk gate -> OrderActors (journaled, then sent)
      user-channel    authenticated user WebSocket -> router; REST backfill on reconnect
      strategies      one_for_one over StrategyActors
      spot            spot board and its feeds (only when a spot strategy runs)
      markets         one_for_one over MarketActors, started and stopped by the catalog
      market-feed     sharded market WebSockets, watchdog, REST polling, health board
      catalog         discovery events -> MarketActors started, feed (un)subscribed
      discovery       Gamma: the next windows, their phases and retirement

Consumers start before producers; a restart of a child restarts everything after it
(so a restarted market supervisor is refilled by a restarted catalog and discovery).
The journal (engine/journal.py) lives in the state directory: restarting with the same
one rebuilds the ledger from it, and the reconciler's barrier adopts the orders still
live at the venue and books the fills that happened while the engine was down.
`paper` mode runs this against a venue server on loopback (its own child process, on
an accelerated clock, or `--venue-url`); `live` mode against `endpoints` (production
by default) with the credentials from `polyengine account`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import trio
import trio.testing

from actors.discovery import DiscoveryActor
from actors.market import MarketActor
from actors.market_feed import HealthBoard, MarketFeedActor
from actors.order_manager import OrderManager
from actors.pair_desk import PairDesk, desk_mailbox, views_mailbox
from actors.portfolio import PortfolioActor, ledger_from_journal
from actors.reconciler import HttpVenueQueries, Reconciler, ReconciliationHalt
from actors.spot_feed import (
    BinanceSpotFeed,
    ChainlinkReference,
    CoinbaseTickerPoller,
    SpotBoardActor,
    spot_mailbox,
)
from actors.strategy import StrategyActor, strategy_mailbox_key
from actors.user_channel import UserChannelActor
from actors.user_feed import UserEventRouter
from engine._native import OrderSigner
from engine.client.errors import VenueError
from engine.client.gateway import NetworkGateway
from engine.client.heartbeat import HeartbeatActor
from engine.client.rest import RestClient
from engine.clock import SessionClock
from engine.closeout import CLOSEOUT_S, CloseoutReport, close_out
from engine.config import Config, EndpointsConfig
from engine.credentials import ApiCredentials, CredentialsError
from engine.gateway import OrderSpec
from engine.journal import Journal, JournalError
from engine.ledger import Ledger, LedgerError
from engine.mailbox import Mailbox, Overflow
from engine.messages import (
    Fill,
    FillReversed,
    MarketDiscovered,
    MarketInfo,
    MarketInfoUpdated,
    MarketPhaseChanged,
    MarketRetired,
    OrderAdopted,
    OrderClosed,
    ReconciliationDone,
    ReconciliationIncomplete,
    ResolutionRead,
)
from engine.order_factory import OrderFactory, paper_signer
from engine.registry import OrderMeta, OrderRegistry
from engine.report import SessionFacts, build_report
from engine.risk import RiskGate
from engine.running import run_to_exit_status, run_tree, strategies_from_config
from engine.shutdown import ShutdownController
from engine.spot import SpotBoard
from engine.stats import EngineStats
from engine.supervisor import ChildSpec, Supervisor
from engine.supervisor import Strategy as SupervisionStrategy
from engine.venue_process import VenueProcessError, venue_command, venue_process

log = logging.getLogger("polyengine.session")

LEAD_S = 30.0
"""The paper venue starts this long before its first window, so the engine connects,
discovers and subscribes before the window opens."""

DRAIN_S = 5.0
"""Session seconds after the last resolution for the last reports to arrive."""

MARKET_START_ATTEMPTS = 10
MARKET_START_RETRY_S = 2.0

CLOCK_SYNC_POLLS = 400
"""GET /time calls allowed to catch the venue's second ticking over (see venue_clock)."""


async def venue_clock(rest: RestClient) -> SessionClock:
    """A session clock on the venue's time, to within one request.

    GET /time gives whole seconds; reading it until it ticks over pins the moment it
    changed, so the clock is set then rather than up to a second off. Against a venue
    on another clock (an accelerated paper venue, or simply skew) every timestamp the
    engine signs (L1, L2) and every window time it computes is then the venue's.
    """
    first = await rest.time()
    for _ in range(CLOCK_SYNC_POLLS):
        now = await rest.time()
        if now != first:
            return SessionClock.starting_at(float(now))
    return SessionClock.starting_at(float(first))


class _Trades:
    """RestClient.trades in the shape the user channel's backfill asks for."""

    def __init__(self, rest: RestClient) -> None:
        self.rest = rest

    async def trades(self, *, after: int | None) -> list[Any]:
        return list(await self.rest.trades(after=after))


@dataclass
class NetworkSession:
    """Everything one networked session builds, kept together for tests and the report."""

    config: Config
    clock: SessionClock
    account: str
    endpoints: EndpointsConfig
    rest: RestClient
    ledger: Ledger
    stats: EngineStats
    shutdown: ShutdownController
    root: Supervisor
    supervisors: dict[str, Supervisor]
    manager: OrderManager
    feed: MarketFeedActor
    router: UserEventRouter
    user_channel: UserChannelActor
    heartbeat: HeartbeatActor
    discovery: DiscoveryActor
    catalog: MarketCatalog
    markets: dict[str, MarketInfo]
    journal: Journal
    reconciler: Reconciler
    reconcile_router: ReconcileRouter
    desk: PairDesk | None
    windows_expected: int | None = None
    """Own paper venue: the session ends once this many markets have settled."""
    started_s: float = 0.0
    """Session time when it was built (for the report's simulated seconds)."""
    progress: list[str] = field(default_factory=list)
    halted: list[str] = field(default_factory=list)
    """Why reconciliation halted trading (empty while it has not)."""
    resumed: bool = False
    """The state directory held a journal from an earlier run: this run resumed it."""
    closeout: CloseoutReport = field(default_factory=CloseoutReport)
    """What the graceful stop's close-out did with the journal's open orders."""


class ReconcileRouter:
    """The reconciler's corrections, to whom they concern: fills, reversals and resolutions
    to the portfolio, adopted and closed orders to the order manager; the rest is counted."""

    def __init__(self, inbox: Mailbox[Any], portfolio: Mailbox[Any], manager: Mailbox[Any]):
        self.inbox = inbox
        self.portfolio = portfolio
        self.manager = manager
        self.rounds = 0
        self.incomplete = 0
        self.adopted = 0
        self.booked = 0
        self.reversed = 0
        self.closed = 0

    async def run(self) -> None:
        while True:
            message = await self.inbox.receive()
            match message:
                case Fill():
                    self.booked += 1
                    log.warning("reconciliation booked a missed fill %s", message.trade_id)
                    await self.portfolio.send(message)
                case FillReversed():
                    self.reversed += 1
                    log.warning(
                        "reconciliation reversed fill %s: %s", message.trade_id, message.reason
                    )
                    await self.portfolio.send(message)
                case ResolutionRead():
                    await self.portfolio.send(message)
                case OrderAdopted():
                    self.adopted += 1
                    log.warning("reconciliation adopted order %s", message.order_id[:12])
                    await self.manager.send(message)
                case OrderClosed():
                    self.closed += 1
                    await self.manager.send(message)
                case ReconciliationDone():
                    self.rounds += 1
                case ReconciliationIncomplete():
                    self.incomplete += 1


class MarketCatalog:
    """Discovery's events in; markets started, subscribed, updated and retired.

    A discovered market gets a mailbox (kept across restarts), a MarketActor under the
    markets supervisor, and its tokens on the market feed, in that order, so no frame
    arrives for a market that is not there. A retired market leaves the feed, and its
    actor stops once it has settled (its positions are then in the ledger).
    """

    def __init__(
        self,
        inbox: Mailbox[Any],
        markets: dict[str, MarketInfo],
        routes: dict[str, Mailbox[Any]],
        market_sup: Supervisor,
        feed: MarketFeedActor,
        make_actor: Callable[[MarketInfo, Mailbox[Any]], MarketActor],
    ) -> None:
        self.inbox = inbox
        self.markets = markets
        self.routes = routes
        self.market_sup = market_sup
        self.feed = feed
        self.make_actor = make_actor
        self.actors: dict[str, MarketActor] = {}
        self.discovered = 0
        self.retired = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        # A restart (with the markets supervisor, rest_for_one) starts from an empty set.
        self.actors.clear()
        task_status.started()
        while True:
            message = await self.inbox.receive()
            match message:
                case MarketDiscovered(info=info):
                    await self._add(info)
                case MarketInfoUpdated(info=info):
                    self.markets[info.condition_id] = info
                case MarketRetired(condition_id=cid, token_ids=tokens):
                    self.feed.unsubscribe(tokens)
                    if self.actors.pop(cid, None) is not None:
                        with contextlib.suppress(KeyError):
                            await self.market_sup.stop_child(f"market:{cid}")
                    self.retired += 1
                case MarketPhaseChanged():
                    pass  # the MarketActor keeps its own phase from the clock and frames

    async def _add(self, info: MarketInfo) -> None:
        cid = info.condition_id
        if cid in self.actors:
            return
        self.markets[cid] = info
        if cid not in self.routes:
            self.routes[cid] = Mailbox(f"market:{info.slug}", 1024, Overflow.DROP_AND_RESYNC)
        actor = self.make_actor(info, self.routes[cid])
        for attempt in range(MARKET_START_ATTEMPTS):
            try:
                await self.market_sup.start_child(ChildSpec(f"market:{cid}", actor.run))
                break
            except (VenueError, httpx.HTTPError) as exc:
                # A market listed ahead of its window may not have a book yet.
                log.info("%s: not ready (%s); attempt %d", info.slug, exc, attempt + 1)
                await trio.sleep(MARKET_START_RETRY_S)
        else:
            log.warning("%s: could not start its market actor; skipped", info.slug)
            return
        self.actors[cid] = actor
        self.feed.subscribe({token: cid for token in info.token_ids})
        self.discovered += 1
        log.info("trading %s (%s)", info.slug, cid[:12])


def build_network_session(
    config: Config,
    clock: SessionClock,
    rest: RestClient,
    credentials: ApiCredentials,
    signer: OrderSigner,
    endpoints: EndpointsConfig,
    *,
    journal: Journal,
    ledger: Ledger,
    windows_expected: int | None = None,
) -> NetworkSession:
    """Wire the networked tree (nothing runs yet); `rest` must be open and authenticated.

    `journal` is the state directory's, open; `ledger` is what it describes (or a fresh
    one on the venue's balance for a new state directory).
    """
    seed = config.venue.seed
    gateway = NetworkGateway(rest)
    stats = EngineStats()
    initial_cash = ledger.cash
    shutdown = ShutdownController()
    registry = registry_from_journal(journal)
    markets: dict[str, MarketInfo] = {}
    strategies = strategies_from_config(config)

    # Mailboxes: owned here, by the tree, so restarts keep them. Each names its policy.
    portfolio_box: Mailbox[Any] = Mailbox("portfolio", 4096, Overflow.BLOCK)
    manager_box: Mailbox[Any] = Mailbox("order-manager", 4096, Overflow.BLOCK)
    strategy_boxes: dict[str, Mailbox[Any]] = {
        s.name: Mailbox(f"strategy:{s.name}", 256, Overflow.CONFLATE, key=strategy_mailbox_key)
        for s in strategies
    }
    routes: dict[str, Mailbox[Any]] = {}
    discovery_box: Mailbox[Any] = Mailbox("discovery", 1024, Overflow.BLOCK)
    reconcile_box: Mailbox[Any] = Mailbox("reconciler", 4096, Overflow.BLOCK)

    heartbeat = HeartbeatActor(
        rest,
        interval_s=config.client.heartbeat_interval_s,
        timeout_s=config.client.heartbeat_timeout_s,
        on_lost=lambda: stats.count_rejection("heartbeat lost: the venue cancelled all orders"),
    )
    orders = Supervisor("orders", strategy=SupervisionStrategy.ONE_FOR_ONE)
    manager = OrderManager(
        manager_box,
        orders,
        registry,
        gateway,
        OrderFactory(signer, credentials.api_key, clock, seed),
        markets,
        RiskGate(config.risk),
        stats,
        initial_cash,
        shutdown.stopping,
        journal=journal,
    )
    portfolio = PortfolioActor(
        ledger, portfolio_box, markets, strategy_boxes, manager_box, journal=journal
    )
    reconciler = Reconciler(
        journal,
        HttpVenueQueries(rest.call),
        reconcile_box,
        config.state,
        tokens=lambda: [t for m in markets.values() for t in m.token_ids],
        active_orders=lambda: _active_orders(manager, desk),
        settling=lambda: _settling_tokens(markets, ledger, clock),
        market_ends=lambda: {cid: m.end_ts for cid, m in list(markets.items())},
        now=clock.now_s,
        ledger_settled=lambda: {s.condition_id for s in ledger.settlements},
    )
    pairs = config.strategies.pairs
    desk: PairDesk | None = None
    desk_views: Mailbox[Any] | None = None
    if pairs.enabled:
        desk_box, desk_views = desk_mailbox(), views_mailbox()
        desk = PairDesk(
            desk_box, gateway, OrderFactory(signer, credentials.api_key, clock, seed), registry,
            journal, markets, clock, pairs, stats, shutdown.stopping,
            seed=seed, risk=manager.risk, initial_cash=initial_cash, views=desk_views,
            reserved_elsewhere=lambda: manager.buy_reserved,
        )  # fmt: skip
        portfolio.also_cash_to.append(desk_box)
    reconcile_router = ReconcileRouter(reconcile_box, portfolio_box, manager_box)
    halted: list[str] = []

    async def run_reconciler(
        *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """The barrier, then periodic rounds; a halt stops trading (every order cancelled)
        and ends the session with the reconciler's one-line reason."""
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(reconcile_router.run)
                await nursery.start(reconciler.run)
                task_status.started()
        except* ReconciliationHalt as group:
            reason = str(group.exceptions[0])
            halted.append(reason)
            await shutdown.request_shutdown(f"reconciliation halted trading: {reason}")
            await trio.sleep_forever()

    execution = Supervisor(
        "execution",
        [
            ChildSpec("reconciler", run_reconciler),
            ChildSpec("orders", orders.run),
            ChildSpec("order-manager", manager.run),
            *([ChildSpec("pair-desk", desk.run)] if desk is not None else []),
        ],
        strategy=SupervisionStrategy.ONE_FOR_ALL,
    )
    router = UserEventRouter(
        registry, markets, portfolio_box, stats, dedupe_capacity=config.user_feed.dedupe_capacity
    )
    user_channel = UserChannelActor(
        endpoints.ws_user,
        credentials,
        router,
        _Trades(rest),
        config.user_feed,
        seed=seed,
        start_after=int(clock.now_s()) - 60,
    )
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
    board = HealthBoard()
    feed = MarketFeedActor(
        endpoints.ws_market, routes, stats, config.market_feed, board=board, books=gateway
    )

    def make_market_actor(info: MarketInfo, mailbox: Mailbox[Any]) -> MarketActor:
        return MarketActor(
            info,
            mailbox,
            [*strategy_boxes.values(), *([desk_views] if desk_views is not None else [])],
            portfolio_box,
            gateway,
            clock,
            stats,
            market_data=config.market_data,
            health_board=board,
        )

    market_sup = Supervisor("markets", [])
    catalog = MarketCatalog(discovery_box, markets, routes, market_sup, feed, make_market_actor)
    discovery = DiscoveryActor(config.discovery, endpoints.gamma, clock, discovery_box, seed=seed)

    children = [
        ChildSpec("heartbeat", heartbeat.run),
        ChildSpec("portfolio", portfolio.run),
        ChildSpec("execution", execution.run),
        ChildSpec("user-channel", user_channel.run),
        ChildSpec("strategies", strategy_sup.run),
    ]
    supervisors = [execution, orders, strategy_sup, market_sup]
    spot_aware = [strategy_boxes[s.name] for s in strategies if hasattr(s, "on_spot")]
    if desk_views is not None and pairs.confidence == "spot":
        spot_aware.append(desk_views)
    if spot_aware:
        spot_box = spot_mailbox()
        spot = Supervisor(
            "spot",
            [
                ChildSpec(
                    "spot-board",
                    SpotBoardActor(
                        SpotBoard.from_config(config.spot),
                        spot_box,
                        spot_aware,
                        clock,
                        config.spot.check_s,
                    ).run,
                ),
                ChildSpec(
                    "spot:binance",
                    BinanceSpotFeed(endpoints, config.spot, spot_box, clock, seed).run,
                ),
                ChildSpec(
                    "spot:coinbase",
                    CoinbaseTickerPoller(endpoints, config.spot, spot_box, clock, seed).run,
                ),
                ChildSpec(
                    "spot:chainlink",
                    ChainlinkReference(endpoints, config.spot, spot_box, clock, seed).run,
                ),
            ],
        )
        children.append(ChildSpec("spot", spot.run))
        supervisors.append(spot)
    children += [
        ChildSpec("markets", market_sup.run),
        ChildSpec("market-feed", feed.run),
        ChildSpec("catalog", catalog.run),
        ChildSpec("discovery", discovery.run),
    ]
    root = Supervisor("root", children, strategy=SupervisionStrategy.REST_FOR_ONE)

    closeout = CloseoutReport()

    async def close_out_journal() -> None:
        done = await close_out(journal, gateway, portfolio_box.send, stats)
        closeout.closed.update(done.closed)
        closeout.left_open.update(done.left_open)
        closeout.fills_booked += done.fills_booked

    # Hooks run newest first: this one last, once every cancel has been sent.
    shutdown.add_hook(
        "close the journal's open orders", close_out_journal, timeout_s=CLOSEOUT_S + 5.0
    )

    async def cancel_open_orders() -> None:
        await manager.cancel_everything()

    shutdown.add_hook("cancel all open orders", cancel_open_orders)
    if desk is not None:
        pair_desk = desk

        async def cancel_pair_orders() -> None:
            await pair_desk.cancel_everything()

        # Hooks run newest first: the pairs' own orders, then everything at the venue.
        shutdown.add_hook("cancel pair orders", cancel_pair_orders)
    return NetworkSession(
        config, clock, credentials.address, endpoints, rest, ledger, stats, shutdown, root,
        {s.name: s for s in (root, *supervisors)}, manager, feed, router, user_channel,
        heartbeat, discovery, catalog, markets, journal, reconciler, reconcile_router, desk,
        windows_expected,
        clock.now_s(), halted=halted, resumed=journal.report.records > 0, closeout=closeout,
    )  # fmt: skip


def _active_orders(manager: OrderManager, desk: PairDesk | None) -> set[str]:
    """Orders a running actor owns: reconciliation leaves them to it."""
    return set(manager.open) | (set(desk.orders) if desk is not None else set())


def _settling_tokens(
    markets: dict[str, MarketInfo], ledger: Ledger, clock: SessionClock
) -> set[str]:
    """Tokens of markets that have ended but whose settlement the ledger has not booked:
    the venue may have redeemed them already (reconciliation defers their differences)."""
    settled = {s.condition_id for s in ledger.settlements}
    now = clock.now_s()
    return {
        token
        for cid, info in list(markets.items())
        if info.end_ts <= now and cid not in settled
        for token in info.token_ids
    }


def registry_from_journal(journal: Journal) -> OrderRegistry:
    """Every order the journal knows, so fills of orders sent before a restart are still
    attributed (and counted once) when the user channel or reconciliation reports them."""
    registry = OrderRegistry()
    for order in journal.state.orders.values():
        s = order.signed
        spec = OrderSpec(
            s.order_id, s.token_id, s.side, s.price, s.size, s.order_type, s.post_only, b""
        )
        registry.orders[s.order_id] = OrderMeta(spec, s.strategy, s.condition_id, s.key)
    return registry


async def _end_when_done(session: NetworkSession) -> None:
    """Stop after `run.duration_s`, or once every window of the own venue has settled."""
    duration = session.config.run.duration_s
    expected = session.windows_expected
    with trio.move_on_after(duration if duration is not None else float("inf")):
        while expected is None or len(session.ledger.settlements) < expected:
            await trio.sleep(1.0)
        await trio.sleep(DRAIN_S)
        await session.shutdown.request_shutdown("all windows resolved")
        return
    await session.shutdown.request_shutdown(f"duration {duration:g} s reached")


async def run_network(session: NetworkSession, *, echo: bool = False, header: str = "") -> None:
    """Run the tree until the session ends or a signal stops it (then cancel orders)."""
    await run_tree(session, partial(_end_when_done, session), echo=echo, header=header)


class SessionSetupError(RuntimeError):
    """A session that cannot start (no key, no credentials, venue down): one line."""


def _live_signer(config: Config) -> OrderSigner:
    name = config.run.private_key_env
    text = os.environ.get(name, "").strip()
    if not text:
        raise SessionSetupError(f"live mode needs the signing key in ${name}")
    try:
        return OrderSigner(
            bytes.fromhex(text.removeprefix("0x")),
            signature_type=config.client.signature_type,
        )
    except ValueError:
        raise SessionSetupError(f"${name} is not a 32-byte hex private key") from None


async def _open_session(
    config: Config, stack: AsyncExitStack, rate: float, own_venue: bool
) -> NetworkSession:
    """Start the venue (own paper venue), sync the clock, authenticate, build the tree.

    Raises SessionSetupError, VenueProcessError, VenueError or httpx.HTTPError when the
    session cannot start; nothing has been traded then.
    """
    mode = config.run.mode
    seed = config.venue.seed
    if own_venue:
        workdir = Path(tempfile.mkdtemp(prefix="polyengine-paper-"))
        ledger_path = workdir / "venue-ledger.json"
        venue_log = workdir / "venue.log"
        start_ts = config.venue.start_ts
        command = venue_command(
            seed=seed,
            windows=config.venue.windows,
            start_ts=start_ts,
            clock_start=start_ts - LEAD_S,
            clock_rate=rate,
            initial_balance=str(config.venue.initial_balance),
            book_model=config.venue.book_model.replace("_", "-"),
            ledger_path=ledger_path,
            extra=("--faults", config.venue.faults) if config.venue.faults else (),
        )
        venue = await stack.enter_async_context(venue_process(command, ledger_path, venue_log))
        endpoints = EndpointsConfig.from_venue_url(venue.base_url)
    elif mode == "paper":
        assert config.run.venue_url is not None
        endpoints = EndpointsConfig.from_venue_url(config.run.venue_url)
    else:
        endpoints = config.endpoints
    async with RestClient(endpoints.clob, None, config.client, seed=seed) as public:
        try:
            clock = await venue_clock(public)
        except (VenueError, httpx.HTTPError) as exc:
            raise SessionSetupError(f"cannot reach the venue at {endpoints.clob}: {exc}") from None
    if mode == "paper":
        signer = paper_signer(seed)
        # L1 timestamps on the venue's clock (an accelerated venue is far from real time).
        async with RestClient(
            endpoints.clob, None, config.client, seed=seed, wallclock=clock.now_s
        ) as l1:
            credentials = await l1.create_or_derive_credentials(signer)
    else:
        signer = _live_signer(config)
        try:
            credentials = ApiCredentials.load(config.run.credentials_file.expanduser())
        except CredentialsError as exc:
            raise SessionSetupError(str(exc)) from None
        if credentials.address.lower() != signer.address.lower():
            raise SessionSetupError(
                f"the credentials are for {credentials.address}, the key is {signer.address}"
            )
    rest = await stack.enter_async_context(
        RestClient(endpoints.clob, credentials, config.client, seed=seed, wallclock=clock.now_s)
    )
    if own_venue and config.state.dir is None:
        state_dir = workdir / "state"  # a new venue: nothing to resume
    else:
        state_dir = config.state.state_dir_for(mode, credentials.address)
    try:
        journal = Journal(
            state_dir,
            fsync=config.state.fsync,
            secrets=(
                credentials.secret.get_secret_value(),
                credentials.passphrase.get_secret_value(),
            ),
        )
    except (JournalError, OSError) as exc:
        raise SessionSetupError(f"state directory {state_dir}: {exc}") from None
    stack.callback(journal.close)
    try:
        ledger = ledger_from_journal(journal.path)
    except LedgerError as exc:
        raise SessionSetupError(f"the journal in {state_dir} cannot be replayed: {exc}") from None
    if ledger is None:
        ledger = Ledger(initial_cash=await rest.balance_allowance("COLLATERAL"))
    if journal.report.records:
        log.info("%s; resuming", journal.report.describe(journal.path))
    session = build_network_session(
        config, clock, rest, credentials, signer, endpoints,
        journal=journal,
        ledger=ledger,
        windows_expected=config.venue.windows if own_venue else None,
    )  # fmt: skip
    return session


def network_report(
    session: NetworkSession, venue_cash: int | None, wall_s: float
) -> dict[str, Any]:
    """The session report, plus what a networked run adds: the wallet, each fill's venue
    status, positions, how the connections fared."""
    facts = SessionFacts(
        seed=session.config.venue.seed,
        windows=len(session.ledger.settlements),
        simulated_s=session.clock.now_s() - session.started_s,
        wall_s=wall_s,
        venue_cash=venue_cash,
        shutdown_reason=session.shutdown.shutdown_reason or "stopped",
    )
    report = build_report(session.ledger, session.stats, session.markets, facts)
    report["mode"] = session.config.run.mode
    report["wallet"] = session.account
    report["venue_url"] = session.endpoints.clob
    ledger = session.ledger
    for fill in report["fills"]:
        fill["status"] = ledger.status(fill["trade_id"], fill["order_id"])
    report["voided_fills"] = [
        {"trade_id": f.trade_id, "order_id": f.order_id, "size": f.size, "price": f.price}
        for f in ledger.voided
    ]
    report["positions"] = [
        {"strategy": strategy, "token_id": token, "size": p.size, "cost": p.cost}
        for (strategy, token), p in sorted(ledger.positions.items())
        if p.size
    ]
    reconciler = session.reconciler
    report["state"] = {
        "dir": str(session.journal.dir),
        "resumed": session.resumed,
        "journal_records": session.journal.state.last_seq,
        "reconciliation_rounds": reconciler.rounds,
        "reconciliation_failed_rounds": reconciler.failed_rounds,
        "stale_adoptions_dropped": reconciler.stale_adoptions,
        "resolutions_read": reconciler.resolutions_read,
        "corrections": {
            "fills_booked": session.reconcile_router.booked,
            "fills_reversed": session.reconcile_router.reversed,
            "orders_adopted": session.reconcile_router.adopted,
            "orders_closed": session.reconcile_router.closed,
        },
        "halted": session.halted[0] if session.halted else None,
        "closeout": {
            "closed": len(session.closeout.closed),
            "left_open": dict(session.closeout.left_open),
            "fills_booked": session.closeout.fills_booked,
        },
    }
    if session.desk is not None:
        report["pairs"] = session.desk.summary()
        report["pairs"]["audit"] = [
            {
                "pair": a.pair_id, "at": a.at, "step": a.step, "phase": a.phase.value,
                "keys": list(a.keys), "orders": [session.desk.order_ids.get(k) for k in a.keys],
                "sizes": list(a.sizes), "prices": list(a.prices), "note": a.note,
            }
            for a in session.desk.audit
        ]  # fmt: skip
    report["connections"] = {
        "market_feed": {
            "watchdog_trips": session.feed.watchdog_trips,
            "dead_sockets": session.feed.dead_sockets,
            "polled_books": session.feed.polled_books,
        },
        "user_channel": {
            "connects": session.user_channel.connects,
            "fills_booked": session.router.fills_booked,
            "fills_confirmed": session.router.fills_confirmed,
            "fills_voided": session.router.fills_voided,
            "backfill_bookings": session.router.backfill_bookings,
        },
        "heartbeats": {"sent": session.heartbeat.sent, "losses": session.heartbeat.losses},
        "orders_unknown": session.stats.orders_unknown,
        "unknown_resolved": dict(session.stats.unknown_resolved),
        "cancel_queries": dict(session.stats.cancel_queries),
        "closeout_queries": dict(session.stats.closeout_queries),
        "client_retries": session.rest.retried,
    }
    return report


def run_network_session(config: Config, report_json: Path | None) -> int:
    """`polyengine run --mode paper|live`: run, print the report, exit status."""
    mode = config.run.mode
    own_venue = mode == "paper" and config.run.venue_url is None
    rate = config.clock.rate_for(mode, own_venue)
    if rate <= 0:
        print("polyengine: config error: clock.rate: a networked session needs a rate above 0")
        return 2
    if mode == "live" and rate != 1.0:
        print("polyengine: config error: clock.rate: live mode runs on the real clock (1)")
        return 2
    echo = config.run.progress
    started = time.perf_counter()
    report: dict[str, Any] = {}
    failures: list[str] = []

    async def main() -> None:
        async with AsyncExitStack() as stack:
            try:
                session = await _open_session(config, stack, rate, own_venue)
            except (SessionSetupError, VenueProcessError, VenueError, httpx.HTTPError) as exc:
                failures.append(f"the session could not start: {exc}")
                return
            where = "its own venue" if own_venue else session.endpoints.clob
            resumed = "resumed from" if session.resumed else "journal in"
            header = (
                f"polyengine: {mode} session against {where}, wallet {session.account}, "
                f"seed {config.venue.seed}, clock x{rate:g}; {resumed} {session.journal.dir}"
            )
            try:
                await run_network(session, echo=echo, header=header)
            finally:
                with trio.CancelScope(shield=True), trio.move_on_after(30):
                    venue_cash: int | None = None
                    try:
                        venue_cash = await session.rest.balance_allowance("COLLATERAL")
                    except VenueError as exc:
                        log.warning("could not read the venue's balance: %s", exc)
                    report.update(
                        network_report(session, venue_cash, time.perf_counter() - started)
                    )

    clock = None if rate == 1.0 else trio.testing.MockClock(rate=rate)
    return run_to_exit_status(main, clock, config.venue.seed, report, report_json, failures)
