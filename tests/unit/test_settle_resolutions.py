"""Resolutions read over REST (pure): the CLOB's market object, which markets to ask, and
a settlement that reconciliation applies after the fills it redeems, once per market."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from actors.portfolio import ledger_from_journal
from engine.discovery import Resolution
from engine.fees import FeeSchedule
from engine.journal import (
    BaselineRecord,
    FillRecord,
    FillStatus,
    Journal,
    JournalState,
    Record,
    SettlementRecord,
    SignedRecord,
    SubmittedRecord,
    encode_record,
)
from engine.reconcile import VenueBalances, VenueTrades, reconcile
from engine.resolutions import (
    MarketState,
    ResolutionFormatError,
    held_markets,
    markets_to_ask,
    parse_clob_market,
    unsettled_in_ledger,
    winner_of,
)
from engine.units import UNIT, OrderType, Side

CID = "0x" + "ab" * 32
OTHER = "0x" + "cd" * 32
YES, NO = "1111", "2222"
END = 1_793_405_700


def clob_market(closed: bool, winner: int | None = None, cid: str = CID) -> dict[str, Any]:
    """The venue's GET /markets/{cid} body (the fields settlement reads, and some others)."""
    return {
        "condition_id": cid,
        "tokens": [
            {"token_id": YES, "outcome": "Up", "price": 0.5, "winner": winner == 0},
            {"token_id": NO, "outcome": "Down", "price": 0.5, "winner": winner == 1},
        ],
        "closed": closed,
        "active": not closed,
        "end_date_iso": "2026-10-31T00:15:00Z",
        "market_slug": "btc-updown-15m-1793404800",
    }


def test_a_closed_market_with_one_winner_is_resolved_with_its_payouts() -> None:
    market = parse_clob_market(clob_market(True, winner=1), CID)
    assert market.state is MarketState.RESOLVED
    assert market.resolution == Resolution(1)
    assert market.end_ts == END
    assert market.settlement() == SettlementRecord(CID, {YES: 0, NO: UNIT})


def test_closed_without_a_winner_is_not_a_resolution() -> None:
    market = parse_clob_market(clob_market(True), CID)
    assert market.state is MarketState.CLOSED and market.resolution is None
    with pytest.raises(ValueError, match="not resolved"):
        market.settlement()


def test_an_open_market_is_open_even_if_a_token_says_winner() -> None:
    body = clob_market(False, winner=0)
    assert parse_clob_market(body, CID).state is MarketState.OPEN


@pytest.mark.parametrize(
    "body",
    [
        "not json object",
        {"condition_id": CID, "tokens": [], "closed": True},
        {"condition_id": CID, "tokens": [{"token_id": YES}, {}], "closed": True},
        {**clob_market(True, 0), "closed": "yes"},
        clob_market(True, 0, cid=OTHER),
    ],
)
def test_an_answer_without_the_documented_shape_is_an_error_not_a_resolution(body: Any) -> None:
    with pytest.raises(ResolutionFormatError):
        parse_clob_market(body, CID)


def _signed(order_id: str, cid: str, token: str) -> SignedRecord:
    fees = FeeSchedule(rate_ppm=0, exponent=1)
    return SignedRecord(
        order_id, "s", f"k-{order_id}", cid, token, Side.BUY, 500_000, 20 * UNIT,
        OrderType.GTC, False, fees.rate_ppm, fees.exponent, 1_000_000, {},
    )  # fmt: skip


def _fill(fill_id: str, order_id: str, cid: str, token: str, size: int) -> FillRecord:
    return FillRecord(
        fill_id, fill_id, order_id, "s", cid, token, Side.BUY, 500_000, size, 0, "maker",
        FillStatus.CONFIRMED, 1_000,
    )  # fmt: skip


def _state(*records: Record) -> JournalState:
    state = JournalState()
    for record in (BaselineRecord({YES: 0, NO: 0}, cash=100 * UNIT), *records):
        state.apply(record)
    return state


def _holding(size: int = 10 * UNIT) -> JournalState:
    return _state(
        _signed("0xa", CID, YES),
        SubmittedRecord("0xa", "accepted", status="live"),
        _fill("t1", "0xa", CID, YES, size),
    )


def test_the_markets_held_are_those_with_shares_in_the_journal() -> None:
    assert held_markets(_holding()) == {CID}
    flat = _state(_signed("0xb", OTHER, YES))  # an order with no fill holds nothing
    assert held_markets(flat) == set()


def test_a_held_market_of_unknown_end_is_asked_at_once() -> None:
    assert markets_to_ask(_holding(), {}, {}, now_s=0, delay_s=60) == [CID]


def test_a_known_market_is_asked_only_once_its_frame_had_the_delay_to_arrive() -> None:
    ends = {CID: END}
    assert markets_to_ask(_holding(), ends, {}, now_s=END - 1, delay_s=60) == []
    assert markets_to_ask(_holding(), ends, {}, now_s=END + 59, delay_s=60) == []
    assert markets_to_ask(_holding(), ends, {}, now_s=END + 60, delay_s=60) == [CID]
    # An end learnt from the venue's answer counts the same for a market never discovered.
    assert markets_to_ask(_holding(), {}, {CID: END}, now_s=END + 10, delay_s=60) == []


