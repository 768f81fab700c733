"""Market discovery, the pure part: slugs, Gamma parsing, lifecycle phases, metadata.

Crypto up/down windows are found by slug (spec 6): `{asset}-updown-15m-{start}` with
start % 900 == 0 and `{asset}-updown-5m-{start}` with start % 300 == 0. A Gamma market
(camelCase, `outcomes` and `clobTokenIds` JSON-encoded strings, `eventStartTime` the
window start, `endDate` its end) becomes a MarketInfo in integer micro units, or a
MarketFormatError naming the field that makes it untradable.

Resolution, as Gamma reports it: a resolved market is `closed` with `outcomePrices`
["1","0"] or ["0","1"] (production also sets `umaResolutionStatus: "resolved"` and leaves
`umaResolutionStatuses` "[]"; the local venue puts "resolved" in the list). A 50/50
resolution shows ["0.5","0.5"], which an unresolved market with an empty book also
shows, so it counts only with an explicit "resolved" status. The market channel's
`market_resolved` names the winning asset ("" for a 50/50).

Tick sizes: the market channel's `tick_size_change` is the freshest word and wins at
once. Gamma is a cached view that can lag it, so a later Gamma refresh with another
tick does not undo the change; once Gamma reports the same tick it has caught up and is
trusted again (a later Gamma change is then a change the channel did not announce).

DiscoveryTracker is the state machine the actor drives: which slugs to fetch when, when
each market is announced, its phase changes and its retirement, all as functions of
the clock reading it is given.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from engine.fees import FeeSchedule
from engine.messages import (
    LifecyclePhase,
    MarketDiscovered,
    MarketInfo,
    MarketInfoUpdated,
    MarketPhaseChanged,
    MarketResolutionSeen,
    MarketRetired,
    TickSizeChangeSeen,
)
from engine.units import UNIT, VALID_TICKS, parse_units

SERIES_S: dict[str, int] = {"15m": 900, "5m": 300}
"""Window length of each up/down series; a window starts on a multiple of it."""

_SLUG = re.compile(r"^([a-z0-9]+)-updown-(15m|5m)-(\d+)$")
_CONDITION = re.compile(r"^0x[0-9a-fA-F]{64}$")

# --- slugs -------------------------------------------------------------------------------


def updown_slug(asset: str, series: str, start: int) -> str:
    """The slug of one up/down window; ValueError for an unknown series or a start that
    is not on the series' grid."""
    length = SERIES_S.get(series)
    if length is None:
        raise ValueError(f"unknown series {series!r}; expected one of {sorted(SERIES_S)}")
    if start % length:
        raise ValueError(f"{series} windows start on multiples of {length} s, not {start}")
    if not asset or not asset.isalnum() or asset != asset.lower():
        raise ValueError(f"asset must be a lowercase slug such as 'btc', got {asset!r}")
    return f"{asset}-updown-{series}-{start}"


def slug_15m(asset: str, start: int) -> str:
    return updown_slug(asset, "15m", start)


def slug_5m(asset: str, start: int) -> str:
    return updown_slug(asset, "5m", start)


def parse_slug(slug: str) -> tuple[str, str, int] | None:
    """(asset, series, start) of an up/down slug, or None for any other slug."""
    match = _SLUG.match(slug)
    if match is None:
        return None
    start = int(match[3])
    if start % SERIES_S[match[2]]:
        return None
    return match[1], match[2], start


def window_start(now_s: float, series: str) -> int:
    """Start of the window of `series` that contains `now_s`."""
    length = SERIES_S[series]
    return math.floor(now_s) // length * length


def window_starts(now_s: float, series: str, horizon_s: float) -> list[int]:
    """The current window's start and those of every later window starting before
    `now_s + horizon_s` (at least the next one)."""
    length = SERIES_S[series]
    first = window_start(now_s, series)
    starts = [first, first + length]
    while starts[-1] + length < now_s + horizon_s:
        starts.append(starts[-1] + length)
    return starts


# --- Gamma market parsing -------------------------------------------------------------


class MarketFormatError(ValueError):
    """A Gamma market the engine cannot trade; `field` names the culprit."""

    def __init__(self, slug: str, field_name: str, why: str) -> None:
        super().__init__(f"gamma market {slug or '?'}: {field_name}: {why}")
        self.slug = slug
        self.field = field_name


