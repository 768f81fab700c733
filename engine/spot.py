"""Spot prices, pure: parsing each source's messages, reconnect backoff, staleness, and
the board that picks a price and tracks the settlement reference.

The actors in actors/spot_feed.py do the I/O and hand everything here. Prices are
integer micro-USD (USD x 1e6) parsed through Decimal, never float; times are the
session clock's unix seconds (`received_s`) or the source's own milliseconds.

Up/down markets resolve Up iff the Chainlink reference at the window end is >= the one
at the window start (spec section 6), so the board keeps, per window start, the first
reference reading at or after it: the "price to beat".
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from engine.config import SpotConfig
from engine.health import Health
from engine.messages import SpotReading, SpotSource, SpotView

MICRO_USD = 1_000_000
"""Micro-USD in one USD."""

_QUANTUM = Decimal("0.000001")
_WEI = 10**18
"""RTDS `full_accuracy_value` is the price scaled by 1e18."""


class SpotParseError(ValueError):
    """A spot message that is not what its source sends; it is counted and skipped."""


def parse_usd_micro(value: object) -> int:
    """A positive USD price ("43000.10", Decimal, int) as micro-USD, rounded half-even
    past 6 decimals. Floats are refused: they are not exact."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise SpotParseError(f"price must be a decimal string or number, got {value!r}")
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        raise SpotParseError(f"price is not a decimal number: {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise SpotParseError(f"price must be positive and finite, got {value!r}")
    try:
        micro = int(number.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN) * MICRO_USD)
    except InvalidOperation:
        raise SpotParseError(f"price out of range: {value!r}") from None
    if micro <= 0:
        raise SpotParseError(f"price rounds to zero micro-USD: {value!r}")
    return micro


def _loads(raw: str | bytes) -> Any:
    """JSON with every non-integer number as an exact Decimal."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SpotParseError(f"not JSON: {exc}") from None


def _int_field(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpotParseError(f"{key!r} must be a non-negative integer, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Quote:
    """One parsed price before it is stamped: kind, micro-USD, source time in ms."""

    kind: str
    price: int
    source_ts_ms: int | None


def parse_binance(raw: str | bytes, symbol: str) -> list[Quote]:
    """A Binance spot message, raw or wrapped as a combined stream's {"stream", "data"}.

    trade/aggTrade give the trade price at its trade time T; bookTicker (spot: no
    timestamp) gives the mid of best bid and ask, floored to the micro. Other symbols
    and non-price messages (a subscription result) give nothing.
    """
    message = _loads(raw)
    if not isinstance(message, dict):
        raise SpotParseError("a Binance message must be a JSON object")
    data = message.get("data", message) if "stream" in message else message
    if not isinstance(data, dict):
        raise SpotParseError("a combined-stream message needs an object under 'data'")
    if "result" in data and "id" in data:
        return []
    if str(data.get("s", "")).lower() != symbol.lower():
        if "s" not in data:
            raise SpotParseError("a Binance event needs its symbol 's'")
        return []
    event = data.get("e")
    if event in ("trade", "aggTrade"):
        return [Quote("trade", parse_usd_micro(data.get("p")), _int_field(data, "T"))]
    if event is None and "b" in data and "a" in data:
        bid, ask = parse_usd_micro(data["b"]), parse_usd_micro(data["a"])
        if bid > ask:
            raise SpotParseError(f"crossed bookTicker: bid {data['b']} > ask {data['a']}")
        return [Quote("book", (bid + ask) // 2, None)]
    if event is None:
        raise SpotParseError("a Binance event needs 'e' or a bookTicker's 'b' and 'a'")
    return []


def _iso_ms(text: object) -> int:
    if not isinstance(text, str):
        raise SpotParseError(f"'time' must be an ISO-8601 string, got {text!r}")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SpotParseError(f"'time' is not ISO-8601: {text!r}") from None
    if moment.tzinfo is None:
        raise SpotParseError(f"'time' has no time zone: {text!r}")
    return round(moment.timestamp() * 1000)


def parse_coinbase_ticker(raw: str | bytes) -> Quote:
    """Coinbase's REST ticker: the last trade `price` at its `time`."""
    body = _loads(raw)
    if not isinstance(body, dict):
        raise SpotParseError("a Coinbase ticker must be a JSON object")
    return Quote("ticker", parse_usd_micro(body.get("price")), _iso_ms(body.get("time")))


