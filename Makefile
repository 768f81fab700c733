# The two commands a newcomer needs: `make run` and `make test`. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.setup-stamp
export PYO3_PYTHON := $(abspath $(PY))

.PHONY: setup native run test lint bench fuzz clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "maturin==1.16.0"
	touch $(STAMP)

setup: $(STAMP)

# Builds the Rust core in release mode into engine/_native and installs the package
# (editable) with its dependencies and the dev tools.
native: $(STAMP)
	$(VENV)/bin/maturin develop --release --extras dev --quiet

run: native
	$(VENV)/bin/polyengine run $(ARGS)

lint: native
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --features python -- -D warnings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(PY) -m mypy.stubtest engine._native

test: native lint
	cargo test
	$(VENV)/bin/pytest

bench: native
	$(PY) -m benches

# Hypothesis state machines (order tracker, pair executor) with the long "fuzz" profile,
# from a random seed (or FUZZ_SEED) that is printed, with the replay command on failure.
FUZZ_EXAMPLES ?= 20000
FUZZ_SEED ?=
fuzz: native
	PYTHON=$(abspath $(PY)) FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) bash tests/fuzz.sh $(FUZZ_SEED)

clean:
	rm -rf $(VENV) target engine/_native*.so
