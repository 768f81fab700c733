"""Native signing against polymarket-client 0.14.0 itself, byte for byte, on seeded
random inputs (the official client is the conformance oracle: spec 11.6, 11.7).

10,000 random orders (10 seeded chunks of 1,000): random token ids (CTF-style uint256,
V2 position ids, small ids), every tick size with prices across its grid, sizes from
0.01 to 10**7, both sides, signature types 0-3 with random funders, neg-risk, limit
orders (GTC/GTD/FOK/FAK, post-only) and market orders (FOK/FAK). For every order the
client's own functions give, and the native result must equal:

* the amounts (`_compute_limit_order_amounts`, `_compute_market_order_amounts`);
* the maker, signer, exchange and domain version (`create_unsigned_order`, which
  calls `resolve_order_exchange_address` and `is_v2_position_id`);
* the digest eth_account signs (`encode_typed_data(build_order_typed_data(...))`):
  the native ECDSA part must recover to the key's address over it;
* the order id (the EIP-712 digest of the plain Order typed data);
* the JSON body (`build_order_signature`, `create_signed_order`,
  `build_post_order_request`, then the transport's `json.dumps`), which embeds the
  whole signature, including the type-3 wrapper.

eth_account also signs every one of them (`LocalAccount.sign_typed_data`, with eth_keys'
coincurve backend from the dev dependencies, ~0.4 ms an order; the pure-Python backend
would take ~5 ms and gives the same bytes), and the 65 ECDSA bytes must be identical:
RFC 6979 makes them deterministic. Separately, 20,000 amount cases
(edge sizes and prices included) are compared without signing, and the L1 ClobAuth
signature and the L2 HMAC are compared with the client's own.
"""

from __future__ import annotations

import base64
import json
import random
import string
import uuid
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak
from polymarket._internal.actions.orders.context import (
    resolve_order_exchange_address,
    validate_price_on_tick_grid,
)
from polymarket._internal.actions.orders.limit import _compute_limit_order_amounts
from polymarket._internal.actions.orders.market import _compute_market_order_amounts
from polymarket._internal.actions.orders.orders import create_signed_order, create_unsigned_order
from polymarket._internal.actions.orders.post import build_post_order_request
from polymarket._internal.actions.orders.typed_data import (
    _build_standard_typed_data,
    build_order_signature,
    build_order_typed_data,
)
from polymarket._internal.actions.orders.types import OrderDraft, UnsignedOrder
from polymarket._internal.hmac import build_hmac_signature
from polymarket._internal.l1_auth import sign_api_key_auth
from polymarket._internal.protocol import is_v2_position_id
from polymarket.environments import PRODUCTION
from polymarket.types import EvmAddress, HexString

from engine._native import (
    OrderSigner,
    SignedOrder,
    l2_hmac_signature,
    limit_order_amounts,
    market_order_amounts,
    recover_clob_auth_signer,
    recover_digest_signer,
    recover_order_signer,
)
from engine.units import UNIT, VALID_TICKS

CHUNKS = 10
ORDERS_PER_CHUNK = 1_000
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
WALLET_TYPES = {0: "EOA", 1: "POLY_PROXY", 2: "GNOSIS_SAFE", 3: "DEPOSIT_WALLET"}
CONFIG = PRODUCTION._config


def _micro(value: int) -> Decimal:
    return Decimal(value).scaleb(-6)


def _tick(tick: int) -> Decimal:
    return _micro(tick).normalize()


def _official_amounts(
    kind: str, side: str, price: int, quantity: int, tick: int
) -> tuple[int, int]:
    if kind == "limit":
        price_d = validate_price_on_tick_grid(_micro(price), _tick(tick), "price")
        return _compute_limit_order_amounts(
            price=price_d, size=_micro(quantity), side=side, tick_size=_tick(tick)
        )
    return _compute_market_order_amounts(
        amount=_micro(quantity), price=_micro(price), side=side, tick_size=_tick(tick)
    )


def _keys(rng: random.Random, count: int) -> list[bytes]:
    keys: list[bytes] = []
    while len(keys) < count:
        candidate = rng.getrandbits(256)
        if 0 < candidate < SECP256K1_N:
            keys.append(candidate.to_bytes(32, "big"))
    return keys