def _rtds_price(point: dict[str, Any]) -> int:
    full = point.get("full_accuracy_value")
    if isinstance(full, str) and full.isdigit():
        scaled = Decimal(full) / _WEI
        return parse_usd_micro(scaled)
    return parse_usd_micro(point.get("value"))


def parse_rtds(raw: str | bytes, topic: str, symbol: str) -> list[Quote]:
    """An RTDS message: an `update` (one price) or the `subscribe` backfill (a list).

    "PONG" and other topics or symbols give nothing. `full_accuracy_value` (x 1e18) is
    preferred to `value`, which is read as an exact decimal, never a float.
    """
    if raw in ("PONG", b"PONG"):
        return []
    message = _loads(raw)
    if not isinstance(message, dict):
        raise SpotParseError("an RTDS message must be a JSON object")
    if message.get("topic") != topic:
        return []
    payload = message.get("payload")
    if not isinstance(payload, dict):
        raise SpotParseError("an RTDS price message needs an object 'payload'")
    if str(payload.get("symbol", "")).lower() != symbol.lower():
        return []
    kind = message.get("type")
    if kind == "update":
        return [Quote("reference", _rtds_price(payload), _int_field(payload, "timestamp"))]
    if kind == "subscribe":
        points = payload.get("data")
        if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
            raise SpotParseError("an RTDS backfill needs a list of points under 'data'")
        return [Quote("reference", _rtds_price(p), _int_field(p, "timestamp")) for p in points]
    return []


# --- reconnecting -----------------------------------------------------------------------


# --- staleness and the board ---------------------------------------------------------------


@dataclass
class SourceState:
    """One source's latest reading and its health by age: RUNNING while at most
    `max_age_s` old, DEGRADED up to `error_after` x that, then ERROR. Before the first
    reading it is STARTING, and ERROR once `error_after` x `max_age_s` have passed
    since `since_s` (when the board started watching) without one."""

    max_age_s: float
    error_after: float = 3.0
    latest: SpotReading | None = None
    since_s: float | None = None

    def on_reading(self, reading: SpotReading) -> None:
        """Keep the newest reading: by the source's own time where both have one (so a
        backfilled older point does not replace a newer price), else by arrival."""
        latest = self.latest
        if latest is not None:
            if reading.received_s < latest.received_s:
                return
            if (
                reading.source_ts_ms is not None
                and latest.source_ts_ms is not None
                and reading.source_ts_ms < latest.source_ts_ms
            ):
                return
        self.latest = reading

    def age(self, now_s: float) -> float | None:
        return None if self.latest is None else max(0.0, now_s - self.latest.received_s)

    def health(self, now_s: float) -> Health:
        age = self.age(now_s)
        if age is None:
            if (
                self.since_s is not None
                and now_s - self.since_s > self.max_age_s * self.error_after
            ):
                return Health.ERROR
            return Health.STARTING
        if age <= self.max_age_s:
            return Health.RUNNING
        if age <= self.max_age_s * self.error_after:
            return Health.DEGRADED
        return Health.ERROR

    def fresh(self, now_s: float) -> bool:
        return self.health(now_s) is Health.RUNNING


@dataclass
class PriceToBeat:
    """The reference at each window start: the first reading (by source time) at or
    after the start and within `tolerance_s` of it, for the last `keep` window starts
    on a grid of `grid_s` seconds. A backfilled earlier point replaces a later one."""

    grid_s: int = 300
    tolerance_s: float = 5.0
    keep: int = 16
    _beats: OrderedDict[int, tuple[int, int]] = field(default_factory=OrderedDict)

    def on_reading(self, source_ts_ms: int, price: int) -> None:
        start = source_ts_ms // 1000 // self.grid_s * self.grid_s
        if source_ts_ms - start * 1000 > self.tolerance_s * 1000:
            return
        known = self._beats.get(start)
        if known is not None and known[0] <= source_ts_ms:
            return
        self._beats[start] = (source_ts_ms, price)
        self._beats = OrderedDict(sorted(self._beats.items()))
        while len(self._beats) > self.keep:
            self._beats.popitem(last=False)

    def get(self, window_start: int) -> int | None:
        known = self._beats.get(window_start)
        return None if known is None else known[1]

    def items(self) -> tuple[tuple[int, int], ...]:
        """(window start, price) pairs, oldest first."""
        return tuple((start, price) for start, (_, price) in self._beats.items())


