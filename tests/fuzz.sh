#!/usr/bin/env bash
# `make fuzz`: run the hypothesis state machines (order tracker, pair executor) with the
# "fuzz" profile (tests/conftest.py): FUZZ_EXAMPLES examples each (default 20000), from a
# random seed printed first. A failure prints `@reproduce_failure(...)`; replay it with
#   HYPOTHESIS_PROFILE=fuzz tests/fuzz.sh <seed>
# Usage: tests/fuzz.sh [seed]      (PYTHON overrides the interpreter, default .venv's)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
SEED="${1:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
MACHINES=(
    tests/unit/test_order_tracker_machine.py
    tests/unit/test_pair_executor_machine.py
)
echo "fuzz: seed ${SEED}, ${FUZZ_EXAMPLES:-20000} examples per machine"
echo "fuzz: replay with: tests/fuzz.sh ${SEED}"
HYPOTHESIS_PROFILE=fuzz exec "$PYTHON" -m pytest -p no:cacheprovider -q \
    --hypothesis-seed="${SEED}" --hypothesis-show-statistics "${MACHINES[@]}"
