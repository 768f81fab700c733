"""REST order books (`GET /book`) as the engine's BookSnapshot.

The venue lists bids ascending and asks descending (best last, spec 2 and 10.10); the
snapshot holds both best first, whatever order the venue used. A book the engine cannot
read raises BookFormatError naming what is wrong, never a half-read book.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
import orjson

from engine.gateway import BookSnapshot
from engine.units import parse_units


class BookFormatError(ValueError):
    """A /book answer that is not a book."""


def _levels(raw: Any, side: str) -> list[tuple[int, int]]:
    if not isinstance(raw, list):
        raise BookFormatError(f"{side}: expected a list of levels")
    levels = []
    for level in raw:
        try:
            price = parse_units(Decimal(str(level["price"])))
            size = parse_units(Decimal(str(level["size"])))
        except (KeyError, TypeError, InvalidOperation, ValueError) as exc:
            raise BookFormatError(f"{side}: bad level {level!r} ({exc})") from None
        if size > 0:
            levels.append((price, size))
    return levels


def parse_book(payload: Mapping[str, Any], token_id: str | None = None) -> BookSnapshot:
    """A BookSnapshot from a /book payload; `token_id`, if given, must be the book's."""
    asset = str(payload.get("asset_id", ""))
    if token_id is not None and asset != token_id:
        raise BookFormatError(f"asked for {token_id[:16]}, got the book of {asset[:16]!r}")
    bids = sorted(_levels(payload.get("bids"), "bids"), reverse=True)
    asks = sorted(_levels(payload.get("asks"), "asks"))
    return BookSnapshot(asset, tuple(bids), tuple(asks))


async def fetch_book(http: httpx.AsyncClient, clob_url: str, token_id: str) -> BookSnapshot:
    """GET /book for one token (public, no auth). Raises httpx errors as they come and
    BookFormatError for a 200 answer that is not a book."""
    response = await http.get(f"{clob_url.rstrip('/')}/book", params={"token_id": token_id})
    response.raise_for_status()
    try:
        payload = orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise BookFormatError(f"not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BookFormatError("expected a JSON object")
    return parse_book(payload, token_id)