def _json_list(payload: Mapping[str, Any], key: str, slug: str) -> list[Any]:
    raw = payload.get(key)
    if raw is None or raw == "":
        raise MarketFormatError(slug, key, "missing")
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise MarketFormatError(slug, key, f"not a JSON list: {raw[:60]!r}") from None
    if not isinstance(raw, list):
        raise MarketFormatError(slug, key, f"expected a list, got {type(raw).__name__}")
    return raw


def _pair(payload: Mapping[str, Any], key: str, slug: str) -> tuple[str, str]:
    items = _json_list(payload, key, slug)
    if len(items) != 2 or not all(isinstance(x, str) and x.strip() for x in items):
        raise MarketFormatError(slug, key, f"expected two non-empty strings, got {items!r}")
    return items[0], items[1]


def _units(payload: Mapping[str, Any], key: str, slug: str, where: str | None = None) -> int:
    raw = payload.get(key)
    name = where or key
    if raw is None or isinstance(raw, bool):
        raise MarketFormatError(slug, name, "missing" if raw is None else f"not a number: {raw!r}")
    try:
        return parse_units(Decimal(str(raw)))
    except (InvalidOperation, ValueError) as exc:
        raise MarketFormatError(slug, name, f"not an amount: {raw!r} ({exc})") from None


def _time(payload: Mapping[str, Any], key: str, slug: str) -> int:
    raw = payload.get(key)
    if not isinstance(raw, str) or not raw:
        raise MarketFormatError(slug, key, "missing")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise MarketFormatError(slug, key, f"not an ISO time: {raw!r}") from None
    if moment.tzinfo is None:
        raise MarketFormatError(slug, key, f"no time zone: {raw!r}")
    return math.floor(moment.timestamp())


def _bool(payload: Mapping[str, Any], key: str, slug: str, default: bool) -> bool:
    raw = payload.get(key, default)
    if raw is None:
        return default
    if not isinstance(raw, bool):
        raise MarketFormatError(slug, key, f"expected true or false, got {raw!r}")
    return raw


def parse_fee_schedule(payload: Mapping[str, Any], slug: str = "") -> FeeSchedule:
    """The market's FeeSchedule from `feeSchedule{rate,exponent,takerOnly,rebateRate}`.

    A market without fees (`feesEnabled` false) has a zero schedule; one with fees but no
    schedule (the pre-V2 era) cannot be priced and is refused.
    """
    enabled = _bool(payload, "feesEnabled", slug, False)
    raw = payload.get("feeSchedule")
    if raw is None:
        if enabled:
            raise MarketFormatError(slug, "feeSchedule", "missing while feesEnabled is true")
        return FeeSchedule(rate_ppm=0, exponent=1, taker_only=True, rebate_ppm=0)
    if not isinstance(raw, dict):
        raise MarketFormatError(slug, "feeSchedule", f"expected an object, got {raw!r}")
    rate = _units(raw, "rate", slug, "feeSchedule.rate")
    rebate = _units(raw, "rebateRate", slug, "feeSchedule.rebateRate") if "rebateRate" in raw else 0
    exponent = raw.get("exponent", 1)
    if isinstance(exponent, float) and exponent.is_integer():
        exponent = int(exponent)
    if not isinstance(exponent, int) or isinstance(exponent, bool) or exponent < 0:
        raise MarketFormatError(slug, "feeSchedule.exponent", f"not a whole number: {exponent!r}")
    taker_only = raw.get("takerOnly", True)
    if not isinstance(taker_only, bool):
        raise MarketFormatError(slug, "feeSchedule.takerOnly", f"not a boolean: {taker_only!r}")
    if not enabled and payload.get("feesEnabled") is not None:
        rate = 0
    try:
        return FeeSchedule(
            rate_ppm=rate, exponent=exponent, taker_only=taker_only, rebate_ppm=rebate
        )
    except ValueError as exc:
        raise MarketFormatError(slug, "feeSchedule", str(exc)) from None


