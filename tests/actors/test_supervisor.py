"""Supervisor: OTP restart types, strategies, intensity and ordered shutdown on Trio."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing

from engine.mailbox import Mailbox, Overflow
from engine.supervisor import (
    ChildSpec,
    Restart,
    Strategy,
    Supervisor,
    SupervisorEscalation,
    describe_error,
)

StartFn = Callable[..., Awaitable[None]]


class Worker:
    """A child the test drives: it runs until told to crash or to return."""

    def __init__(self, name: str, stops: list[str] | None = None) -> None:
        self.name = name
        self.starts = 0
        self.stops = stops if stops is not None else []
        self._kick = trio.Event()
        self._crash = False

    def spec(self, restart: Restart = Restart.PERMANENT) -> ChildSpec:
        return ChildSpec(self.name, self.run, restart)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self.starts += 1
        self._kick = trio.Event()
        task_status.started()
        try:
            await self._kick.wait()
        except trio.Cancelled:
            self.stops.append(self.name)
            raise
        if self._crash:
            raise RuntimeError(f"{self.name} crashed")

    def crash(self) -> None:
        self._crash = True
        self._kick.set()

    def finish(self) -> None:
        self._crash = False
        self._kick.set()


def crashing_every(period_s: float, name: str = "flaky") -> ChildSpec:
    """A child that is ready at once and crashes `period_s` later, every time."""

    async def run(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        await trio.sleep(period_s)
        raise RuntimeError(f"{name} crashed")

    return ChildSpec(name, run)


# Starting.


async def test_children_start_in_order_each_ready_before_the_next(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        log: list[str] = []

        def slow_to_start(name: str) -> ChildSpec:
            async def run(*, task_status: trio.TaskStatus[None]) -> None:
                log.append(f"{name} starting")
                await trio.sleep(1)  # e.g. subscribing and waiting for a snapshot
                log.append(f"{name} ready")
                task_status.started()
                await trio.sleep_forever()

            return ChildSpec(name, run)

        sup = Supervisor("root", [slow_to_start("venue"), slow_to_start("feed")])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            log.append("supervisor ready")
            assert log == [
                "venue starting",
                "venue ready",
                "feed starting",
                "feed ready",
                "supervisor ready",
            ]
            assert sup.children == ["venue", "feed"]
            assert sup.events == [("started", "venue"), ("started", "feed")]
            await sup.stop()


async def test_a_child_failing_before_ready_counts_as_a_crash_and_is_retried(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        attempts = 0

        async def connect(*, task_status: trio.TaskStatus[None]) -> None:
            nonlocal attempts
            attempts += 1
            if attempts == 1:
                raise OSError("connection refused")
            task_status.started()
            await trio.sleep_forever()

        sup = Supervisor("root", [ChildSpec("venue", connect)])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            assert sup.events == [("crashed", "venue"), ("restarted", "venue")]
            await sup.stop()


async def test_a_child_that_can_never_start_escalates_before_the_supervisor_is_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):

        async def broken(*, task_status: trio.TaskStatus[None]) -> None:
            raise OSError("connection refused")

        sup = Supervisor("root", [ChildSpec("venue", broken)], max_restarts=2)
        async with trio.open_nursery() as nursery:
            with pytest.raises(SupervisorEscalation) as caught:
                await nursery.start(sup.run)
        assert isinstance(caught.value.__cause__, OSError)
        assert sup.events.count(("crashed", "venue")) == 3


async def test_cancelling_a_supervisor_while_a_child_starts_does_not_wait_for_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):

        async def never_ready(*, task_status: trio.TaskStatus[None]) -> None:
            await trio.sleep_forever()

        sup = Supervisor("root", [ChildSpec("feed", never_ready)])
        with trio.move_on_after(1) as timeout:
            await sup.run()
        assert timeout.cancelled_caught


# Restarts.


async def test_crashing_child_is_restarted_and_keeps_its_mailbox(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        inbox = Mailbox[str]("feed->market", 16, Overflow.BLOCK)
        received: list[str] = []
        restarted_may_get_ready = trio.Event()
        incarnations = 0

        async def market(*, task_status: trio.TaskStatus[None]) -> None:
            nonlocal incarnations
            incarnations += 1
            if incarnations > 1:
                await restarted_may_get_ready.wait()
            task_status.started()
            async for msg in inbox:
                assert isinstance(msg, str)
                if msg == "poison":
                    raise ValueError("cannot parse frame")
                received.append(msg)

        sup = Supervisor("markets", [ChildSpec("market", market)])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            for msg in ["1", "2", "poison", "3"]:
                await inbox.send(msg)
            await trio.testing.wait_all_tasks_blocked()
            assert sup.events[-1] == ("crashed", "market")
            for msg in ["4", "5"]:  # sent while the child is down
                await inbox.send(msg)
            restarted_may_get_ready.set()
            await inbox.send("6")
            await trio.testing.wait_all_tasks_blocked()
            assert received == ["1", "2", "3", "4", "5", "6"]
            assert sup.restart_count("market") == 1
            assert inbox.sent == inbox.received == 7
            await sup.stop()


async def test_one_for_one_restarts_only_the_failed_child(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        a, b, c = Worker("a"), Worker("b"), Worker("c")
        sup = Supervisor("markets", [a.spec(), b.spec(), c.spec()], Strategy.ONE_FOR_ONE)
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            b.crash()
            await trio.testing.wait_all_tasks_blocked()
            assert sup.events[3:] == [("crashed", "b"), ("restarted", "b")]
            assert (a.starts, b.starts, c.starts) == (1, 2, 1)
            assert [sup.restart_count(name) for name in "abc"] == [0, 1, 0]
            await sup.stop()


async def test_rest_for_one_restarts_the_failed_child_and_those_started_after_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        stops: list[str] = []
        venue, markets, feeds, strategies = (
            Worker(name, stops) for name in ["venue", "markets", "feeds", "strategies"]
        )
        sup = Supervisor(
            "root",
            [venue.spec(), markets.spec(), feeds.spec(), strategies.spec()],
            Strategy.REST_FOR_ONE,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            markets.crash()
            await trio.testing.wait_all_tasks_blocked()
            assert sup.events[4:] == [
                ("crashed", "markets"),
                ("stopped", "strategies"),
                ("stopped", "feeds"),
                ("restarted", "markets"),
                ("restarted", "feeds"),
                ("restarted", "strategies"),
            ]
            assert stops == ["strategies", "feeds"]
            assert [w.starts for w in (venue, markets, feeds, strategies)] == [1, 2, 2, 2]
            assert sup.children == ["venue", "markets", "feeds", "strategies"]
            await sup.stop()


async def test_one_for_all_restarts_every_child_in_start_order_after_one_crashes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        barrier, orders, manager = Worker("reconciler"), Worker("orders"), Worker("manager")
        sup = Supervisor(
            "execution", [barrier.spec(), orders.spec(), manager.spec()], Strategy.ONE_FOR_ALL
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            manager.crash()
            await trio.testing.wait_all_tasks_blocked()
            assert sup.events[3:] == [
                ("crashed", "manager"),
                ("stopped", "orders"),
                ("stopped", "reconciler"),
                ("restarted", "reconciler"),
                ("restarted", "orders"),
                ("restarted", "manager"),
            ]
            assert [w.starts for w in (barrier, orders, manager)] == [2, 2, 2]
            assert sup.children == ["reconciler", "orders", "manager"]
            await sup.stop()


async def test_rest_for_one_removes_temporary_siblings_instead_of_restarting_them(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        client, order = Worker("client"), Worker("order-1")
        sup = Supervisor("root", [client.spec()], Strategy.REST_FOR_ONE)
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.start_child(order.spec(Restart.TEMPORARY))
            client.crash()
            await trio.testing.wait_all_tasks_blocked()
            assert sup.children == ["client"]
            assert order.starts == 1
            await sup.stop()


@pytest.mark.parametrize(
    ("restart", "crashes", "restarted"),
    [
        (Restart.PERMANENT, False, True),
        (Restart.PERMANENT, True, True),
        (Restart.TRANSIENT, False, False),
        (Restart.TRANSIENT, True, True),
        (Restart.TEMPORARY, False, False),
        (Restart.TEMPORARY, True, False),
    ],
    ids=[
        "permanent-returns-is-restarted",
        "permanent-crashes-is-restarted",
        "transient-returns-is-not-restarted",
        "transient-crashes-is-restarted",
        "temporary-returns-is-not-restarted",
        "temporary-crashes-is-not-restarted",
    ],
)
async def test_restart_type_decides_whether_an_ended_child_comes_back(
    autojump_clock: trio.testing.MockClock, restart: Restart, crashes: bool, restarted: bool
) -> None:
    with trio.fail_after(30):
        worker = Worker("w")
        sup = Supervisor("sup", [worker.spec(restart)])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            if crashes:
                worker.crash()
            else:
                worker.finish()
            await trio.testing.wait_all_tasks_blocked()
            ended = ("crashed", "w") if crashes else ("exited", "w")
            if restarted:
                assert sup.events == [("started", "w"), ended, ("restarted", "w")]
                assert (worker.starts, sup.children) == (2, ["w"])
            else:
                assert sup.events == [("started", "w"), ended]
                assert (worker.starts, sup.children) == (1, [])
            await sup.stop()


# Restart intensity.


async def test_exceeding_restart_intensity_escalates_to_the_parent_and_stops_the_children(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        stable = Worker("book")
        inner = Supervisor(
            "markets", [stable.spec(), crashing_every(1.0)], max_restarts=2, within_s=10
        )
        outer = Supervisor("root", [ChildSpec("markets", inner.run)], max_restarts=0)
        with pytest.raises(SupervisorEscalation) as caught:
            await outer.run()
        assert trio.current_time() == pytest.approx(3.0)  # the third crash is one too many
        assert caught.value.supervisor == "root"
        inner_escalation = caught.value.__cause__
        assert isinstance(inner_escalation, SupervisorEscalation)
        assert inner_escalation.supervisor == "markets"
        assert isinstance(inner_escalation.__cause__, RuntimeError)
        assert stable.stops == ["book"]
        assert inner.events[-2:] == [("stopped", "book"), ("escalated", "markets")]
        assert outer.events == [
            ("started", "markets"),
            ("crashed", "markets"),
            ("escalated", "root"),
        ]


async def test_a_parent_restarts_an_escalating_child_supervisor_within_its_own_budget(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        stable = Worker("book")
        inner = Supervisor(
            "markets", [stable.spec(), crashing_every(1.0)], max_restarts=2, within_s=10
        )
        outer = Supervisor("root", [ChildSpec("markets", inner.run)], max_restarts=3)
        async with trio.open_nursery() as nursery:
            await nursery.start(outer.run)
            await trio.sleep(4)  # inner escalated at t=3 and was started afresh
            assert outer.restart_count("markets") == 1
            assert stable.starts == 2
            await outer.stop()


async def test_restarts_spaced_beyond_within_s_do_not_escalate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(120):
        # A crash every 3 s: any 5 s window holds at most 2 restarts, the allowed maximum.
        sup = Supervisor("sup", [crashing_every(3.0)], max_restarts=2, within_s=5)
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await trio.sleep(61)
            assert sup.restart_count("flaky") == 20
            await sup.stop()


async def test_restarts_closer_than_within_s_escalate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(120):
        # A crash every 2 s: the third within 5 s (at t=6) is one too many.
        sup = Supervisor("sup", [crashing_every(2.0)], max_restarts=2, within_s=5)
        with pytest.raises(SupervisorEscalation):
            await sup.run()
        assert trio.current_time() == pytest.approx(6.0)


# Dynamic children.


async def test_start_child_adds_a_child_after_the_others_once_it_is_ready(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        ready_at: list[float] = []

        async def order_actor(*, task_status: trio.TaskStatus[None]) -> None:
            await trio.sleep(0.5)  # e.g. signing and submitting
            ready_at.append(trio.current_time())
            task_status.started()
            await trio.sleep_forever()

        sup = Supervisor("orders", [Worker("manager").spec()])
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            await sup.start_child(ChildSpec("order-1", order_actor, Restart.TEMPORARY))
            assert ready_at == [pytest.approx(trio.current_time())]
            assert sup.children == ["manager", "order-1"]
            with pytest.raises(ValueError, match="already has"):
                await sup.start_child(ChildSpec("order-1", order_actor, Restart.TEMPORARY))
            await sup.stop_child("order-1")
            assert sup.children == ["manager"]
            assert sup.events[-1] == ("stopped", "order-1")
            await sup.stop()


async def test_a_dynamic_child_failing_before_ready_raises_to_the_caller(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):

        async def rejected(*, task_status: trio.TaskStatus[None]) -> None:
            raise ValueError("order rejected by risk")

        sup = Supervisor("orders")
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            with pytest.raises(ValueError, match="rejected"):
                await sup.start_child(ChildSpec("order-1", rejected, Restart.TEMPORARY))
            assert sup.children == []
            await sup.stop()


# Shutdown.


@pytest.mark.parametrize("how", ["stop", "cancel"])
async def test_shutdown_runs_in_reverse_start_order(
    autojump_clock: trio.testing.MockClock, how: str
) -> None:
    with trio.fail_after(30):
        log: list[str] = []

        def actor(name: str) -> ChildSpec:
            async def run(*, task_status: trio.TaskStatus[None]) -> None:
                task_status.started()
                try:
                    await trio.sleep_forever()
                finally:
                    log.append(f"{name} stopping")
                    with trio.CancelScope(shield=True):
                        await trio.sleep(1)  # e.g. cancelling its open orders
                    log.append(f"{name} stopped")

            return ChildSpec(name, run)

        sup = Supervisor("root", [actor("venue"), actor("markets"), actor("feeds")])
        with trio.CancelScope() as root:
            async with trio.open_nursery() as nursery:
                await nursery.start(sup.run)
                if how == "stop":
                    await sup.stop()
                else:
                    root.cancel()
        assert log == [
            "feeds stopping",
            "feeds stopped",
            "markets stopping",
            "markets stopped",
            "venue stopping",
            "venue stopped",
        ]
        assert sup.events[3:] == [
            ("stopped", "feeds"),
            ("stopped", "markets"),
            ("stopped", "venue"),
        ]


async def test_crashes_are_logged_with_type_and_message(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    with trio.fail_after(30):
        worker = Worker("feed")
        seen: list[tuple[str, str]] = []
        sup = Supervisor("root", [worker.spec()], on_event=lambda *event: seen.append(event))
        with caplog.at_level(logging.ERROR, logger="polyengine.supervisor"):
            async with trio.open_nursery() as nursery:
                await nursery.start(sup.run)
                worker.crash()
                await trio.testing.wait_all_tasks_blocked()
                await sup.stop()
        assert "root: child 'feed' crashed: RuntimeError: feed crashed" in caplog.text
        assert seen == sup.events


async def test_a_child_may_stop_its_own_supervisor(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        other = Worker("other")

        async def session_timer(*, task_status: trio.TaskStatus[None]) -> None:
            task_status.started()
            await trio.sleep(10)
            await sup.stop()

        sup = Supervisor("root", [other.spec(), ChildSpec("timer", session_timer)])
        await sup.run()
        assert trio.current_time() == pytest.approx(10.0)
        assert sup.events[-2:] == [("stopped", "timer"), ("stopped", "other")]


async def test_a_grandchild_may_stop_its_own_ancestor(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):

        async def fatal(*, task_status: trio.TaskStatus[None]) -> None:
            task_status.started()
            await trio.sleep(1)
            await outer.stop_child("markets")

        inner = Supervisor("markets", [ChildSpec("market", fatal)])
        outer = Supervisor("root", [ChildSpec("markets", inner.run)])
        async with trio.open_nursery() as nursery:
            await nursery.start(outer.run)
            await trio.sleep(2)
            assert outer.children == []
            assert inner.events[-1] == ("stopped", "market")
            await outer.stop()


async def test_the_event_log_stays_bounded_with_many_short_lived_children(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):

        async def order_actor(*, task_status: trio.TaskStatus[None]) -> None:
            task_status.started()  # and done at once: its order is final

        sup = Supervisor("orders", max_events=8)
        async with trio.open_nursery() as nursery:
            await nursery.start(sup.run)
            for i in range(100):
                await sup.start_child(ChildSpec(f"order-{i}", order_actor, Restart.TEMPORARY))
            await trio.testing.wait_all_tasks_blocked()
            assert len(sup.events) <= 8
            assert sup.events[-2:] == [("started", "order-99"), ("exited", "order-99")]
            assert sup.children == []
            await sup.stop()


def test_a_crash_inside_a_nursery_is_logged_by_what_failed_inside_it() -> None:
    group = ExceptionGroup(
        "Exceptions from Trio nursery", [ExceptionGroup("inner", [KeyError("tok")])]
    )
    assert describe_error(group) == "ExceptionGroup of KeyError: 'tok'"
    assert describe_error(ValueError("bad")) == "ValueError: bad"
