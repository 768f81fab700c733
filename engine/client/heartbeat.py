"""The venue's dead-man switch: heartbeats that keep our orders alive.

Once an API key has sent one heartbeat, the venue cancels ALL its orders if no next
heartbeat arrives within ~10 s (spec 2 and 10.11). Each heartbeat carries the id the
previous answer gave; a 400 "Invalid Heartbeat ID" names the id the venue wants, which
is adopted at once. If no heartbeat has succeeded for longer than the venue's timeout,
the switch has fired: the actor marks itself `lost`, sets `lost_event`, calls
`on_lost` and says so once in the log, so the engine treats every order as canceled.

Timing is measured from when a successful heartbeat was SENT (the venue records it
somewhere between send and answer), so "lost" is never reported later than the venue
acts; at worst it is reported a round trip early.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from engine.client.errors import HeartbeatMismatch, VenueError
from engine.client.rest import RestClient
from engine.health import Health

logger = logging.getLogger("polyengine.client.heartbeat")


class HeartbeatMonitor:
    """Pure: is the venue's switch armed, and has it fired? (times from the caller)."""

    def __init__(self, timeout_s: float) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.timeout_s = timeout_s
        self.last_ok: float | None = None
        """Send time of the last heartbeat the venue accepted (None: switch not armed)."""
        self.lost = False
        self.failing = False

    @property
    def deadline(self) -> float | None:
        """When the venue's switch fires unless another heartbeat succeeds first."""
        return None if self.last_ok is None else self.last_ok + self.timeout_s

    def succeeded(self, sent_at: float) -> bool:
        """A heartbeat sent at `sent_at` was accepted; True if this ends a loss."""
        recovered = self.lost
        self.last_ok = sent_at if self.last_ok is None else max(self.last_ok, sent_at)
        self.lost = False
        self.failing = False
        return recovered

    def failed(self) -> None:
        self.failing = True

    def check(self, now: float) -> bool:
        """True exactly once per loss: the first check past the deadline."""
        deadline = self.deadline
        if self.lost or deadline is None or now <= deadline:
            return False
        self.lost = True
        return True

    @property
    def health(self) -> Health:
        if self.lost:
            return Health.ERROR
        if self.last_ok is None:
            return Health.STARTING
        return Health.DEGRADED if self.failing else Health.RUNNING


class HeartbeatActor:
    """Posts /v1/heartbeats every `interval_s` through `client`; a supervised actor.

    `run` reports ready (task_status.started) after the first accepted heartbeat, i.e.
    once the switch is armed and orders placed from then on are protected by it.
    Failed heartbeats are retried after `retry_s`. On cancellation it simply stops
    sending: the venue then cancels every order `timeout_s` later (which is the point
    of a dead-man switch when the engine dies).
    """

    def __init__(
        self,
        client: RestClient,
        *,
        interval_s: float | None = None,
        timeout_s: float | None = None,
        retry_s: float | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.interval_s = (
            interval_s if interval_s is not None else client.config.heartbeat_interval_s
        )
        timeout = timeout_s if timeout_s is not None else client.config.heartbeat_timeout_s
        if self.interval_s >= timeout:
            raise ValueError(
                f"heartbeat interval {self.interval_s}s must be below the venue timeout {timeout}s"
            )
        self.retry_s = retry_s if retry_s is not None else min(self.interval_s, 1.0)
        self.on_lost = on_lost
        self.monitor = HeartbeatMonitor(timeout)
        self.heartbeat_id: str | None = None
        self.lost_event = trio.Event()
        """Set when the venue's switch fired; a new Event replaces it after recovery."""
        self.sent = 0
        self.failures = 0
        self.losses = 0
        self.adopted = 0
        """Times the venue named another heartbeat id and it was adopted."""
        self._wake = trio.Event()

    @property
    def lost(self) -> bool:
        return self.monitor.lost

    @property
    def health(self) -> Health:
        return self.monitor.health

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._watchdog)
            ready = False
            while True:
                ok = await self._beat()
                if ok and not ready:
                    ready = True
                    task_status.started()
                await trio.sleep(self.interval_s if ok else self.retry_s)

    async def _beat(self) -> bool:
        """One heartbeat (adopting the venue's id on a mismatch); True if accepted."""
        for _ in range(2):
            sent_at = trio.current_time()
            self.sent += 1
            try:
                new_id = await self.client.heartbeat(self.heartbeat_id)
            except HeartbeatMismatch as exc:
                logger.info("heartbeat id out of step; adopting the venue's")
                self.heartbeat_id = exc.expected_id
                self.adopted += 1
                continue
            except VenueError as exc:
                self.failures += 1
                if not self.monitor.failing:
                    logger.warning("heartbeat failed: %s", exc)
                self.monitor.failed()
                return False
            self.heartbeat_id = new_id
            if self.monitor.succeeded(sent_at):
                logger.warning("heartbeats resumed: a new session protects orders from now on")
                self.lost_event = trio.Event()
            self._wake.set()
            return True
        self.monitor.failed()
        return False

    async def _watchdog(self) -> None:
        """Notice, on time, when the venue's switch must have fired."""
        while True:
            deadline = self.monitor.deadline
            if deadline is None or self.monitor.lost:
                await self._wake.wait()
            else:
                with trio.move_on_at(deadline + 1e-3):
                    await self._wake.wait()
            self._wake = trio.Event()
            if self.monitor.check(trio.current_time()):
                self._report_lost()

    def _report_lost(self) -> None:
        self.losses += 1
        logger.error(
            "no heartbeat accepted for over %.1fs: the venue has canceled all our orders",
            self.monitor.timeout_s,
        )
        self.lost_event.set()
        if self.on_lost is not None:
            self.on_lost()
