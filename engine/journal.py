"""The local journal: an append-only record of what the engine did, written before it acts.

One JSON object per line in `<state dir>/journal.jsonl`, each written and flushed (and by
default fsynced) BEFORE the action it records: an order is journaled once signed and
before it is sent, so a crash after signing or after sending leaves its id behind for
reconciliation to look up; never is an order sent that the journal does not know.

Loading replays the records into a `JournalState`. A crash in the middle of a write
leaves a torn last line: it is ignored, reported, and cut off before the next append. A
bad line anywhere else means the file was damaged, and loading refuses with the line
number rather than guessing. One engine writes a state directory at a time (an flock).

Records hold no secrets: the API secret, passphrase and private key are never part of an
order body; `Journal` refuses any record carrying a secret-named key or a registered
secret value, before anything is written.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, TypeVar

import orjson

from engine.fees import FeeSchedule
from engine.orderfsm import OrderState
from engine.units import OrderType, Side, notional

JOURNAL_FILE = "journal.jsonl"
LOCK_FILE = "lock"

FsyncPolicy = Literal["always", "never"]

SECRET_KEYS = frozenset(
    {"secret", "passphrase", "private_key", "privatekey", "poly_passphrase", "api_secret"}
)
"""Keys that never appear in a journal record, at any depth (compared lower-cased)."""


class JournalError(Exception):
    """The journal cannot be used; the message says why and where."""


class JournalCorrupt(JournalError):
    """A damaged line before the last one: the file cannot be trusted as it is."""


class JournalLocked(JournalError):
    """Another engine holds the state directory."""


# --- records -----------------------------------------------------------------------


class OrderPhase(StrEnum):
    """How far the journal knows an order got."""

    SIGNED = "signed"
    """Written before sending: it may or may not have reached the venue."""
    UNKNOWN = "unknown"
    """Sent, but the venue's answer was lost (timeout, dropped connection)."""
    LIVE = "live"
    """The venue accepted it (or reconciliation found it live there)."""
    CLOSED = "closed"
    """Terminal: filled, cancelled, rejected or expired."""


class FillStatus(StrEnum):
    """A trade's settlement status as the venue reports it (spec section 2)."""

    MATCHED = "MATCHED"
    MINED = "MINED"
    CONFIRMED = "CONFIRMED"
    RETRYING = "RETRYING"
    FAILED = "FAILED"

    @property
    def final(self) -> bool:
        return self in (FillStatus.CONFIRMED, FillStatus.FAILED)

    @classmethod
    def parse(cls, text: str) -> FillStatus:
        """The venue's status, also in its `TRADE_STATUS_` prefixed spelling."""
        name = text.upper().removeprefix("TRADE_STATUS_")
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"unknown trade status {text!r}") from None


@dataclass(frozen=True, slots=True)
class SignedRecord:
    """An order signed and about to be sent: everything needed to recognise it later."""

    order_id: str
    strategy: str
    key: str
    condition_id: str
    token_id: str
    side: Side
    price: int
    size: int
    order_type: OrderType
    post_only: bool
    fee_rate_ppm: int
    fee_exponent: int
    signed_at_ms: int
    """The order's own signed `timestamp` (venue clock, milliseconds)."""
    body: Mapping[str, Any]
    """The exact signed POST /order body (no secrets: see `check_no_secrets`)."""

    kind = "signed"


