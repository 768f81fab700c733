"""Faults on demand: the venue's known failure modes, by name, seeded.

`polyengine venue --faults ws-drop,trades-failed` turns them on. Every decision is
derived from the seed and the thing it applies to (an order id, a trade id, a
connection's number), so the same seed and the same client actions give the same faults.
Parameters default to values shaped like the venue's incidents; tests shorten them.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

FAULTS: dict[str, str] = {
    "ws-drop": "WebSocket connections are cut (close 1011) after a seeded 5-20 s",
    "silent-freeze": "the market channel stops sending data after a seeded 5-20 s; "
    "PING still gets PONG (spec 10.5)",
    "delayed-acks": "order and cancel responses are held 0.5-2 s after the venue acted, "
    "so user-channel events arrive first",
    "lost-response": "one order in four is accepted but its response is lost: held 30 s, then 504",
    "duplicate-events": "one user-channel frame in five is sent twice",
    "out-of-order-events": "one user-channel frame in five is held back behind the next",
    "burst-425": "order endpoints answer 425 (restarting) half the time in the last 30 s "
    "of every window",
    "burst-429": "order endpoints answer 429 half the time in the last 30 s of every window",
    "burst-500": "order endpoints answer 500 half the time in the last 30 s of every window",
    "trades-failed": "one trade in three goes MATCHED -> RETRYING -> FAILED and is voided: "
    "balances, fees and vaults return to before it; the orders stay consumed",
    "tick-size-change": "each market's tick goes from 0.01 to 0.001 a seeded 60-300 s "
    "after it opens",
}
"""Every fault by name, with what a client sees (also `polyengine venue --help`)."""

BURST_STATUS = {"burst-425": 425, "burst-429": 429, "burst-500": 500}


def _fraction(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True, slots=True)
class ConnectionFaults:
    """What one WebSocket connection will suffer (None: not at all)."""

    drop_after_s: float | None
    freeze_after_s: float | None
    duplicate_rate: float
    reorder_rate: float
    rng: random.Random


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Which faults are on, with their parameters."""

    seed: int
    enabled: frozenset[str] = frozenset()
    drop_after_s: tuple[float, float] = (5.0, 20.0)
    freeze_after_s: tuple[float, float] = (5.0, 20.0)
    ack_delay_s: tuple[float, float] = (0.5, 2.0)
    lost_response_rate: float = 0.25
    lost_response_hold_s: float = 30.0
    duplicate_rate: float = 0.2
    reorder_rate: float = 0.2
    burst_window_s: float = 30.0
    burst_rate: float = 0.5
    trade_fail_rate: float = 1 / 3
    tick_change_after_s: tuple[float, float] = (60.0, 300.0)
    new_tick: int = 1_000
    _counter: list[int] = field(default_factory=lambda: [0], init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        unknown = sorted(self.enabled - FAULTS.keys())
        if unknown:
            raise ValueError(f"unknown fault {', '.join(unknown)}; known: {', '.join(FAULTS)}")

    @classmethod
    def none(cls, seed: int) -> FaultPlan:
        return cls(seed)

    @classmethod
    def parse(cls, names: str | Iterable[str], seed: int) -> FaultPlan:
        """From "a,b" or a list of names; ValueError naming the unknown ones."""
        items = names.split(",") if isinstance(names, str) else list(names)
        return cls(seed, frozenset(n.strip() for n in items if n.strip()))

    def with_faults(self, *names: str, **params: object) -> FaultPlan:
        """A copy with more faults on and some parameters changed (for tests)."""
        return replace(self, enabled=self.enabled | frozenset(names), **params)  # type: ignore[arg-type]

    def on(self, name: str) -> bool:
        return name in self.enabled

    def _uniform(self, bounds: tuple[float, float], *parts: object) -> float:
        low, high = bounds
        return low + (high - low) * _fraction(self.seed, *parts)

    def trade_fails(self, trade_id: str) -> bool:
        return self.on("trades-failed") and _fraction(self.seed, "fail", trade_id) < (
            self.trade_fail_rate
        )

    def loses_response(self, order_id: str) -> bool:
        return self.on("lost-response") and _fraction(self.seed, "lost", order_id) < (
            self.lost_response_rate
        )

    def ack_delay(self, request_key: str) -> float:
        """Seconds to hold an order or cancel response (0 when delayed-acks is off)."""
        if not self.on("delayed-acks"):
            return 0.0
        return self._uniform(self.ack_delay_s, "ack", request_key)

    def burst_status(self, now_s: float, window_ends: Iterable[int]) -> int | None:
        """An error status to answer instead of an order request, near a window's close."""
        active = [name for name in BURST_STATUS if self.on(name)]
        if not active:
            return None
        if not any(0 <= end - now_s <= self.burst_window_s for end in window_ends):
            return None
        self._counter[0] += 1
        draw = _fraction(self.seed, "burst", self._counter[0])
        if draw >= self.burst_rate:
            return None
        return BURST_STATUS[active[int(draw / self.burst_rate * len(active)) % len(active)]]

    def connection(self, index: int) -> ConnectionFaults:
        """The faults of the `index`-th WebSocket connection the server accepted."""
        drop = self._uniform(self.drop_after_s, "drop", index) if self.on("ws-drop") else None
        freeze = (
            self._uniform(self.freeze_after_s, "freeze", index)
            if self.on("silent-freeze")
            else None
        )
        return ConnectionFaults(
            drop_after_s=drop,
            freeze_after_s=freeze,
            duplicate_rate=self.duplicate_rate if self.on("duplicate-events") else 0.0,
            reorder_rate=self.reorder_rate if self.on("out-of-order-events") else 0.0,
            rng=random.Random(f"ws|{self.seed}|{index}"),
        )

    def tick_change_at(self, condition_id: str, open_ts: int) -> float | None:
        """Unix time at which this market's tick changes (None when the fault is off)."""
        if not self.on("tick-size-change"):
            return None
        return open_ts + self._uniform(self.tick_change_after_s, "tick", condition_id)


def describe() -> str:
    """The fault list for --help, one per line."""
    width = max(len(name) for name in FAULTS)
    return "\n".join(f"  {name:<{width}}  {text}" for name, text in FAULTS.items())
