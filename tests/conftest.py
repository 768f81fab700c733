"""Hypothesis profiles for the whole test suite, chosen by HYPOTHESIS_PROFILE.

ci (the default): derandomized, so `make test` is deterministic and cannot flake; 200
examples for every property test and state machine that does not set its own count.
fuzz (HYPOTHESIS_PROFILE=fuzz; a `make fuzz` target is still to come with issue 6):
FUZZ_EXAMPLES (default 20,000) examples of longer runs, with `@reproduce_failure` blobs,
so any failure found can be replayed exactly.
dev: hypothesis's defaults with random seeds, for local exploration.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=200, stateful_step_count=50, derandomize=True, deadline=None
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "20000")),
    stateful_step_count=100,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)

_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if _PROFILE not in ("ci", "fuzz", "dev"):
    raise RuntimeError(f"HYPOTHESIS_PROFILE must be ci, fuzz or dev, got {_PROFILE!r}")
settings.load_profile(_PROFILE)