@dataclass(frozen=True, slots=True)
class SubmittedRecord:
    """The venue's answer to the post: accepted, rejected, or unknown (no answer)."""

    order_id: str
    outcome: Literal["accepted", "rejected", "unknown"]
    status: str = ""
    error: str = ""
    matched: int = 0

    kind = "submitted"


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill of one of our orders, keyed by (fill_id, order_id).

    `fill_id` is the trade id for a maker leg and "<trade id>#<leg index>" for the taker's
    part against each maker leg (see `engine.reconcile.fills_of_trade`). A later record
    with the same key and another status updates it; FAILED reverses it.
    """

    fill_id: str
    trade_id: str
    order_id: str
    strategy: str
    condition_id: str
    token_id: str
    side: Side
    price: int
    size: int
    fee: int
    liquidity: Literal["maker", "taker"]
    status: FillStatus
    match_time: int
    """Venue match time, unix seconds."""

    kind = "fill"

    @property
    def fill_key(self) -> tuple[str, str]:
        return (self.fill_id, self.order_id)

    @property
    def share_delta(self) -> int:
        return self.size if self.side is Side.BUY else -self.size

    @property
    def cash_delta(self) -> int:
        value = notional(self.price, self.size)
        return (-value if self.side is Side.BUY else value) - self.fee


@dataclass(frozen=True, slots=True)
class CancelRequestedRecord:
    order_id: str
    reason: str = ""

    kind = "cancel_requested"


@dataclass(frozen=True, slots=True)
class ClosedRecord:
    """The order reached a terminal state (an `OrderState` value such as "filled")."""

    order_id: str
    state: str
    filled: int
    reason: str = ""

    kind = "closed"


@dataclass(frozen=True, slots=True)
class AdoptedRecord:
    """Reconciliation found the order live at the venue (whatever the journal thought)."""

    order_id: str
    status: str
    size_matched: int

    kind = "adopted"


@dataclass(frozen=True, slots=True)
class BaselineRecord:
    """Holdings not explained by the journal's fills: what the account held before.

    A position is its token's baseline plus the journal's fills, so a baseline is written
    once per token (and for cash) when reconciliation first sees it. `trades_after`
    (venue seconds) and `boundary_trades` mark the trades already in the baseline.
    """

    positions: Mapping[str, int]
    cash: int | None = None
    trades_after: int | None = None
    boundary_trades: tuple[str, ...] = ()

    kind = "baseline"


@dataclass(frozen=True, slots=True)
class SettlementRecord:
    """A market resolved: its tokens are redeemed at `payouts` (micro-USDC per share);
    `extra_cash` is anything else paid in with it (maker rebates)."""

    condition_id: str
    payouts: Mapping[str, int]
    extra_cash: int = 0

    kind = "settlement"


Record = (
    SignedRecord
    | SubmittedRecord
    | FillRecord
    | CancelRequestedRecord
    | ClosedRecord
    | AdoptedRecord
    | BaselineRecord
    | SettlementRecord
)

_KINDS: dict[str, type[Any]] = {
    cls.kind: cls
    for cls in (
        SignedRecord,
        SubmittedRecord,
        FillRecord,
        CancelRequestedRecord,
        ClosedRecord,
        AdoptedRecord,
        BaselineRecord,
        SettlementRecord,
    )
}


def encode_record(record: Record, seq: int, ts_ms: int) -> bytes:
    """One journal line (with its newline): seq, wall-clock ms, kind, then the fields."""
    data: dict[str, Any] = {"seq": seq, "ts_ms": ts_ms, "kind": record.kind}
    for f in fields(record):
        value = getattr(record, f.name)
        if isinstance(value, Side):
            value = value.name
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, Mapping):
            value = dict(value)
        data[f.name] = value
    return orjson.dumps(data) + b"\n"


T = TypeVar("T")


def _want(data: Mapping[str, Any], name: str, kind: type[T] | tuple[type, ...]) -> Any:
    if name not in data:
        raise ValueError(f"missing field {name!r}")
    value = data[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ValueError(f"field {name!r} has the wrong type ({type(value).__name__})")
    return value


def _int_map(value: Any, name: str) -> dict[str, int]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise ValueError(f"field {name!r} must map strings to integers")
    return dict(value)


def decode_record(data: Any) -> tuple[int, Record]:
    """(seq, record) from one parsed line; ValueError naming what is wrong."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    seq = _want(data, "seq", int)
    kind = _want(data, "kind", str)
    cls = _KINDS.get(kind)
    if cls is None:
        raise ValueError(f"unknown record kind {kind!r}")
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in data:
            if f.default is not MISSING:
                continue
            raise ValueError(f"{kind}: missing field {f.name!r}")
        values[f.name] = data[f.name]
    try:
        record = _typed(cls, values)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{kind}: {exc}") from None
    return seq, record


