"""Erlang/OTP-style supervision, written by hand on Trio.

A Supervisor starts its children in order, each in its own cancel scope and each ready
(`task_status.started()`) before the next one starts. When a child fails it applies the
child's restart type and the supervisor's strategy; past the restart intensity it stops
every child and raises SupervisorEscalation, which its own parent sees as a failing
child. Children are stopped in reverse start order, on stop() and on cancellation alike.

Only `Exception` is a failure: `trio.Cancelled`, `KeyboardInterrupt` and other
BaseExceptions are never caught, they propagate through the supervisor.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import trio

logger = logging.getLogger("polyengine.supervisor")

EventCallback = Callable[[str, str], None]
"""Called with (what, name) for every supervision event, e.g. ("crashed", "feed")."""


class Restart(enum.Enum):
    """When a child that ended is started again."""

    PERMANENT = enum.auto()
    """Always restarted, whether it raised or returned."""
    TRANSIENT = enum.auto()
    """Restarted only if it raised an Exception; returning normally means done."""
    TEMPORARY = enum.auto()
    """Never restarted (e.g. one actor per order: a crash goes to reconciliation)."""


class Strategy(enum.Enum):
    """Which children are restarted when one fails."""

    ONE_FOR_ONE = enum.auto()
    """Only the failed child."""
    REST_FOR_ONE = enum.auto()
    """The failed child and every child started after it (they depend on it)."""
    ONE_FOR_ALL = enum.auto()
    """Every child, in start order (they only make sense together: e.g. the order
    subtree, whose reconciliation barrier must run again before any order is sent)."""


@dataclass(frozen=True)
class ChildSpec:
    """How to run one child.

    `start` is called as `await start(task_status=...)` and must call
    `task_status.started()` once truly ready (subscribed, holding a snapshot, ...).
    """

    name: str
    start: Callable[..., Awaitable[None]]
    restart: Restart = Restart.PERMANENT


class SupervisorEscalation(Exception):
    """A supervisor gave up: too many restarts too quickly. Its children are stopped."""

    def __init__(self, supervisor: str, cause: BaseException | None) -> None:
        detail = "a child returned" if cause is None else f"{type(cause).__name__}: {cause}"
        super().__init__(f"supervisor {supervisor!r} exceeded its restart intensity ({detail})")
        self.supervisor = supervisor
        self.__cause__ = cause


class _Child:
    """One child's mutable state across its incarnations."""

    def __init__(self, spec: ChildSpec) -> None:
        self.spec = spec
        self.incarnation = 0
        self.restarts = 0
        self.scope = trio.CancelScope()
        self.stopping = False
        # Set whenever no incarnation is running (so also before the first start).
        self.done = trio.Event()
        self.done.set()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def running(self) -> bool:
        return not self.done.is_set()


class _Readiness:
    """The task_status handed to a child.

    Once the child is ready its cancel scope becomes shielded: from then on only the
    supervisor stops it, so that shutdown keeps reverse start order even when the whole
    supervisor is cancelled from outside. Before readiness the child sees outer
    cancellation, so a child stuck starting never blocks a shutdown.
    """

    def __init__(
        self,
        inner: trio.TaskStatus[None],
        scope: trio.CancelScope,
        nursery: trio.Nursery,
        on_ready: Callable[[], None],
    ) -> None:
        self._inner = inner
        self._scope = scope
        self._nursery = nursery
        self._on_ready = on_ready
        self._task = trio.lowlevel.current_task()
        self.is_ready = False

    def started(self, value: None = None) -> None:
        self._inner.started(value)
        self.is_ready = True
        # If the supervisor was cancelled meanwhile, trio leaves the task where it was
        # and it must stay cancellable; shield only a child that really moved.
        if self._task.parent_nursery is self._nursery:
            self._scope.shield = True
        self._on_ready()


def describe_error(exc: BaseException) -> str:
    """`Type: text`; for an exception group, its innermost exceptions (what failed),
    since a nursery's "Exceptions from Trio nursery" alone names nothing."""
    if not isinstance(exc, BaseExceptionGroup):
        return f"{type(exc).__name__}: {exc}"
    leaves: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop(0)
        if isinstance(current, BaseExceptionGroup):
            pending[:0] = list(current.exceptions)
        else:
            leaves.append(current)
    shown = "; ".join(f"{type(e).__name__}: {e}" for e in leaves[:3])
    more = f" (and {len(leaves) - 3} more)" if len(leaves) > 3 else ""
    return f"{type(exc).__name__} of {shown}{more}"