def parse_gamma_market(payload: Mapping[str, Any]) -> MarketInfo:
    """A tradable MarketInfo from one Gamma market object, or MarketFormatError.

    Token ids come from `clobTokenIds` (`positionIds` for a Protocol-V2 market, `version`
    "v2"), in the order of `outcomes`. The window is `eventStartTime` to `endDate`
    (`startDate` is the listing time); for a market without `eventStartTime` the start is
    read from an up/down slug.
    """
    if not isinstance(payload, Mapping):
        raise MarketFormatError("", "market", f"expected an object, got {type(payload).__name__}")
    slug = payload.get("slug")
    if not isinstance(slug, str) or not slug:
        raise MarketFormatError("", "slug", "missing")
    condition_id = payload.get("conditionId")
    if not isinstance(condition_id, str) or not _CONDITION.match(condition_id):
        raise MarketFormatError(
            slug, "conditionId", f"expected 0x and 64 hex, got {condition_id!r}"
        )
    if not _bool(payload, "enableOrderBook", slug, True):
        raise MarketFormatError(slug, "enableOrderBook", "false: the market has no order book")
    token_key = "positionIds" if payload.get("version") == "v2" else "clobTokenIds"
    token_ids = _pair(payload, token_key, slug)
    for token in token_ids:
        if not token.isdigit():
            raise MarketFormatError(slug, token_key, f"not a decimal token id: {token[:20]!r}")
    if token_ids[0] == token_ids[1]:
        raise MarketFormatError(slug, token_key, "both outcomes have the same token id")
    outcomes = _pair(payload, "outcomes", slug)
    tick = _units(payload, "orderPriceMinTickSize", slug)
    if tick not in VALID_TICKS:
        raise MarketFormatError(
            slug, "orderPriceMinTickSize", f"{payload.get('orderPriceMinTickSize')!r} is no tick"
        )
    min_size = _units(payload, "orderMinSize", slug)
    if min_size <= 0:
        raise MarketFormatError(slug, "orderMinSize", "must be positive")
    if "eventStartTime" in payload or parse_slug(slug) is None:
        start_ts = _time(payload, "eventStartTime", slug)
    else:
        start_ts = parse_slug(slug)[2]  # type: ignore[index]
    end_ts = _time(payload, "endDate", slug)
    if end_ts <= start_ts:
        raise MarketFormatError(slug, "endDate", f"{end_ts} is not after the start {start_ts}")
    neg_risk = _bool(payload, "negRisk", slug, False)
    return MarketInfo(
        condition_id=condition_id,
        slug=slug,
        token_ids=token_ids,
        outcomes=outcomes,
        tick=tick,
        min_size=min_size,
        fees=parse_fee_schedule(payload, slug),
        start_ts=start_ts,
        end_ts=end_ts,
        neg_risk=neg_risk,
    )


# --- resolution and phases --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Resolution:
    """How a market resolved: `winner` 0 or 1, or None for a 50/50."""

    winner: int | None

    @property
    def payout_per_share(self) -> tuple[int, int]:
        """Micro-USDC paid per share of each outcome."""
        if self.winner is None:
            return UNIT // 2, UNIT // 2
        return (UNIT, 0) if self.winner == 0 else (0, UNIT)


def _statuses(payload: Mapping[str, Any]) -> set[str]:
    found: set[str] = set()
    single = payload.get("umaResolutionStatus")
    if isinstance(single, str):
        found.add(single.lower())
    listed = payload.get("umaResolutionStatuses")
    if isinstance(listed, str):
        try:
            listed = orjson.loads(listed)
        except orjson.JSONDecodeError:
            listed = None
    if isinstance(listed, list):
        found.update(s.lower() for s in listed if isinstance(s, str))
    return found