def _typed(cls: type[Any], v: dict[str, Any]) -> Record:
    str_fields = {"order_id", "strategy", "key", "condition_id", "token_id", "fill_id"}
    str_fields |= {"trade_id", "status", "error", "reason", "state", "outcome", "liquidity"}
    int_fields = {"price", "size", "fee_rate_ppm", "fee_exponent", "signed_at_ms", "matched"}
    int_fields |= {"fee", "match_time", "filled", "size_matched", "extra_cash"}
    for name, value in v.items():
        if name in str_fields and not isinstance(value, str):
            raise ValueError(f"field {name!r} must be a string")
        if name in int_fields and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"field {name!r} must be an integer")
    if "side" in v:
        v["side"] = Side.parse(_want(v, "side", str))
    if cls is SignedRecord:
        v["order_type"] = OrderType(_want(v, "order_type", str))
        _want(v, "post_only", bool)
        _want(v, "body", dict)
    elif cls is SubmittedRecord:
        if v["outcome"] not in ("accepted", "rejected", "unknown"):
            raise ValueError(f"unknown outcome {v['outcome']!r}")
    elif cls is FillRecord:
        v["status"] = FillStatus.parse(v["status"])
        if v["liquidity"] not in ("maker", "taker"):
            raise ValueError(f"unknown liquidity {v['liquidity']!r}")
    elif cls is ClosedRecord:
        if not OrderState(v["state"]).terminal:
            raise ValueError(f"state {v['state']!r} is not terminal")
    elif cls is BaselineRecord:
        v["positions"] = _int_map(v["positions"], "positions")
        cash = v.get("cash")
        if cash is not None and (not isinstance(cash, int) or isinstance(cash, bool)):
            raise ValueError("field 'cash' must be an integer or null")
        after = v.get("trades_after")
        if after is not None and (not isinstance(after, int) or isinstance(after, bool)):
            raise ValueError("field 'trades_after' must be an integer or null")
        boundary = v.get("boundary_trades", [])
        if not isinstance(boundary, list) or not all(isinstance(t, str) for t in boundary):
            raise ValueError("field 'boundary_trades' must be a list of strings")
        v["boundary_trades"] = tuple(boundary)
    elif cls is SettlementRecord:
        v["payouts"] = _int_map(v["payouts"], "payouts")
    record: Record = cls(**v)
    return record


def check_no_secrets(record: Record, secrets: Iterable[str] = ()) -> None:
    """Raise JournalError if the record carries a secret-named key or a secret value."""
    line = encode_record(record, 0, 0)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if str(k).lower() in SECRET_KEYS:
                    raise JournalError(f"refusing to journal a {record.kind} record: key {k!r}")
                walk(v)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(orjson.loads(line))
    for secret in secrets:
        if secret and secret.encode() in line:
            raise JournalError(f"refusing to journal a {record.kind} record: it holds a secret")


# --- state ----------------------------------------------------------------------------


@dataclass(slots=True)
class JournalOrder:
    """An order as the journal last knew it."""

    signed: SignedRecord
    phase: OrderPhase = OrderPhase.SIGNED
    terminal: OrderState | None = None
    venue_status: str = ""
    error: str = ""
    cancel_requested: bool = False
    close_reason: str = ""

    @property
    def order_id(self) -> str:
        return self.signed.order_id

    @property
    def fees(self) -> FeeSchedule:
        return FeeSchedule(rate_ppm=self.signed.fee_rate_ppm, exponent=self.signed.fee_exponent)


