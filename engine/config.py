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


class ClientConfig(_Model):
    """The REST venue client: timeouts, rate limits, retries (engine/client/)."""


class MarketFeedConfig(_Model):
    """The market channel (actors/market_feed.py)."""


class UserFeedConfig(_Model):
    """The user channel (actors/user_channel.py)."""


class SpotConfig(_Model):
    """Spot price feeds (actors/spot_feed.py)."""


class DiscoveryConfig(_Model):
    """Market discovery through Gamma (actors/discovery.py)."""


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
        default="POLYENGINE_PRIVATE_KEY",
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
    shown = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
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
        if key.startswith(ENV_PREFIX):
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
