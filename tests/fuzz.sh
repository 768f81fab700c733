#!/usr/bin/env bash
# `make fuzz`: run the hypothesis state machines (order tracker, pair executor) with the
# "fuzz" profile (tests/conftest.py): FUZZ_EXAMPLES examples each (default 20000), from a
# random seed printed first and again at the end. A failure also prints
# `@reproduce_failure(...)`; the same seed with the same FUZZ_EXAMPLES replays the run:
#   HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=<n> python -m pytest --hypothesis-seed=<seed> ...
# (printed in full on failure), or simply `tests/fuzz.sh <seed>`.
# Usage: tests/fuzz.sh [seed]      (PYTHON overrides the interpreter, default .venv's;
#                                   `make fuzz` passes the Makefile's $(PY))
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
EXAMPLES="${FUZZ_EXAMPLES:-20000}"
SEED="${1:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}"
MACHINES=(
    tests/unit/test_order_tracker_machine.py
    tests/unit/test_pair_executor_machine.py
)
if ! [[ "$SEED" =~ ^[0-9]+$ ]]; then
    echo "fuzz: the seed must be a non-negative integer, got '${SEED}'" >&2
    exit 2
fi
if ! [[ "$EXAMPLES" =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz: FUZZ_EXAMPLES must be a positive integer, got '${EXAMPLES}'" >&2
    exit 2
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "fuzz: no Python interpreter at '${PYTHON}' (run \`make native\` or set PYTHON)" >&2
    exit 2
fi
export HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES="$EXAMPLES"
REPLAY="HYPOTHESIS_PROFILE=fuzz FUZZ_EXAMPLES=${EXAMPLES} ${PYTHON} -m pytest -p no:cacheprovider --hypothesis-seed=${SEED} ${MACHINES[*]}"
echo "fuzz: seed ${SEED}, ${EXAMPLES} examples per machine"
echo "fuzz: replay with: tests/fuzz.sh ${SEED}   (or: ${REPLAY})"
status=0
"$PYTHON" -m pytest -p no:cacheprovider -q \
    --hypothesis-seed="${SEED}" --hypothesis-show-statistics "${MACHINES[@]}" || status=$?
if [ "$status" -ne 0 ]; then
    echo "fuzz: FAILED (pytest exit ${status}) after ${SECONDS}s with seed ${SEED}" >&2
    echo "fuzz: replay exactly with: ${REPLAY}" >&2
    echo "fuzz: or paste the @reproduce_failure(...) decorator printed above onto the failing TestCase" >&2
    exit "$status"
fi
echo "fuzz: passed in ${SECONDS}s, seed ${SEED}, ${EXAMPLES} examples per machine"
