"""ShutdownController: first signal is graceful and bounded, a second one exits at once."""

from __future__ import annotations

import os
import signal

import pytest
import trio
import trio.testing

from engine.shutdown import ImmediateExit, ShutdownController


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_first_signal_runs_hooks_in_reverse_order_then_cancels_the_root(
    autojump_clock: trio.testing.MockClock, signum: signal.Signals
) -> None:
    with trio.fail_after(30):
        controller = ShutdownController()
        ran: list[str] = []
        for name in ["flush report", "close feeds", "cancel all open orders"]:

            async def hook(name: str = name) -> None:
                assert controller.stopping.is_set()
                ran.append(name)

            controller.add_hook(name, hook)
        with trio.CancelScope() as root:
            async with trio.open_nursery() as nursery:
                await nursery.start(controller.watch_signals, root)
                os.kill(os.getpid(), signum)
                await trio.sleep_forever()
        assert root.cancelled_caught
        assert ran == ["cancel all open orders", "close feeds", "flush report"]
        assert controller.shutdown_reason == signum.name
        assert [outcome for _, outcome in controller.hook_outcomes] == ["ok", "ok", "ok"]


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_a_second_signal_during_graceful_shutdown_exits_at_once(
    autojump_clock: trio.testing.MockClock, signum: signal.Signals, exit_code: int
) -> None:
    with trio.fail_after(30):
        controller = ShutdownController(hook_timeout_s=5)
        ran: list[str] = []
        cancel_all_running = trio.Event()

        async def flush_report() -> None:
            ran.append("flush report")

        async def cancel_all() -> None:
            cancel_all_running.set()
            await trio.sleep_forever()  # the venue does not answer

        controller.add_hook("flush report", flush_report)
        controller.add_hook("cancel all open orders", cancel_all)
        exits: list[ImmediateExit] = []
        start = trio.current_time()
        try:
            with trio.CancelScope() as root:
                async with trio.open_nursery() as nursery:
                    await nursery.start(controller.watch_signals, root)
                    os.kill(os.getpid(), signum)
                    await cancel_all_running.wait()
                    await trio.sleep(1)
                    os.kill(os.getpid(), signum)
                    await trio.sleep_forever()
        except* ImmediateExit as group:
            exits = [exc for exc in group.exceptions if isinstance(exc, ImmediateExit)]
        assert [exc.exit_code for exc in exits] == [exit_code]
        assert trio.current_time() - start == pytest.approx(1.0)  # not the 5 s hook timeout
        assert ran == []


async def test_a_hanging_hook_is_bounded_by_its_timeout_and_the_next_hook_still_runs(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        controller = ShutdownController(hook_timeout_s=5)
        ran: list[str] = []

        async def flush_report() -> None:
            ran.append("flush report")

        async def cancel_all() -> None:
            await trio.sleep_forever()

        controller.add_hook("flush report", flush_report)
        controller.add_hook("cancel all open orders", cancel_all)
        start = trio.current_time()
        with trio.CancelScope() as root:
            async with trio.open_nursery() as nursery:
                await nursery.start(controller.watch_signals, root)
                os.kill(os.getpid(), signal.SIGINT)
                await trio.sleep_forever()
        assert trio.current_time() - start == pytest.approx(5.0)
        assert ran == ["flush report"]
        assert controller.hook_outcomes == [
            ("cancel all open orders", "timeout"),
            ("flush report", "ok"),
        ]


async def test_a_failing_hook_does_not_stop_the_others(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        controller = ShutdownController()
        ran: list[str] = []

        async def flush_report() -> None:
            ran.append("flush report")

        async def cancel_all() -> None:
            raise ConnectionError("venue unreachable")

        controller.add_hook("flush report", flush_report)
        controller.add_hook("cancel all open orders", cancel_all)
        await controller.request_shutdown("test")  # no root scope known: nothing cancelled
        assert ran == ["flush report"]
        assert controller.hook_outcomes[0] == ("cancel all open orders", "error")


async def test_request_shutdown_takes_the_same_path_and_hooks_survive_outer_cancellation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        controller = ShutdownController(hook_timeout_s=5)
        ran: list[str] = []

        async def cancel_all() -> None:
            await trio.sleep(2)  # still running when the root is cancelled at t=1
            ran.append("cancel all open orders")

        controller.add_hook("cancel all open orders", cancel_all)
        with trio.CancelScope() as root:
            async with trio.open_nursery() as nursery:
                await nursery.start(controller.watch_signals, root)
                nursery.start_soon(controller.request_shutdown, "session over")
                await trio.sleep(1)
                root.cancel()
        assert root.cancelled_caught
        assert ran == ["cancel all open orders"]
        assert controller.shutdown_reason == "session over"
        assert controller.stopping.is_set()


async def test_hooks_cannot_be_added_once_shutdown_has_begun(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(30):
        controller = ShutdownController()

        async def late() -> None:
            pass

        await controller.request_shutdown("test")
        with pytest.raises(RuntimeError, match="already begun"):
            controller.add_hook("late", late)


def test_immediate_exit_is_not_a_failure_supervisors_would_restart() -> None:
    assert not issubclass(ImmediateExit, Exception)
    assert ImmediateExit(signal.SIGINT).exit_code == 130
    assert ImmediateExit(signal.SIGTERM).exit_code == 143


async def test_a_hook_may_have_its_own_bound_longer_or_shorter_than_the_default(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        controller = ShutdownController(hook_timeout_s=5)
        finished: list[str] = []

        async def slow_but_bounded() -> None:  # e.g. closing out the journal's orders
            await trio.sleep(12)
            finished.append("close-out")

        async def hangs() -> None:
            await trio.sleep_forever()

        controller.add_hook("close-out", slow_but_bounded, timeout_s=20)
        controller.add_hook("hangs", hangs, timeout_s=1)
        start = trio.current_time()
        await controller.request_shutdown("test")
        assert finished == ["close-out"]
        assert controller.hook_outcomes == [("hangs", "timeout"), ("close-out", "ok")]
        assert trio.current_time() - start == pytest.approx(13)
        with pytest.raises(RuntimeError):
            controller.add_hook("late", hangs, timeout_s=1)


def test_a_hook_bound_must_be_positive() -> None:
    controller = ShutdownController()

    async def hook() -> None:
        pass

    with pytest.raises(ValueError, match="timeout_s"):
        controller.add_hook("bad", hook, timeout_s=0)
