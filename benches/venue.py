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
from typing import Any

import httpx
import orjson
import trio
import trio.lowlevel
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from websockets.sync.client import connect

from benches.harness import Bench
from engine.units import UNIT
from engine.venue.matching import MarketStatus
from engine.venue.scenario import make_updown_market
from engine.venue.server.app import ServerConfig, VenueServer
from engine.venue.server.auth import hmac_signature
from engine.venue.server.ratelimit import RateLimiter
from engine.venue.server.signing import STANDARD_V2, OrderStruct, order_digest

FRAMES_PER_CALL = 200
ZERO32 = "0x" + "00" * 32
KEY = "0x" + "5b" * 32


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


def _l1_headers(account: LocalAccount) -> dict[str, str]:
    ts = str(int(time.time()))
    typed: dict[str, Any] = {
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": 137},
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "ClobAuth": [
                {"name": "address", "type": "address"},
                {"name": "timestamp", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "message", "type": "string"},
            ],
        },
        "primaryType": "ClobAuth",
        "message": {
            "address": account.address,
            "timestamp": ts,
            "nonce": 0,
            "message": "This message attests that I control the given wallet",
        },
    }
    signature = account.sign_typed_data(full_message=typed).signature.hex()
    return {
        "POLY_ADDRESS": account.address,
        "POLY_SIGNATURE": "0x" + signature,
        "POLY_TIMESTAMP": ts,
        "POLY_NONCE": "0",
    }


def _signed_order(account: LocalAccount, owner: str, token: int, salt: int) -> bytes:
    price = (1 + salt % 30) * 10_000
    size = 5 * UNIT
    order = OrderStruct(
        salt=salt,
        maker=account.address,
        signer=account.address,
        token_id=token,
        maker_amount=price * size // UNIT,
        taker_amount=size,
        side=0,
        signature_type=0,
        timestamp=int(time.time() * 1000),
        metadata=bytes(32),
        builder=bytes(32),
    )
    digest = Hash32(order_digest(order, STANDARD_V2))
    signature = account.unsafe_sign_hash(digest).signature.hex()
    body = {
        "deferExec": False,
        "order": {
            "builder": ZERO32,
            "expiration": "0",
            "maker": order.maker,
            "makerAmount": str(order.maker_amount),
            "metadata": ZERO32,
            "salt": salt,
            "side": "BUY",
            "signature": "0x" + signature,
            "signatureType": 0,
            "signer": order.signer,
            "takerAmount": str(order.taker_amount),
            "timestamp": str(order.timestamp),
            "tokenId": str(token),
        },
        "orderType": "GTC",
        "owner": owner,
    }
    return orjson.dumps(body)


def post_orders() -> Callable[[], object]:
    child = venue()
    account: LocalAccount = Account.from_key(KEY)
    http = httpx.Client(base_url=child.urls["clob"])
    created = http.get("/auth/derive-api-key", headers=_l1_headers(account))
    if created.status_code != 200:
        created = http.post("/auth/api-key", headers=_l1_headers(account))
    creds = created.json()
    token = int(child.token)
    salts = itertools.count(int(time.time() * 1000))
    pool = [_signed_order(account, creds["apiKey"], token, next(salts)) for _ in range(1_000)]

    def once() -> None:
        body = pool.pop() if pool else _signed_order(account, creds["apiKey"], token, next(salts))
        ts = str(int(time.time()))
        headers = {
            "POLY_ADDRESS": account.address,
            "POLY_SIGNATURE": hmac_signature(creds["secret"], ts, "POST", "/order", body),
            "POLY_TIMESTAMP": ts,
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
