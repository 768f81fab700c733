"""Every message that crosses an actor edge, grouped by direction.

Data are nouns, commands imperative, events past tense. Every message is frozen and
slotted and carries `ts_ns` (time.perf_counter_ns when it was made), so latency can be
measured along the path frame in -> order out. Prices and sizes are integer micro units.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from engine.fees import FeeSchedule
from engine.health import Health
from engine.units import OrderType, Side

if TYPE_CHECKING:
    from engine.gateway import BookSnapshot  # gateway imports this module

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
    match_time: int = 0
    """The venue's match time (unix seconds; 0 where unknown, as in the simulator)."""


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


# --- spot feeds (issue 5) ---------------------------------------------------------------


class SpotSource(Enum):
    """Where a spot price came from: the primary, the fallback, the settlement reference."""

    BINANCE = "binance"
    COINBASE = "coinbase"
    CHAINLINK = "chainlink"


@dataclass(frozen=True, slots=True)
class SpotReading:
    """One price from one source (feed -> spot board).

    `price` is micro-USD (USD x 1e6); `source_ts_ms` is the source's own timestamp (None
    where it sends none, as Binance's bookTicker); `received_s` is the session clock's
    unix time when it arrived; `kind` says what it is: trade, book (mid of best bid and
    ask), ticker or reference.
    """

    ts_ns: int
    source: SpotSource
    symbol: str
    kind: str
    price: int
    source_ts_ms: int | None
    received_s: float


@dataclass(frozen=True, slots=True)
class SpotView:
    """What a strategy sees of spot (spot board -> strategies, conflated per symbol).

    `price` is the board's choice (micro-USD): the primary while fresh (health RUNNING),
    else the fallback (DEGRADED), else None (ERROR; STARTING before any data). `price_s`
    is when that reading arrived (session unix seconds). The Chainlink reference is
    separate: its latest value and `price_to_beat`, the reference at each recent window
    start as (window start unix s, micro-USD) pairs, oldest first. `sources` is each
    source's own health. `now_s` is the session clock when the view was made.
    """

    ts_ns: int
    symbol: str
    now_s: float
    price: int | None
    source: SpotSource | None
    health: Health
    price_s: float | None
    reference: int | None
    reference_health: Health
    price_to_beat: tuple[tuple[int, int], ...]
    sources: tuple[tuple[SpotSource, Health], ...]

    def beat_for(self, window_start: int) -> int | None:
        """The reference price at `window_start`, if the board saw it."""
        for start, price in self.price_to_beat:
            if start == window_start:
                return price
        return None


# --- user channel (issue 5) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FillConfirmed:
    """A booked fill's trade reached CONFIRMED: the fill is final."""

    ts_ns: int
    trade_id: str
    order_id: str


@dataclass(frozen=True, slots=True)
class FillVoided:
    """A booked fill's trade FAILED: the ledger reverses it exactly."""

    ts_ns: int
    trade_id: str
    order_id: str


@dataclass(frozen=True, slots=True)
class UserChannelHealth:
    """The user channel's health changed (only RUNNING means no fill can be missing)."""

    ts_ns: int
    health: Health
    reason: str


# --- market feed (issue 5) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketDataHealth:
    """The market channel's health for one market changed (feed -> market actor).

    A wake-up, not the truth: the truth is the feed's health board, which this message
    is read against. `seq` is the board's change number for the market; a message whose
    seq is no longer the board's is stale and only makes the actor read the board. So a
    message lost to a drop-and-resync overflow loses nothing (the RESYNC that replaces
    it makes the actor read the board too).
    """

    ts_ns: int
    condition_id: str
    health: Health
    reason: str
    seq: int


@dataclass(frozen=True, slots=True)
class PolledBook:
    """A REST /book snapshot of one token, taken while its socket is down.

    It replaces the token's book (a snapshot never merges); the books stay current but
    untradable (the feed is DEGRADED) until the socket's own `book` events return."""

    ts_ns: int
    condition_id: str
    snapshot: BookSnapshot


MarketInput = MarketFrame | MarketDataHealth | PolledBook
"""What a market actor's mailbox carries (besides RESYNC)."""

# --- discovery (issue 5) ---------------------------------------------------------------


