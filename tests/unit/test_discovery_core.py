"""Discovery's pure core: slugs, Gamma parsing (real recorded markets), resolution,
lifecycle phases, the metadata cache and the tracker's schedule."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path
from typing import Any

import pytest

from engine.config import ConfigError, load_config
from engine.discovery import (
    Backoff,
    DiscoveryTracker,
    MarketFormatError,
    MetadataCache,
    Resolution,
    TrackerSettings,
    lifecycle_phase,
    market_channel_notices,
    next_phase_time,
    parse_gamma_market,
    parse_gamma_resolution,
    parse_slug,
    slug_5m,
    slug_15m,
    updown_slug,
    window_starts,
)
from engine.fees import FeeSchedule
from engine.messages import (
    LifecyclePhase,
    MarketDiscovered,
    MarketInfo,
    MarketInfoUpdated,
    MarketPhase,
    MarketPhaseChanged,
    MarketResolutionSeen,
    MarketRetired,
    TickSizeChangeSeen,
)
from engine.venue.scenario import make_updown_market
from engine.venue.wire import market_resolved_frame, tick_size_change_frame

DATA = Path("/work/shared/data")
GAMMA_15M = DATA / "adriancova__polymarket-bot-v2/test/fixtures/venue/protocol-v2"
GAMMA_15M = GAMMA_15M / "gamma-market-v1-btc15m.jsonc"
GAMMA_FEB = DATA / "Vinayak19112003__polymarket-backtest/active_btc15m_market.json"
GAMMA_5M = [
    DATA / "Ligengxin96__polymarket-data-samples/BTC-5m-markets-2026-07-24.jsonl.gz",
    DATA
    / "Ligengxin96__polymarket-data-samples/samples_2026-06-08/BTC-5m-markets-2026-06-08.jsonl.gz",
]
NAUTILUS = DATA / "nautechsystems__nautilus_trader/crates_test_data"

needs_data = pytest.mark.skipif(not GAMMA_15M.exists(), reason="recorded data not present")

START = 1_791_241_200  # a 15-minute boundary (2026-10-05 23:00 UTC)


def gamma_payload(**changes: Any) -> dict[str, Any]:
    """A Gamma market shaped like production's (the fields discovery reads)."""
    payload: dict[str, Any] = {
        "id": "5308512",
        "conditionId": "0x" + "ab" * 32,
        "slug": slug_15m("btc", START),
        "outcomes": '["Up", "Down"]',
        "outcomePrices": '["0.52", "0.48"]',
        "clobTokenIds": '["1234567890123", "9876543210987"]',
        "startDate": "2026-10-04T23:08:46.486981Z",
        "eventStartTime": "2026-10-05T23:00:00Z",
        "endDate": "2026-10-05T23:15:00Z",
        "active": True,
        "closed": False,
        "enableOrderBook": True,
        "orderPriceMinTickSize": 0.01,
        "orderMinSize": 5,
        "negRisk": False,
        "umaResolutionStatuses": "[]",
        "feesEnabled": True,
        "feeSchedule": {"exponent": 1, "rate": 0.072, "takerOnly": True, "rebateRate": 0.2},
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not ...}


def info_at(start: int = START, length: int = 900, tick: int = 10_000) -> MarketInfo:
    spec = make_updown_market(7, start, series="15m" if length == 900 else "5m")
    return MarketInfo(
        condition_id=spec.condition_id,
        slug=spec.slug,
        token_ids=spec.token_ids,
        outcomes=spec.outcomes,
        tick=tick,
        min_size=5_000_000,
        fees=FeeSchedule(70_000, 1),
        start_ts=start,
        end_ts=start + length,
    )


# --- slugs -----------------------------------------------------------------------------


def test_slugs_follow_the_venue_pattern_on_each_series_grid() -> None:
    assert slug_15m("btc", START) == "btc-updown-15m-1791241200"
    assert slug_5m("eth", START + 300) == "eth-updown-5m-1791241500"
    assert parse_slug("btc-updown-5m-1791241500") == ("btc", "5m", 1791241500)
    assert parse_slug("btc-updown-15m-1791241500") is None  # off the 15m grid
    assert parse_slug("will-btc-hit-100k") is None


