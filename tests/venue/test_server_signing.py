"""The venue server's pure parts: EIP-712 vectors from the spec, L2 HMAC, order amounts."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.units import UNIT, VALID_TICKS, OrderType, Side
from engine.venue.server.auth import hmac_signature
from engine.venue.server.orders import OrderRejected, SignedOrder, order_terms, tick_decimals
from engine.venue.server.signing import (
    EXCHANGE_V3_DOMAIN,
    NEG_RISK_V2,
    ORDER_TYPE,
    STANDARD_V2,
    OrderStruct,
    SignatureError,
    is_position_id,
    order_digest,
    recover_order_signer,
    recover_wallet_signature,
)

# Spec section 11.4: a throwaway key, never funded.
OWNER = "0x436143878c1027c1E5cf3BE12Fc6af7E09D7E9d1"
TOKEN = 71321045679252212594626385532706912750332728571942532289631379312455583992563
ZERO = bytes(32)


def struct(**changes: object) -> OrderStruct:
    fields: dict[str, object] = {
        "salt": 1234567890,
        "maker": OWNER,
        "signer": OWNER,
        "token_id": TOKEN,
        "maker_amount": 5_700_000,
        "taker_amount": 10_000_000,
        "side": 0,
        "signature_type": 0,
        "timestamp": 1793404800000,
        "metadata": ZERO,
        "builder": ZERO,
    }
    fields.update(changes)
    return OrderStruct(**fields)  # type: ignore[arg-type]


def test_domain_separators_match_the_spec() -> None:
    assert STANDARD_V2.separator.hex() == (
        "3264e159346253e26a64e00b69032db0e7d32f94628de3e6eecb50304d7af3d2"
    )
    assert NEG_RISK_V2.separator.hex() == (
        "9b858f53327b0bd13af8ec14cfb35234fb9eb7b0504d1a4e61f433840d30e81a"
    )
    assert EXCHANGE_V3_DOMAIN.separator.hex() == (
        "466c63910185bbd55e8679264200c4e0abdcbb0c6264eb3d41d13326022e095b"
    )


def test_order_ids_and_signers_match_the_spec_vectors() -> None:
    buy = struct()
    assert order_digest(buy, STANDARD_V2).hex() == (
        "7684ff921b4027398c7cb6870cada3eeda4804731971ac21b72b7e190b14b3b6"
    )
    signature = bytes.fromhex(
        "a0703e57fa67357ca8ea16f7b4d19adb5ef1ec21e004771cb5cf82ce870af2262c22c2bc08f693a1"
        "bf9577fa5fe02a9b0d5d7e707901759b7dea2973831d21f61b"
    )
    assert recover_order_signer(STANDARD_V2.separator, buy.struct_hash(), signature) == OWNER
    sell = struct(maker_amount=7_330_000, taker_amount=4_178_100, side=1)
    assert order_digest(sell, NEG_RISK_V2).hex() == (
        "26b1156bf679653bb5a63728a04e16119c56f8222348506fa68ba14adb030bef"
    )
    position = int.from_bytes(bytes([1]) + bytes([0x11] * 16) + bytes(15), "big")
    assert is_position_id(position) and not is_position_id(TOKEN)
    v3 = struct(token_id=position)
    assert order_digest(v3, EXCHANGE_V3_DOMAIN).hex() == (
        "265bb02819322800814a370b4ee4d6c7b922b77c2c840795f57a3143dde854f9"
    )
    with pytest.raises(SignatureError):
        recover_order_signer(STANDARD_V2.separator, buy.struct_hash(), signature[:64])


def test_a_deposit_wallet_signature_recovers_its_owner() -> None:
    wallet = "0x1111111111111111111111111111111111111111"
    order = struct(maker=wallet, signer=wallet, signature_type=3)
    assert order_digest(order, STANDARD_V2).hex() == (
        "28e39489e0ab452c8cd2b864f4209ef75bfe8eefc38f85110bf5a17f754853ce"
    )
    assert order.struct_hash().hex() == (
        "b2b25194efb8fc3d8bef2eb855195cc711aff9dd6b1c683161b85bd90299b215"
    )
    ecdsa = bytes.fromhex(
        "bcf486dd3570f44b102e0fc530220757f4069c6000000ea2a16d428bc15ac1ae5632f7819de28f81"
        "fc457932ff7ba8211897ba42487cd36994d7c76637418bc71c"
    )
    type_string = ORDER_TYPE.encode()
    signature = (
        ecdsa
        + STANDARD_V2.separator
        + order.struct_hash()
        + type_string
        + len(type_string).to_bytes(2, "big")
    )
    assert len(type_string) == 0xBA
    signed = recover_wallet_signature(order, STANDARD_V2, signature)
    assert (signed.owner, signed.wallet) == (OWNER, wallet)
    with pytest.raises(SignatureError, match="another exchange domain"):
        recover_wallet_signature(order, NEG_RISK_V2, signature)
    with pytest.raises(SignatureError, match="other order contents"):
        other = struct(maker=wallet, signer=wallet, salt=1)
        recover_wallet_signature(other, STANDARD_V2, signature)
    with pytest.raises(SignatureError, match="session-key"):
        recover_wallet_signature(order, STANDARD_V2, signature + bytes.fromhex("6492" * 16))


def test_l2_hmac_is_urlsafe_base64_over_timestamp_method_path_body() -> None:
    secret = base64.urlsafe_b64encode(b"k" * 32).decode()
    body = b'{"orderID":"0xabc"}'
    expected = base64.urlsafe_b64encode(
        hmac.new(b"k" * 32, b"1700000000DELETE/order" + body, hashlib.sha256).digest()
    ).decode()
    assert hmac_signature(secret, "1700000000", "DELETE", "/order", body) == expected


def signed(side: Side, maker: int, taker: int, order_type: OrderType) -> SignedOrder:
    return SignedOrder(
        struct(maker_amount=maker, taker_amount=taker, side=int(side)),
        b"",
        side,
        0,
        order_type,
        False,
        "owner",
    )


@given(
    tick=st.sampled_from(VALID_TICKS),
    ticks=st.integers(1, 9_999),
    size=st.integers(1, 10**6),
    side=st.sampled_from(Side),
)
def test_limit_amounts_give_back_the_exact_price_and_size(
    tick: int, ticks: int, size: int, side: Side
) -> None:
    price = ticks * tick
    if price >= UNIT:
        return
    shares = size * 10_000
    cash = price * shares // UNIT
    maker, taker = (cash, shares) if side is Side.BUY else (shares, cash)
    if cash == 0:
        return
    assert order_terms(signed(side, maker, taker, OrderType.GTC), tick) == (price, shares)
    assert tick_decimals(tick) in (1, 2, 3, 4)


@given(
    tick=st.sampled_from([10_000, 1_000]),
    ticks=st.integers(1, 99),
    cents=st.integers(100, 10**6),
)
def test_a_market_buy_never_spends_more_than_its_maker_amount(
    tick: int, ticks: int, cents: int
) -> None:
    price = ticks * 10_000
    maker = cents * 10_000
    taker = maker * UNIT // price // 100 * 100  # the client's 4-decimal floor
    limit, size = order_terms(signed(Side.BUY, maker, taker, OrderType.FOK), tick)
    assert limit * size // UNIT <= maker
    assert limit >= price and size % 10_000 == 0 and taker - size < 10_000


def test_precision_errors_name_the_side_and_the_decimals() -> None:
    with pytest.raises(OrderRejected, match="buy orders maker amount supports a max accuracy"):
        order_terms(signed(Side.BUY, 5_700_001, 10_000_000, OrderType.GTC), 10_000)
    with pytest.raises(OrderRejected, match="sell orders maker amount supports a max accuracy"):
        order_terms(signed(Side.SELL, 10_001_000, 5_700_000, OrderType.GTC), 10_000)
    with pytest.raises(OrderRejected, match="Price breaks minimum tick size rules"):
        order_terms(signed(Side.BUY, 5_750_000, 10_000_000, OrderType.GTC), 10_000)
