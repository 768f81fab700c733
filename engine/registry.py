"""Every order the session has sent, by order id: who it belongs to and where it lives.

The user channel uses it to attribute fills to strategies even after an order's actor has
finished (a late fill is still a fill), and to route venue reports to live order actors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.gateway import OrderSpec
from engine.mailbox import Mailbox


@dataclass(frozen=True, slots=True)
class OrderMeta:
    spec: OrderSpec
    strategy: str
    condition_id: str
    key: str


@dataclass
class OrderRegistry:
    orders: dict[str, OrderMeta] = field(default_factory=dict)
    mailboxes: dict[str, Mailbox[Any]] = field(default_factory=dict)

    def register(self, meta: OrderMeta, mailbox: Mailbox[Any]) -> None:
        self.orders[meta.spec.order_id] = meta
        self.mailboxes[meta.spec.order_id] = mailbox

    def closed(self, order_id: str) -> None:
        """The order's actor is gone; its metadata stays for late fills."""
        self.mailboxes.pop(order_id, None)
