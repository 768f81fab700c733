"""Mailbox: bounded, one named overflow policy, counters that always add up."""

from __future__ import annotations

from collections import deque

import pytest
import trio
import trio.testing
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.mailbox import RESYNC, Mailbox, Overflow, Resync


def first(msg: tuple[str, int]) -> str:
    return msg[0]


# Capacity and configuration.


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_below_one_is_refused(capacity: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        Mailbox[int]("m", capacity, Overflow.BLOCK)


def test_a_key_is_only_accepted_for_conflation() -> None:
    with pytest.raises(ValueError, match="CONFLATE"):
        Mailbox[tuple[str, int]]("m", 4, Overflow.BLOCK, key=first)


def test_resync_is_a_single_named_marker() -> None:
    assert repr(RESYNC) == "RESYNC"
    assert isinstance(RESYNC, Resync)


# BLOCK.


async def test_block_applies_backpressure_until_the_receiver_takes_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(10):
        box = Mailbox[int]("orders", 2, Overflow.BLOCK)
        await box.send(1)
        await box.send(2)
        with pytest.raises(trio.WouldBlock):
            box.send_nowait(3)
        third_sent = trio.Event()

        async def send_third() -> None:
            await box.send(3)
            third_sent.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_third)
            await trio.sleep(1)
            assert not third_sent.is_set()
            assert len(box) == 2
            assert await box.receive() == 1
            await third_sent.wait()
        assert [box.receive_nowait(), box.receive_nowait()] == [2, 3]
        assert (box.sent, box.received, box.dropped, box.conflated) == (3, 3, 0, 0)


async def test_block_serves_waiting_senders_in_arrival_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(10):
        box = Mailbox[int]("orders", 1, Overflow.BLOCK)
        await box.send(0)
        async with trio.open_nursery() as nursery:
            for value in (1, 2, 3):
                nursery.start_soon(box.send, value)
                await trio.testing.wait_all_tasks_blocked()
            received = [await box.receive() for _ in range(4)]
        assert received == [0, 1, 2, 3]