@pytest.mark.parametrize(
    ("asset", "series", "start"),
    [
        ("btc", "15m", START + 300),
        ("btc", "5m", START + 60),
        ("btc", "1h", START),
        ("BTC", "5m", START),
    ],
)
def test_a_slug_off_its_grid_or_of_an_unknown_series_is_refused(
    asset: str, series: str, start: int
) -> None:
    with pytest.raises(ValueError):
        updown_slug(asset, series, start)


def test_window_starts_cover_the_current_window_and_those_within_the_horizon() -> None:
    assert window_starts(START + 10, "15m", 60) == [START, START + 900]
    assert window_starts(START + 10, "5m", 700) == [START, START + 300, START + 600]
    assert window_starts(START, "5m", 0) == [START, START + 300]


# --- Gamma parsing ---------------------------------------------------------------------


@needs_data
def test_a_recorded_production_15m_market_parses_to_exact_micro_units() -> None:
    info = parse_gamma_market(json.loads(GAMMA_15M.read_text()))
    assert info == MarketInfo(
        condition_id="0xcd5f9f505e0c0182746aa65963f72f01e7463259e5ea9f56672c0fe3a37f348a",
        slug="btc-updown-15m-1791241200",
        token_ids=(
            "25070934348813416902477876984955073880416401960631253331845590271167412497744",
            "111614563957165270026378011809694313565736745512637881727398424401624030147043",
        ),
        outcomes=("Up", "Down"),
        tick=10_000,
        min_size=5_000_000,
        fees=FeeSchedule(rate_ppm=70_000, exponent=1, taker_only=True, rebate_ppm=200_000),
        start_ts=1_791_241_200,
        end_ts=1_791_242_100,
        neg_risk=False,
    )


@needs_data
def test_recorded_5m_markets_parse_and_their_resolutions_match_the_recorded_outcomes() -> None:
    rows = [
        json.loads(line)
        for path in GAMMA_5M
        for line in gzip.decompress(path.read_bytes()).splitlines()
    ]
    assert len(rows) == 584
    ticks = set()
    for row in rows:
        info = parse_gamma_market(row["raw"])
        assert info.slug == slug_5m("btc", row["start_sec"])
        assert (info.start_ts, info.end_ts) == (row["start_sec"], row["end_sec"])
        assert list(info.token_ids) == row["token_ids"]
        assert info.condition_id == row["condition_id"]
        resolution = parse_gamma_resolution(row["raw"])
        assert resolution == Resolution(row["outcome_prices"].index("1"))
        ticks.add(info.tick)
    assert ticks == {10_000, 1_000}  # some windows ended on the finer tick


