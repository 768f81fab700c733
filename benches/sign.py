"""Order signing figures: one limit order built and signed natively (one call from
Python), the same order through polymarket-client's network-free internals, and the
native signature check the local venue will run per order.

The test key is the spec's throwaway key (section 11.4), never funded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from eth_account import Account
from eth_keys.backends import get_backend
from polymarket._internal.actions.orders.context import resolve_order_exchange_address
from polymarket._internal.actions.orders.limit import _compute_limit_order_amounts
from polymarket._internal.actions.orders.orders import create_signed_order, create_unsigned_order
from polymarket._internal.actions.orders.post import build_post_order_request
from polymarket._internal.actions.orders.typed_data import (
    build_order_signature,
    build_order_typed_data,
)
from polymarket._internal.actions.orders.types import OrderDraft
from polymarket.environments import PRODUCTION
from polymarket.models.types import TokenId
from polymarket.types import EvmAddress, HexString

from benches.harness import Bench
from engine._native import OrderSigner, recover_order_signer

KEY = bytes.fromhex("78e8bcae87bd2535d8464098af91b1d02929c351aeb158d1e5209a588aea7d13")
TOKEN = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
OWNER = "00000000-0000-4000-8000-000000000000"
TIMESTAMP_MS = 1793404800000


def _native() -> Callable[[], object]:
    signer = OrderSigner(KEY)
    salts = iter(range(1, 1 << 53))

    def sign_one() -> bytes:
        return signer.sign_limit_order(
            TOKEN, 0, 570_000, 10_000_000, 10_000,
            neg_risk=False, exchange_version=2, order_type="GTC", post_only=False,
            salt=next(salts), timestamp_ms=TIMESTAMP_MS, owner=OWNER,
        ).body  # fmt: skip

    return sign_one


AS_SHIPPED = "eth_keys.backends.NativeECCBackend"
"""polymarket-client 0.14.0 declares no C secp256k1: as shipped it signs in pure Python
(spec 11.7). eth_keys uses coincurve instead whenever it is importable, as it is here
(a dev dependency), so the backend is pinned explicitly for each figure."""
COINCURVE = "eth_keys.backends.CoinCurveECCBackend"


@contextmanager
def _ecc_backend(import_path: str) -> Iterator[None]:
    """eth_keys picks the backend of each key object it makes from this variable."""
    before = os.environ.get("ECC_BACKEND_CLASS")
    os.environ["ECC_BACKEND_CLASS"] = import_path
    try:
        yield
    finally:
        if before is None:
            del os.environ["ECC_BACKEND_CLASS"]
        else:
            os.environ["ECC_BACKEND_CLASS"] = before


def _official() -> Callable[[], object]:
    return _official_with(AS_SHIPPED)


def _official_coincurve() -> Callable[[], object]:
    return _official_with(COINCURVE)


def _official_with(backend: str) -> Callable[[], object]:
    """What polymarket-client does between `create_limit_order` and the POST, minus the
    network: amounts, unsigned order (own salt and timestamp), typed data, eth_account
    signature, signed order, request payload and its JSON."""
    account = Account.from_key(KEY)
    with _ecc_backend(backend):  # eth_account re-makes the key object on every signature
        used = type(get_backend()).__name__
    if used != backend.rsplit(".", 1)[1]:
        raise RuntimeError(f"eth_keys picked {used}, not {backend}")
    config = PRODUCTION._config
    address = EvmAddress(account.address)

    def sign_one() -> bytes:
        maker, taker = _compute_limit_order_amounts(
            price=Decimal("0.57"), size=Decimal("10"), side="BUY", tick_size=Decimal("0.01")
        )
        draft = OrderDraft(
            chain_id=config.chain_id,
            exchange_address=resolve_order_exchange_address(config, asset_id=TOKEN, neg_risk=False),
            expiration=0,
            funder_address=address,
            offered_amount=maker,
            order_type="GTC",
            side="BUY",
            signer=address,
            requested_amount=taker,
            asset_id=TokenId(TOKEN),
        )
        unsigned = create_unsigned_order(draft, wallet=address, wallet_type="EOA")
        with _ecc_backend(backend):
            signed = account.sign_typed_data(full_message=build_order_typed_data(unsigned))
        raw = signed.signature.hex()
        signature = build_order_signature(
            unsigned, HexString(raw if raw[:2] == "0x" else "0x" + raw)
        )
        order = create_signed_order(unsigned, signature)
        _, payload = build_post_order_request(order, owner_api_key=OWNER)
        return json.dumps(payload, separators=(",", ":")).encode()

    return sign_one


def _recover() -> Callable[[], object]:
    signer = OrderSigner(KEY)
    signed = signer.sign_limit_order(
        TOKEN, 0, 570_000, 10_000_000, 10_000,
        neg_risk=False, exchange_version=2, order_type="GTC", post_only=False,
        salt=1234567890, timestamp_ms=TIMESTAMP_MS, owner=OWNER,
    )  # fmt: skip

    def recover_one() -> tuple[str, str]:
        return recover_order_signer(
            salt=1234567890, maker=signer.maker, signer=signer.signer, token_id=TOKEN,
            maker_amount=signed.maker_amount, taker_amount=signed.taker_amount, side=0,
            signature_type=0, timestamp_ms=TIMESTAMP_MS, signature=signed.signature,
            exchange_version=2, neg_risk=False,
        )  # fmt: skip

    return recover_one


def benches() -> list[Bench]:
    return [
        Bench("sign.order.native", _native),
        Bench("sign.order.official", _official),
        Bench("sign.order.official_coincurve", _official_coincurve),
        Bench("sign.recover.native", _recover),
    ]


def notes() -> list[str]:
    with _ecc_backend(AS_SHIPPED):
        shipped = type(get_backend()).__name__
    with _ecc_backend(COINCURVE):
        fast = type(get_backend()).__name__
    return [
        f"sign.order.official: polymarket-client as shipped ({shipped}, pure Python); "
        f"sign.order.official_coincurve: the same with {fast} (C libsecp256k1)"
    ]
