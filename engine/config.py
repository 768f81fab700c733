"""Configuration: pydantic models loaded from a TOML file plus POLYENGINE_* variables.

Every model is frozen and forbids unknown keys, so a typo is an error rather than a
silently ignored setting. Money and sizes are Decimal at this edge and converted to
integer micro units (`engine.units`) where the engine uses them. Environment variables
name a nested field with double underscores: POLYENGINE_VENUE__SEED=7 sets venue.seed.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from engine.pairs import PairParams
from engine.units import parse_units

ENV_PREFIX = "POLYENGINE_"
NOT_SETTINGS = frozenset({"POLYENGINE_CRASH_AT"})
"""Variables under the prefix that are not settings (engine/crashpoints.py reads this one)."""


class ConfigError(ValueError):
    """A configuration problem, already phrased as one line naming the field."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _micro(value: Decimal) -> int:
    return parse_units(value)


class VenueConfig(_Model):
    """The simulated venue the paper session trades against."""

    seed: int = Field(default=7, ge=0, description="seed of the scenario (spot path, traders)")
    windows: int = Field(default=2, ge=1, le=96, description="15-minute market windows to run")
    start_ts: int = Field(
        default=1_793_404_800, ge=0, description="unix start of the first window (multiple of 900)"
    )
    step_s: float = Field(default=1.0, gt=0, le=60, description="scenario step in seconds")
    initial_balance: Decimal = Field(default=Decimal(10_000), gt=0, description="USDC per account")
    latency_ms: float = Field(
        default=20.0, ge=0, le=5_000, description="one-way venue latency (sim mode only)"
    )
    book_model: Literal["per_token", "unified"] = Field(
        default="per_token",
        description="the paper venue's books: per_token (mint matching only) or unified "
        "(mirrored books with merges, as production)",
    )
    faults: str = Field(
        default="", description="faults for the paper session's own venue (polyengine venue)"
    )

    @field_validator("start_ts")
    @classmethod
    def _aligned(cls, value: int) -> int:
        if value % 900:
            raise ValueError(
                "must be a multiple of 900 (15-minute windows start on the quarter hour)"
            )
        return value

    @property
    def initial_balance_micro(self) -> int:
        return _micro(self.initial_balance)


class ClockConfig(_Model):
    """How session time runs, in session seconds per real second.

    Unset, it follows the mode: `sim` jumps over idle time (0, as fast as possible);
    `paper` with its own venue runs at 20; `paper` against a running venue and `live`
    run on the real clock (1). A networked session must run at its venue's rate.
    """

    rate: float | None = Field(
        default=None, ge=0, le=1_000_000, description="session seconds per real second"
    )

    def rate_for(self, mode: str, own_venue: bool) -> float:
        if self.rate is not None:
            return self.rate
        if mode == "sim":
            return 0.0
        return PAPER_CLOCK_RATE if mode == "paper" and own_venue else 1.0


PAPER_CLOCK_RATE = 20.0
"""The paper session's default pace: 2 windows (30 minutes) in about 90 s."""


class ParityConfig(_Model):
    """Parity arbitrage: buy both outcomes when their asks sum below 1 minus fees and edge."""

    enabled: bool = True
    min_edge: Decimal = Field(default=Decimal("0.01"), ge=0, lt=1)
    max_size: Decimal = Field(default=Decimal("50"), ge=5)
    cooldown_s: float = Field(default=2.0, ge=0)

    @property
    def min_edge_micro(self) -> int:
        return _micro(self.min_edge)

    @property
    def max_size_micro(self) -> int:
        return _micro(self.max_size)