class Supervisor:
    """Starts, watches and restarts a list of children.

    `events` is a log of (what, name): "started", "crashed", "exited" (returned
    normally), "restarted", "stopped" for children and ("escalated", supervisor name).
    It is bounded: when `max_events` is reached the older half is dropped.
    """

    def __init__(
        self,
        name: str,
        children: Sequence[ChildSpec] = (),
        strategy: Strategy = Strategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        within_s: float = 5.0,
        *,
        on_event: EventCallback | None = None,
        max_events: int = 10_000,
    ) -> None:
        if max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {max_restarts}")
        if within_s <= 0:
            raise ValueError(f"within_s must be > 0, got {within_s}")
        if max_events < 1:
            raise ValueError(f"max_events must be >= 1, got {max_events}")
        names = [spec.name for spec in children]
        if len(set(names)) != len(names):
            raise ValueError(f"supervisor {name!r}: duplicate child names in {names}")
        self.name = name
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.within_s = within_s
        self.events: list[tuple[str, str]] = []
        self._on_event = on_event
        self._max_events = max_events
        self._specs = tuple(children)
        self._children: list[_Child] = []
        self._restart_times: deque[float] = deque()
        self._nursery: trio.Nursery | None = None
        self._exits: deque[tuple[_Child, int, Exception | None]] = deque()
        self._wakeup = trio.lowlevel.ParkingLot()
        self._stop_requested = False
        self._running = False
        self._finished = trio.Event()

    def __repr__(self) -> str:
        return f"Supervisor({self.name!r}, children={self.children})"

    @property
    def children(self) -> list[str]:
        """Names of the current children, in start order."""
        return [child.name for child in self._children]

    def restart_count(self, name: str) -> int:
        """How many times the current child `name` was restarted (KeyError if unknown)."""
        return self._find(name).restarts

    # Running.

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the children in order, report ready, then supervise until stopped.

        Returns after stop() or cancellation, once every child is stopped in reverse
        start order. Raises SupervisorEscalation past the restart intensity, also after
        stopping every child. May run again after it ended (so a parent can restart it):
        each run starts afresh from the initial child specs.
        """
        if self._running:
            raise RuntimeError(f"supervisor {self.name!r} is already running")
        self._running = True
        self._stop_requested = False
        self._finished = trio.Event()
        self._children = []
        self._restart_times.clear()
        self._exits.clear()
        escalation: SupervisorEscalation | None = None
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                try:
                    escalation = await self._start_initial()
                    if escalation is None:
                        task_status.started()
                        escalation = await self._supervise()
                finally:
                    with trio.CancelScope(shield=True):
                        await self._stop_all()
        finally:
            self._nursery = None
            self._running = False
            self._finished.set()
        if escalation is not None:
            self._record("escalated", self.name)
            logger.error("%s", escalation)
            raise escalation

    async def stop(self) -> None:
        """Stop every child in reverse start order and make run() return.

        Waits until run() has returned; does nothing if it is not running.
        """
        if not self._running:
            return
        self._stop_requested = True
        self._wakeup.unpark_all()
        await self._finished.wait()

    async def start_child(self, spec: ChildSpec) -> None:
        """Add a child to the running supervisor, after the others; wait until it is ready.

        If the child fails before it is ready, it is not added and its exception is
        raised here.
        """
        if self._nursery is None or self._stop_requested:
            raise RuntimeError(f"supervisor {self.name!r} is not running")
        if any(child.name == spec.name for child in self._children):
            raise ValueError(f"supervisor {self.name!r} already has a child {spec.name!r}")
        child = _Child(spec)
        self._children.append(child)
        failure = await self._launch(child)
        if failure is not None:
            if child in self._children:
                self._children.remove(child)
            raise failure

    async def stop_child(self, name: str) -> None:
        """Stop the child `name` and remove it; it is not restarted (KeyError if unknown)."""
        child = self._find(name)
        self._children.remove(child)
        await self._stop(child)

    # Internals.

    def _find(self, name: str) -> _Child:
        for child in self._children:
            if child.name == name:
                return child
        raise KeyError(name)

    def _record(self, what: str, name: str) -> None:
        if len(self.events) >= self._max_events:
            del self.events[: self._max_events // 2]  # amortised O(1) per event
        self.events.append((what, name))
        if self._on_event is not None:
            self._on_event(what, name)

    async def _start_initial(self) -> SupervisorEscalation | None:
        for spec in self._specs:
            if self._stop_requested:
                return None
            child = _Child(spec)
            self._children.append(child)
            failure = await self._launch(child)
            if failure is not None:
                escalation = await self._handle_exit(child, failure)
                if escalation is not None:
                    return escalation
        return None

    async def _supervise(self) -> SupervisorEscalation | None:
        while True:
            while not self._exits:
                if self._stop_requested:
                    return None
                await self._wakeup.park()
            child, incarnation, error = self._exits.popleft()
            if child not in self._children or child.incarnation != incarnation:
                continue  # stale: that incarnation was already stopped or replaced
            escalation = await self._handle_exit(child, error)
            if escalation is not None:
                return escalation

    async def _launch(self, child: _Child) -> Exception | None:
        """Start one incarnation of `child` and wait until it is ready.

        Returns the exception if it failed before being ready (then it is not running).
        """
        assert self._nursery is not None
        child.incarnation += 1
        child.scope = trio.CancelScope()
        child.stopping = False
        child.done = trio.Event()
        try:
            await self._nursery.start(self._run_child, child, child.incarnation)
        except Exception as exc:
            if not child.stopping:
                self._report_crash(child, exc, "before it was ready")
            return exc
        return None

    async def _run_child(
        self, child: _Child, incarnation: int, *, task_status: trio.TaskStatus[None]
    ) -> None:
        """One incarnation of a child: run it, then report how it ended.

        A failure before readiness propagates to `_launch` through nursery.start.
        """
        assert self._nursery is not None
        readiness = _Readiness(
            task_status, child.scope, self._nursery, lambda: self._on_ready(child)
        )
        error: Exception | None = None
        try:
            with child.scope:
                try:
                    await child.spec.start(task_status=readiness)
                except Exception as exc:
                    if not readiness.is_ready:
                        raise
                    error = exc
        finally:
            child.done.set()
        if child.stopping:
            if error is not None:
                self._report_crash(child, error, "while stopping")
            self._record("stopped", child.name)
            if not readiness.is_ready:
                raise RuntimeError(f"child {child.name!r} was stopped before it was ready")
            return
        if not readiness.is_ready:
            raise RuntimeError(f"child {child.name!r} returned without reporting ready")
        if error is not None:
            self._report_crash(child, error, "")
        else:
            self._record("exited", child.name)
        self._exits.append((child, incarnation, error))
        self._wakeup.unpark_all()

    def _on_ready(self, child: _Child) -> None:
        if child.incarnation == 1:
            self._record("started", child.name)
        else:
            child.restarts += 1
            self._record("restarted", child.name)

    def _report_crash(self, child: _Child, exc: Exception, when: str) -> None:
        self._record("crashed", child.name)
        logger.error(
            "%s: child %r crashed%s: %s",
            self.name,
            child.name,
            f" {when}" if when else "",
            describe_error(exc),
        )
        logger.debug("%s: traceback of %r", self.name, child.name, exc_info=exc)

    async def _handle_exit(
        self, child: _Child, error: Exception | None
    ) -> SupervisorEscalation | None:
        """Apply restart type, intensity and strategy to an ended child.

        A child that fails again while being restarted is handled in the same loop.
        """
        pending: deque[tuple[_Child, Exception | None]] = deque([(child, error)])
        while pending:
            child, error = pending.popleft()
            if self._stop_requested:
                return None
            if child not in self._children:
                continue  # stopped by stop_child meanwhile
            if not self._should_restart(child.spec.restart, error):
                self._children.remove(child)
                continue
            if self._intensity_exceeded():
                return SupervisorEscalation(self.name, error)
            group = [child]
            if self.strategy is Strategy.REST_FOR_ONE:
                later = self._children[self._children.index(child) + 1 :]
                for sibling in reversed(later):
                    await self._stop(sibling)
                group += [sibling for sibling in later if sibling in self._children]
            elif self.strategy is Strategy.ONE_FOR_ALL:
                for sibling in reversed(list(self._children)):
                    if sibling is not child:
                        await self._stop(sibling)
                group = list(self._children)
            for member in group:
                if member not in self._children:
                    continue  # stopped by stop_child meanwhile
                failure = await self._launch(member)
                if failure is not None:
                    pending.append((member, failure))
                    break
        return None

    @staticmethod
    def _should_restart(restart: Restart, error: Exception | None) -> bool:
        if restart is Restart.PERMANENT:
            return True
        if restart is Restart.TRANSIENT:
            return error is not None
        return False

    def _intensity_exceeded(self) -> bool:
        """Count one restart now; true if that makes more than max_restarts in within_s."""
        now = trio.current_time()
        self._restart_times.append(now)
        while now - self._restart_times[0] >= self.within_s:
            self._restart_times.popleft()
        return len(self._restart_times) > self.max_restarts

    async def _stop(self, child: _Child) -> None:
        """Cancel one child and wait until it has finished; temporary children go away.

        Not shielded, so that a task stopping its own ancestor is not stuck; shutdown
        ordering is guaranteed by run(), which stops its children under a shield.
        """
        if child.spec.restart is Restart.TEMPORARY and child in self._children:
            self._children.remove(child)
        if child.running:
            child.stopping = True
            child.scope.cancel()
            await child.done.wait()

    async def _stop_all(self) -> None:
        for child in reversed(list(self._children)):
            await self._stop(child)