def test_a_market_without_shares_is_asked_too_so_every_window_settles() -> None:
    assert markets_to_ask(_state(), {OTHER: END}, {}, now_s=END + 60, delay_s=60) == [OTHER]


def test_a_market_settled_in_the_journal_is_never_asked_again() -> None:
    state = _holding()
    state.apply(SettlementRecord(CID, {YES: UNIT, NO: 0}))
    assert markets_to_ask(state, {CID: END}, {}, now_s=END + 999, delay_s=0) == []


def test_the_journal_takes_one_settlement_per_market(tmp_path: Path) -> None:
    with Journal(tmp_path) as journal:
        journal.append(BaselineRecord({YES: 0, NO: 0}, cash=100 * UNIT))
        journal.append(_signed("0xa", CID, YES))
        assert journal.append(SettlementRecord(CID, {YES: UNIT, NO: 0}))
        assert not journal.append(SettlementRecord(CID, {YES: UNIT, NO: 0}))
        assert journal.state.settled == {CID: {YES: UNIT, NO: 0}}
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    assert sum('"settlement"' in line for line in lines) == 1


def test_a_resolution_redeems_the_fills_booked_in_the_same_pass() -> None:
    # The journal missed a fill of 4 YES and the resolution (YES won) while down; the
    # venue has redeemed all 14 shares: cash 100 - 5 - 2 + 14.
    state = _holding()
    venue = VenueBalances(107 * UNIT, {YES: 0, NO: 0})
    trade = {
        "id": "t2", "taker_order_id": "0xtheirs", "market": CID, "asset_id": YES,
        "side": "SELL", "size": "4", "price": "0.5", "status": "CONFIRMED",
        "match_time": "2000", "owner": "us", "trader_side": "MAKER", "fee_rate_bps": "0",
        "maker_orders": [{
            "order_id": "0xa", "owner": "us", "matched_amount": "4", "price": "0.5",
            "asset_id": YES, "side": "BUY", "fee_rate_bps": "0",
        }],
    }  # fmt: skip
    settlement = SettlementRecord(CID, {YES: UNIT, NO: 0})
    without = reconcile(state, [], VenueTrades([trade], after=999), venue, {"0xa": _gone()})
    assert without.halt  # without the resolution the redemption is unexplained
    result = reconcile(
        state, [], VenueTrades([trade], after=999), venue, {"0xa": _gone()},
        settlements=[settlement],
    )  # fmt: skip
    assert result.ok, result.message()
    assert result.settled == (settlement,)
    assert result.records.index(settlement) > result.records.index(result.booked[0])
    for record in result.records:
        state.apply(record)
    assert state.cash == 107 * UNIT and state.positions[YES] == 0


def _gone(matched: str = "14") -> dict[str, Any]:
    return {
        "id": "0xa", "status": "MATCHED", "asset_id": YES, "market": CID, "side": "BUY",
        "price": "0.5", "original_size": "20", "size_matched": matched,
    }  # fmt: skip


def test_a_settlement_already_journaled_is_not_returned_again() -> None:
    state = _holding()
    settlement = SettlementRecord(CID, {YES: UNIT, NO: 0})
    state.apply(settlement)
    venue = VenueBalances(105 * UNIT, {YES: 0, NO: 0})
    result = reconcile(
        state, [], VenueTrades([], after=1_000), venue, {"0xa": _gone("10")},
        settlements=[settlement],
    )  # fmt: skip
    assert result.settled == () and result.ok, result.message()


def test_a_genesis_pass_takes_no_settlement_its_baseline_is_read_after_redemption() -> None:
    result = reconcile(
        JournalState(), [], VenueTrades([]), VenueBalances(100 * UNIT, {YES: 0}),
        settlements=[SettlementRecord(CID, {YES: UNIT, NO: 0})],
    )  # fmt: skip
    assert result.settled == () and result.baseline is not None
    assert result.baseline.cash == 100 * UNIT


def test_settlements_journaled_but_not_booked_are_announced_again() -> None:
    state = _holding()
    state.apply(SettlementRecord(CID, {YES: UNIT, NO: 0}))
    assert unsettled_in_ledger(state, set()) == [(CID, {YES: UNIT, NO: 0})]
    assert unsettled_in_ledger(state, {CID}) == []


def test_the_winner_is_the_outcome_paid_most_and_none_for_a_50_50() -> None:
    assert winner_of([0, UNIT]) == 1 and winner_of([UNIT, 0]) == 0
    assert winner_of([UNIT // 2, UNIT // 2]) is None


def test_replaying_a_journal_with_a_repeated_settlement_settles_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    records: list[Record] = [
        BaselineRecord({YES: 0, NO: 0}, cash=100 * UNIT),
        _signed("0xa", CID, YES),
        _fill("t1", "0xa", CID, YES, 10 * UNIT),
        SettlementRecord(CID, {YES: UNIT, NO: 0}),
        SettlementRecord(CID, {YES: UNIT, NO: 0}),  # written by an older engine
    ]
    path.write_bytes(b"".join(encode_record(r, i + 1, 0) for i, r in enumerate(records)))
    ledger = ledger_from_journal(path)
    assert ledger is not None
    assert len(ledger.settlements) == 1 and ledger.cash == 105 * UNIT