class MakerConfig(_Model):
    """Passive spread maker: quotes inside wide spreads, skewed by inventory, never crossing."""

    enabled: bool = True
    min_spread_ticks: int = Field(default=3, ge=2, le=50)
    quote_size: Decimal = Field(default=Decimal("10"), ge=5)
    max_inventory: Decimal = Field(default=Decimal("100"), gt=0)
    skew_ticks_per_quote: int = Field(
        default=1, ge=0, le=10, description="ticks of skew per quote_size of net inventory"
    )
    stop_before_end_s: float = Field(default=60.0, ge=0)

    @property
    def quote_size_micro(self) -> int:
        return _micro(self.quote_size)

    @property
    def max_inventory_micro(self) -> int:
        return _micro(self.max_inventory)


class MarketDataConfig(_Model):
    """Per-market analytics computed from the feed."""

    vpin_bucket: Decimal = Field(default=Decimal("100"), gt=0, description="shares per bucket")
    vpin_window: int = Field(default=20, ge=1, le=10_000, description="buckets averaged")
    vpin_classification: Literal["bulk", "tick", "side"] = "bulk"

    @property
    def vpin_bucket_micro(self) -> int:
        return _micro(self.vpin_bucket)


class LatencyConfig(_Model):
    """Latency sniping: take an outcome whose ask lags the fair value implied by spot.

    Off unless enabled: it needs the spot feeds (actors/spot_feed.py) running.
    """

    enabled: bool = False
    sigma_per_sqrt_s: float = Field(
        default=0.00012, gt=0, lt=1, description="BTC log-price volatility per sqrt(second)"
    )
    min_edge: Decimal = Field(
        default=Decimal("0.02"), ge=0, lt=1, description="edge per share after fees (USDC)"
    )
    kelly_multiplier: float = Field(default=0.25, gt=0, le=1, description="fraction of Kelly")
    kelly_cap: float = Field(default=0.05, gt=0, le=1, description="max fraction of bankroll")
    bankroll: Decimal = Field(default=Decimal("1000"), gt=0, description="USDC Kelly sizes on")
    max_size: Decimal = Field(default=Decimal("100"), gt=0, description="shares per take")
    max_position: Decimal = Field(default=Decimal("300"), gt=0, description="shares per outcome")
    order_type: Literal["FOK", "FAK"] = "FOK"
    max_spot_age_s: float = Field(
        default=3.0, gt=0, le=600, description="older spot prices are not traded on"
    )
    stop_before_end_s: float = Field(default=2.0, ge=0)
    cooldown_s: float = Field(default=2.0, ge=0)

    @property
    def min_edge_micro(self) -> int:
        return _micro(self.min_edge)

    @property
    def bankroll_micro(self) -> int:
        return _micro(self.bankroll)

    @property
    def max_size_micro(self) -> int:
        return _micro(self.max_size)

    @property
    def max_position_micro(self) -> int:
        return _micro(self.max_position)


