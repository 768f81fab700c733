"""The journal: durable before acting, torn tails survived, corruption refused, one writer."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.journal import (
    JOURNAL_FILE,
    AdoptedRecord,
    BaselineRecord,
    CancelRequestedRecord,
    ClosedRecord,
    FillRecord,
    FillStatus,
    Journal,
    JournalCorrupt,
    JournalError,
    JournalLocked,
    OrderPhase,
    Record,
    SettlementRecord,
    SignedRecord,
    SubmittedRecord,
    read_journal,
)
from engine.orderfsm import OrderState
from engine.units import UNIT, OrderType, Side

TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"


def body(order_id: str, ts_ms: int = 1_793_404_800_000) -> dict[str, Any]:
    return {
        "deferExec": False,
        "order": {"salt": 1, "tokenId": TOKEN, "timestamp": str(ts_ms), "signature": order_id},
        "orderType": "GTC",
        "owner": "00000000-0000-4000-8000-000000000000",
    }


def signed(order_id: str, side: Side = Side.BUY, size: int = 10 * UNIT) -> SignedRecord:
    return SignedRecord(
        order_id, "maker", "bid-yes", "0xc", TOKEN, side, 500_000, size, OrderType.GTC, True,
        70_000, 1, 1_793_404_800_000, body(order_id),
    )  # fmt: skip


def fill(
    order_id: str,
    trade: str,
    size: int,
    status: FillStatus = FillStatus.MATCHED,
    side: Side = Side.BUY,
) -> FillRecord:
    return FillRecord(
        trade, trade, order_id, "maker", "0xc", TOKEN, side, 500_000, size, 0, "maker", status, 7
    )


def test_records_survive_a_reopen_and_rebuild_the_same_state(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="never") as journal:
        journal.append(BaselineRecord({TOKEN: 3 * UNIT}, cash=100 * UNIT))
        journal.append(signed("0xa"))
        journal.submitted("0xa", "accepted", status="live")
        journal.fill(fill("0xa", "t1", 4 * UNIT))
        journal.cancel_requested("0xa", "requote")
        journal.closed("0xa", OrderState.CANCELED, 4 * UNIT)
        before = journal.state
    state, report = read_journal(tmp_path / JOURNAL_FILE)
    assert report.records == 6 and report.torn_bytes == 0
    assert state.positions == before.positions == {TOKEN: 7 * UNIT}
    assert state.cash == 100 * UNIT - 2 * UNIT
    order = state.orders["0xa"]
    assert (order.phase, order.terminal, order.cancel_requested) == (
        OrderPhase.CLOSED,
        OrderState.CANCELED,
        True,
    )


def test_a_repeated_fill_is_neither_written_nor_counted_twice(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="never") as journal:
        journal.append(signed("0xa"))
        assert journal.fill(fill("0xa", "t1", 4 * UNIT))
        assert not journal.fill(fill("0xa", "t1", 4 * UNIT))
        assert journal.fill(fill("0xa", "t1", 4 * UNIT, FillStatus.CONFIRMED))
        assert not journal.fill(fill("0xa", "t1", 4 * UNIT, FillStatus.FAILED))  # final
        assert journal.state.positions == {TOKEN: 4 * UNIT}
    assert read_journal(tmp_path / JOURNAL_FILE)[1].records == 3


def test_a_failed_fill_is_reversed() -> None:
    with tempfile.TemporaryDirectory() as d, Journal(Path(d), fsync="never") as journal:
        journal.append(signed("0xa"))
        journal.fill(fill("0xa", "t1", 4 * UNIT))
        journal.fill(fill("0xa", "t1", 4 * UNIT, FillStatus.FAILED))
        assert journal.state.positions.get(TOKEN, 0) == 0
        assert journal.state.filled("0xa") == 0


def test_terminal_states_absorb_later_answers(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="never") as journal:
        journal.append(signed("0xa"))
        journal.closed("0xa", OrderState.FILLED, 10 * UNIT)
        assert not journal.submitted("0xa", "accepted", status="live")
        assert journal.state.orders["0xa"].terminal is OrderState.FILLED
        with pytest.raises(JournalError, match="not a terminal state"):
            journal.closed("0xa", OrderState.ACCEPTED, 0)


def test_a_record_about_an_order_never_signed_is_refused(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="never") as journal:
        with pytest.raises(JournalError, match="never journaled as signed"):
            journal.fill(fill("0xnope", "t1", UNIT))
        with pytest.raises(JournalError, match="never journaled as signed"):
            journal.submitted("0xnope", "unknown")
    assert (tmp_path / JOURNAL_FILE).read_bytes() == b""


def test_a_second_engine_cannot_open_the_same_state_directory(tmp_path: Path) -> None:
    first = Journal(tmp_path, fsync="never")
    with pytest.raises(JournalLocked, match=r"in use by another engine \(pid \d+\)"):
        Journal(tmp_path, fsync="never")
    first.close()
    Journal(tmp_path, fsync="never").close()


def test_secrets_are_never_written(tmp_path: Path) -> None:
    secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="
    with Journal(tmp_path, fsync="never", secrets=[secret]) as journal:
        leaky = dict(body("0xa"), secret="x")
        with pytest.raises(JournalError, match="key 'secret'"):
            journal.append(
                SignedRecord(**{**_fields(signed("0xa")), "body": leaky})  # type: ignore[arg-type]
            )
        nested = body("0xb")
        nested["order"] = dict(nested["order"], note=f"oops {secret}")
        with pytest.raises(JournalError, match="holds a secret"):
            journal.append(
                SignedRecord(**{**_fields(signed("0xb")), "body": nested})  # type: ignore[arg-type]
            )
        journal.append(signed("0xc"))
    text = (tmp_path / JOURNAL_FILE).read_text()
    assert secret not in text and '"secret"' not in text and "0xc" in text


def _fields(record: SignedRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__dataclass_fields__}


def test_a_damaged_middle_line_is_refused_with_its_line_number(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="never") as journal:
        for i in range(3):
            journal.append(signed(f"0x{i}"))
    path = tmp_path / JOURNAL_FILE
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b'"price":500000', b'"price":"lots"')
    path.write_bytes(b"".join(lines))
    with pytest.raises(JournalCorrupt, match=r"line 2 is damaged.*'price' must be an integer"):
        Journal(tmp_path, fsync="never")


def test_a_zero_filled_tail_counts_as_torn(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="never") as journal:
        journal.append(signed("0xa"))
    path = tmp_path / JOURNAL_FILE
    path.write_bytes(path.read_bytes() + b"\x00" * 40 + b"\n")
    state, report = read_journal(path)
    assert list(state.orders) == ["0xa"] and report.torn_bytes == 41


def test_a_settlement_redeems_the_positions_of_the_market(tmp_path: Path) -> None:
    with Journal(tmp_path, fsync="never") as journal:
        journal.append(BaselineRecord({TOKEN: 0}, cash=10 * UNIT))
        journal.append(signed("0xa"))
        journal.fill(fill("0xa", "t1", 4 * UNIT, FillStatus.CONFIRMED))
        journal.append(SettlementRecord("0xc", {TOKEN: UNIT}, extra_cash=3))
        assert journal.state.positions == {TOKEN: 0}
        assert journal.state.cash == 10 * UNIT - 2 * UNIT + 4 * UNIT + 3


# --- property: any record sequence round-trips; a torn tail at any byte is survived --


order_ids = st.sampled_from(["0xa", "0xb", "0xc"])
sizes = st.integers(1, 50).map(lambda n: n * 10_000)
statuses = st.sampled_from(list(FillStatus))

any_record: st.SearchStrategy[Record] = st.one_of(
    st.builds(signed, order_ids, st.sampled_from(list(Side)), sizes),
    st.builds(
        SubmittedRecord,
        order_ids,
        st.sampled_from(["accepted", "rejected", "unknown"]),
        st.sampled_from(["live", "matched", ""]),
        st.text(max_size=20),
        sizes,
    ),
    st.builds(fill, order_ids, st.sampled_from(["t1", "t2", "t3#0"]), sizes, statuses),
    st.builds(CancelRequestedRecord, order_ids, st.text(max_size=10)),
    st.builds(
        ClosedRecord,
        order_ids,
        st.sampled_from(["filled", "canceled", "rejected", "expired"]),
        sizes,
        st.text(max_size=10),
    ),
    st.builds(AdoptedRecord, order_ids, st.just("LIVE"), sizes),
    st.builds(
        BaselineRecord,
        st.dictionaries(st.sampled_from([TOKEN, "42"]), st.integers(0, 10**9), max_size=2),
        st.none() | st.integers(0, 10**12),
        st.none() | st.integers(0, 2 * 10**9),
        st.lists(st.text("abc123-", max_size=8), max_size=3).map(tuple),
    ),
)


def _write(path: Path, records: list[Record]) -> Journal:
    journal = Journal(path, fsync="never")
    for record in records:
        # A record naming an order never signed is refused and nothing is written.
        with contextlib.suppress(JournalError):
            journal.append(record)
    return journal


def _summary(state: Any) -> Any:
    return (
        {k: (o.phase, o.terminal, o.cancel_requested) for k, o in state.orders.items()},
        state.fills,
        state.positions,
        state.cash,
        state.trades_after,
        state.boundary_trades,
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(any_record, max_size=25))
def test_any_record_sequence_round_trips(records: list[Record]) -> None:
    with tempfile.TemporaryDirectory() as d:
        journal = _write(Path(d), records)
        live = _summary(journal.state)
        journal.close()
        state, report = read_journal(Path(d) / JOURNAL_FILE)
        assert report.torn_bytes == 0
        assert _summary(state) == live


@settings(max_examples=15, deadline=None)
@given(st.lists(any_record, min_size=1, max_size=6))
def test_a_torn_last_line_at_every_byte_offset_loses_only_that_line(
    records: list[Record],
) -> None:
    with tempfile.TemporaryDirectory() as d:
        _write(Path(d), records).close()
        data = (Path(d) / JOURNAL_FILE).read_bytes()
    ends = [i + 1 for i, byte in enumerate(data) if byte == ord("\n")]
    for cut in range(len(data) + 1):
        whole = [e for e in ends if e <= cut]
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / JOURNAL_FILE
            path.write_bytes(data[:cut])
            _state, report = read_journal(path)
            assert report.records == len(whole)
            assert report.torn_bytes == cut - (whole[-1] if whole else 0)
            # Reopening for writing cuts the torn tail; the next record follows cleanly.
            with Journal(Path(d), fsync="never") as journal:
                assert journal.torn == (report.torn_bytes > 0)
                journal.append(signed("0xnew"))
            again, report2 = read_journal(path)
            assert report2.records == len(whole) + 1 and report2.torn_bytes == 0
            assert "0xnew" in again.orders


def test_the_state_directory_defaults_to_one_per_account_name() -> None:
    from engine.config import load_config

    config = load_config(env={"POLYENGINE_STATE__NAME": "alice"})
    assert config.state.state_dir == Path("~/.local/state/polyengine/alice").expanduser()
    assert config.state.fsync == "always"
    chosen = load_config(overrides={"state.dir": "/tmp/x", "state.fsync": "never"})
    assert chosen.state.state_dir == Path("/tmp/x") and chosen.state.fsync == "never"
