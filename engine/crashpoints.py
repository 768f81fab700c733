"""Crash points: named places in the order path where a crash test may kill the engine.

The crash test (tests/e2e/test_crash_restart.py) sets `POLYENGINE_CRASH_AT=<point>:<n>`
to have the engine SIGKILL itself the n-th time it passes `<point>`, exactly as a power
cut or the OOM killer would: no `finally`, no flush, no shutdown hook runs. Unset (every
normal run), `crash_point` is a dictionary lookup and nothing else.

The points, in the order an order meets them:

* `after_sign`    the order is signed and journaled, not yet sent
* `after_send`    the venue has the order and answered, the engine has not yet taken the
                  answer in (so it dies before the ack, as if the response were lost)
* `after_cancel`  a cancel is journaled as requested, not yet sent
* `mid_fills`     a fill is journaled, the ledger has not yet booked it
"""

from __future__ import annotations

import os
import signal

ENV = "POLYENGINE_CRASH_AT"
POINTS = frozenset({"after_sign", "after_send", "after_cancel", "mid_fills"})


class CrashPlan:
    """Which point kills the process, on which pass (from `POLYENGINE_CRASH_AT`)."""

    def __init__(self, spec: str | None) -> None:
        self.point = ""
        self.at = 0
        self.passes: dict[str, int] = {}
        if not spec:
            return
        point, _, count = spec.partition(":")
        if point not in POINTS:
            raise ValueError(
                f"{ENV}: unknown crash point {point!r}; allowed: {', '.join(sorted(POINTS))}"
            )
        try:
            self.at = int(count or "1")
        except ValueError:
            raise ValueError(f"{ENV}: {count!r} is not a pass number") from None
        if self.at < 1:
            raise ValueError(f"{ENV}: the pass number must be at least 1, got {self.at}")
        self.point = point

    def should_crash(self, point: str) -> bool:
        """Count a pass through `point`; True on the planned pass."""
        if point != self.point:
            return False
        self.passes[point] = self.passes.get(point, 0) + 1
        return self.passes[point] == self.at


_plan = CrashPlan(os.environ.get(ENV))


def crash_point(point: str) -> None:
    """Die here, at once and uncleanly, if the crash plan says so."""
    if _plan.point and _plan.should_crash(point):
        os.kill(os.getpid(), signal.SIGKILL)