class PairsConfig(_Model):
    """Atomic entry+hedge pairs (engine/pairs.py): when to post, how long to wait for
    fills, how to liquidate a lone leg, when to exit before settlement."""

    threshold: Decimal = Field(
        default=Decimal("0.99"), gt=0, le=1, description="post when the two prices sum <= this"
    )
    post_only: bool = Field(default=True, description="post as maker (rebates)")
    post_only_failures: int = Field(
        default=3, ge=1, le=100, description="crossing rejections before a market goes GTC"
    )
    fill_timeout_s: float = Field(default=120.0, gt=0, le=3_600)
    patient_above_s: float = Field(
        default=600.0, gt=0, description="liquidate patiently with more time to resolution"
    )
    aggressive_below_s: float = Field(
        default=300.0, gt=0, description="liquidate aggressively with less time to resolution"
    )
    exit_from_s: float = Field(default=180.0, gt=0, description="pre-settlement window opens")
    exit_until_s: float = Field(default=45.0, ge=0, description="pre-settlement window closes")
    exit_confidence: float = Field(default=0.80, gt=0.5, lt=1)
    confidence: Literal["book", "spot"] = Field(
        default="book",
        description="what the pre-settlement exit reads: the book's odds (each outcome's "
        "mid over both), or the spot model against the price to beat (starts the spot "
        "feeds; the book's odds while spot is stale)",
    )
    sigma_per_sqrt_s: float = Field(
        default=0.00012, gt=0, lt=1, description="spot model: log-price volatility per sqrt(s)"
    )
    max_spot_age_s: float = Field(
        default=3.0, gt=0, le=600, description="spot model: older spot prices are not used"
    )
    enabled: bool = Field(
        default=True,
        description="run the pair desk (actors/pair_desk.py) in networked sessions (paper, "
        "live); the in-process simulator (--mode sim) has no pair desk",
    )
    size: Decimal = Field(
        default=Decimal("10"), ge=5, le=10_000, description="shares bought of each outcome"
    )
    entry_offset_ticks: int = Field(
        default=1,
        ge=0,
        le=50,
        description="post each leg this many ticks under its best ask (0: at the ask, "
        "which a post-only order cannot rest at)",
    )
    max_open_pairs: int = Field(
        default=4, ge=1, le=100, description="pairs working or unwinding at once, all markets"
    )
    cooldown_s: float = Field(
        default=5.0, ge=0, le=3_600, description="wait after a pair ends before the next one"
    )
    min_time_left_s: float = Field(
        default=300.0, ge=0, description="no new pair with less time to the market's end"
    )
    query_retry_s: float = Field(
        default=2.0, gt=0, le=600, description="wait before asking the venue again"
    )

    @property
    def size_micro(self) -> int:
        return _micro(self.size)

    @field_validator("size")
    @classmethod
    def _size_on_step(cls, value: Decimal) -> Decimal:
        if value * 100 != (value * 100).to_integral_value():
            raise ValueError("must be a multiple of 0.01 shares")
        return value

    @field_validator("aggressive_below_s")
    @classmethod
    def _bands_ordered(cls, value: float, info: ValidationInfo) -> float:
        patient = info.data.get("patient_above_s")
        if patient is not None and value > patient:
            raise ValueError("must not exceed patient_above_s")
        return value

    @field_validator("exit_until_s")
    @classmethod
    def _window_ordered(cls, value: float, info: ValidationInfo) -> float:
        start = info.data.get("exit_from_s")
        if start is not None and value >= start:
            raise ValueError("must be below exit_from_s")
        return value

    def params(self) -> PairParams:
        return PairParams(
            threshold=_micro(self.threshold),
            post_only=self.post_only,
            post_only_failures=self.post_only_failures,
            fill_timeout_s=self.fill_timeout_s,
            patient_above_s=self.patient_above_s,
            aggressive_below_s=self.aggressive_below_s,
            exit_from_s=self.exit_from_s,
            exit_until_s=self.exit_until_s,
            exit_confidence=self.exit_confidence,
        )


class StrategiesConfig(_Model):
    parity: ParityConfig = ParityConfig()
    maker: MakerConfig = MakerConfig()
    latency: LatencyConfig = LatencyConfig()
    pairs: PairsConfig = PairsConfig()


class RiskConfig(_Model):
    """Hard limits checked before any order leaves the engine."""

    max_open_orders: int = Field(default=40, ge=1)
    max_notional_per_market: Decimal = Field(default=Decimal("1000"), gt=0)
    max_order_size: Decimal = Field(default=Decimal("200"), ge=5)

    @property
    def max_notional_per_market_micro(self) -> int:
        return _micro(self.max_notional_per_market)

    @property
    def max_order_size_micro(self) -> int:
        return _micro(self.max_order_size)


