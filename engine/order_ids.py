"""Order ids computed before sending, so reports that race the response can be routed.

On the venue an order id is the EIP-712 digest of the signed order; the paper session's
in-process venue accepts any unique 32-byte hex id, so until native signing lands this is
a SHA-256 over the order's fields and a per-session nonce.
"""

from __future__ import annotations

import hashlib
import itertools

from engine.gateway import OrderSpec
from engine.units import OrderType, Side


class OrderIdFactory:
    def __init__(self, account: str, session_salt: int) -> None:
        self.account = account
        self.salt = session_salt
        self._nonce = itertools.count()

    def make(
        self,
        token_id: str,
        side: Side,
        price: int,
        size: int,
        order_type: OrderType,
        post_only: bool,
    ) -> OrderSpec:
        nonce = next(self._nonce)
        material = f"{self.account}|{self.salt}|{nonce}|{token_id}|{side.name}|{price}|{size}"
        digest = hashlib.sha256(material.encode()).hexdigest()
        return OrderSpec("0x" + digest, token_id, side, price, size, order_type, post_only)
