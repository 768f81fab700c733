"""Bounded mailboxes with a named overflow policy per edge.

Every edge between actors says what happens when the receiver falls behind: the sender
waits (BLOCK), the newest value replaces an older one (CONFLATE), or the backlog is
thrown away and the receiver told to rebuild from a snapshot (DROP_AND_RESYNC). There is
no unbounded mode. A mailbox belongs to the parent, not to the receiving task: a child
that crashes and is restarted gets the same mailbox with its queued messages intact.
"""

from __future__ import annotations

import enum
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar, final

import outcome
import trio

T = TypeVar("T")


class Overflow(enum.Enum):
    """What a full mailbox does with one more message."""

    BLOCK = enum.auto()
    """The sender waits until there is room (backpressure)."""
    CONFLATE = enum.auto()
    """The newest message replaces a queued one (latest value wins); never waits."""
    DROP_AND_RESYNC = enum.auto()
    """The whole backlog is dropped and the receiver gets RESYNC first; never waits."""


@final
class Resync:
    """Marker telling the receiver that messages were dropped: rebuild from a snapshot."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RESYNC"


RESYNC = Resync()
"""The only Resync instance; compare with `is` or match on `Resync()`."""


class _Slot(Generic[T]):
    """A queued message; mutable so that conflation can replace it in place."""

    __slots__ = ("key", "msg")

    def __init__(self, msg: T, key: Hashable) -> None:
        self.msg = msg
        self.key = key


class Mailbox(Generic[T]):
    """A bounded FIFO of messages of type T with one overflow policy.

    Counters: `sent` counts accepted messages, `received` messages handed out (RESYNC not
    included), `dropped` messages lost to overflow, `conflated` messages overwritten by a
    newer one, `resyncs` overflow events of DROP_AND_RESYNC. At every moment
    `sent == received + dropped + conflated + len(mailbox)`.
    """

    def __init__(
        self,
        name: str,
        capacity: int,
        overflow: Overflow,
        key: Callable[[T], Hashable] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"mailbox {name!r}: capacity must be >= 1, got {capacity}")
        if key is not None and overflow is not Overflow.CONFLATE:
            raise ValueError(f"mailbox {name!r}: a key only makes sense with CONFLATE")
        self.name = name
        self.capacity = capacity
        self.overflow = overflow
        self.key = key
        self.sent = 0
        self.received = 0
        self.dropped = 0
        self.conflated = 0
        self.resyncs = 0
        self._queue: deque[_Slot[T]] = deque()
        self._by_key: dict[Hashable, _Slot[T]] = {}
        self._resync_pending = False
        self._closed = False
        self._receivers = trio.lowlevel.ParkingLot()
        # Senders blocked on a full BLOCK mailbox, each with its message, in arrival
        # order: a receive moves the oldest one into the queue, so senders are served
        # first come, first served and a woken sender never has to retry.
        self._blocked_senders: OrderedDict[trio.lowlevel.Task, T] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"Mailbox({self.name!r}, {len(self)}/{self.capacity}, {self.overflow.name}, "
            f"sent={self.sent}, dropped={self.dropped}, conflated={self.conflated})"
        )

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def closed(self) -> bool:
        return self._closed

    # Sending.

    def send_nowait(self, msg: T) -> None:
        """Queue `msg` without waiting.

        Raises trio.WouldBlock if a BLOCK mailbox is full, trio.ClosedResourceError if
        the mailbox is closed. CONFLATE and DROP_AND_RESYNC never raise WouldBlock.
        """
        if self._closed:
            raise trio.ClosedResourceError(f"mailbox {self.name!r} is closed")
        if self.overflow is Overflow.BLOCK:
            if len(self._queue) >= self.capacity:
                raise trio.WouldBlock
            self._append(msg)
        elif self.overflow is Overflow.CONFLATE:
            self._conflate(msg)
        else:
            self._drop_or_append(msg)
        self.sent += 1
        self._receivers.unpark_all()

    async def send(self, msg: T) -> None:
        """Queue `msg`; on a full BLOCK mailbox wait for room.

        Cancellation: if cancelled while waiting, the message was not queued.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        try:
            self.send_nowait(msg)
        except trio.WouldBlock:
            pass
        else:
            await trio.lowlevel.cancel_shielded_checkpoint()
            return
        task = trio.lowlevel.current_task()
        self._blocked_senders[task] = msg

        def abort(_: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
            del self._blocked_senders[task]
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    def _append(self, msg: T) -> None:
        key = self.key(msg) if self.key is not None else None
        slot = _Slot(msg, key)
        self._queue.append(slot)
        if self.key is not None:
            self._by_key[key] = slot

    def _conflate(self, msg: T) -> None:
        if self.key is not None:
            queued = self._by_key.get(self.key(msg))
            if queued is not None:
                queued.msg = msg
                self.conflated += 1
                return
            if len(self._queue) >= self.capacity:
                # A new key and no room: the oldest entry is the stalest, it goes.
                self._popleft()
                self.dropped += 1
            self._append(msg)
        elif len(self._queue) >= self.capacity:
            self._queue[-1].msg = msg
            self.conflated += 1
        else:
            self._append(msg)

    def _drop_or_append(self, msg: T) -> None:
        if len(self._queue) >= self.capacity:
            self.dropped += len(self._queue)
            self._queue.clear()
            self._by_key.clear()
            self._resync_pending = True
            self.resyncs += 1
        self._append(msg)

    # Receiving.

    def receive_nowait(self) -> T | Resync:
        """Take the next message, or RESYNC if messages were dropped since the last one.

        Raises trio.WouldBlock if there is nothing, trio.EndOfChannel once closed and
        drained.
        """
        if self._resync_pending:
            self._resync_pending = False
            return RESYNC
        if self._queue:
            msg = self._popleft().msg
            self.received += 1
            if self._blocked_senders:
                task, waiting = self._blocked_senders.popitem(last=False)
                self._append(waiting)
                self.sent += 1
                trio.lowlevel.reschedule(task)
            return msg
        if self._closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    async def receive(self) -> T | Resync:
        """Wait for the next message (or RESYNC).

        Cancellation: a cancelled receive has taken nothing; the message stays queued.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            try:
                msg = self.receive_nowait()
            except trio.WouldBlock:
                await self._receivers.park()
            else:
                await trio.lowlevel.cancel_shielded_checkpoint()
                return msg

    def _popleft(self) -> _Slot[T]:
        slot = self._queue.popleft()
        if self.key is not None:
            del self._by_key[slot.key]
        return slot

    def __aiter__(self) -> Mailbox[T]:
        return self

    async def __anext__(self) -> T | Resync:
        try:
            return await self.receive()
        except trio.EndOfChannel:
            raise StopAsyncIteration from None

    # Closing.

    def close(self) -> None:
        """Refuse further sends; receivers drain what is queued, then get EndOfChannel.

        Senders blocked on a full BLOCK mailbox get trio.ClosedResourceError.
        """
        if self._closed:
            return
        self._closed = True
        while self._blocked_senders:
            task, _ = self._blocked_senders.popitem(last=False)
            error = trio.ClosedResourceError(f"mailbox {self.name!r} is closed")
            trio.lowlevel.reschedule(task, outcome.Error(error))
        self._receivers.unpark_all()
