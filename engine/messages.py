"""Every message that crosses an actor edge, grouped by direction.

Data are nouns, commands imperative, events past tense. Every message is frozen and
slotted and carries `ts_ns` (time.perf_counter_ns when it was made), so latency can be
measured along the path frame in -> order out. Prices and sizes are integer micro units.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from engine.fees import FeeSchedule
from engine.units import OrderType, Side

# --- market data: feed -> market -> strategies -------------------------------------


@dataclass(frozen=True, slots=True)
class MarketFrame:
    """One market-channel frame exactly as received (bytes, not decoded in Python), and
    when it arrived. The same frame goes to every market it concerns; each MarketActor
    applies the events for its own tokens in one native call."""

    ts_ns: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class MarketInfo:
    """Static facts about a market the engine trades (from discovery)."""

    condition_id: str
    slug: str
    token_ids: tuple[str, str]
    outcomes: tuple[str, str]
    tick: int
    min_size: int
    fees: FeeSchedule
    start_ts: int
    end_ts: int
    neg_risk: bool = False


@dataclass(frozen=True, slots=True)
class TokenTop:
    """Top of one outcome's book as published (None where a side is empty)."""

    token_id: str
    best_bid: int | None
    bid_size: int
    best_ask: int | None
    ask_size: int


class MarketPhase(Enum):
    PRE_OPEN = "pre_open"
    TRADING = "trading"
    CLOSED = "closed"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class MarketView:
    """What a strategy sees of one market; `frame_ts_ns` is when its source frame arrived.

    `vpin` is each outcome's flow toxicity in [0, 1] from its trades (None until enough
    volume has traded).
    """

    ts_ns: int
    frame_ts_ns: int
    market: MarketInfo
    now_s: float
    phase: MarketPhase
    healthy: bool
    yes: TokenTop
    no: TokenTop
    vpin: tuple[float | None, float | None] = (None, None)

    @property
    def time_left_s(self) -> float:
        return self.market.end_ts - self.now_s


# --- positions: portfolio -> strategies ------------------------------------------


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """A strategy's holdings in one market after a fill or settlement."""

    ts_ns: int
    strategy: str
    condition_id: str
    yes_size: int
    no_size: int


# --- intents: strategies -> order manager ------------------------------------------


@dataclass(frozen=True, slots=True)
class QuoteTarget:
    """One resting order a strategy wants, identified by a stable key such as "bid-yes"."""

    key: str
    token_id: str
    side: Side
    price: int
    size: int
    post_only: bool = True


@dataclass(frozen=True, slots=True)
class SetQuotes:
    """The complete set of resting orders a strategy wants in a market; others are cancelled."""

    ts_ns: int
    origin_ts_ns: int
    strategy: str
    condition_id: str
    quotes: tuple[QuoteTarget, ...]


@dataclass(frozen=True, slots=True)
class TakeLeg:
    token_id: str
    side: Side
    price: int
    size: int
    order_type: OrderType = OrderType.FOK


@dataclass(frozen=True, slots=True)
class TakeOrders:
    """Marketable orders to send at once (for example both legs of a parity arbitrage)."""

    ts_ns: int
    origin_ts_ns: int
    strategy: str
    condition_id: str
    legs: tuple[TakeLeg, ...]


# --- commands: order manager -> order actor ---------------------------------------------


@dataclass(frozen=True, slots=True)
class CancelOrder:
    ts_ns: int
    order_id: str
    reason: str


# --- venue reports: user channel -> order actor (fills arrive as Fill, below) ---------


class Liquidity(Enum):
    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True, slots=True)
class OrderReport:
    """A user-channel order event: PLACEMENT, UPDATE or CANCELLATION."""

    ts_ns: int
    order_id: str
    kind: str
    size_matched: int


# --- events: order actors -> portfolio and order manager ---------------------------------


@dataclass(frozen=True, slots=True)
class Fill:
    """A fill booked for a strategy: counted once, keyed by (trade_id, order_id)."""

    ts_ns: int
    trade_id: str
    order_id: str
    strategy: str
    condition_id: str
    token_id: str
    side: Side
    price: int
    size: int
    fee: int
    liquidity: Liquidity


@dataclass(frozen=True, slots=True)
class OrderClosed:
    """An order reached a terminal state; the manager forgets it."""

    ts_ns: int
    order_id: str
    strategy: str
    condition_id: str
    key: str
    state: str
    filled: int


@dataclass(frozen=True, slots=True)
class MarketSettled:
    """A market resolved: micro-USDC paid per share of each outcome (1.00/0 or 0.50/0.50)."""

    ts_ns: int
    condition_id: str
    payout_per_share: tuple[int, int]
    winner: int | None


@dataclass(frozen=True, slots=True)
class CashUpdate:
    """The portfolio's cash after a fill or settlement, for the risk gate's free-cash check."""

    ts_ns: int
    cash: int


# --- live connectivity (issue 5): each component appends its messages in its own section


# --- pairs (issue 6) ---


@dataclass(frozen=True, slots=True)
class EnterPair:
    """A strategy wants both outcomes of a market (entry = outcome 0, hedge = outcome 1)
    bought at these prices; the pair actor runs an engine.pairs.PairExecutor for it."""

    ts_ns: int
    origin_ts_ns: int
    strategy: str
    pair_id: str
    condition_id: str
    prices: tuple[int, int]
    size: int


@dataclass(frozen=True, slots=True)
class PairFinished:
    """A pair reached a resting phase (hedged, flat, liquidated, held, orphaned; or refused),
    with what it holds of each outcome. `may_retry` is true when nothing was bought."""

    ts_ns: int
    strategy: str
    pair_id: str
    condition_id: str
    phase: str
    position: tuple[int, int]
    may_retry: bool