def parse_gamma_resolution(payload: Mapping[str, Any]) -> Resolution | None:
    """The resolution a Gamma market reports, or None while it is unresolved.

    Only a `closed` market can be resolved. One-hot `outcomePrices` name the winner;
    ["0.5","0.5"] is a 50/50 only with an explicit "resolved" UMA status; anything else
    (prices still trading, ["0","0"]) is not a resolution yet.
    """
    if payload.get("closed") is not True:
        return None
    try:
        raw = _json_list(payload, "outcomePrices", str(payload.get("slug", "")))
        prices = [parse_units(Decimal(str(p))) for p in raw]
    except (MarketFormatError, InvalidOperation, ValueError):
        return None
    if len(prices) != 2:
        return None
    if prices == [UNIT, 0]:
        return Resolution(0)
    if prices == [0, UNIT]:
        return Resolution(1)
    if prices == [UNIT // 2, UNIT // 2] and "resolved" in _statuses(payload):
        return Resolution(None)
    return None


def lifecycle_phase(
    now_s: float,
    info: MarketInfo,
    *,
    closing_s: float,
    resolution: Resolution | None = None,
    closed: bool = False,
) -> LifecyclePhase:
    """The phase of `info` at `now_s`: a resolution wins, then the clock; `closed` (Gamma
    says the market stopped early) makes a market CLOSED before its end."""
    if resolution is not None:
        return LifecyclePhase.RESOLVED
    if now_s >= info.end_ts or closed:
        return LifecyclePhase.CLOSED
    if now_s >= info.end_ts - closing_s:
        return LifecyclePhase.CLOSING if now_s >= info.start_ts else LifecyclePhase.PRE_OPEN
    if now_s >= info.start_ts:
        return LifecyclePhase.TRADING
    return LifecyclePhase.PRE_OPEN


def next_phase_time(now_s: float, info: MarketInfo, *, closing_s: float) -> float | None:
    """When the clock alone next changes the phase (None once the window has ended)."""
    for moment in (info.start_ts, max(info.start_ts, info.end_ts - closing_s), info.end_ts):
        if moment > now_s:
            return float(moment)
    return None


def resolution_from_notice(info: MarketInfo, winning_asset_id: str) -> Resolution:
    """A market_resolved's winner: the index of the winning token, None for a 50/50."""
    if winning_asset_id in info.token_ids:
        return Resolution(info.token_ids.index(winning_asset_id))
    return Resolution(None)


def market_channel_notices(
    raw: bytes, ts_ns: int
) -> list[TickSizeChangeSeen | MarketResolutionSeen]:
    """The `tick_size_change` and `market_resolved` events of one market-channel frame.

    Other events and text frames (PONG) give nothing; malformed JSON raises ValueError.
    """
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if raw[:1] in (b"{", b"["):
            raise ValueError(f"malformed market frame: {exc}") from None
        return []
    notices: list[TickSizeChangeSeen | MarketResolutionSeen] = []
    for event in payload if isinstance(payload, list) else [payload]:
        if not isinstance(event, dict):
            continue
        kind = event.get("event_type")
        market = event.get("market")
        if not isinstance(market, str):
            continue
        if kind == "tick_size_change":
            try:
                tick = parse_units(str(event["new_tick_size"]))
            except (KeyError, ValueError) as exc:
                raise ValueError(
                    f"tick_size_change without a usable new_tick_size: {exc}"
                ) from None
            notices.append(TickSizeChangeSeen(ts_ns, market, str(event.get("asset_id", "")), tick))
        elif kind == "market_resolved":
            winner = event.get("winning_asset_id") or ""
            notices.append(MarketResolutionSeen(ts_ns, market, str(winner)))
    return notices


# --- metadata cache -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketMetadata:
    """What the order path needs to price and sign for a market."""

    condition_id: str
    token_ids: tuple[str, str]
    tick: int
    min_size: int
    neg_risk: bool
    fees: FeeSchedule


@dataclass(slots=True)
class _Entry:
    meta: MarketMetadata
    pinned_tick: int | None = None
    """A tick from tick_size_change that Gamma has not confirmed yet."""


class MetadataCache:
    """Tick size, neg-risk, fees and minimum size per market, keyed by condition id or
    either token id. See the module docstring for why a channel tick beats Gamma's."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._by_token: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _key(self, key: str) -> str | None:
        if key in self._entries:
            return key
        return self._by_token.get(key)

    def get(self, key: str) -> MarketMetadata | None:
        """The metadata of a market by condition id or token id."""
        cid = self._key(key)
        return self._entries[cid].meta if cid is not None else None

    def update(self, info: MarketInfo) -> MarketInfo:
        """Take Gamma's view of a market; returns the info with the tick that is in force."""
        meta = MarketMetadata(
            info.condition_id, info.token_ids, info.tick, info.min_size, info.neg_risk, info.fees
        )
        entry = self._entries.get(info.condition_id)
        if entry is not None and entry.pinned_tick is not None:
            if info.tick == entry.pinned_tick:
                entry.pinned_tick = None  # Gamma caught up with the channel
            else:
                meta = replace(meta, tick=entry.pinned_tick)
        if entry is None:
            entry = self._entries[info.condition_id] = _Entry(meta)
        entry.meta = meta
        for token in info.token_ids:
            self._by_token[token] = info.condition_id
        return replace(info, tick=meta.tick)

    def invalidate_tick(self, key: str, new_tick: int) -> MarketMetadata | None:
        """A tick_size_change for a market (condition id or token id): the new tick is in
        force at once and survives stale Gamma refreshes. None for an unknown market."""
        if new_tick not in VALID_TICKS:
            raise ValueError(f"{new_tick} micro units is not a valid tick")
        cid = self._key(key)
        if cid is None:
            return None
        entry = self._entries[cid]
        entry.meta = replace(entry.meta, tick=new_tick)
        entry.pinned_tick = new_tick
        return entry.meta

    def forget(self, condition_id: str) -> None:
        entry = self._entries.pop(condition_id, None)
        if entry is not None:
            for token in entry.meta.token_ids:
                self._by_token.pop(token, None)


# --- backoff --------------------------------------------------------------------------


@dataclass(slots=True)
class Backoff:
    """Exponential backoff with proportional jitter: attempt n (from 1) waits about
    initial * 2**(n-1), capped, times a seeded factor in [1 - jitter, 1]."""

    initial_s: float
    max_s: float
    jitter: float = 0.2
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def delay(self, attempt: int) -> float:
        base: float = min(self.max_s, self.initial_s * 2.0 ** max(0, min(attempt - 1, 60)))
        return base * (1.0 - self.jitter * self.rng.random())


# --- the tracker ----------------------------------------------------------------------

DiscoveryEvent = MarketDiscovered | MarketInfoUpdated | MarketPhaseChanged | MarketRetired


@dataclass(slots=True)
class _Tracked:
    info: MarketInfo
    fetched_at: float
    resolution: Resolution | None = None
    resolved_at: float | None = None
    closed: bool = False
    announced: MarketInfo | None = None
    phase: LifecyclePhase | None = None


@dataclass(slots=True)
class _Retry:
    attempts: int = 0
    at: float = 0.0


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    assets: tuple[str, ...]
    series: tuple[str, ...]
    lead_s: float
    closing_s: float
    poll_s: float
    refresh_s: float
    retire_delay_s: float
    retire_after_s: float


class DiscoveryTracker:
    """Which windows exist, what to fetch next, and what to announce, as pure decisions.

    The actor feeds it Gamma answers (`on_market`, `on_missing`, `on_malformed`) and
    channel notices, and asks `due_slugs(now)` what to fetch and `step(now)` what to
    publish. Markets are announced at `start - lead_s`; phase changes follow the clock
    and resolutions; a market is retired `retire_delay_s` after it resolved, or
    `retire_after_s` after its end if it never did, and then forgotten.
    """

    def __init__(self, settings: TrackerSettings, backoff: Backoff) -> None:
        self.settings = settings
        self.backoff = backoff
        self.cache = MetadataCache()
        self.markets: dict[str, _Tracked] = {}
        self._slugs: dict[str, str] = {}  # slug -> condition id
        self._retries: dict[str, _Retry] = {}
        self._retired: set[str] = set()  # slugs, pruned once out of every horizon

    def _horizon(self) -> float:
        return self.settings.lead_s + self.settings.poll_s

    def wanted(self, now_s: float) -> list[str]:
        """Slugs of the current window and every window opening within the lead time
        (plus one poll), for every asset and series."""
        slugs = []
        for series in self.settings.series:
            for start in window_starts(now_s, series, self._horizon()):
                for asset in self.settings.assets:
                    slugs.append(updown_slug(asset, series, start))
        return slugs

    def due_slugs(self, now_s: float) -> list[str]:
        """What to ask Gamma now: wanted windows not yet known (unless backing off), known
        markets awaiting resolution, and known markets due for a metadata refresh."""
        wanted = self.wanted(now_s)
        self._retired &= set(wanted)
        due = []
        for slug in wanted:
            if slug in self._slugs or slug in self._retired:
                continue
            retry = self._retries.get(slug)
            if retry is None or now_s >= retry.at:
                due.append(slug)
        for slug, cid in self._slugs.items():
            tracked = self.markets[cid]
            awaiting = tracked.resolution is None and now_s >= tracked.info.end_ts
            age = now_s - tracked.fetched_at
            if age >= (self.settings.poll_s if awaiting else self.settings.refresh_s):
                due.append(slug)
        return sorted(set(due), key=due.index)

    def next_wake(self, now_s: float) -> float:
        """When `step` or a fetch next has something to do (at most one poll away)."""
        wake = now_s + self.settings.poll_s
        for retry in self._retries.values():
            if retry.at > now_s:
                wake = min(wake, retry.at)
        for tracked in self.markets.values():
            info = tracked.info
            for moment in (
                info.start_ts - self.settings.lead_s,
                next_phase_time(now_s, info, closing_s=self.settings.closing_s),
                self._retire_at(tracked),
            ):
                if moment is not None and moment > now_s:
                    wake = min(wake, moment)
        return wake

    # Inputs.

    def on_market(
        self, info: MarketInfo, resolution: Resolution | None, closed: bool, now_s: float
    ) -> None:
        """Gamma's current view of a market."""
        if info.slug in self._retired:
            return
        self._retries.pop(info.slug, None)
        effective = self.cache.update(info)
        tracked = self.markets.get(info.condition_id)
        if tracked is None:
            tracked = self.markets[info.condition_id] = _Tracked(effective, now_s)
            self._slugs[info.slug] = info.condition_id
        tracked.info = effective
        tracked.fetched_at = now_s
        tracked.closed = closed
        if resolution is not None and tracked.resolution is None:
            tracked.resolution = resolution
            tracked.resolved_at = now_s

    def on_missing(self, slug: str, now_s: float) -> None:
        """Gamma does not list this slug (yet): try again later, backing off."""
        self._back_off(slug, now_s)

    def on_malformed(self, slug: str, now_s: float) -> None:
        """Gamma lists it but it cannot be traded yet (e.g. empty token ids): back off."""
        self._back_off(slug, now_s)

    def _back_off(self, slug: str, now_s: float) -> None:
        tracked_cid = self._slugs.get(slug)
        if tracked_cid is not None:  # a known market that failed a refresh: keep it
            self.markets[tracked_cid].fetched_at = now_s
            return
        retry = self._retries.setdefault(slug, _Retry())
        retry.attempts += 1
        retry.at = now_s + max(self.settings.poll_s, self.backoff.delay(retry.attempts))
        parsed = parse_slug(slug)
        if parsed is not None:
            # Never back off past the moment the window should be announced.
            announce = parsed[2] - self.settings.lead_s
            if announce > now_s:
                retry.at = min(retry.at, announce)

    def on_tick_change(self, key: str, new_tick: int) -> bool:
        """A tick_size_change; True if it concerned a tracked market."""
        meta = self.cache.invalidate_tick(key, new_tick)
        if meta is None:
            return False
        tracked = self.markets.get(meta.condition_id)
        if tracked is not None:
            tracked.info = replace(tracked.info, tick=new_tick)
        return True

    def on_resolution(self, condition_id: str, winning_asset_id: str, now_s: float) -> bool:
        """A market_resolved from the channel; True if it concerned a tracked market."""
        tracked = self.markets.get(condition_id)
        if tracked is None:
            return False
        if tracked.resolution is None:
            tracked.resolution = resolution_from_notice(tracked.info, winning_asset_id)
            tracked.resolved_at = now_s
        return True

    # Decisions.

    def _retire_at(self, tracked: _Tracked) -> float:
        if tracked.resolved_at is not None:
            return tracked.resolved_at + self.settings.retire_delay_s
        return tracked.info.end_ts + self.settings.retire_after_s

    def phase(self, condition_id: str, now_s: float) -> LifecyclePhase:
        tracked = self.markets[condition_id]
        return lifecycle_phase(
            now_s,
            tracked.info,
            closing_s=self.settings.closing_s,
            resolution=tracked.resolution,
            closed=tracked.closed,
        )

    def step(self, now_s: float, ts_ns: int) -> list[DiscoveryEvent]:
        """Everything to publish at `now_s`, in order: announcements, metadata updates,
        phase changes, retirements."""
        events: list[DiscoveryEvent] = []
        for cid in sorted(self.markets, key=lambda c: (self.markets[c].info.start_ts, c)):
            tracked = self.markets[cid]
            info = tracked.info
            phase = self.phase(cid, now_s)
            if tracked.announced is None:
                if now_s < info.start_ts - self.settings.lead_s:
                    continue
                if phase in (LifecyclePhase.CLOSED, LifecyclePhase.RESOLVED):
                    # Found only after it ended: nothing to trade, nothing to subscribe.
                    self._forget(cid)
                    continue
                tracked.announced = info
                tracked.phase = phase
                events.append(MarketDiscovered(ts_ns, info, phase))
                continue
            if info != tracked.announced:
                tracked.announced = info
                events.append(MarketInfoUpdated(ts_ns, info))
            if phase is not tracked.phase:
                tracked.phase = phase
                winner = tracked.resolution.winner if tracked.resolution is not None else None
                events.append(MarketPhaseChanged(ts_ns, cid, phase, winner))
            if now_s >= self._retire_at(tracked):
                events.append(
                    MarketRetired(ts_ns, cid, info.token_ids, tracked.resolution is not None)
                )
                self._forget(cid)
        return events

    def _forget(self, condition_id: str) -> None:
        tracked = self.markets.pop(condition_id)
        self._slugs.pop(tracked.info.slug, None)
        self._retired.add(tracked.info.slug)
        self.cache.forget(condition_id)

    def known(self) -> Iterable[MarketInfo]:
        return (t.info for t in self.markets.values())
