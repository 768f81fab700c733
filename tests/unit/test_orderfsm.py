"""The order state table: allowed moves, absorbing terminals, the reality edges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.orderfsm import (
    TERMINAL,
    TRANSITIONS,
    InvalidTransition,
    OrderEvent,
    OrderState,
    next_state,
)


def run(*events: OrderEvent) -> OrderState:
    state = OrderState.INITIALIZED
    for event in events:
        new = next_state(state, event)
        state = state if new is None else new
    return state


def test_happy_path_of_a_resting_order() -> None:
    assert run(
        OrderEvent.SUBMIT, OrderEvent.ACCEPT, OrderEvent.PARTIAL_FILL, OrderEvent.FULL_FILL
    ) is (OrderState.FILLED)


def test_a_fill_may_arrive_before_the_ack() -> None:
    assert run(OrderEvent.SUBMIT, OrderEvent.PARTIAL_FILL, OrderEvent.ACCEPT) is (
        OrderState.PARTIALLY_FILLED
    )


def test_a_late_fill_after_a_cancel_request_still_counts() -> None:
    state = run(
        OrderEvent.SUBMIT, OrderEvent.ACCEPT, OrderEvent.CANCEL_REQUEST, OrderEvent.FULL_FILL
    )
    assert state is OrderState.FILLED


def test_a_cancel_rejected_because_the_order_lives_returns_to_accepted() -> None:
    state = run(
        OrderEvent.SUBMIT, OrderEvent.ACCEPT, OrderEvent.CANCEL_REQUEST, OrderEvent.CANCEL_REJECTED
    )
    assert state is OrderState.ACCEPTED


def test_an_unknown_submit_is_resolved_by_what_the_venue_says() -> None:
    assert run(OrderEvent.SUBMIT, OrderEvent.SUBMIT_UNKNOWN) is OrderState.UNKNOWN
    assert run(OrderEvent.SUBMIT, OrderEvent.SUBMIT_UNKNOWN, OrderEvent.ACCEPT) is (
        OrderState.ACCEPTED
    )


def test_an_invalid_transition_raises() -> None:
    with pytest.raises(InvalidTransition, match="accept is not allowed in state initialized"):
        next_state(OrderState.INITIALIZED, OrderEvent.ACCEPT)


@given(st.sampled_from(sorted(TERMINAL, key=lambda s: s.value)), st.sampled_from(list(OrderEvent)))
def test_terminal_states_absorb_every_event(state: OrderState, event: OrderEvent) -> None:
    assert next_state(state, event) is None


def test_no_transition_leaves_a_terminal_state() -> None:
    assert not any(state.terminal for state, _ in TRANSITIONS)


def test_every_non_terminal_state_can_reach_a_terminal_state() -> None:
    for start in OrderState:
        seen, frontier = {start}, [start]
        while frontier:
            state = frontier.pop()
            for (src, _), dst in TRANSITIONS.items():
                if src is state and dst not in seen:
                    seen.add(dst)
                    frontier.append(dst)
        assert seen & TERMINAL, start