@dataclass
class JournalState:
    """What replaying the journal yields: orders, unique fills, positions and cash.

    A position is the token's baseline plus every fill that has not FAILED; cash is
    likewise the cash baseline plus the fills' cash (None until a cash baseline exists).
    """

    orders: dict[str, JournalOrder] = field(default_factory=dict)
    fills: dict[tuple[str, str], FillRecord] = field(default_factory=dict)
    baseline_positions: dict[str, int] = field(default_factory=dict)
    baseline_cash: int | None = None
    settled_cash: int = 0
    trades_after: int | None = None
    boundary_trades: frozenset[str] = frozenset()
    has_baseline: bool = False
    settled: dict[str, Mapping[str, int]] = field(default_factory=dict)
    """Markets whose settlement is journaled: condition id -> payouts (one per market)."""
    last_seq: int = 0
    orphans: list[str] = field(default_factory=list)
    """Records that named an order the journal never signed (kept for the report)."""

    def copy(self) -> JournalState:
        return copy.deepcopy(self)

    # Derived views.

    @property
    def positions(self) -> dict[str, int]:
        result = dict(self.baseline_positions)
        for fill in self.fills.values():
            if fill.status is not FillStatus.FAILED:
                result[fill.token_id] = result.get(fill.token_id, 0) + fill.share_delta
        return result

    @property
    def cash(self) -> int | None:
        if self.baseline_cash is None:
            return None
        total = self.baseline_cash + self.settled_cash
        for fill in self.fills.values():
            if fill.status is not FillStatus.FAILED:
                total += fill.cash_delta
        return total

    def filled(self, order_id: str) -> int:
        """Shares filled on an order: its unique fills that have not failed."""
        return sum(
            f.size
            for f in self.fills.values()
            if f.order_id == order_id and f.status is not FillStatus.FAILED
        )

    def open_orders(self) -> list[JournalOrder]:
        """Orders that may be live at the venue (signed, unknown or live)."""
        return [o for o in self.orders.values() if o.phase is not OrderPhase.CLOSED]

    @property
    def tokens(self) -> set[str]:
        found = set(self.baseline_positions)
        found.update(o.signed.token_id for o in self.orders.values())
        found.update(f.token_id for f in self.fills.values())
        return found

    # Replay.

    def changes(self, record: Record) -> bool:
        """Whether applying `record` would change anything (False for a repeated fill, a
        late answer about a closed order, or a record naming an order never signed)."""
        match record:
            case SignedRecord():
                return record.order_id not in self.orders
            case FillRecord():
                known = self.fills.get(record.fill_key)
                if record.order_id not in self.orders:
                    return False
                return known is None or (known.status != record.status and not known.status.final)
            case BaselineRecord():
                return True
            case SettlementRecord():
                return record.condition_id not in self.settled
        order = self.orders.get(record.order_id)
        if order is None:
            return False
        match record:
            case SubmittedRecord():
                return order.phase in (OrderPhase.SIGNED, OrderPhase.UNKNOWN)
            case CancelRequestedRecord():
                return not order.cancel_requested and order.phase is not OrderPhase.CLOSED
            case ClosedRecord():
                return order.phase is not OrderPhase.CLOSED
            case AdoptedRecord():
                return order.phase is not OrderPhase.LIVE or order.venue_status != record.status
        raise JournalError(f"unhandled record {record!r}")  # pragma: no cover

    def names_unknown_order(self, record: Record) -> bool:
        order_id = getattr(record, "order_id", None)
        return (
            order_id is not None
            and not isinstance(record, SignedRecord)
            and order_id not in self.orders
        )

    def apply(self, record: Record) -> bool:
        """Apply one record; False if it changed nothing (see `changes`)."""
        if self.names_unknown_order(record):
            self.orphans.append(f"{record.kind} {getattr(record, 'order_id', '')}")
            return False
        if not self.changes(record):
            return False
        match record:
            case SignedRecord():
                self.orders[record.order_id] = JournalOrder(record)
            case FillRecord():
                self.fills[record.fill_key] = record
            case BaselineRecord():
                self.baseline_positions.update(record.positions)
                if record.cash is not None:
                    self.baseline_cash = record.cash
                if record.trades_after is not None:
                    self.trades_after = record.trades_after
                    self.boundary_trades = frozenset(record.boundary_trades)
                self.has_baseline = True
            case SettlementRecord():
                positions = self.positions
                for token, per_share in record.payouts.items():
                    held = positions.get(token, 0)
                    self.baseline_positions[token] = self.baseline_positions.get(token, 0) - held
                    if held > 0:
                        self.settled_cash += notional(per_share, held)
                self.settled_cash += record.extra_cash
                self.settled[record.condition_id] = dict(record.payouts)
            case SubmittedRecord():
                order = self.orders[record.order_id]
                order.venue_status = record.status
                order.error = record.error
                if record.outcome == "accepted":
                    order.phase = OrderPhase.LIVE
                elif record.outcome == "rejected":
                    order.phase = OrderPhase.CLOSED
                    order.terminal = OrderState.REJECTED
                    order.close_reason = record.error
                else:
                    order.phase = OrderPhase.UNKNOWN
            case CancelRequestedRecord():
                self.orders[record.order_id].cancel_requested = True
            case ClosedRecord():
                order = self.orders[record.order_id]
                order.phase = OrderPhase.CLOSED
                order.terminal = OrderState(record.state)
                order.close_reason = record.reason
            case AdoptedRecord():
                order = self.orders[record.order_id]
                order.phase = OrderPhase.LIVE
                order.terminal = None
                order.venue_status = record.status
        return True


