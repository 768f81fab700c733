"""Typed venue errors: what went wrong, on which endpoint, in the venue's own words.

Every error carries `status` (the HTTP status, None when no answer came), `endpoint`
("POST /order") and `text` (the venue's `error` text, or what the transport said). The
class tells the caller what it may do next: RateLimited, VenueRestarting and
TransportError(sent=False) mean "not processed, may try again"; SubmitUnknown means
"an order may or may not be on the book: resolve it, never re-send it blindly".
No error ever holds a request header, so none can leak a secret.
"""

from __future__ import annotations

from typing import Any


class VenueError(Exception):
    """Base of every error the REST client raises."""

    def __init__(self, status: int | None, endpoint: str, text: str, payload: Any = None) -> None:
        where = f"{endpoint}: " if endpoint else ""
        code = f"{status} " if status is not None else ""
        super().__init__(f"{where}{code}{text}")
        self.status = status
        self.endpoint = endpoint
        self.text = text
        self.payload = payload
        """The parsed JSON error body, if the venue sent one."""


class RateLimited(VenueError):
    """429: the request was refused before processing; `retry_after` from Retry-After (s)."""

    def __init__(
        self, endpoint: str, text: str, retry_after: float | None = None, payload: Any = None
    ) -> None:
        super().__init__(429, endpoint, text, payload)
        self.retry_after = retry_after


class VenueRestarting(VenueError):
    """425: the venue's matching engine is restarting; nothing was processed."""


class VenueUnavailable(VenueError):
    """5xx: the venue failed; for an order post the outcome is unknown."""


class Unauthorized(VenueError):
    """401: the API key, passphrase or signature was refused."""


class BadRequest(VenueError):
    """400: the venue refused the request; `text` is its reason (e.g. an order rule)."""


class HeartbeatMismatch(BadRequest):
    """400 "Invalid Heartbeat ID": `expected_id` is the id the venue wants next."""

    def __init__(self, endpoint: str, text: str, expected_id: str, payload: Any = None) -> None:
        super().__init__(400, endpoint, text, payload)
        self.expected_id = expected_id


class NotFound(VenueError):
    """404: no such thing (order, market, book)."""


class MalformedResponse(VenueError):
    """A 200 answer the client cannot read (not JSON, wrong shape)."""


class TransportError(VenueError):
    """No HTTP answer: connection refused or dropped, or a timeout.

    `sent` is False only when the request provably never left (the connection could
    not be opened), True when it may have reached the venue.
    """

    def __init__(self, endpoint: str, text: str, *, sent: bool) -> None:
        super().__init__(None, endpoint, text)
        self.sent = sent


class SubmitUnknown(VenueError):
    """An order post whose outcome is unknown (timeout, connection lost after sending,
    5xx): the orders in `order_ids` may be live. Never re-send; resolve by id."""

    def __init__(
        self, endpoint: str, text: str, order_ids: tuple[str, ...], status: int | None = None
    ) -> None:
        super().__init__(status, endpoint, text)
        self.order_ids = order_ids

    @property
    def order_id(self) -> str:
        """The first (for POST /order, the only) order whose outcome is unknown."""
        return self.order_ids[0]


def _text_of(payload: Any, raw: bytes) -> str:
    if isinstance(payload, dict):
        for key in ("error", "error_msg", "errorMsg", "message"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value
    if isinstance(payload, str) and payload:
        return payload
    return raw[:500].decode("utf-8", "replace").strip() or "(empty answer)"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form); None if absent or a date."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def error_for(
    status: int,
    endpoint: str,
    payload: Any,
    raw: bytes,
    retry_after: str | None = None,
) -> VenueError:
    """The typed error for a non-200 answer, with the venue's own text."""
    text = _text_of(payload, raw)
    if status == 429:
        return RateLimited(endpoint, text, parse_retry_after(retry_after), payload)
    if status == 425:
        return VenueRestarting(status, endpoint, text, payload)
    if status >= 500:
        return VenueUnavailable(status, endpoint, text, payload)
    if status == 401:
        return Unauthorized(status, endpoint, text, payload)
    if status == 404:
        return NotFound(status, endpoint, text, payload)
    if status == 400:
        expected = payload.get("heartbeat_id") if isinstance(payload, dict) else None
        if isinstance(expected, str) and expected:
            return HeartbeatMismatch(endpoint, text, expected, payload)
        return BadRequest(status, endpoint, text, payload)
    return VenueError(status, endpoint, text, payload)