@needs_data
def test_a_recorded_pre_v2_market_with_fees_but_no_schedule_is_refused_by_field() -> None:
    raw = json.loads(GAMMA_FEB.read_text())["raw_market"]
    with pytest.raises(MarketFormatError) as caught:
        parse_gamma_market(raw)
    assert caught.value.field == "feeSchedule"
    assert "btc-updown-15m-1770476400" in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"clobTokenIds": ...}, "clobTokenIds"),
        ({"clobTokenIds": "[]"}, "clobTokenIds"),
        ({"clobTokenIds": '["", ""]'}, "clobTokenIds"),
        ({"clobTokenIds": '["12", "12"]'}, "clobTokenIds"),
        ({"clobTokenIds": "not json"}, "clobTokenIds"),
        ({"outcomes": '["Up"]'}, "outcomes"),
        ({"conditionId": "0x1234"}, "conditionId"),
        ({"slug": ...}, "slug"),
        ({"orderPriceMinTickSize": 0.02}, "orderPriceMinTickSize"),
        ({"orderPriceMinTickSize": ...}, "orderPriceMinTickSize"),
        ({"orderMinSize": "five"}, "orderMinSize"),
        ({"eventStartTime": "yesterday"}, "eventStartTime"),
        ({"endDate": "2026-10-05T22:00:00Z"}, "endDate"),
        ({"enableOrderBook": False}, "enableOrderBook"),
        ({"negRisk": "no"}, "negRisk"),
        ({"feeSchedule": {"rate": 0.07, "exponent": 1.5}}, "feeSchedule.exponent"),
        ({"feeSchedule": {"rate": "x"}}, "feeSchedule.rate"),
    ],
)
def test_an_untradable_market_raises_an_error_naming_the_field(
    changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(MarketFormatError) as caught:
        parse_gamma_market(gamma_payload(**changes))
    assert caught.value.field == field
    assert field in str(caught.value)


def test_parsing_keeps_outcome_order_and_reads_fees_exactly() -> None:
    info = parse_gamma_market(gamma_payload())
    assert info.token_ids == ("1234567890123", "9876543210987")
    assert info.fees == FeeSchedule(
        rate_ppm=72_000, exponent=1, taker_only=True, rebate_ppm=200_000
    )
    assert (info.start_ts, info.end_ts) == (START, START + 900)


def test_a_market_without_fees_has_a_zero_schedule() -> None:
    info = parse_gamma_market(gamma_payload(feesEnabled=False, feeSchedule=...))
    assert info.fees.rate_ppm == 0
    assert info.fees.taker_fee(500_000, 100_000_000) == 0


def test_a_protocol_v2_market_takes_its_position_ids() -> None:
    info = parse_gamma_market(
        gamma_payload(version="v2", clobTokenIds=..., positionIds='["111", "222"]')
    )
    assert info.token_ids == ("111", "222")


def test_the_window_start_comes_from_the_slug_when_gamma_omits_event_start_time() -> None:
    assert parse_gamma_market(gamma_payload(eventStartTime=...)).start_ts == START


# --- resolution ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"closed": False, "outcomePrices": '["1", "0"]'}, None),
        ({"closed": True, "outcomePrices": '["1", "0"]'}, Resolution(0)),
        ({"closed": True, "outcomePrices": '["0", "1"]'}, Resolution(1)),
        ({"closed": True, "outcomePrices": '["0.5", "0.5"]'}, None),
        (
            {
                "closed": True,
                "outcomePrices": '["0.5", "0.5"]',
                "umaResolutionStatuses": '["resolved"]',
            },
            Resolution(None),
        ),
        (
            {"closed": True, "outcomePrices": '["0.5", "0.5"]', "umaResolutionStatus": "resolved"},
            Resolution(None),
        ),
        ({"closed": True, "outcomePrices": '["0", "0"]'}, None),
        ({"closed": True, "outcomePrices": '["0.93", "0.07"]'}, None),
        ({"closed": True, "outcomePrices": "garbage"}, None),
    ],
)
def test_gamma_resolution_needs_closed_and_final_prices_and_a_status_for_fifty_fifty(
    changes: dict[str, Any], expected: Resolution | None
) -> None:
    assert parse_gamma_resolution(gamma_payload(**changes)) == expected


@pytest.mark.skipif(not NAUTILUS.exists(), reason="recorded data not present")
def test_recorded_closed_markets_resolve_only_when_their_prices_are_final() -> None:
    def load(name: str) -> dict[str, Any]:
        data = json.loads((NAUTILUS / name).read_text())
        return data[0] if isinstance(data, list) else data

    assert parse_gamma_resolution(
        load("gamma_market_closed_binary_accepting_true.json")
    ) == Resolution(0)
    assert parse_gamma_resolution(
        load("gamma_market_closed_binary_accepting_false.json")
    ) == Resolution(1)
    assert parse_gamma_resolution(load("gamma_market_closed_zero_zero_legacy.json")) is None
    assert parse_gamma_resolution(load("gamma_market_closed_nonbinary_legacy.json")) is None


def test_fifty_fifty_pays_half_to_each_outcome() -> None:
    assert Resolution(None).payout_per_share == (500_000, 500_000)
    assert Resolution(1).payout_per_share == (0, 1_000_000)


