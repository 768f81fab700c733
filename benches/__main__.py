"""Run every suite, print a table and write benches/results/latest.json.

A suite is a module in SUITES with `benches() -> list[Bench]` and, optionally,
`notes() -> list[str]` (for example when an optional peer is not installed).
"""

from __future__ import annotations

import importlib
import sys

from benches.harness import Bench, Figure, measure, write_results

SUITES = [
    "benches.book",
    "benches.frames",
    "benches.journal",
    "benches.models",
    "benches.sign",
    "benches.venue",
]


def main(argv: list[str]) -> int:
    wanted = argv[1:]  # optional name prefixes
    figures: list[Figure] = []
    notes: list[str] = []
    print(f"{'figure':<34} {'median':>12} {'min':>12} {'max':>12}  n")
    for suite_name in SUITES:
        suite = importlib.import_module(suite_name)
        benches: list[Bench] = suite.benches()
        notes.extend(getattr(suite, "notes", list)())
        for bench in benches:
            if wanted and not any(bench.name.startswith(w) for w in wanted):
                continue
            figure = measure(bench)
            figures.append(figure)
            print(
                f"{figure.name:<34} {figure.median:>10.1f}{figure.unit:>2} "
                f"{figure.min:>10.1f}{figure.unit:>2} {figure.max:>10.1f}{figure.unit:>2}  "
                f"{figure.n}",
                flush=True,
            )
    for note in notes:
        print(f"note: {note}")
    write_results(figures, notes)
    print("written benches/results/latest.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