class LifecyclePhase(Enum):
    """Where an up/down window is in its life, as discovery tracks it.

    CLOSING is the last `closing_s` seconds of TRADING (the venue still accepts orders;
    strategies wind down). CLOSED means ended and awaiting resolution; RESOLVED carries a
    winner (or a 50/50). Strategies see the coarser MarketPhase (`market_phase`).
    """

    PRE_OPEN = "pre_open"
    TRADING = "trading"
    CLOSING = "closing"
    CLOSED = "closed"
    RESOLVED = "resolved"

    @property
    def market_phase(self) -> MarketPhase:
        """The strategies' phase: CLOSING still trades on the venue."""
        if self is LifecyclePhase.CLOSING:
            return MarketPhase.TRADING
        return MarketPhase(self.value)


@dataclass(frozen=True, slots=True)
class MarketDiscovered:
    """A market to trade, announced `lead_s` before its window opens (or at once if it is
    already open): start its MarketActor and subscribe the feed to `info.token_ids`."""

    ts_ns: int
    info: MarketInfo
    phase: LifecyclePhase


@dataclass(frozen=True, slots=True)
class MarketInfoUpdated:
    """A discovered market's metadata changed (tick size, fees, minimum size)."""

    ts_ns: int
    info: MarketInfo


@dataclass(frozen=True, slots=True)
class MarketPhaseChanged:
    """A discovered market moved to `phase`; `winner` is set only for RESOLVED (0 Up,
    1 Down, None with `phase` RESOLVED for a 50/50 resolution)."""

    ts_ns: int
    condition_id: str
    phase: LifecyclePhase
    winner: int | None = None


@dataclass(frozen=True, slots=True)
class MarketRetired:
    """Discovery is done with a market (resolved, or long past its end): unsubscribe its
    tokens and stop its MarketActor once its orders and positions are settled."""

    ts_ns: int
    condition_id: str
    token_ids: tuple[str, str]
    resolved: bool


@dataclass(frozen=True, slots=True)
class TickSizeChangeSeen:
    """The market channel announced a new tick for a token (`tick_size_change`)."""

    ts_ns: int
    condition_id: str
    asset_id: str
    new_tick: int


@dataclass(frozen=True, slots=True)
class MarketResolutionSeen:
    """The market channel announced a resolution (`market_resolved`); an empty
    `winning_asset_id` is a 50/50 resolution."""

    ts_ns: int
    condition_id: str
    winning_asset_id: str


# --- reconciliation (issue 6) ---------------------------------------------------------
# The reconciler's corrective events. A fill the journal missed is sent as a `Fill` and
# an order it finds finished as an `OrderClosed` (both above); these are the rest.


@dataclass(frozen=True, slots=True)
class OrderAdopted:
    """One of our journaled orders is live at the venue though the engine did not know it
    (a crash after sending, a lost answer): its owner must track it (or cancel it)."""

    ts_ns: int
    order_id: str
    strategy: str
    condition_id: str
    key: str
    token_id: str
    side: Side
    price: int
    size: int
    size_matched: int


@dataclass(frozen=True, slots=True)
class FillReversed:
    """A fill booked earlier did not happen: the venue reports its trade FAILED, or does
    not list it at all. The portfolio undoes it (same key as the Fill: trade_id, order_id)."""

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
    reason: str


@dataclass(frozen=True, slots=True)
class ReconciliationDone:
    """A reconciliation round matched the journal with the venue; counts of corrections
    and what could not be verified yet (`deferred`: differences explained by trades still
    settling)."""

    ts_ns: int
    round: int
    adopted: int
    closed: int
    booked: int
    reversed: int
    deferred: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReconciliationIncomplete:
    """A round could not finish because the venue could not be asked; nothing changed."""

    ts_ns: int
    round: int
    reason: str


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


# --- settlement (issue 6) ---


@dataclass(frozen=True, slots=True)
class ResolutionRead:
    """A market's resolution read from the venue over REST (its `market_resolved` frame was
    lost, or came while the engine was down), already journaled by the reconciler: the
    portfolio books it in the ledger, once per market. It names the tokens, because the
    market may be one this session never discovered."""

    ts_ns: int
    condition_id: str
    token_ids: tuple[str, str]
    payout_per_share: tuple[int, int]
    winner: int | None