# --- phases ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "phase"),
    [
        (-61, LifecyclePhase.PRE_OPEN),
        (-0.001, LifecyclePhase.PRE_OPEN),
        (0, LifecyclePhase.TRADING),
        (839.999, LifecyclePhase.TRADING),
        (840, LifecyclePhase.CLOSING),
        (899.999, LifecyclePhase.CLOSING),
        (900, LifecyclePhase.CLOSED),
        (5_000, LifecyclePhase.CLOSED),
    ],
)
def test_phase_follows_the_clock_with_closing_the_last_seconds(
    offset: float, phase: LifecyclePhase
) -> None:
    assert lifecycle_phase(START + offset, info_at(), closing_s=60) is phase


def test_a_resolution_wins_over_the_clock_including_fifty_fifty() -> None:
    info = info_at()
    assert lifecycle_phase(START + 950, info, closing_s=60, resolution=Resolution(None)) is (
        LifecyclePhase.RESOLVED
    )
    assert lifecycle_phase(START + 950, info, closing_s=60, resolution=Resolution(0)) is (
        LifecyclePhase.RESOLVED
    )


def test_gamma_closing_a_market_early_makes_it_closed_before_its_end() -> None:
    assert (
        lifecycle_phase(START + 100, info_at(), closing_s=60, closed=True) is LifecyclePhase.CLOSED
    )


def test_a_closing_period_longer_than_the_window_starts_at_the_open_not_before() -> None:
    info = info_at(length=300)
    assert lifecycle_phase(START - 1, info, closing_s=600) is LifecyclePhase.PRE_OPEN
    assert lifecycle_phase(START, info, closing_s=600) is LifecyclePhase.CLOSING


def test_next_phase_time_names_each_boundary_then_none() -> None:
    info = info_at()
    assert next_phase_time(START - 5, info, closing_s=60) == START
    assert next_phase_time(START, info, closing_s=60) == START + 840
    assert next_phase_time(START + 840, info, closing_s=60) == START + 900
    assert next_phase_time(START + 900, info, closing_s=60) is None


def test_closing_still_trades_for_the_strategies() -> None:
    assert LifecyclePhase.CLOSING.market_phase is MarketPhase.TRADING
    assert LifecyclePhase.RESOLVED.market_phase is MarketPhase.RESOLVED
    assert LifecyclePhase.PRE_OPEN.market_phase is MarketPhase.PRE_OPEN


# --- metadata cache --------------------------------------------------------------------


def test_a_tick_size_change_wins_at_once_by_condition_or_token_id() -> None:
    cache = MetadataCache()
    info = info_at()
    cache.update(info)
    meta = cache.invalidate_tick(info.token_ids[1], 1_000)
    assert meta is not None and meta.tick == 1_000
    assert cache.get(info.condition_id) == meta
    assert cache.get(info.token_ids[0]) == meta
    assert cache.invalidate_tick("unknown", 1_000) is None


def test_a_stale_gamma_refresh_does_not_undo_a_tick_change_until_gamma_catches_up() -> None:
    cache = MetadataCache()
    info = info_at()
    cache.update(info)
    cache.invalidate_tick(info.condition_id, 1_000)
    assert cache.update(info).tick == 1_000  # Gamma still says 0.01: stale
    assert cache.get(info.condition_id).tick == 1_000  # type: ignore[union-attr]
    assert cache.update(info_at(tick=1_000)).tick == 1_000  # Gamma caught up
    # From then on Gamma is trusted again: a change it reports is a real change.
    assert cache.update(info).tick == 10_000


def test_gamma_refreshes_other_metadata_while_a_tick_is_pinned() -> None:
    cache = MetadataCache()
    info = info_at()
    cache.update(info)
    cache.invalidate_tick(info.condition_id, 1_000)
    refreshed = cache.update(
        MarketInfo(**{**_fields(info), "min_size": 10_000_000, "neg_risk": True})
    )
    meta = cache.get(info.condition_id)
    assert meta is not None
    assert (meta.tick, meta.min_size, meta.neg_risk) == (1_000, 10_000_000, True)
    assert refreshed.tick == 1_000


def test_an_invalid_tick_is_refused_and_a_forgotten_market_is_gone() -> None:
    cache = MetadataCache()
    info = info_at()
    cache.update(info)
    with pytest.raises(ValueError):
        cache.invalidate_tick(info.condition_id, 3_000)
    cache.forget(info.condition_id)
    assert cache.get(info.token_ids[0]) is None and len(cache) == 0


