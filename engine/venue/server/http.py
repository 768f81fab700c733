"""Small HTTP helpers shared by the REST modules: JSON bodies, the venue's error shape."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


class JSONBody(Response):
    """A JSON response serialized with orjson (compact, like the venue's)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def ok(content: Any, headers: dict[str, str] | None = None) -> JSONBody:
    return JSONBody(content, headers=headers)


def error(status: int, message: str, **extra: Any) -> JSONBody:
    """The venue's error body: `{"error": "<text>"}` (plus any extra fields)."""
    return JSONBody({"error": message, **extra}, status_code=status)


class BadRequest(Exception):
    """A request the handler cannot use: answered 400 with this text."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


async def json_body(request: Request) -> tuple[bytes, Any]:
    """The raw body (for the HMAC) and its JSON value (None when empty)."""
    raw = await request.body()
    if not raw:
        return raw, None
    try:
        return raw, orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("Invalid JSON body") from None


def raw_path(request: Request) -> str:
    """The path exactly as sent (no query): what L2 signatures cover."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes):
        return raw.decode("latin-1").split("?", 1)[0]
    return request.url.path


def query(request: Request, name: str) -> str:
    return request.query_params.get(name, "")