# --- reading ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadReport:
    """What loading found: records applied, and a torn tail (bytes ignored) if any."""

    records: int
    torn_bytes: int
    valid_length: int
    """Bytes of whole, valid lines: where the next record goes."""

    def describe(self, path: Path) -> str:
        torn = f", ignored a torn last line ({self.torn_bytes} bytes)" if self.torn_bytes else ""
        return f"journal {path}: {self.records} records{torn}"


def iter_journal(data: bytes, path: Path | str = JOURNAL_FILE) -> Iterator[tuple[int, Record]]:
    """Parse whole lines, yielding (seq, record); see `read_journal` for the torn tail."""
    for _, seq, record in _scan(data, str(path))[0]:
        yield seq, record


def _scan(data: bytes, where: str) -> tuple[list[tuple[int, int, Record]], int]:
    """([(end offset, seq, record)], torn bytes); raises JournalCorrupt for a bad middle."""
    out: list[tuple[int, int, Record]] = []
    start = 0
    lineno = 0
    previous_seq = 0
    while start < len(data):
        lineno += 1
        end = data.find(b"\n", start)
        if end < 0:
            return out, len(data) - start  # torn: the write never finished
        line = data[start:end]
        last = end + 1 == len(data)
        try:
            seq, record = decode_record(orjson.loads(line))
            if seq <= previous_seq:
                raise ValueError(f"seq {seq} does not follow {previous_seq}")
        except (orjson.JSONDecodeError, ValueError) as exc:
            if last and _looks_torn(line):
                return out, len(data) - start
            raise JournalCorrupt(
                f"journal {where}: line {lineno} is damaged ({exc}); the file cannot be "
                "trusted: inspect it, restore it or move it aside"
            ) from None
        previous_seq = seq
        out.append((end + 1, seq, record))
        start = end + 1
    return out, 0


def _looks_torn(line: bytes) -> bool:
    """A last line that is not a whole JSON object: cut short or zero-filled by a crash."""
    stripped = line.rstrip(b"\x00")
    try:
        orjson.loads(stripped)
    except orjson.JSONDecodeError:
        return True
    return not stripped