class SpotBoard:
    """Combines the sources of one symbol: primary if fresh, else fallback if fresh
    (DEGRADED), else no price (ERROR); the reference is tracked on its own."""

    def __init__(
        self,
        symbol: str,
        *,
        max_age_s: dict[SpotSource, float],
        error_after: float = 3.0,
        grid_s: int = 300,
        tolerance_s: float = 5.0,
        primary: SpotSource = SpotSource.BINANCE,
        fallbacks: Sequence[SpotSource] = (SpotSource.COINBASE,),
        reference: SpotSource = SpotSource.CHAINLINK,
    ) -> None:
        self.symbol = symbol
        self.order = (primary, *fallbacks)
        self.reference_source = reference
        self.states = {
            source: SourceState(max_age_s[source], error_after)
            for source in (*self.order, reference)
        }
        self.beats = PriceToBeat(grid_s, tolerance_s)

    @classmethod
    def from_config(cls, config: SpotConfig) -> SpotBoard:
        return cls(
            config.symbol,
            max_age_s={
                SpotSource.BINANCE: config.binance_max_age_s,
                SpotSource.COINBASE: config.coinbase_max_age_s,
                SpotSource.CHAINLINK: config.chainlink_max_age_s,
            },
            error_after=config.error_after,
            grid_s=config.window_grid_s,
            tolerance_s=config.price_to_beat_tolerance_s,
        )

    def start(self, now_s: float) -> None:
        """Start the clock on sources that never send: past their grace they are ERROR."""
        for state in self.states.values():
            if state.since_s is None:
                state.since_s = now_s

    def update(self, reading: SpotReading) -> None:
        state = self.states.get(reading.source)
        if state is None:
            raise ValueError(f"the board of {self.symbol} has no source {reading.source.value}")
        state.on_reading(reading)
        if reading.source is self.reference_source and reading.source_ts_ms is not None:
            self.beats.on_reading(reading.source_ts_ms, reading.price)

    def update_all(self, readings: Iterable[SpotReading]) -> None:
        for reading in readings:
            self.update(reading)

    def choice(self, now_s: float) -> tuple[SpotReading | None, Health]:
        """The reading strategies should use now, and the board's health."""
        for rank, source in enumerate(self.order):
            state = self.states[source]
            if state.fresh(now_s):
                return state.latest, Health.RUNNING if rank == 0 else Health.DEGRADED
        if all(self.states[s].health(now_s) is Health.STARTING for s in self.order):
            return None, Health.STARTING
        return None, Health.ERROR

    def view(self, now_s: float, ts_ns: int) -> SpotView:
        reading, health = self.choice(now_s)
        reference = self.states[self.reference_source]
        return SpotView(
            ts_ns=ts_ns,
            symbol=self.symbol,
            now_s=now_s,
            price=None if reading is None else reading.price,
            source=None if reading is None else reading.source,
            health=health,
            price_s=None if reading is None else reading.received_s,
            reference=None if reference.latest is None else reference.latest.price,
            reference_health=reference.health(now_s),
            price_to_beat=self.beats.items(),
            sources=tuple((source, state.health(now_s)) for source, state in self.states.items()),
        )


def same_view(a: SpotView | None, b: SpotView) -> bool:
    """Whether two views say the same to a strategy (so the second need not be sent)."""
    if a is None:
        return False
    return (a.price, a.source, a.health, a.price_s, a.reference, a.price_to_beat, a.sources) == (
        b.price,
        b.source,
        b.health,
        b.price_s,
        b.reference,
        b.price_to_beat,
        b.sources,
    )
