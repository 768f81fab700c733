"""Reconnect delays: exponential to a cap, seeded jitter within bounds, reset."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.backoff import Backoff


def test_without_jitter_delays_double_to_the_cap_and_restart_after_a_reset() -> None:
    backoff = Backoff(0.5, 8.0, rng=random.Random(1))
    assert [backoff.next_delay() for _ in range(7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_the_multiplier_sets_the_growth() -> None:
    backoff = Backoff(1.0, 100.0, multiplier=3.0, rng=random.Random(1))
    assert [backoff.next_delay() for _ in range(5)] == [1.0, 3.0, 9.0, 27.0, 81.0]


def test_jitter_is_seeded_so_a_seed_repeats_its_delays_and_another_differs() -> None:
    def delays(seed: int) -> list[float]:
        backoff = Backoff(0.5, 30.0, jitter=0.2, rng=random.Random(seed))
        return [backoff.next_delay() for _ in range(8)]

    assert delays(3) == delays(3)
    assert delays(3) != delays(4)


@given(
    initial=st.floats(0.01, 5),
    factor=st.floats(1, 5),
    multiplier=st.floats(1, 10),
    jitter=st.floats(0, 0.99),
    seed=st.integers(0, 1_000),
    attempts=st.integers(1, 200),
)
def test_every_delay_is_within_the_jitter_of_its_step_and_never_above_the_cap(
    initial: float, factor: float, multiplier: float, jitter: float, seed: int, attempts: int
) -> None:
    cap = initial * factor
    backoff = Backoff(initial, cap, multiplier=multiplier, jitter=jitter, rng=random.Random(seed))
    for n in range(attempts):
        step = min(cap, initial * multiplier ** min(n, 64))
        delay = backoff.next_delay()
        assert step * (1 - jitter) - 1e-9 <= delay <= min(cap, step * (1 + jitter)) + 1e-9


@pytest.mark.parametrize(
    ("initial", "cap", "multiplier", "jitter"),
    [(0.0, 1.0, 2.0, 0.1), (1.0, 0.5, 2.0, 0.1), (1.0, 2.0, 0.5, 0.1), (1.0, 2.0, 2.0, 1.0)],
)
def test_nonsense_parameters_are_refused(
    initial: float, cap: float, multiplier: float, jitter: float
) -> None:
    with pytest.raises(ValueError):
        Backoff(initial, cap, multiplier=multiplier, jitter=jitter, rng=random.Random(0))