def _fields(info: MarketInfo) -> dict[str, Any]:
    return {name: getattr(info, name) for name in MarketInfo.__slots__}  # type: ignore[attr-defined]


# --- channel notices -------------------------------------------------------------------


def test_channel_notices_are_read_from_the_venues_own_frames() -> None:
    spec = make_updown_market(7, START)
    tick = tick_size_change_frame(spec.condition_id, spec.token_ids[0], 10_000, 1_000, 5)
    assert market_channel_notices(tick, 9) == [
        TickSizeChangeSeen(9, spec.condition_id, spec.token_ids[0], 1_000)
    ]
    won = market_resolved_frame(spec, 1, 5)
    assert market_channel_notices(won, 9) == [
        MarketResolutionSeen(9, spec.condition_id, spec.token_ids[1])
    ]
    even = market_resolved_frame(spec, None, 5)
    assert market_channel_notices(b"[" + even + b"]", 9) == [
        MarketResolutionSeen(9, spec.condition_id, "")
    ]
    assert market_channel_notices(b"PONG", 9) == []
    with pytest.raises(ValueError):
        market_channel_notices(b'{"event_type": ', 9)


# --- backoff ---------------------------------------------------------------------------


def test_backoff_doubles_up_to_its_cap_with_bounded_jitter() -> None:
    backoff = Backoff(1.0, 30.0, jitter=0.2, rng=random.Random(3))
    delays = [backoff.delay(n) for n in range(1, 12)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(30.0, 2.0 ** (n - 1))
        assert 0.8 * nominal <= delay <= nominal
    again = Backoff(1.0, 30.0, jitter=0.2, rng=random.Random(3))
    assert [again.delay(n) for n in range(1, 12)] == delays


# --- tracker ---------------------------------------------------------------------------


def settings(**changes: Any) -> TrackerSettings:
    values: dict[str, Any] = {
        "assets": ("btc",),
        "series": ("15m",),
        "lead_s": 60.0,
        "closing_s": 30.0,
        "poll_s": 5.0,
        "refresh_s": 60.0,
        "retire_delay_s": 10.0,
        "retire_after_s": 600.0,
    }
    values.update(changes)
    return TrackerSettings(**values)


def tracker(**changes: Any) -> DiscoveryTracker:
    return DiscoveryTracker(settings(**changes), Backoff(1.0, 60.0, rng=random.Random(1)))


def test_the_tracker_asks_for_the_current_and_next_windows_of_each_asset_and_series() -> None:
    t = tracker(assets=("btc", "eth"), series=("15m", "5m"))
    assert t.due_slugs(START + 10) == [
        "btc-updown-15m-1791241200",
        "eth-updown-15m-1791241200",
        "btc-updown-15m-1791242100",
        "eth-updown-15m-1791242100",
        "btc-updown-5m-1791241200",
        "eth-updown-5m-1791241200",
        "btc-updown-5m-1791241500",
        "eth-updown-5m-1791241500",
    ]


def test_a_market_is_announced_exactly_lead_seconds_before_it_opens() -> None:
    t = tracker()
    nxt = info_at(START + 900)
    now = START + 500.0
    t.on_market(nxt, None, False, now)
    assert t.step(now, 1) == []
    assert t.next_wake(now) == now + 5  # a poll comes first
    assert t.next_wake(START + 839.0) == START + 840  # then the announce time
    assert t.step(START + 839.999, 2) == []
    assert t.step(START + 840, 3) == [MarketDiscovered(3, nxt, LifecyclePhase.PRE_OPEN)]
    assert t.step(START + 841, 4) == []


def test_phases_advance_then_a_resolution_retires_the_market_after_the_delay() -> None:
    t = tracker()
    info = info_at()
    t.on_market(info, None, False, START - 100.0)
    events: list[object] = []
    for now in (START - 60.0, START, START + 870, START + 900):
        events += t.step(now, 0)
    assert events == [
        MarketDiscovered(0, info, LifecyclePhase.PRE_OPEN),
        MarketPhaseChanged(0, info.condition_id, LifecyclePhase.TRADING),
        MarketPhaseChanged(0, info.condition_id, LifecyclePhase.CLOSING),
        MarketPhaseChanged(0, info.condition_id, LifecyclePhase.CLOSED),
    ]
    assert info.slug in t.due_slugs(START + 905)  # awaiting resolution: polled
    assert t.on_resolution(info.condition_id, info.token_ids[1], START + 906)
    assert t.step(START + 906, 0) == [
        MarketPhaseChanged(0, info.condition_id, LifecyclePhase.RESOLVED, winner=1)
    ]
    assert t.next_wake(START + 906) == START + 911  # poll and retire coincide
    assert t.step(START + 915.9, 0) == []
    assert t.step(START + 916, 0) == [MarketRetired(0, info.condition_id, info.token_ids, True)]
    assert info.condition_id not in t.markets


def test_a_fifty_fifty_from_gamma_is_resolved_without_a_winner() -> None:
    t = tracker(retire_delay_s=0.0)
    info = info_at()
    t.on_market(info, None, False, START + 10.0)
    t.step(START + 10, 0)
    t.on_market(info, Resolution(None), True, START + 920.0)
    assert t.step(START + 920, 0) == [
        MarketPhaseChanged(0, info.condition_id, LifecyclePhase.RESOLVED, winner=None),
        MarketRetired(0, info.condition_id, info.token_ids, True),
    ]


def test_an_unresolved_market_is_retired_a_grace_period_after_its_end() -> None:
    t = tracker()
    info = info_at()
    t.on_market(info, None, False, START + 10.0)
    t.step(START + 10, 0)
    t.step(START + 900, 0)
    assert t.step(START + 900 + 599, 0) == []
    assert t.step(START + 900 + 600, 0) == [
        MarketRetired(0, info.condition_id, info.token_ids, False)
    ]
    assert info.slug not in t.due_slugs(START + 1600)  # not rediscovered


def test_a_tick_change_updates_the_announced_info_and_survives_a_stale_refresh() -> None:
    t = tracker()
    info = info_at()
    t.on_market(info, None, False, START + 10.0)
    t.step(START + 10, 0)
    assert t.on_tick_change(info.token_ids[0], 1_000)
    changed = t.step(START + 11, 0)
    assert len(changed) == 1 and isinstance(changed[0], MarketInfoUpdated)
    assert changed[0].info.tick == 1_000
    t.on_market(info, None, False, START + 70.0)  # Gamma still on 0.01
    assert t.step(START + 70, 0) == []
    assert t.cache.get(info.condition_id).tick == 1_000  # type: ignore[union-attr]


def test_a_slug_gamma_does_not_list_is_retried_with_backoff_but_never_after_its_announce_time() -> (
    None
):
    t = tracker(lead_s=60.0, poll_s=1.0)
    slug = slug_15m("btc", START + 900)
    now = START + 10.0
    retries = []
    for _ in range(8):
        assert slug in t.due_slugs(now)
        t.on_missing(slug, now)
        assert slug not in t.due_slugs(now)
        retry_at = t._retries[slug].at
        retries.append(retry_at - now)
        now = retry_at
    assert retries[:5] == sorted(retries[:5])  # growing
    assert max(retries) <= 60.0
    assert now <= START + 840  # the announce time is never overshot


def test_a_market_first_seen_after_its_end_is_never_announced() -> None:
    t = tracker()
    info = info_at()
    t.on_market(info, Resolution(0), True, START + 899.0)
    assert t.step(START + 901, 0) == []
    assert t.markets == {}


# --- config ----------------------------------------------------------------------------


def test_discovery_config_reads_lists_from_toml_and_refuses_unknown_series(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text('[discovery]\nassets = ["btc", "eth"]\nseries = ["15m", "5m"]\nlead_s = 90\n')
    config = load_config(path).discovery
    assert config.assets == ("btc", "eth") and config.series == ("15m", "5m")
    assert config.lead_s == 90
    with pytest.raises(ConfigError, match=r"discovery\.series"):
        load_config(overrides={"discovery.series": ["1h"]})
    with pytest.raises(ConfigError, match=r"discovery\.assets"):
        load_config(overrides={"discovery.assets": ["BTC"]})
