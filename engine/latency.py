"""Latency samples and their percentiles, in integer nanoseconds."""

from __future__ import annotations

from dataclasses import dataclass, field

PERCENTILES = (50, 90, 99)


@dataclass
class LatencyRecorder:
    """Keeps every sample of one path (a session has thousands, not millions)."""

    name: str
    samples: list[int] = field(default_factory=list)

    def record(self, nanoseconds: int) -> None:
        self.samples.append(nanoseconds)

    def summary(self) -> dict[str, int]:
        """count, min, p50, p90, p99 and max by the nearest-rank method (0s when empty)."""
        if not self.samples:
            return {"count": 0, "min": 0, "p50": 0, "p90": 0, "p99": 0, "max": 0}
        ordered = sorted(self.samples)
        out = {"count": len(ordered), "min": ordered[0], "max": ordered[-1]}
        for pct in PERCENTILES:
            rank = max(1, -(-pct * len(ordered) // 100))  # ceil(pct/100 * n), at least 1
            out[f"p{pct}"] = ordered[rank - 1]
        return out
