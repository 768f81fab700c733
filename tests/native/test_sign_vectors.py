"""Native order signing against the spec 11.4 vectors, plus the input rules and errors.

The vectors were produced with polymarket-client 0.14.0 from a throwaway key that was
never funded (spec 11.4); bodies, order ids and signatures must match byte for byte.
"""

from __future__ import annotations

import pytest

from engine._native import (
    OrderSigner,
    SignError,
    l2_hmac_signature,
    limit_order_amounts,
    market_order_amounts,
    recover_clob_auth_signer,
    recover_digest_signer,
    recover_order_signer,
)
from engine.units import Side

KEY = bytes.fromhex("78e8bcae87bd2535d8464098af91b1d02929c351aeb158d1e5209a588aea7d13")
ADDRESS = "0x436143878c1027c1E5cf3BE12Fc6af7E09D7E9d1"
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
V3_TOKEN = str(int.from_bytes(b"\x01" + b"\x11" * 16 + b"\x00" * 15, "big"))
OWNER = "00000000-0000-4000-8000-000000000000"
ZERO32 = "0x" + "00" * 32
ORDER_TYPE = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    "bytes32 builder)"
)
COMMON = {
    "order_type": "GTC",
    "post_only": False,
    "salt": 1234567890,
    "timestamp_ms": 1793404800000,
    "owner": OWNER,
}


def _limit(signer: OrderSigner, token: str, side: Side, price: int, size: int, **kw: object):
    options: dict[str, object] = {"neg_risk": False, "exchange_version": 2, **COMMON, **kw}
    return signer.sign_limit_order(token, side, price, size, 10_000, **options)


def test_buy_v2_eoa_body_is_byte_identical() -> None:
    signer = OrderSigner(KEY)
    assert signer.address == signer.maker == signer.signer == ADDRESS
    signed = _limit(signer, TOKEN, Side.BUY, 570_000, 10_000_000)
    signature = (
        "0xa0703e57fa67357ca8ea16f7b4d19adb5ef1ec21e004771cb5cf82ce870af2262c22c2bc08f693a1"
        "bf9577fa5fe02a9b0d5d7e707901759b7dea2973831d21f61b"
    )
    expected = (
        '{"deferExec":false,"order":{"builder":"' + ZERO32 + '","expiration":"0",'
        '"maker":"' + ADDRESS + '","makerAmount":"5700000","metadata":"' + ZERO32 + '",'
        '"salt":1234567890,"side":"BUY","signature":"' + signature + '",'
        '"signatureType":0,"signer":"' + ADDRESS + '","takerAmount":"10000000",'
        '"timestamp":"1793404800000","tokenId":"' + TOKEN + '"},"orderType":"GTC",'
        '"owner":"' + OWNER + '"}'
    )
    assert signed.body == expected.encode()
    assert signed.order_id == "0x7684ff921b4027398c7cb6870cada3eeda4804731971ac21b72b7e190b14b3b6"
    assert signed.signature == signature
    assert (signed.maker_amount, signed.taker_amount) == (5_700_000, 10_000_000)
    assert (
        recover_digest_signer(bytes.fromhex(signed.order_id[2:]), bytes.fromhex(signature[2:]))
        == ADDRESS
    )


def test_sell_neg_risk() -> None:
    signed = _limit(OrderSigner(KEY), TOKEN, Side.SELL, 570_000, 7_333_000, neg_risk=True)
    assert (signed.maker_amount, signed.taker_amount) == (7_330_000, 4_178_100)
    assert signed.order_id == "0x26b1156bf679653bb5a63728a04e16119c56f8222348506fa68ba14adb030bef"
    assert signed.signature == (
        "0x310834c6d4a374d9bb018af0c3a308de19d3763f7ba925c1a64e3e431d61408804857d7c9634e6b1"
        "1cf1092b353e646c3086df5c87b5c774094ccdf86c55d6bc1b"
    )


def test_buy_v3_exchange() -> None:
    signed = _limit(OrderSigner(KEY), V3_TOKEN, Side.BUY, 570_000, 10_000_000, exchange_version=3)
    assert signed.order_id == "0x265bb02819322800814a370b4ee4d6c7b922b77c2c840795f57a3143dde854f9"
    assert signed.signature == (
        "0xeef7b0684aeb8cdcc476c2a963023c1ea7b54a5eb8fd0c8bd444d930c3c773d72b163ebbce762c1a"
        "b2d851e378ed99543d2999e58d1b54b86daf74b1bf13f8c41b"
    )


