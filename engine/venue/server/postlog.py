"""The venue's post log: one JSON line per order it received, written before it acts.

The crash test's "no order is ever sent twice" needs the venue's own record of what
arrived, not the engine's: a line per POST /order body and per leg of a POST /orders
batch, flushed to the file before the order is authenticated, validated or matched, so
an order the venue then rejects (or a duplicate it refuses) is still there, and a client
killed right after sending cannot lose the line. The order id is the one the venue
computes (the EIP-712 order hash), or null when the body is too malformed to hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

ENDPOINT_ORDER = "POST /order"
ENDPOINT_ORDERS = "POST /orders"


@dataclass(frozen=True)
class PostedOrder:
    """One line of the post log."""

    endpoint: str
    leg: int
    """The order's index in its POST /orders batch; 0 for POST /order."""
    order_id: str | None
    owner: str | None
    """The API key the body names (public; never the secret)."""
    maker: str | None
    venue_ms: int


class PostLog:
    """Appends received orders to a file, one flushed line each."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    @classmethod
    def open(cls, path: Path) -> PostLog:
        """Append to `path` (created if missing): a restarted venue keeps the earlier lines."""
        return cls(path.open("ab"))

    def record(
        self,
        endpoint: str,
        leg: int,
        order_id: str | None,
        body: Any,
        venue_ms: int,
    ) -> None:
        order = body.get("order") if isinstance(body, dict) else None
        owner = body.get("owner") if isinstance(body, dict) else None
        maker = order.get("maker") if isinstance(order, dict) else None
        line = {
            "endpoint": endpoint,
            "leg": leg,
            "order_id": order_id,
            "owner": owner if isinstance(owner, str) else None,
            "maker": maker if isinstance(maker, str) else None,
            "venue_ms": venue_ms,
        }
        self._stream.write(orjson.dumps(line) + b"\n")
        self._stream.flush()

    def close(self) -> None:
        self._stream.close()


def read_post_log(path: Path) -> list[PostedOrder]:
    """Every line of a post log, in order; ValueError names a line that is not one."""
    posted: list[PostedOrder] = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
            posted.append(
                PostedOrder(
                    endpoint=row["endpoint"],
                    leg=row["leg"],
                    order_id=row["order_id"],
                    owner=row["owner"],
                    maker=row["maker"],
                    venue_ms=row["venue_ms"],
                )
            )
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a post log line ({exc})") from None
    return posted