class EndpointsConfig(_Model):
    """Where the venue lives: production by default; paper mode and tests point every URL
    at the local venue server (`from_venue_url`)."""

    clob: str = "https://clob.polymarket.com"
    ws_market: str = "wss://ws-subscriptions-clob.polymarket.com/ws/market"
    ws_user: str = "wss://ws-subscriptions-clob.polymarket.com/ws/user"
    gamma: str = "https://gamma-api.polymarket.com"
    binance: str = "wss://stream.binance.com:9443"
    coinbase: str = "https://api.exchange.coinbase.com"
    rtds: str = "wss://ws-live-data.polymarket.com"

    @classmethod
    def from_venue_url(cls, base: str) -> EndpointsConfig:
        """Every service of a `polyengine venue` server from its http://host:port."""
        base = base.rstrip("/")
        ws_base = "ws://" + base.removeprefix("http://")
        return cls(
            clob=base,
            ws_market=f"{ws_base}/ws/market",
            ws_user=f"{ws_base}/ws/user",
            gamma=f"{base}/gamma",
            binance=f"{ws_base}/binance",
            coinbase=f"{base}/coinbase",
            rtds=f"{ws_base}/rtds",
        )


# --- live connectivity (issue 5): one section per component ------------------------


DEFAULT_RATE_LIMITS: dict[str, str] = {
    "*": "7200/10",
    "POST /order": "2800/10,28800/600",
    "POST /orders": "800/10,12000/600",
    "DELETE /order": "2400/10",
    "DELETE /orders": "800/10",
    "/balance-allowance": "160/10",
}
"""80% of the documented production limits (spec section 9: CLOB 9,000/10 s, POST /order
3,500/10 s and 36,000/10 min, ...), leaving headroom for account tools sharing the key."""


class ClientConfig(_Model):
    """The REST venue client: timeouts, rate limits, retries (engine/client/)."""

    connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    request_timeout_s: float = Field(
        default=5.0, gt=0, le=120, description="whole-request bound; past it a post is UNKNOWN"
    )
    max_connections: int = Field(default=64, ge=1, le=1_000)
    rate_limits: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description='"METHOD /path", "/path" (any method) or "*" (every request) -> '
        '"COUNT/SECONDS[,COUNT/SECONDS...]"',
    )
    rate_margin_s: float = Field(
        default=0.25,
        ge=0,
        le=10,
        description="added to every rate window, so jitter in transit cannot bunch requests",
    )
    retries: int = Field(default=4, ge=0, le=20, description="retries of reads and cancels")
    submit_retries: int = Field(
        default=2, ge=0, le=10, description="re-sends of an order answered 429/425 (not processed)"
    )
    backoff_base_s: float = Field(default=0.2, gt=0, le=60)
    backoff_max_s: float = Field(default=5.0, gt=0, le=600)
    backoff_jitter: float = Field(default=0.5, ge=0, le=1, description="fraction of a delay drawn")
    retry_after_max_s: float = Field(
        default=60.0, gt=0, le=3_600, description="a longer Retry-After is an error, not a wait"
    )
    heartbeat_interval_s: float = Field(default=5.0, gt=0, le=60)
    heartbeat_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="the venue cancels everything this long after the last heartbeat",
    )
    signature_type: int = Field(default=0, ge=0, le=3, description="for balance queries")

    @field_validator("rate_limits")
    @classmethod
    def _limits(cls, value: dict[str, str]) -> dict[str, str]:
        from engine.client.ratelimit import parse_key, parse_limits

        for key, text in value.items():
            parse_key(key)
            parse_limits(text)
        return value