def test_type3_deposit_wallet_signature() -> None:
    wallet = "0x1111111111111111111111111111111111111111"
    signer = OrderSigner(KEY, signature_type=3, funder=wallet)
    assert (signer.address, signer.maker, signer.signer) == (ADDRESS, wallet, wallet)
    signed = _limit(signer, TOKEN, Side.BUY, 570_000, 10_000_000)
    assert signed.order_id == "0x28e39489e0ab452c8cd2b864f4209ef75bfe8eefc38f85110bf5a17f754853ce"
    expected = (
        "0xbcf486dd3570f44b102e0fc530220757f4069c6000000ea2a16d428bc15ac1ae5632f7819de28f81"
        "fc457932ff7ba8211897ba42487cd36994d7c76637418bc71c"
        "3264e159346253e26a64e00b69032db0e7d32f94628de3e6eecb50304d7af3d2"  # app domain (v2)
        "b2b25194efb8fc3d8bef2eb855195cc711aff9dd6b1c683161b85bd90299b215"  # contents hash
        + ORDER_TYPE.encode().hex()
        + "00ba"
    )
    assert signed.signature == expected
    assert len(bytes.fromhex(signed.signature[2:])) == 317
    assert b'"signatureType":3,"signer":"' + wallet.encode() + b'"' in signed.body
    order_id, owner = recover_order_signer(
        salt=1234567890,
        maker=wallet,
        signer=wallet,
        token_id=TOKEN,
        maker_amount=5_700_000,
        taker_amount=10_000_000,
        side=Side.BUY,
        signature_type=3,
        timestamp_ms=1793404800000,
        signature=signed.signature,
        exchange_version=2,
        neg_risk=False,
    )
    assert (order_id, owner) == (signed.order_id, ADDRESS)


def test_spec_section4_amounts() -> None:
    assert limit_order_amounts(Side.BUY, 570_000, 10_000_000, 10_000) == (5_700_000, 10_000_000)
    assert limit_order_amounts(Side.SELL, 570_000, 7_333_000, 10_000) == (7_330_000, 4_178_100)
    assert market_order_amounts(Side.BUY, 25_000_000, 600_000, 10_000) == (25_000_000, 41_666_600)


def test_post_only_gtd_and_escaped_owner() -> None:
    signed = _limit(
        OrderSigner(KEY),
        TOKEN,
        Side.BUY,
        570_000,
        10_000_000,
        order_type="GTD",
        expiration=1793500000,
        post_only=True,
        owner='k"\\\n\x7fé😀',
    )
    assert b'"expiration":"1793500000"' in signed.body
    assert signed.body.endswith(
        b'"orderType":"GTD","owner":"k\\"\\\\\\n\\u007f\\u00e9\\ud83d\\ude00","postOnly":true}'
    )


def test_market_order_is_fok_or_fak() -> None:
    signer = OrderSigner(KEY)
    signed = signer.sign_market_order(
        TOKEN, Side.BUY, 25_000_000, 600_000, 10_000, neg_risk=False, exchange_version=2,
        order_type="FAK", salt=1, timestamp_ms=2, owner=OWNER,
    )  # fmt: skip
    assert (signed.maker_amount, signed.taker_amount) == (25_000_000, 41_666_600)
    assert b'"orderType":"FAK"' in signed.body
    with pytest.raises(SignError, match="FOK or FAK"):
        signer.sign_market_order(
            TOKEN, Side.BUY, 25_000_000, 600_000, 10_000, neg_risk=False, exchange_version=2,
            order_type="GTC", salt=1, timestamp_ms=2, owner=OWNER,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"price": 575_000}, "not a multiple of the tick"),
        ({"price": 1_000_000}, "outside"),
        ({"size": 9_999}, "zero once floored"),
        ({"size": 10**15 + 1}, "above the maximum"),
        ({"tick": 20_000}, "invalid tick"),
        ({"side": 2}, "invalid side"),
        ({"token_id": "0x10"}, "decimal uint256"),
        ({"token_id": "007"}, "decimal uint256"),
        ({"exchange_version": 1}, "exchange version"),
        ({"order_type": "gtc"}, "invalid order type"),
        ({"order_type": "FOK", "post_only": True}, "post-only"),
        ({"order_type": "GTD"}, "expiration"),
        ({"expiration": 10}, "expiration"),
        ({"salt": 2**53}, "below 2\\*\\*53"),
        ({"owner": ""}, "owner"),
        ({"builder": b"\x01" * 31}, "builder"),
    ],
)
def test_bad_inputs_raise_sign_error(change: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "token_id": TOKEN,
        "side": 0,
        "price": 570_000,
        "size": 10_000_000,
        "tick": 10_000,
        "neg_risk": False,
        "exchange_version": 2,
        **COMMON,
    }
    args.update(change)
    with pytest.raises(SignError, match=message):
        OrderSigner(KEY).sign_limit_order(**args)


