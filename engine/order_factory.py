"""Orders built and signed by the Rust core; an order's id is its EIP-712 digest.

The id is known before the order is sent, so venue reports that race the response can
be routed to it. The paper account's key is derived from the session seed: it holds no
funds anywhere, and deriving it keeps a seed's session repeatable. It is never printed.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from engine._native import OrderSigner, SignError
from engine.clock import SessionClock
from engine.gateway import OrderSpec
from engine.messages import MarketInfo
from engine.units import OrderType, Side

EXCHANGE_VERSION = 2
"""CLOB V2 standard/neg-risk exchanges (domain "2"); "3" is for Protocol-V2 markets."""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What to build: one order on one market, before it is signed."""

    market: MarketInfo
    token_id: str
    side: Side
    price: int
    size: int
    order_type: OrderType
    post_only: bool


def paper_signer(seed: int) -> OrderSigner:
    """A throwaway EOA signer for a paper session, derived from its seed."""
    for attempt in range(16):
        material = hashlib.sha256(f"polyengine paper key {seed} {attempt}".encode()).digest()
        try:
            return OrderSigner(material)
        except SignError:  # astronomically rare: not a valid secp256k1 scalar
            continue
    raise SignError("could not derive a paper key")


class OrderFactory:
    """Signs intents into postable orders (salt from a seeded generator, ms timestamp)."""

    def __init__(self, signer: OrderSigner, owner: str, clock: SessionClock, seed: int) -> None:
        self.signer = signer
        self.owner = owner
        self.clock = clock
        self._salts = random.Random(f"polyengine salts {seed}")

    def sign(self, intent: OrderIntent) -> OrderSpec:
        signed = self.signer.sign_limit_order(
            intent.token_id,
            int(intent.side),
            intent.price,
            intent.size,
            intent.market.tick,
            neg_risk=intent.market.neg_risk,
            exchange_version=EXCHANGE_VERSION,
            order_type=str(intent.order_type),
            post_only=intent.post_only,
            salt=self._salts.getrandbits(53),
            timestamp_ms=self.clock.now_ms(),
            owner=self.owner,
        )
        return OrderSpec(
            signed.order_id,
            intent.token_id,
            intent.side,
            intent.price,
            intent.size,
            intent.order_type,
            intent.post_only,
            signed.body,
        )