class MarketFeedConfig(_Model):
    """The market channel (actors/market_feed.py): shards, heartbeat, watchdog, backoff."""

    max_assets_per_connection: int = Field(
        default=200, ge=2, le=500, description="assets per socket (>500 loses snapshots)"
    )
    ping_s: float = Field(default=10.0, gt=0, description="text PING every this many seconds")
    pong_timeout_s: float = Field(
        default=30.0, gt=0, description="no PONG for this long: the socket is dead, reconnect"
    )
    watchdog_s: float = Field(
        default=60.0,
        gt=0,
        description="no data frame for this long while PONGs arrive: "
        "a silent freeze (spec 10.5), reconnect",
    )
    backoff_initial_s: float = Field(default=0.25, gt=0, description="first reconnect delay")
    backoff_max_s: float = Field(default=30.0, gt=0, description="longest reconnect delay")
    backoff_multiplier: float = Field(default=2.0, ge=1, description="delay growth per failure")
    backoff_jitter: float = Field(
        default=0.2, ge=0, lt=1, description="each delay is scaled by 1 +/- this (seeded)"
    )
    healthy_reset_s: float = Field(
        default=30.0,
        ge=0,
        description="a connection RUNNING this long resets the backoff and the failure count",
    )
    error_after_failures: int = Field(
        default=5, ge=1, description="consecutive failed connections before ERROR"
    )
    poll_s: float = Field(
        default=2.0, gt=0, description="REST /book poll period while a shard is down"
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, description="WebSocket handshake")
    message_queue_size: int = Field(
        default=256, ge=1, description="frames trio-websocket buffers per connection"
    )
    seed: int = Field(default=0, ge=0, description="seed of the backoff jitter")


class UserFeedConfig(_Model):
    """The user channel (actors/user_channel.py)."""

    ping_s: float = Field(default=10.0, gt=0, le=60, description="text PING every this often")
    watchdog_s: float = Field(
        default=30.0, gt=0, description="no frame at all (not even PONG) this long: reconnect"
    )
    connect_timeout_s: float = Field(default=10.0, gt=0, description="WebSocket handshake limit")
    backoff_initial_s: float = Field(default=0.5, gt=0, description="first reconnect delay")
    backoff_max_s: float = Field(default=30.0, gt=0, description="longest reconnect delay")
    backoff_multiplier: float = Field(default=2.0, ge=1, le=10)
    backoff_jitter: float = Field(
        default=0.2, ge=0, lt=1, description="each delay is scaled by 1 +/- this, seeded"
    )
    dedupe_capacity: int = Field(
        default=100_000, ge=1_000, le=10_000_000, description="trades remembered for dedupe"
    )
    backfill_lookback_s: int = Field(
        default=60,
        ge=0,
        le=86_400,
        description="REST backfill starts this long before the oldest unsettled trade",
    )
    message_queue_size: int = Field(
        default=256, ge=1, le=65_536, description="frames buffered between socket and router"
    )

    @field_validator("watchdog_s")
    @classmethod
    def _watchdog_outlasts_pings(cls, value: float, info: Any) -> float:
        ping = info.data.get("ping_s")
        if ping is not None and value <= ping:
            raise ValueError("must be longer than ping_s (a PONG resets the watchdog)")
        return value

    @field_validator("backoff_max_s")
    @classmethod
    def _max_after_initial(cls, value: float, info: Any) -> float:
        initial = info.data.get("backoff_initial_s")
        if initial is not None and value < initial:
            raise ValueError("must be at least backoff_initial_s")
        return value


class SpotConfig(_Model):
    """Spot price feeds (actors/spot_feed.py) and their staleness rules (engine/spot.py).

    A source is RUNNING while its last reading is at most its max age old, DEGRADED up to
    `error_after` times that, then ERROR. The board uses Binance while it is fresh, else
    Coinbase (DEGRADED), else nothing (ERROR).
    """

    symbol: str = Field(default="BTC", min_length=1, description="name on SpotView messages")
    binance_symbol: str = Field(default="btcusdt", pattern=r"^[a-z0-9]+$")
    coinbase_product: str = Field(default="BTC-USD", pattern=r"^[A-Z0-9]+-[A-Z0-9]+$")
    chainlink_symbol: str = Field(default="btc/usd", min_length=1)
    binance_max_age_s: float = Field(default=3.0, gt=0, le=600)
    coinbase_max_age_s: float = Field(default=5.0, gt=0, le=600)
    chainlink_max_age_s: float = Field(default=5.0, gt=0, le=600)
    error_after: float = Field(
        default=3.0, ge=1, le=100, description="max ages after which a stale source is ERROR"
    )
    poll_s: float = Field(default=1.0, gt=0, le=60, description="Coinbase ticker poll interval")
    request_timeout_s: float = Field(default=5.0, gt=0, le=60)
    ping_s: float = Field(default=5.0, gt=0, le=60, description="RTDS text PING interval")
    idle_timeout_s: float = Field(
        default=10.0, gt=0, le=600, description="reconnect a socket silent for this long"
    )
    backoff_initial_s: float = Field(default=0.5, gt=0, le=60)
    backoff_max_s: float = Field(default=30.0, gt=0, le=600)
    backoff_jitter: float = Field(default=0.2, ge=0, lt=1, description="+- share of each delay")
    check_s: float = Field(default=0.25, gt=0, le=10, description="staleness re-check period")
    window_grid_s: int = Field(
        default=300, ge=1, description="window starts are multiples of this (5m and 15m)"
    )
    price_to_beat_tolerance_s: float = Field(
        default=5.0, ge=0, le=300, description="latest a reading may be after a window start"
    )


