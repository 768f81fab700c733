"""A small hand-written client of the local venue server, for tests.

It signs what it sends with eth_account's own EIP-712 implementation from typed-data
dicts written from the spec (section 11.2), so the server's hashing is checked against
an independent implementation; the official clients get their own tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import time
from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson
import trio
from eth_account import Account
from eth_account.signers.local import LocalAccount
from websockets.sync.client import ClientConnection, connect

from engine.units import UNIT
from engine.venue.matching import MarketSpec, MarketStatus
from engine.venue.scenario import make_updown_market
from engine.venue.server.app import ServerConfig, VenueServer
from engine.venue.server.ratelimit import RateLimiter
from engine.venue.server.signing import (
    EXCHANGE_V2,
    EXCHANGE_V3,
    NEG_RISK_EXCHANGE_V2,
    ORDER_TYPE,
    is_position_id,
)

ZERO32 = "0x" + "00" * 32
_SALTS = itertools.count(1_000)


def seeded_key(name: str) -> LocalAccount:
    """A private key derived from a name: seeded, never a real account."""
    return Account.from_key(hashlib.sha256(f"polyengine-test-key|{name}".encode()).digest())


def listed_market(seed: int, *, neg_risk: bool = False) -> MarketSpec:
    """A market far from the scenario's windows, listed OPEN and never closed by it."""
    start = 2_000_000_000 // 900 * 900 + seed * 900
    spec = make_updown_market(seed, start)
    return replace(spec, neg_risk=neg_risk)


async def start_server(nursery: trio.Nursery, **overrides: Any) -> VenueServer:
    """A quiet server (no scenario traders, no rate limits) plus one open test market."""
    settings: dict[str, Any] = {"traders": False, "windows": 1, "limiter": RateLimiter.off()}
    settings.update(overrides)
    server = VenueServer(ServerConfig(**settings))
    await nursery.start(server.run)
    server.venue.list_market(listed_market(1), MarketStatus.OPEN)
    return server


def market(server: VenueServer) -> MarketSpec:
    return server.venue.specs[listed_market(1).condition_id]


@dataclass
class Creds:
    key: str
    secret: str
    passphrase: str


def order_typed_data(order: dict[str, Any], neg_risk: bool) -> dict[str, Any]:
    token = int(order["tokenId"])
    if is_position_id(token):
        version, contract = "3", EXCHANGE_V3
    else:
        version, contract = "2", NEG_RISK_EXCHANGE_V2 if neg_risk else EXCHANGE_V2
    fields = [
        {"name": part.split()[1], "type": part.split()[0]}
        for part in ORDER_TYPE[len("Order(") : -1].split(",")
    ]
    message = {
        "salt": order["salt"],
        "maker": order["maker"],
        "signer": order["signer"],
        "tokenId": token,
        "makerAmount": int(order["makerAmount"]),
        "takerAmount": int(order["takerAmount"]),
        "side": 0 if order["side"] == "BUY" else 1,
        "signatureType": order["signatureType"],
        "timestamp": int(order["timestamp"]),
        "metadata": bytes.fromhex(order["metadata"][2:]),
        "builder": bytes.fromhex(order["builder"][2:]),
    }
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": fields,
        },
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": version,
            "chainId": 137,
            "verifyingContract": contract,
        },
        "message": message,
    }


