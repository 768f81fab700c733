"""Graceful shutdown on SIGINT/SIGTERM, or on request.

The first signal (or request_shutdown) sets `stopping`, so actors stop taking new
intents, then runs the shutdown hooks newest first, each bounded by a timeout and
shielded from outer cancellation so that "cancel all open orders" runs even while the
program is being torn down; last it cancels the root scope and the program exits 0.
A signal that arrives while this graceful path runs means "now": ImmediateExit.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable

import trio

logger = logging.getLogger("polyengine.shutdown")

Hook = Callable[[], Awaitable[None]]


class ImmediateExit(BaseException):
    """The operator insisted (second signal): leave now with `exit_code`.

    A BaseException like KeyboardInterrupt and SystemExit, so that no supervisor treats
    it as a failure to restart. It may reach the CLI inside an ExceptionGroup: catch it
    with `except* ImmediateExit`.
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        super().__init__(f"{signal.Signals(signum).name} during shutdown: exit {self.exit_code}")


class ShutdownController:
    """Runs the graceful shutdown path once, on the first signal or request."""

    def __init__(self, hook_timeout_s: float = 5.0) -> None:
        if hook_timeout_s <= 0:
            raise ValueError(f"hook_timeout_s must be > 0, got {hook_timeout_s}")
        self.hook_timeout_s = hook_timeout_s
        self.stopping = trio.Event()
        """Set when shutdown begins: actors stop taking new intents."""
        self.shutdown_reason: str | None = None
        self.hook_outcomes: list[tuple[str, str]] = []
        """(hook name, "ok" | "timeout" | "error") in the order the hooks ran."""
        self._hooks: list[tuple[str, Hook, float]] = []
        self._root: trio.CancelScope | None = None
        self._hooks_scope: trio.CancelScope | None = None
        self._finished = trio.Event()

    def add_hook(self, name: str, hook: Hook, *, timeout_s: float | None = None) -> None:
        """Register `hook` to run at shutdown; hooks run newest first, each within its
        own `timeout_s` (default: the controller's `hook_timeout_s`).

        Raises RuntimeError once shutdown has begun: the hook would never run.
        """
        if self.stopping.is_set():
            raise RuntimeError(f"shutdown already begun, hook {name!r} would not run")
        if any(existing == name for existing, _, _ in self._hooks):
            raise ValueError(f"a shutdown hook named {name!r} already exists")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError(f"hook {name!r}: timeout_s must be > 0, got {timeout_s}")
        self._hooks.append((name, hook, self.hook_timeout_s if timeout_s is None else timeout_s))

    async def watch_signals(
        self,
        cancel_scope: trio.CancelScope,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Handle SIGINT/SIGTERM until `cancel_scope` (the root) is cancelled.

        Ready once the signal handlers are installed. First signal: graceful path, then
        `cancel_scope.cancel()`. A signal during the graceful path: abandon the hooks and
        raise ImmediateExit (exit code 130 for SIGINT, 143 for SIGTERM).
        """
        self._root = cancel_scope
        immediate: ImmediateExit | None = None
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                task_status.started()
                async for signum in signals:
                    name = signal.Signals(signum).name
                    if self.stopping.is_set():
                        logger.warning("%s during shutdown: exiting at once", name)
                        immediate = ImmediateExit(signum)
                        if self._hooks_scope is not None:
                            self._hooks_scope.cancel()
                        nursery.cancel_scope.cancel()
                        break
                    logger.warning("%s received: shutting down (again to exit at once)", name)
                    self._begin(name)
                    nursery.start_soon(self._graceful)
        if immediate is not None:
            raise immediate

    async def request_shutdown(self, reason: str) -> None:
        """Start the graceful path from the program itself (e.g. the session is over).

        Runs the hooks in the calling task and returns once the root scope is cancelled
        (the caller is usually inside it and is cancelled right after). If shutdown has
        already begun, waits for it to finish instead.
        """
        if self.stopping.is_set():
            await self._finished.wait()
            return
        logger.info("shutdown requested: %s", reason)
        self._begin(reason)
        await self._graceful()

    def _begin(self, reason: str) -> None:
        self.shutdown_reason = reason
        self.stopping.set()

    async def _graceful(self) -> None:
        """Run the hooks newest first, each bounded and shielded; then cancel the root."""
        try:
            with trio.CancelScope(shield=True) as self._hooks_scope:
                for name, hook, timeout_s in reversed(self._hooks):
                    outcome = await self._run_hook(name, hook, timeout_s)
                    self.hook_outcomes.append((name, outcome))
        finally:
            self._hooks_scope = None
            self._finished.set()
        if self._root is not None:
            self._root.cancel()

    async def _run_hook(self, name: str, hook: Hook, timeout_s: float) -> str:
        """Run one hook within `timeout_s`; a failing hook never stops the next one."""
        with trio.move_on_after(timeout_s) as deadline:
            try:
                await hook()
            except Exception as exc:
                logger.error("shutdown hook %r failed: %s: %s", name, type(exc).__name__, exc)
                return "error"
        if deadline.cancelled_caught:
            logger.error("shutdown hook %r timed out after %s s", name, timeout_s)
            return "timeout"
        logger.info("shutdown hook %r done", name)
        return "ok"
