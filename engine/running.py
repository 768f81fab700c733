"""How any session tree runs and ends, whichever venue it trades against.

The in-process simulator (engine/session.py) and the networked session
(engine/network_session.py) build different trees but run them the same way: signals
handled gracefully, the root supervised (its escalation cancels every order and fails
the run), progress lines, an end condition, then the report and the exit status.
"""

from __future__ import annotations

import random
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import orjson
import trio

from actors.strategy import Strategy
from engine.clock import SessionClock
from engine.config import Config
from engine.ledger import Ledger
from engine.messages import MarketInfo
from engine.report import render_text
from engine.shutdown import ImmediateExit, ShutdownController
from engine.stats import EngineStats
from engine.strategies.latency import LatencySniper
from engine.strategies.parity import ParityArbitrage
from engine.strategies.spread_maker import SpreadMaker
from engine.supervisor import Supervisor, SupervisorEscalation
from engine.units import format_units


class RunningSession(Protocol):
    """What running a tree needs from a session, simulated or networked."""

    @property
    def config(self) -> Config: ...
    @property
    def clock(self) -> SessionClock: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def stats(self) -> EngineStats: ...
    @property
    def markets(self) -> Mapping[str, MarketInfo]: ...
    @property
    def progress(self) -> list[str]: ...
    @property
    def shutdown(self) -> ShutdownController: ...
    @property
    def root(self) -> Supervisor: ...


def strategies_from_config(config: Config) -> list[Strategy]:
    """The enabled strategies, in a fixed order."""
    chosen: list[Strategy] = []
    if config.strategies.parity.enabled:
        chosen.append(ParityArbitrage(config.strategies.parity))
    if config.strategies.maker.enabled:
        chosen.append(SpreadMaker(config.strategies.maker))
    if config.strategies.latency.enabled:
        chosen.append(LatencySniper(config.strategies.latency))
    return chosen


async def _progress(session: RunningSession, echo: bool) -> None:
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


async def _supervise_root(
    session: RunningSession, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
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


async def run_tree(
    session: RunningSession,
    end: Callable[[], Awaitable[None]],
    *,
    echo: bool = False,
    header: str = "",
) -> None:
    """Run the tree until `end` asks for shutdown, or a signal stops it.

    The header is printed once signals are handled gracefully, so a user who sees it
    can press Ctrl-C and get the graceful path (cancel orders, report, exit 0).
    """
    async with trio.open_nursery() as nursery:
        await nursery.start(session.shutdown.watch_signals, nursery.cancel_scope)
        if echo and header:
            print(header, flush=True)
        await nursery.start(_supervise_root, session)
        nursery.start_soon(_progress, session, echo)
        nursery.start_soon(end)


def seed_trio_scheduler(seed: int) -> None:
    """Make Trio's task order repeatable, so that a seed gives the same session.

    Trio shuffles the order in which ready tasks run, from a generator seeded by the OS,
    and tasks woken by equal deadlines become ready in an order set by memory addresses
    (its deadline heap breaks ties by `id`). Simulated sessions are research runs: the
    same seed must give the same fills. Trio has a deterministic mode for Hypothesis
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


def run_to_exit_status(
    main: Callable[[], Awaitable[None]],
    clock: trio.abc.Clock | None,
    seed: int,
    report: dict[str, Any],
    report_json: Path | None,
    failures: list[str] | None = None,
) -> int:
    """trio.run(main), then print the report main filled in and give the exit status.

    0: ran and reconciles; 1: a setup failure (`failures`), the tree gave up,
    reconciliation halted trading, or the ledger does not reconcile; the signal's code
    after a second signal.
    """
    immediate: list[ImmediateExit] = []
    escalations: list[SupervisorEscalation] = []
    seed_trio_scheduler(seed)
    try:
        trio.run(main, clock=clock)
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
    if failures:
        print(f"polyengine: {failures[0]}", file=sys.stderr)
        return 1
    print(render_text(report))
    if report_json is not None:
        report_json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        print(f"report written to {report_json}")
    halted = (report.get("state") or {}).get("halted")
    if halted:
        print(f"polyengine: trading halted: {halted}", file=sys.stderr)
        return 1
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