class Client:
    """One API user of the server: an EOA, its API key, signed orders and L2 requests."""

    def __init__(self, http: httpx.AsyncClient, account: LocalAccount) -> None:
        self.http = http
        self.account = account
        self.creds: Creds | None = None

    @property
    def address(self) -> str:
        return str(self.account.address)

    def l1_headers(self, nonce: int = 0, timestamp: int | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        typed = {
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
                "address": self.address,
                "timestamp": ts,
                "nonce": nonce,
                "message": "This message attests that I control the given wallet",
            },
        }
        signed = self.account.sign_typed_data(full_message=typed)
        return {
            "POLY_ADDRESS": self.address,
            "POLY_SIGNATURE": "0x" + signed.signature.hex(),
            "POLY_TIMESTAMP": ts,
            "POLY_NONCE": str(nonce),
        }

    async def create_key(self) -> Creds:
        response = await self.http.post("/auth/api-key", headers=self.l1_headers())
        assert response.status_code == 200, response.text
        body = response.json()
        self.creds = Creds(body["apiKey"], body["secret"], body["passphrase"])
        return self.creds

    def l2_headers(
        self, method: str, path: str, body: bytes, *, timestamp: int | None = None
    ) -> dict[str, str]:
        assert self.creds is not None
        ts = str(int(time.time()) if timestamp is None else timestamp)
        secret = base64.urlsafe_b64decode(self.creds.secret)
        digest = hmac.new(secret, f"{ts}{method}{path}".encode() + body, hashlib.sha256).digest()
        return {
            "POLY_ADDRESS": self.address,
            "POLY_SIGNATURE": base64.urlsafe_b64encode(digest).decode(),
            "POLY_TIMESTAMP": ts,
            "POLY_API_KEY": self.creds.key,
            "POLY_PASSPHRASE": self.creds.passphrase,
        }

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        raw = orjson.dumps(body) if body is not None else b""
        headers = self.l2_headers(method, path, raw)
        if raw:
            headers["Content-Type"] = "application/json"
        return await self.http.request(method, path, content=raw, headers=headers, params=params)

    def order(
        self,
        token_id: str,
        side: str,
        price: str,
        size: str,
        *,
        order_type: str = "GTC",
        post_only: bool = False,
        expiration: int = 0,
        neg_risk: bool = False,
        maker_amount: int | None = None,
        taker_amount: int | None = None,
        signature_type: int = 0,
        maker: str | None = None,
    ) -> dict[str, Any]:
        """A signed POST /order body in the shape polymarket-client sends."""
        assert self.creds is not None
        p = int(float(price) * UNIT + 0.5)
        s = int(float(size) * UNIT + 0.5)
        cash = p * s // UNIT
        if side == "BUY":
            maker_default, taker_default = cash, s
        else:
            maker_default, taker_default = s, cash
        order: dict[str, Any] = {
            "builder": ZERO32,
            "expiration": str(expiration),
            "maker": maker or self.address,
            "makerAmount": str(maker_amount if maker_amount is not None else maker_default),
            "metadata": ZERO32,
            "salt": next(_SALTS),
            "side": side,
            "signatureType": signature_type,
            "signer": maker if signature_type == 3 and maker else self.address,
            "takerAmount": str(taker_amount if taker_amount is not None else taker_default),
            "timestamp": str(int(time.time() * 1000)),
            "tokenId": token_id,
        }
        order["signature"] = self.sign(order, neg_risk)
        body: dict[str, Any] = {
            "deferExec": False,
            "order": order,
            "orderType": order_type,
            "owner": self.creds.key,
        }
        if post_only:
            body["postOnly"] = True
        return body

    def sign(self, order: dict[str, Any], neg_risk: bool) -> str:
        typed = order_typed_data(order, neg_risk)
        signed = self.account.sign_typed_data(full_message=typed)
        return "0x" + signed.signature.hex()

    async def place(self, *args: Any, **kwargs: Any) -> httpx.Response:
        return await self.call("POST", "/order", self.order(*args, **kwargs))


async def new_client(http: httpx.AsyncClient, name: str) -> Client:
    client = Client(http, seeded_key(name))
    await client.create_key()
    return client


class Socket:
    """A WebSocket client for tests: websockets' sync client, driven from Trio threads."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, url: str) -> Socket:
        connection = await trio.to_thread.run_sync(
            lambda: connect(url, open_timeout=5, close_timeout=1)
        )
        return cls(connection)

    async def send(self, message: str | dict[str, Any]) -> None:
        text = message if isinstance(message, str) else orjson.dumps(message).decode()
        await trio.to_thread.run_sync(self.connection.send, text)

    async def recv(self, timeout: float = 5.0) -> str:
        """The next text frame; TimeoutError if none comes in time."""
        received = await trio.to_thread.run_sync(
            lambda: self.connection.recv(timeout=timeout), abandon_on_cancel=True
        )
        return received if isinstance(received, str) else received.decode()

    async def recv_json(self, timeout: float = 5.0) -> Any:
        return orjson.loads(await self.recv(timeout))

    async def quiet(self, seconds: float) -> list[str]:
        """Every frame that arrives within `seconds`."""
        frames: list[str] = []
        deadline = trio.current_time() + seconds
        while (left := deadline - trio.current_time()) > 0:
            try:
                frames.append(await self.recv(left))
            except TimeoutError:
                break
        return frames

    async def synced(self) -> None:
        """Wait until the server has handled everything sent so far (PING, then PONG)."""
        await self.send("PING")
        while await self.recv() != "PONG":
            pass

    async def close(self) -> None:
        await trio.to_thread.run_sync(self.connection.close)


@dataclass
class Venue:
    """A running server and an HTTP client on its CLOB URL (the `venue` fixture)."""

    server: VenueServer
    http: httpx.AsyncClient

    @property
    def up(self) -> str:
        return market(self.server).token_ids[0]

    @property
    def down(self) -> str:
        return market(self.server).token_ids[1]
