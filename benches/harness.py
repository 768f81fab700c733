"""Timing primitives: calibrated repeated samples, medians, and the results file."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass(frozen=True)
class Bench:
    """One figure: `make()` builds a fresh zero-argument callable doing `ops` operations."""

    name: str
    make: Callable[[], Callable[[], object]]
    ops: int = 1
    unit: str = "ns"


@dataclass(frozen=True)
class Figure:
    name: str
    unit: str
    median: float
    min: float
    max: float
    n: int

    def as_json(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "median": round(self.median, 2),
            "min": round(self.min, 2),
            "max": round(self.max, 2),
            "n": self.n,
        }


def measure(bench: Bench, *, samples: int = 25, sample_s: float = 0.02) -> Figure:
    """Per-operation time: calls per sample are calibrated so a sample lasts ~sample_s."""
    fn = bench.make()
    fn()  # warm up (and fail fast)
    calls = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter_ns() - start
        if elapsed >= sample_s * 1e9 or calls >= 1 << 22:
            break
        calls *= 2
    per_op: list[float] = []
    for _ in range(samples):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        per_op.append((time.perf_counter_ns() - start) / (calls * bench.ops))
    return Figure(
        bench.name, bench.unit, statistics.median(per_op), min(per_op), max(per_op), samples
    )


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }


def write_results(figures: Iterable[Figure], notes: list[str], path: Path = RESULTS) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": machine(),
        "figures": {f.name: f.as_json() for f in figures},
        "notes": notes,
    }
    path.write_bytes(orjson.dumps(payload, option=orjson.OPT_INDENT_2))