async def test_a_cancelled_blocked_send_queues_nothing(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(10):
        box = Mailbox[int]("orders", 1, Overflow.BLOCK)
        await box.send(1)
        with trio.move_on_after(1) as timeout:
            await box.send(2)
        assert timeout.cancelled_caught
        assert box.receive_nowait() == 1
        with pytest.raises(trio.WouldBlock):
            box.receive_nowait()
        assert box.sent == 1


# CONFLATE.


def test_conflate_by_key_keeps_the_latest_value_in_its_queue_position() -> None:
    box = Mailbox[tuple[str, int]]("views", 3, Overflow.CONFLATE, key=first)
    for msg in [("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2), ("a", 3)]:
        box.send_nowait(msg)
    assert [box.receive_nowait() for _ in range(3)] == [("a", 3), ("b", 2), ("c", 1)]
    assert (box.sent, box.conflated, box.dropped) == (6, 3, 0)


def test_conflate_by_key_drops_the_oldest_when_a_new_key_finds_no_room() -> None:
    box = Mailbox[tuple[str, int]]("views", 2, Overflow.CONFLATE, key=first)
    for msg in [("a", 1), ("b", 1), ("c", 1)]:
        box.send_nowait(msg)
    assert [box.receive_nowait(), box.receive_nowait()] == [("b", 1), ("c", 1)]
    assert box.dropped == 1


def test_conflate_without_key_replaces_the_newest_when_full() -> None:
    box = Mailbox[int]("views", 2, Overflow.CONFLATE)
    for value in range(1, 6):
        box.send_nowait(value)
    assert [box.receive_nowait(), box.receive_nowait()] == [1, 5]
    assert (box.sent, box.conflated) == (5, 3)


async def test_conflate_never_waits(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(10):
        box = Mailbox[int]("views", 1, Overflow.CONFLATE)
        start = trio.current_time()
        for value in range(100):
            await box.send(value)
        assert trio.current_time() == start
        assert await box.receive() == 99


# DROP_AND_RESYNC.


def test_drop_and_resync_drops_the_backlog_counts_it_and_yields_resync_first() -> None:
    box = Mailbox[int]("frames", 3, Overflow.DROP_AND_RESYNC)
    for value in range(1, 5):  # the 4th finds the mailbox full
        box.send_nowait(value)
    assert (box.dropped, box.resyncs, len(box)) == (3, 1, 1)
    assert box.receive_nowait() is RESYNC
    assert box.receive_nowait() == 4
    with pytest.raises(trio.WouldBlock):
        box.receive_nowait()
    assert box.received == 1


def test_overflows_before_the_receiver_looks_give_one_resync() -> None:
    box = Mailbox[int]("frames", 1, Overflow.DROP_AND_RESYNC)
    for value in range(4):
        box.send_nowait(value)
    assert (box.dropped, box.resyncs) == (3, 3)
    assert box.receive_nowait() is RESYNC
    assert box.receive_nowait() == 3


async def test_a_waiting_receiver_is_woken_with_resync(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(10):
        box = Mailbox[int]("frames", 1, Overflow.DROP_AND_RESYNC)
        box.send_nowait(1)
        box.send_nowait(2)
        got = [await box.receive(), await box.receive()]
        assert got == [RESYNC, 2]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(box.send, 3)
            assert await box.receive() == 3


# Receiving, cancellation, closing.


async def test_a_cancelled_receive_loses_no_message(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(10):
        box = Mailbox[int]("m", 4, Overflow.BLOCK)
        with trio.move_on_after(1):
            await box.receive()
        with trio.CancelScope() as scope:
            scope.cancel()
            box.send_nowait(7)
            await box.receive()  # cancelled at its first checkpoint, takes nothing
        assert scope.cancelled_caught
        assert await box.receive() == 7


async def test_a_receiver_cancelled_right_after_being_woken_still_gets_the_message(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(10):
        box = Mailbox[int]("m", 4, Overflow.BLOCK)
        got: list[int | Resync] = []

        async def receiver(scope: trio.CancelScope) -> None:
            with scope:
                got.append(await box.receive())

        scope = trio.CancelScope()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(receiver, scope)
            await trio.testing.wait_all_tasks_blocked()
            box.send_nowait(1)  # wakes the receiver...
            scope.cancel()  # ...which is cancelled before it runs again
        assert got == [1]
        assert len(box) == 0


async def test_close_refuses_sends_and_ends_receives_once_drained(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(10):
        box = Mailbox[int]("m", 2, Overflow.BLOCK)
        await box.send(1)
        await box.send(2)
        async with trio.open_nursery() as nursery:

            async def blocked_sender() -> None:
                with pytest.raises(trio.ClosedResourceError):
                    await box.send(3)

            nursery.start_soon(blocked_sender)
            await trio.testing.wait_all_tasks_blocked()
            box.close()
        with pytest.raises(trio.ClosedResourceError):
            box.send_nowait(4)
        assert [item async for item in box] == [1, 2]
        with pytest.raises(trio.EndOfChannel):
            await box.receive()


async def test_close_wakes_a_waiting_receiver(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(10):
        box = Mailbox[int]("m", 2, Overflow.CONFLATE)
        async with trio.open_nursery() as nursery:

            async def receiver() -> None:
                with pytest.raises(trio.EndOfChannel):
                    await box.receive()

            nursery.start_soon(receiver)
            await trio.testing.wait_all_tasks_blocked()
            box.close()


# A stateful comparison with a trivial model, for every policy.


class MailboxVersusModel(RuleBasedStateMachine):
    """Drive a mailbox with send_nowait/receive_nowait and a plain list beside it."""

    def __init__(self) -> None:
        super().__init__()
        self.box: Mailbox[tuple[str, int]] | None = None
        self.model: deque[tuple[str, int]] = deque()
        self.resync_pending = False
        self.dropped = 0
        self.conflated = 0
        self.seq = 0

    @precondition(lambda self: self.box is None)
    @rule(
        capacity=st.integers(1, 5),
        policy=st.sampled_from(["block", "conflate", "conflate_by_key", "drop_and_resync"]),
    )
    def create(self, capacity: int, policy: str) -> None:
        if policy == "block":
            self.box = Mailbox("m", capacity, Overflow.BLOCK)
        elif policy == "conflate":
            self.box = Mailbox("m", capacity, Overflow.CONFLATE)
        elif policy == "conflate_by_key":
            self.box = Mailbox("m", capacity, Overflow.CONFLATE, key=first)
        else:
            self.box = Mailbox("m", capacity, Overflow.DROP_AND_RESYNC)

    @precondition(lambda self: self.box is not None)
    @rule(key=st.sampled_from("abc"))
    def send(self, key: str) -> None:
        assert self.box is not None
        self.seq += 1
        msg = (key, self.seq)
        full = len(self.model) >= self.box.capacity
        if self.box.overflow is Overflow.BLOCK:
            if full:
                with pytest.raises(trio.WouldBlock):
                    self.box.send_nowait(msg)
                return
            self.model.append(msg)
        elif self.box.overflow is Overflow.DROP_AND_RESYNC:
            if full:
                self.dropped += len(self.model)
                self.model.clear()
                self.resync_pending = True
            self.model.append(msg)
        elif self.box.key is None:
            if full:
                self.model[-1] = msg
                self.conflated += 1
            else:
                self.model.append(msg)
        else:
            same_key = [i for i, queued in enumerate(self.model) if queued[0] == key]
            if same_key:
                self.model[same_key[0]] = msg
                self.conflated += 1
            else:
                if full:
                    self.model.popleft()
                    self.dropped += 1
                self.model.append(msg)
        self.box.send_nowait(msg)

    @precondition(lambda self: self.box is not None)
    @rule()
    def receive(self) -> None:
        assert self.box is not None
        if self.resync_pending:
            self.resync_pending = False
            assert self.box.receive_nowait() is RESYNC
        elif self.model:
            assert self.box.receive_nowait() == self.model.popleft()
        else:
            with pytest.raises(trio.WouldBlock):
                self.box.receive_nowait()

    @invariant()
    def counters_add_up(self) -> None:
        if self.box is None:
            return
        box = self.box
        assert len(box) == len(self.model) <= box.capacity
        assert (box.dropped, box.conflated) == (self.dropped, self.conflated)
        assert box.sent == box.received + box.dropped + box.conflated + len(box)


TestMailboxVersusModel = MailboxVersusModel.TestCase
