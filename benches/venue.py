"""Venue server figures: frames to one WebSocket client, orders from one HTTP client.

The server runs on Trio in a child process (real clock, loopback, port 0); the client
runs in the measuring process. Both figures are per
operation (ns per frame, ns per order): frames/s = 1e9 / median.

* `venue.ws_frames_to_one_client`: the server queues a batch of recorded-size
  `price_change` frames for one market subscriber; the client receives them all.
* `venue.post_order_one_client`: one signed GTC order per call over a kept-alive
  connection, signature recovery and matching included, client signing excluded.
"""

from __future__ import annotations

import atexit
import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import orjson
import trio
import trio.lowlevel
from websockets.sync.client import connect

from benches.harness import Bench
from engine._native import OrderSigner, l2_hmac_signature
from engine.units import UNIT
from engine.venue.matching import MarketStatus
from engine.venue.scenario import make_updown_market
from engine.venue.server.app import ServerConfig, VenueServer
from engine.venue.server.ratelimit import RateLimiter

FRAMES_PER_CALL = 200
KEY = bytes([0x5B] * 32)
"""A throwaway benchmark key, never funded anywhere."""


class VenueProcess:
    """A venue server in a child process (`python -m benches.venue`), so that client and
    server each have their own interpreter and core, as in production.

    The child lists one open market, prints `{"urls", "token", "condition"}` as one JSON
    line and then obeys stdin: `publish N` queues N frames to the market's subscribers
    and answers `ok`; end of input stops it.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benches.venue"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        hello = orjson.loads(self.process.stdout.readline())
        self.urls: dict[str, str] = hello["urls"]
        self.token: str = hello["token"]
        self.condition: str = hello["condition"]

    def publish(self, count: int) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"publish {count}\n")
        self.process.stdin.flush()
        if self.process.stdout.readline().strip() != "ok":
            raise RuntimeError("the venue process did not publish")

    def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(10)


_VENUE: list[VenueProcess] = []


def venue() -> VenueProcess:
    """One server for the whole suite (started on first use, stopped at exit)."""
    if not _VENUE:
        _VENUE.append(VenueProcess())
        atexit.register(_VENUE[0].stop)
    return _VENUE[0]


def _frame(token: str, condition: str, index: int) -> bytes:
    price = f"0.{40 + index % 20}"
    change = {
        "asset_id": token,
        "price": price,
        "size": str(100 + index),
        "side": "BUY",
        "hash": f"{index:040x}",
        "best_bid": price,
        "best_ask": "0.61",
    }
    body = {
        "event_type": "price_change",
        "market": condition,
        "timestamp": str(1_790_000_000_000 + index),
        "price_changes": [change],
    }
    return orjson.dumps(body)


def ws_frames() -> Callable[[], object]:
    child = venue()
    socket = connect(child.urls["ws-market"], open_timeout=5)
    socket.send(orjson.dumps({"assets_ids": [child.token], "type": "market"}).decode())
    socket.recv(timeout=5)  # the snapshot

    def once() -> None:
        child.publish(FRAMES_PER_CALL)
        for _ in range(FRAMES_PER_CALL):
            socket.recv(timeout=5)

    return once


def _l1_headers(signer: OrderSigner) -> dict[str, str]:
    """L1 headers signed by the engine's native ClobAuth signature."""
    ts = int(time.time())
    return {
        "POLY_ADDRESS": signer.address,
        "POLY_SIGNATURE": signer.clob_auth_signature(ts),
        "POLY_TIMESTAMP": str(ts),
        "POLY_NONCE": "0",
    }


def _signed_order(signer: OrderSigner, owner: str, token: int, salt: int) -> bytes:
    """A GTC BUY of 5 shares built and signed as the engine does (native, one call)."""
    return signer.sign_limit_order(
        str(token), 0, (1 + salt % 30) * 10_000, 5 * UNIT, 10_000,
        neg_risk=False, exchange_version=2, order_type="GTC", post_only=False,
        salt=salt, timestamp_ms=int(time.time() * 1000), owner=owner,
    ).body  # fmt: skip


def post_orders() -> Callable[[], object]:
    child = venue()
    signer = OrderSigner(KEY)
    http = httpx.Client(base_url=child.urls["clob"])
    created = http.get("/auth/derive-api-key", headers=_l1_headers(signer))
    if created.status_code != 200:
        created = http.post("/auth/api-key", headers=_l1_headers(signer))
    creds = created.json()
    token = int(child.token)
    salts = itertools.count(int(time.time() * 1000))
    pool = [_signed_order(signer, creds["apiKey"], token, next(salts)) for _ in range(1_000)]

    def once() -> None:
        body = pool.pop() if pool else _signed_order(signer, creds["apiKey"], token, next(salts))
        ts = int(time.time())
        headers = {
            "POLY_ADDRESS": signer.address,
            "POLY_SIGNATURE": l2_hmac_signature(creds["secret"], ts, "POST", "/order", body),
            "POLY_TIMESTAMP": str(ts),
            "POLY_API_KEY": creds["apiKey"],
            "POLY_PASSPHRASE": creds["passphrase"],
            "Content-Type": "application/json",
        }
        response = http.post("/order", content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"order refused: {response.text}")

    return once


def benches() -> list[Bench]:
    return [
        Bench("venue.ws_frames_to_one_client", ws_frames, ops=FRAMES_PER_CALL),
        Bench("venue.post_order_one_client", post_orders),
    ]


def notes() -> list[str]:
    return ["venue: per-operation ns; frames/s or orders/s = 1e9 / median"]


async def _serve() -> None:
    """The child process: serve, announce, then publish frames on command."""
    server = VenueServer(ServerConfig(traders=False, windows=1, limiter=RateLimiter.off()))
    spec = make_updown_market(99, 2_000_000_700 // 900 * 900)
    token = spec.token_ids[0]
    frames = [_frame(token, spec.condition_id, i) for i in range(FRAMES_PER_CALL)]
    async with trio.open_nursery() as nursery:
        await nursery.start(server.run)
        server.venue.list_market(spec, MarketStatus.OPEN)
        hello = {"urls": server.urls, "token": token, "condition": spec.condition_id}
        print(orjson.dumps(hello).decode(), flush=True)
        stdin = trio.lowlevel.FdStream(os.dup(0))
        buffer = b""
        while True:
            chunk = await stdin.receive_some()
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                count = int(line.split()[1])
                for index in range(count):
                    server.venue.publish_market_frame(frames[index % len(frames)], (token,))
                print("ok", flush=True)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(_serve)
