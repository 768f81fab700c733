"""The user channel's connection: authenticated, watched, reconnected, backfilled, and
observable through its health; the secret never reaches a log."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

import httpx
import orjson
import pytest
import trio
from trio_websocket import ConnectionClosed, WebSocketRequest, serve_websocket
from user_channel_kit import FAST, RestTradeHistory, credentials_of, open_desk
from venue_client import new_client, start_server

from actors.user_channel import UserChannelActor
from actors.user_feed import UserEventRouter
from engine.credentials import ApiCredentials
from engine.health import Health
from engine.mailbox import Mailbox, Overflow
from engine.messages import UserChannelHealth
from engine.registry import OrderRegistry
from engine.stats import EngineStats
from engine.venue.server.faults import FaultPlan

LIMIT_S = 60


def router() -> UserEventRouter:
    return UserEventRouter(
        OrderRegistry(), {}, Mailbox("portfolio", 64, Overflow.BLOCK), EngineStats()
    )


class NoHistory:
    async def trades(self, *, after: int | None) -> list[Mapping[str, Any]]:
        return []


async def test_the_subscription_authenticates_for_every_market_and_the_secret_is_never_logged(
    nursery: trio.Nursery, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with trio.fail_after(LIMIT_S):
        plan = FaultPlan.none(5).with_faults("ws-drop", drop_after_s=(0.3, 0.5))
        server = await start_server(nursery, faults=plan)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            desk = await open_desk(nursery, server, http)
            sent = orjson.loads(desk.actor._subscribe_message())
            creds = desk.engine.creds
            assert creds is not None
            assert sent == {
                "auth": {
                    "apiKey": creds.key,
                    "secret": creds.secret,
                    "passphrase": creds.passphrase,
                },
                "markets": [],
                "type": "user",
            }
            while desk.actor.connects < 3:  # drops, reconnects: everything gets logged
                await trio.sleep(0.05)
    assert "user channel" in caplog.text
    assert creds.secret not in caplog.text and creds.passphrase not in caplog.text
    assert creds.secret not in repr(desk.actor.credentials)


async def test_refused_credentials_make_the_channel_error_and_it_keeps_retrying(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "refused")
            good = credentials_of(client)
            bad = ApiCredentials(
                address=good.address, api_key=good.api_key, secret="d3Jvbmc=", passphrase="nope"
            )
            actor = UserChannelActor(server.urls["ws-user"], bad, router(), NoHistory(), FAST)
            nursery.start_soon(actor.run)
            assert await actor.wait_health(Health.ERROR, Health.RUNNING) is Health.ERROR
            assert "credentials refused" in actor.reason and "1008" in actor.reason
            while actor.connects < 2:
                await trio.sleep(0.05)
            assert actor.health is Health.ERROR and actor.syncs == 0


async def test_a_silent_socket_is_abandoned_after_the_watchdog_and_reconnected(
    nursery: trio.Nursery,
) -> None:
    """A venue that accepts and then says nothing, not even PONG: never RUNNING, and
    each connection is dropped after watchdog_s."""
    accepted: list[float] = []

    async def silent(request: WebSocketRequest) -> None:
        ws = await request.accept()
        accepted.append(trio.current_time())
        with contextlib.suppress(ConnectionClosed):
            while True:
                await ws.get_message()  # subscribe and PINGs, never answered

    with trio.fail_after(LIMIT_S):
        server = await nursery.start(serve_websocket, silent, "127.0.0.1", 0, None)
        url = f"ws://127.0.0.1:{server.port}/ws/user"
        config = FAST.model_copy(update={"watchdog_s": 0.5, "backoff_initial_s": 0.05})
        creds = ApiCredentials(address="0x" + "11" * 20, api_key="k", secret="s", passphrase="p")
        actor = UserChannelActor(url, creds, router(), NoHistory(), config)
        nursery.start_soon(actor.run)
        while len(accepted) < 3:
            await trio.sleep(0.05)
        assert actor.health is Health.STARTING and actor.syncs == 0
        assert actor.last_close.startswith("silent for 0.5 s")
        assert accepted[2] - accepted[1] >= 0.5  # the watchdog waited its full time


async def test_health_is_published_running_then_degraded_on_a_drop_then_running_again(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        plan = FaultPlan.none(6).with_faults("ws-drop", drop_after_s=(0.3, 0.5))
        server = await start_server(nursery, faults=plan)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "health")
            box: Mailbox[Any] = Mailbox("health", 64, Overflow.DROP_AND_RESYNC)
            actor = UserChannelActor(
                server.urls["ws-user"], credentials_of(client), router(),
                RestTradeHistory(client), FAST, health_out=box,
            )  # fmt: skip
            scope = trio.CancelScope()
            nursery.start_soon(_run_in, scope, actor)
            await actor.wait_health(Health.RUNNING)
            await actor.wait_health(Health.DEGRADED)
            await actor.wait_health(Health.RUNNING)
            scope.cancel()
            await actor.wait_health(Health.STOPPED)
            seen = []
            while len(box):
                message = box.receive_nowait()
                assert isinstance(message, UserChannelHealth)
                seen.append(message.health)
            assert seen[:3] == [Health.RUNNING, Health.DEGRADED, Health.RUNNING]
            assert seen[-1] is Health.STOPPED


async def _run_in(scope: trio.CancelScope, actor: UserChannelActor) -> None:
    with scope:
        await actor.run()


class FlakyHistory:
    """Fails its first `failures` calls, as a venue answering 5xx would."""

    def __init__(self, inner: RestTradeHistory, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    async def trades(self, *, after: int | None) -> list[Mapping[str, Any]]:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("/data/trades answered 503")
        return await self.inner.trades(after=after)


async def test_a_failed_backfill_is_retried_and_the_channel_is_not_running_until_it_succeeds(
    nursery: trio.Nursery,
) -> None:
    with trio.fail_after(LIMIT_S):
        server = await start_server(nursery)
        async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
            client = await new_client(http, "flaky")
            history = FlakyHistory(RestTradeHistory(client), failures=2)
            actor = UserChannelActor(
                server.urls["ws-user"], credentials_of(client), router(), history, FAST
            )
            nursery.start_soon(actor.run)
            while actor.backfill_failures < 1:
                await trio.sleep(0.01)
            assert actor.health is Health.STARTING
            await actor.wait_health(Health.RUNNING)
            assert actor.backfill_failures == 2 and history.inner.calls == 1
