"""Shared set-up for the venue client's live tests: accounts with API keys on a running
venue server, orders signed by the engine's native signer, and a server-side probe that
counts requests and the server's own 429s."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from venue_client import Client, seeded_key

from engine._native import OrderSigner
from engine.client.rest import RestClient
from engine.config import ClientConfig
from engine.credentials import ApiCredentials
from engine.gateway import OrderSpec
from engine.units import UNIT, OrderType, Side
from engine.venue.matching import MarketSpec
from engine.venue.server.app import VenueServer
from engine.venue.server.ratelimit import GENERAL, RateLimiter, Rule

_SALTS = itertools.count(1)


class Probe(RateLimiter):
    """The server's rate limiter, also counting every request it sees, the ones it
    refused for rate, and refusing `blocked` (method, path) pairs outright."""

    def __init__(self, rules: tuple[Rule, ...] = ()) -> None:
        super().__init__(rules or (Rule(GENERAL, "/", 10**9, 1.0),))
        self.seen: Counter[tuple[str, str]] = Counter()
        self.refused: Counter[tuple[str, str]] = Counter()
        self.blocked: set[tuple[str, str]] = set()

    def check(self, method: str, path: str, client: str, now: float) -> float | None:
        self.seen[(method, path)] += 1
        if (method, path) in self.blocked:
            return 1.0
        wait = super().check(method, path, client, now)
        if wait is not None:
            self.refused[(method, path)] += 1
        return wait


@dataclass
class Account:
    """One trader: its REST client and its order signer."""

    client: RestClient
    signer: OrderSigner

    def order(
        self,
        market: MarketSpec,
        outcome: int,
        side: Side,
        price: str,
        size: str,
        *,
        order_type: OrderType = OrderType.GTC,
        post_only: bool = False,
    ) -> OrderSpec:
        token = market.token_ids[outcome]
        price_micro = round(float(price) * UNIT)
        size_micro = round(float(size) * UNIT)
        signed = self.signer.sign_limit_order(
            token,
            int(side),
            price_micro,
            size_micro,
            market.tick,
            neg_risk=market.neg_risk,
            exchange_version=2,
            order_type=str(order_type),
            post_only=post_only,
            salt=next(_SALTS),
            timestamp_ms=int(time.time() * 1000),
            owner=self.client.api_key,
        )
        return OrderSpec(
            signed.order_id,
            token,
            side,
            price_micro,
            size_micro,
            order_type,
            post_only,
            signed.body,
        )


async def credentials(server: VenueServer, name: str) -> ApiCredentials:
    """A new API key for the seeded account `name` (L1, through the test client)."""
    async with httpx.AsyncClient(base_url=server.urls["clob"]) as http:
        l1 = Client(http, seeded_key(name))
        creds = await l1.create_key()
    return ApiCredentials(
        address=l1.address,
        api_key=creds.key,
        secret=creds.secret,  # type: ignore[arg-type]
        passphrase=creds.passphrase,  # type: ignore[arg-type]
    )


async def open_account(
    server: VenueServer, name: str, config: ClientConfig | None = None, **kwargs: Any
) -> Account:
    """An account with a key and a RestClient on the server (close `account.client`)."""
    creds = await credentials(server, name)
    client = RestClient(server.urls["clob"], creds, config or ClientConfig(), **kwargs)
    return Account(client, OrderSigner(bytes(seeded_key(name).key)))


def quick_config(**overrides: Any) -> ClientConfig:
    """Short timeouts and backoffs for tests on loopback."""
    settings: dict[str, Any] = {
        "request_timeout_s": 5.0,
        "backoff_base_s": 0.05,
        "backoff_max_s": 0.5,
        "rate_limits": {},
        "rate_margin_s": 0.1,
    }
    settings.update(overrides)
    return ClientConfig(**settings)