def read_journal(path: Path) -> tuple[JournalState, LoadReport]:
    """Replay a journal file (a missing file is an empty journal) without locking it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return JournalState(), LoadReport(0, 0, 0)
    rows, torn = _scan(data, str(path))
    state = JournalState()
    for _, seq, record in rows:
        state.apply(record)
        state.last_seq = seq
    valid = rows[-1][0] if rows else 0
    return state, LoadReport(len(rows), torn, valid)


# --- writing -----------------------------------------------------------------------


class Journal:
    """The one writer of a state directory's journal.

    Every append is encoded, checked for secrets, written, flushed and (with fsync
    "always") fsynced before it returns, and only then applied to `state`. Appends are
    synchronous on purpose: the caller acts only after the record is durable.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        fsync: FsyncPolicy = "always",
        secrets: Iterable[str] = (),
    ) -> None:
        self.dir = state_dir
        self.path = state_dir / JOURNAL_FILE
        self.fsync = fsync
        self._secrets = tuple(s for s in secrets if s)
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_fd = _lock(state_dir)
        try:
            self.state, self.report = read_journal(self.path)
            self._file = open(self.path, "ab")  # noqa: SIM115 - held for the journal's life
            if self.report.torn_bytes:
                self._file.truncate(self.report.valid_length)
                self._sync()
            self._length = self.report.valid_length
            self._broken = ""
            _fsync_dir(state_dir)
        except BaseException:
            os.close(self._lock_fd)
            raise

    @property
    def torn(self) -> bool:
        return self.report.torn_bytes > 0

    def close(self) -> None:
        if self._file.closed:
            return
        self._file.close()
        os.close(self._lock_fd)

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def append(self, record: Record) -> bool:
        """Make `record` durable, then apply it. A record that would change nothing (a
        repeated fill, a late answer for a closed order) is not written; returns False."""
        if self._file.closed:
            raise JournalError(f"journal {self.path} is closed")
        if self._broken:
            raise JournalError(f"journal {self.path}: {self._broken}; restart the engine")
        check_no_secrets(record, self._secrets)
        if self.state.names_unknown_order(record):
            raise JournalError(
                f"journal {self.path}: {record.kind} names order "
                f"{getattr(record, 'order_id', '')}, which was never journaled as signed"
            )
        if not self.state.changes(record):
            return False
        seq = self.state.last_seq + 1
        line = encode_record(record, seq, time.time_ns() // 1_000_000)
        try:
            self._file.write(line)
            self._sync()
        except OSError as exc:
            # Leave no partial line behind for the next append to follow: cut it off,
            # and refuse further writes (the caller must not act on this record).
            self._broken = f"a write failed ({exc})"
            with contextlib.suppress(OSError):
                self._file.truncate(self._length)
            raise JournalError(f"journal {self.path}: {self._broken}") from exc
        self._length += len(line)
        self.state.apply(record)
        self.state.last_seq = seq
        return True

    def _sync(self) -> None:
        self._file.flush()
        if self.fsync == "always":
            os.fsync(self._file.fileno())

    # Convenience writers, one per record kind.

    def signed(
        self,
        order_id: str,
        body: bytes | Mapping[str, Any],
        *,
        strategy: str,
        key: str,
        condition_id: str,
        token_id: str,
        side: Side,
        price: int,
        size: int,
        order_type: OrderType,
        post_only: bool,
        fees: FeeSchedule,
    ) -> None:
        """Journal a signed order before it is sent (`body` is the exact POST body)."""
        parsed = orjson.loads(body) if isinstance(body, bytes) else dict(body)
        if not isinstance(parsed, dict) or not isinstance(parsed.get("order"), dict):
            raise JournalError(f"order {order_id}: the body is not a signed order")
        signed_at = int(parsed["order"].get("timestamp") or 0)
        self.append(
            SignedRecord(
                order_id,
                strategy,
                key,
                condition_id,
                token_id,
                side,
                price,
                size,
                order_type,
                post_only,
                fees.rate_ppm,
                fees.exponent,
                signed_at,
                parsed,
            )
        )

    def submitted(
        self,
        order_id: str,
        outcome: Literal["accepted", "rejected", "unknown"],
        *,
        status: str = "",
        error: str = "",
        matched: int = 0,
    ) -> bool:
        return self.append(SubmittedRecord(order_id, outcome, status, error, matched))

    def fill(self, record: FillRecord) -> bool:
        return self.append(record)

    def cancel_requested(self, order_id: str, reason: str = "") -> bool:
        return self.append(CancelRequestedRecord(order_id, reason))

    def closed(self, order_id: str, state: OrderState, filled: int, reason: str = "") -> bool:
        if not state.terminal:
            raise JournalError(f"order {order_id}: {state.value} is not a terminal state")
        return self.append(ClosedRecord(order_id, state.value, filled, reason))


def _lock(state_dir: Path) -> int:
    """Take the directory's lock (non-blocking) and write our pid into it."""
    path = state_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise JournalLocked(
            f"state directory {state_dir} is in use by another engine (pid {holder}); "
            "stop it or choose another --state-dir"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def record_fields(record: Record) -> dict[str, Any]:
    """A record's fields as a plain dict (for logs and reports)."""
    return asdict(record)