def _token_id(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.4:  # CTF token ids are keccak-derived: any 256-bit value
        return str(rng.getrandbits(256))
    if roll < 0.7:  # V2 position id: module byte, condition bits, outcome; bits 40..103 zero
        return str((rng.randint(1, 3) << 248) | (rng.getrandbits(144) << 104) | rng.randint(0, 1))
    if roll < 0.8:  # small ids, as local test venues use (V2-shaped to the client)
        return str(rng.randint(0, 10**6))
    return str(rng.getrandbits(rng.randint(1, 256)))


def _quantity(rng: random.Random) -> int:
    """A size or amount in micro, >= 0.01 so it survives the 2-decimal floor."""
    if rng.random() < 0.3:
        return rng.randint(1, 10 ** rng.randint(1, 9)) * 10_000  # already on 2 decimals
    return rng.randint(10_000, 10 ** rng.randint(5, 13))


def _owner(rng: random.Random) -> str:
    if rng.random() < 0.05:
        alphabet = string.printable + "é€😀\u2028"
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
    return str(uuid.UUID(int=rng.getrandbits(128)))


@dataclass(frozen=True)
class Case:
    key: int
    signature_type: int
    funder: str | None
    token_id: str
    side: int
    kind: str
    price: int
    quantity: int
    tick: int
    neg_risk: bool
    order_type: str
    post_only: bool
    expiration: int
    salt: int
    timestamp_ms: int
    owner: str
    builder: bytes | None


def _case(rng: random.Random, accounts: list[LocalAccount]) -> Case:
    key = rng.randrange(len(accounts))
    signature_type = rng.randint(0, 3)
    if signature_type == 0:
        funder = accounts[key].address.lower() if rng.random() < 0.1 else None
    else:
        funder = "0x" + rng.randbytes(20).hex()
    tick = rng.choice(VALID_TICKS)
    kind = rng.choice(("limit", "market"))
    if kind == "limit":
        order_type = rng.choice(("GTC", "GTD", "FOK", "FAK"))
        post_only = order_type in ("GTC", "GTD") and rng.random() < 0.3
    else:
        order_type = rng.choice(("FOK", "FAK"))
        post_only = False
    return Case(
        key=key,
        signature_type=signature_type,
        funder=funder,
        token_id=_token_id(rng),
        side=rng.randint(0, 1),
        kind=kind,
        price=rng.randint(1, UNIT // tick - 1) * tick,
        quantity=_quantity(rng),
        tick=tick,
        neg_risk=rng.random() < 0.3,
        order_type=order_type,
        post_only=post_only,
        expiration=rng.randint(1_700_000_000, 2_000_000_000) if order_type == "GTD" else 0,
        salt=rng.getrandbits(53),
        timestamp_ms=rng.randint(1_600_000_000_000, 2_000_000_000_000),
        owner=_owner(rng),
        builder=rng.randbytes(32) if rng.random() < 0.2 else None,
    )


def _native(
    case: Case, keys: list[bytes], signers: dict[tuple[int, int, str | None], OrderSigner]
) -> SignedOrder:
    signer_key = (case.key, case.signature_type, case.funder)
    signer = signers.get(signer_key)
    if signer is None:
        signer = OrderSigner(keys[case.key], signature_type=case.signature_type, funder=case.funder)
        signers[signer_key] = signer
    version = 3 if is_v2_position_id(case.token_id) else 2
    if case.kind == "limit":
        return signer.sign_limit_order(
            case.token_id, case.side, case.price, case.quantity, case.tick,
            neg_risk=case.neg_risk, exchange_version=version, order_type=case.order_type,
            post_only=case.post_only, salt=case.salt, timestamp_ms=case.timestamp_ms,
            owner=case.owner, expiration=case.expiration, builder=case.builder,
        )  # fmt: skip
    return signer.sign_market_order(
        case.token_id, case.side, case.quantity, case.price, case.tick,
        neg_risk=case.neg_risk, exchange_version=version, order_type=case.order_type,
        salt=case.salt, timestamp_ms=case.timestamp_ms, owner=case.owner, builder=case.builder,
    )  # fmt: skip


def _official_unsigned(case: Case, account: LocalAccount) -> UnsignedOrder:
    side = "BUY" if case.side == 0 else "SELL"
    maker_amount, taker_amount = _official_amounts(
        case.kind, side, case.price, case.quantity, case.tick
    )
    wallet = EvmAddress(
        to_checksum_address(case.funder) if case.signature_type else account.address
    )
    draft = OrderDraft(
        chain_id=137,
        exchange_address=resolve_order_exchange_address(
            CONFIG, asset_id=case.token_id, neg_risk=case.neg_risk
        ),
        expiration=case.expiration,
        funder_address=wallet,
        offered_amount=maker_amount,
        order_type=case.order_type,
        side=side,
        signer=EvmAddress(account.address),
        requested_amount=taker_amount,
        asset_id=case.token_id,
        builder_code=HexString("0x" + case.builder.hex()) if case.builder else None,
    )
    unsigned = create_unsigned_order(
        draft,
        wallet=wallet,
        wallet_type=WALLET_TYPES[case.signature_type],
    )
    # The client draws salt and timestamp itself; pin them to the case's.
    return replace(unsigned, salt=case.salt, timestamp=case.timestamp_ms)


def _digest(typed_data: dict[str, object]) -> bytes:
    signable = encode_typed_data(full_message=typed_data)
    return keccak(b"\x19" + signable.version + signable.header + signable.body)


def _official_body(unsigned: UnsignedOrder, ecdsa: bytes, case: Case) -> bytes:
    signature = build_order_signature(unsigned, HexString("0x" + ecdsa.hex()))
    signed = create_signed_order(unsigned, signature, post_only=case.post_only)
    _, payload = build_post_order_request(signed, owner_api_key=case.owner)
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_random_orders_match_the_official_client(chunk: int) -> None:
    rng = random.Random(7_000 + chunk)
    keys = _keys(rng, 8)
    accounts = [Account.from_key(key) for key in keys]
    signers: dict[tuple[int, int, str | None], OrderSigner] = {}
    for index in range(ORDERS_PER_CHUNK):
        case = _case(rng, accounts)
        account = accounts[case.key]
        native = _native(case, keys, signers)
        unsigned = _official_unsigned(case, account)
        where = f"chunk {chunk} order {index}: {case}"

        assert (native.maker_amount, native.taker_amount) == (
            unsigned.maker_amount,
            unsigned.taker_amount,
        ), where
        signature = bytes.fromhex(native.signature[2:])
        ecdsa = signature[:65]
        typed_data = build_order_typed_data(unsigned)
        signed_digest = _digest(typed_data)
        assert recover_digest_signer(signed_digest, ecdsa) == account.address, where
        if case.signature_type == 3:
            version = unsigned.protocol_version
            order_id = _digest(_build_standard_typed_data(unsigned, protocol_version=version))
        else:
            order_id = signed_digest
        assert native.order_id == "0x" + order_id.hex(), where
        assert native.body == _official_body(unsigned, ecdsa, case), where

        official = account.sign_typed_data(full_message=typed_data).signature
        assert ecdsa == bytes(official), where

        recovered = recover_order_signer(
            salt=case.salt, maker=unsigned.maker, signer=unsigned.signer,
            token_id=case.token_id, maker_amount=unsigned.maker_amount,
            taker_amount=unsigned.taker_amount, side=case.side,
            signature_type=case.signature_type, timestamp_ms=case.timestamp_ms,
            signature=native.signature, exchange_version=int(unsigned.protocol_version),
            neg_risk=case.neg_risk, builder=unsigned.builder,
        )  # fmt: skip
        assert recovered == (native.order_id, account.address), where


def _edge_quantity(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.2:
        return rng.randint(10_000, 20_000)
    if roll < 0.3:
        return 10**15 - rng.randint(0, 10**6)
    if roll < 0.5:
        return rng.randint(1, 10**6) * 10_000 + rng.choice((0, 1, 9_999))
    return rng.randint(10_000, 10 ** rng.randint(5, 15))


def test_amounts_match_the_official_client() -> None:
    rng = random.Random(11)
    for _ in range(20_000):
        tick = rng.choice(VALID_TICKS)
        steps = UNIT // tick - 1
        price = rng.choice((1, 2, steps - 1, steps, rng.randint(1, steps))) * tick
        quantity = _edge_quantity(rng)
        side = rng.randint(0, 1)
        side_name = "BUY" if side == 0 else "SELL"
        case = (side_name, price, quantity, tick)
        assert limit_order_amounts(side, price, quantity, tick) == _official_amounts(
            "limit", side_name, price, quantity, tick
        ), case
        assert market_order_amounts(side, quantity, price, tick) == _official_amounts(
            "market", side_name, price, quantity, tick
        ), case


def test_clob_auth_matches_the_official_client() -> None:
    rng = random.Random(5)
    for key in _keys(rng, 20):
        account = Account.from_key(key)
        timestamp = rng.randint(1_600_000_000, 2_000_000_000)
        nonce = rng.choice((0, 0, 1, rng.getrandbits(64)))
        official = sign_api_key_auth(account, chain_id=137, timestamp=timestamp, nonce=nonce)
        native = OrderSigner(key).clob_auth_signature(timestamp, nonce)
        assert native == official.signature
        assert recover_clob_auth_signer(account.address, str(timestamp), nonce, native) == (
            account.address
        )


def test_l2_hmac_matches_the_official_client() -> None:
    rng = random.Random(6)
    for _ in range(500):
        secret = base64.urlsafe_b64encode(rng.randbytes(32)).decode()
        if rng.random() < 0.5:
            secret = secret.rstrip("=")
        timestamp = rng.randint(1_600_000_000, 2_000_000_000)
        method = rng.choice(("GET", "POST", "DELETE"))
        path = rng.choice(("/order", "/orders", "/data/orders", "/cancel-all", "/auth/api-keys"))
        body = None if rng.random() < 0.3 else json.dumps({"orderID": rng.randbytes(8).hex()})
        official = build_hmac_signature(
            secret=secret, timestamp=timestamp, method=method, path=path, body=body
        )
        native = l2_hmac_signature(
            secret, timestamp, method, path, None if body is None else body.encode()
        )
        assert native == official