class DiscoveryConfig(_Model):
    """Market discovery through Gamma (actors/discovery.py).

    Windows of every (asset, series) pair are looked up by slug; each market is announced
    `lead_s` before it opens so the feed holds its book when trading starts.
    """

    assets: tuple[str, ...] = Field(default=("btc",), min_length=1, description="e.g. btc, eth")
    series: tuple[Literal["15m", "5m"], ...] = Field(default=("15m",), min_length=1)
    lead_s: float = Field(default=60.0, ge=0, le=3_600, description="announce before the open")
    closing_s: float = Field(
        default=60.0, ge=0, le=900, description="the last seconds of a window are CLOSING"
    )
    poll_s: float = Field(default=5.0, gt=0, le=600, description="Gamma poll interval")
    refresh_s: float = Field(
        default=60.0, gt=0, le=3_600, description="metadata refresh of known markets"
    )
    retire_delay_s: float = Field(
        default=10.0, ge=0, le=3_600, description="keep a resolved market this long"
    )
    retire_after_s: float = Field(
        default=1_800.0, gt=0, le=86_400, description="retire an unresolved market after its end"
    )
    backoff_initial_s: float = Field(default=1.0, gt=0, le=60)
    backoff_max_s: float = Field(default=60.0, gt=0, le=3_600)
    timeout_s: float = Field(default=10.0, gt=0, le=120, description="per Gamma request")

    @field_validator("assets")
    @classmethod
    def _assets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for asset in value:
            if not asset or not asset.isalnum() or asset != asset.lower():
                raise ValueError(f"assets are lowercase slugs such as 'btc', got {asset!r}")
        if len(set(value)) != len(value):
            raise ValueError("assets must be distinct")
        return value

    @field_validator("series")
    @classmethod
    def _series(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("series must be distinct")
        return value


# --- reconciliation (issue 6) -----------------------------------------------------


class StateConfig(_Model):
    """Local state (the journal of signed orders, fills, positions) and reconciliation.

    `dir` defaults to ~/.local/state/polyengine/<name>, where `name` is the account or
    session name, so two accounts never share a journal. fsync "always" makes every
    record durable before the action it records (a power cut loses nothing); "never"
    only flushes to the OS (survives a killed process, not a power cut).
    """

    dir: Path | None = Field(
        default=None, description="state directory (default ~/.local/state/polyengine/<name>)"
    )
    name: str = Field(
        default="default",
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="account or session name: the default state directory's last part",
    )
    fsync: Literal["always", "never"] = Field(
        default="always", description="fsync each journal record before acting on it"
    )
    reconcile_interval_s: float = Field(
        default=30.0, gt=0, description="seconds between periodic reconciliations"
    )
    retry_interval_s: float = Field(
        default=2.0, gt=0, description="wait before asking the venue again after a failed query"
    )
    confirm_delay_s: float = Field(
        default=5.0,
        ge=0,
        description="a periodic mismatch is re-checked after this delay (news in flight, "
        "such as a settlement, can look like one)",
    )
    resolution_delay_s: float = Field(
        default=60.0,
        ge=0,
        description="a market that ended this long ago with no settlement has its "
        "resolution read over REST (its market_resolved frame may have been lost)",
    )

    @property
    def state_dir(self) -> Path:
        """The directory to use, with `~` expanded."""
        if self.dir is not None:
            return self.dir.expanduser()
        return Path("~/.local/state/polyengine").expanduser() / self.name

    def state_dir_for(self, mode: str, wallet: str) -> Path:
        """The directory a session uses: `dir` if set, else one per mode and wallet (a
        paper wallet's journal never mixes with a live one's), unless `name` is set."""
        if self.dir is None and self.name == "default":
            return Path("~/.local/state/polyengine").expanduser() / f"{mode}-{wallet.lower()}"
        return self.state_dir


class RunConfig(_Model):
    """What `polyengine run` does.

    paper: the engine over the network against a venue server on loopback (its own
    child process, or `venue_url`); live: against `endpoints` (production by default)
    with real credentials; sim: the in-process simulated venue, bit-for-bit repeatable.
    """

    mode: Literal["paper", "live", "sim"] = "paper"
    venue_url: str | None = Field(
        default=None, description="paper mode: a running `polyengine venue` (http://host:port)"
    )
    duration_s: float | None = Field(
        default=None, gt=0, description="stop after this many session seconds"
    )
    credentials_file: Path = Field(
        default=Path("~/.config/polyengine/credentials.json"),
        description="live mode: API credentials written by `polyengine account`",
    )
    private_key_env: str = Field(
        default="POLYMARKET_PRIVATE_KEY",
        description="live mode: the environment variable holding the signing key",
    )
    progress: bool = True
    progress_every_s: float = Field(
        default=60.0, gt=0, description="simulated seconds between lines"
    )


class Config(_Model):
    venue: VenueConfig = VenueConfig()
    clock: ClockConfig = ClockConfig()
    market_data: MarketDataConfig = MarketDataConfig()
    strategies: StrategiesConfig = StrategiesConfig()
    risk: RiskConfig = RiskConfig()
    run: RunConfig = RunConfig()
    endpoints: EndpointsConfig = EndpointsConfig()
    client: ClientConfig = ClientConfig()
    market_feed: MarketFeedConfig = MarketFeedConfig()
    user_feed: UserFeedConfig = UserFeedConfig()
    spot: SpotConfig = SpotConfig()
    discovery: DiscoveryConfig = DiscoveryConfig()
    state: StateConfig = StateConfig()


def _set_nested(target: dict[str, Any], path: list[str], value: object) -> None:
    node = target
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"config error: {'.'.join(path)}: conflicts with a scalar value")
        node = child
    node[path[-1]] = value


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "config"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown setting"
    got = first.get("input")
    # An unknown setting's value is never echoed: it may be a secret set by mistake.
    hidden = isinstance(got, dict) or got is None or first["type"] == "extra_forbidden"
    shown = "" if hidden else f" (got {got!r})"
    return f"config error: {where}: {message}{shown}"


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Config:
    """Read the TOML file (if any), overlay POLYENGINE_* variables, then command-line
    overrides (dotted names such as "venue.seed"), and validate.

    Raises ConfigError with a one-line message naming the field and what is allowed.
    """
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config error: file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config error: {path}: not valid TOML ({exc})") from None
    for key, value in (env or {}).items():
        if key.startswith(ENV_PREFIX) and key not in NOT_SETTINGS:
            parts = key[len(ENV_PREFIX) :].lower().split("__")
            if all(parts):
                _set_nested(data, parts, value)
    for dotted, override in (overrides or {}).items():
        if override is not None:
            _set_nested(data, dotted.split("."), override)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