def test_signer_set_up_errors() -> None:
    funder = "0x2222222222222222222222222222222222222222"
    with pytest.raises(SignError, match="needs funder"):
        OrderSigner(KEY, signature_type=1)
    with pytest.raises(SignError, match="funder must be None"):
        OrderSigner(KEY, funder=funder)
    with pytest.raises(SignError, match="signature type 4"):
        OrderSigner(KEY, signature_type=4, funder=funder)
    with pytest.raises(SignError, match="funder must be an address"):
        OrderSigner(KEY, signature_type=2, funder="0x1234")
    with pytest.raises(SignError, match="invalid private key"):
        OrderSigner(b"\x00" * 32)
    with pytest.raises(SignError, match="invalid private key"):
        OrderSigner(KEY[:31])
    with pytest.raises(SignError, match="only 137"):
        OrderSigner(KEY, chain_id=80002)
    with pytest.raises(OverflowError):
        OrderSigner(KEY, signature_type=-1)
    proxy = OrderSigner(KEY, signature_type=1, funder=funder.upper().replace("0X", "0x"))
    assert (proxy.maker, proxy.signer, proxy.signature_type) == (funder, ADDRESS, 1)
    assert OrderSigner(KEY, funder=ADDRESS.lower()).maker == ADDRESS


def test_repr_never_shows_the_key() -> None:
    signer = OrderSigner(KEY, signature_type=2, funder="0x2222222222222222222222222222222222222222")
    text = repr(signer)
    assert ADDRESS in text and KEY.hex() not in text and KEY.hex()[:16] not in text
    assert "SignedOrder(order_id='0x" in repr(_limit(signer, TOKEN, Side.BUY, 570_000, 10_000_000))


def test_recovery_rejects_malformed_signatures() -> None:
    digest = b"\x07" * 32
    with pytest.raises(SignError, match="65 bytes"):
        recover_digest_signer(digest, b"\x01" * 64)
    with pytest.raises(SignError, match="v must be"):
        recover_digest_signer(digest, b"\x01" * 64 + b"\x1d")
    with pytest.raises(SignError, match="digest"):
        recover_digest_signer(digest[:31], b"\x01" * 65)
    with pytest.raises(SignError, match="317 bytes"):
        recover_order_signer(
            salt=1, maker=ADDRESS, signer=ADDRESS, token_id=TOKEN, maker_amount=1,
            taker_amount=1, side=0, signature_type=3, timestamp_ms=1,
            signature="0x" + "11" * 65, exchange_version=2, neg_risk=False,
        )  # fmt: skip
    with pytest.raises(SignError, match="hex"):
        recover_clob_auth_signer(ADDRESS, "1", 0, "0xzz")


def test_clob_auth_round_trip() -> None:
    signer = OrderSigner(KEY)
    signature = signer.clob_auth_signature(1793404800)
    assert len(signature) == 132 and signature[-2:] in ("1b", "1c")
    assert recover_clob_auth_signer(ADDRESS, "1793404800", 0, signature) == ADDRESS
    assert recover_clob_auth_signer(ADDRESS, "1793404801", 0, signature) != ADDRESS


def test_l2_hmac_rejects_a_bad_secret() -> None:
    assert len(l2_hmac_signature("c2VjcmV0", 1, "GET", "/")) == 44
    with pytest.raises(SignError, match="base64"):
        l2_hmac_signature("not base64!", 1, "GET", "/")
