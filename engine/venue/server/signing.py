"""EIP-712 for the venue server: order hashes, domains and signature recovery.

CLOB V2 orders are one 11-field struct signed under the "Polymarket CTF Exchange"
domain, version "2" (standard or neg-risk exchange by market) or "3" (ExchangeV3, for
Protocol-V2 position ids); the order id is the EIP-712 digest (spec section 11.2). L1
API-key requests sign the ClobAuth struct (spec section 3).

The order typed-data hashing here is written independently of the engine's native signer
(with keccak from eth_utils, since every field of these structs is one 32-byte word), so
the venue checks the engine's orders rather than trusting the same code twice. The ECDSA
recovery itself, and the ClobAuth recovery, are the native core's, which is much faster
than eth_account's pure-Python secp256k1; the tests sign ClobAuth and orders with the
official clients and eth_account, so the server is still checked against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from engine._native import SignError, recover_digest_signer
from engine._native import recover_clob_auth_signer as native_recover_clob_auth_signer

CHAIN_ID: Final = 137

EXCHANGE_V2: Final = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE_V2: Final = "0xe2222d279d744050d28e00520010520000310F59"
EXCHANGE_V3: Final = "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa"
NEG_RISK_ADAPTER: Final = "0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296"
POSITION_MANAGER: Final = "0x006F54F7f9A22e0000CC2AB60031000000ae9fEF"
COLLATERAL_TOKEN: Final = "0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB"

ORDER_TYPE: Final = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    "bytes32 builder)"
)
ORDER_TYPEHASH: Final = keccak(text=ORDER_TYPE)
_DOMAIN_TYPEHASH: Final = keccak(
    text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_EXCHANGE_NAME_HASH: Final = keccak(text="Polymarket CTF Exchange")

# Signature type 3 (POLY_1271): an ERC-7739 style nested signature by the wallet's owner.
_TYPED_DATA_SIGN_TYPEHASH: Final = keccak(
    text="TypedDataSign(Order contents,string name,string version,uint256 chainId,"
    "address verifyingContract,bytes32 salt)" + ORDER_TYPE
)
_DEPOSIT_WALLET_NAME_HASH: Final = keccak(text="DepositWallet")
_DEPOSIT_WALLET_VERSION_HASH: Final = keccak(text="1")
_SESSION_KEY_MAGIC: Final = bytes.fromhex("6492" * 16)

_POSITION_ID_MASK: Final = ((1 << 64) - 1) << 40


class SignatureError(ValueError):
    """A signature that cannot be decoded or does not recover to the expected signer."""


def is_position_id(token_id: int) -> bool:
    """Whether an asset id has the Protocol-V2 position-id shape (bits 40..103 zero).

    Such assets trade on ExchangeV3 and sign under domain version "3" (spec 11.3).
    """
    return token_id & _POSITION_ID_MASK == 0


@dataclass(frozen=True, slots=True)
class OrderDomain:
    """An EIP-712 domain orders can be signed under: version and exchange contract."""

    version: str
    contract: str

    @property
    def separator(self) -> bytes:
        return domain_separator(self.version, self.contract)


STANDARD_V2: Final = OrderDomain("2", EXCHANGE_V2)
NEG_RISK_V2: Final = OrderDomain("2", NEG_RISK_EXCHANGE_V2)
EXCHANGE_V3_DOMAIN: Final = OrderDomain("3", EXCHANGE_V3)

_SEPARATORS: dict[tuple[str, str], bytes] = {}


def domain_separator(version: str, contract: str) -> bytes:
    """keccak of the exchange's EIP712Domain (name, version, chainId 137, contract)."""
    key = (version, contract.lower())
    cached = _SEPARATORS.get(key)
    if cached is None:
        cached = keccak(
            _DOMAIN_TYPEHASH
            + _EXCHANGE_NAME_HASH
            + keccak(text=version)
            + _word(CHAIN_ID)
            + _address_word(contract)
        )
        _SEPARATORS[key] = cached
    return cached


def order_domain(token_id: int, neg_risk: bool) -> OrderDomain:
    """The domain an order on this asset must be signed under."""
    if is_position_id(token_id):
        return EXCHANGE_V3_DOMAIN
    return NEG_RISK_V2 if neg_risk else STANDARD_V2


@dataclass(frozen=True, slots=True)
class OrderStruct:
    """The signed fields of a CLOB V2 order, as integers and 0x addresses (any case)."""

    salt: int
    maker: str
    signer: str
    token_id: int
    maker_amount: int
    taker_amount: int
    side: int
    signature_type: int
    timestamp: int
    metadata: bytes
    builder: bytes

    def struct_hash(self) -> bytes:
        return keccak(
            ORDER_TYPEHASH
            + _word(self.salt)
            + _address_word(self.maker)
            + _address_word(self.signer)
            + _word(self.token_id)
            + _word(self.maker_amount)
            + _word(self.taker_amount)
            + _word(self.side)
            + _word(self.signature_type)
            + _word(self.timestamp)
            + _bytes32(self.metadata)
            + _bytes32(self.builder)
        )


def order_digest(order: OrderStruct, domain: OrderDomain) -> bytes:
    """The EIP-712 digest of an order: also its order id on the venue."""
    return keccak(b"\x19\x01" + domain.separator + order.struct_hash())


def recover_order_signer(domain_separator: bytes, struct_hash: bytes, signature: bytes) -> str:
    """The checksummed address whose 65-byte ECDSA signature this is over the typed data.

    Raises SignatureError if the signature cannot be decoded or recovered.
    """
    if len(signature) != 65:
        raise SignatureError(f"expected a 65-byte signature, got {len(signature)} bytes")
    digest = keccak(b"\x19\x01" + domain_separator + struct_hash)
    try:
        return recover_digest_signer(digest, signature)
    except SignError as exc:
        raise SignatureError(f"signature does not recover: {exc}") from None


@dataclass(frozen=True, slots=True)
class WalletSignature:
    """A decoded type-3 (POLY_1271) signature: who signed, for which wallet."""

    owner: str
    wallet: str


def recover_wallet_signature(
    order: OrderStruct, domain: OrderDomain, signature: bytes
) -> WalletSignature:
    """Recover the owner of a deposit-wallet signature (spec section 11.2).

    The layout is ecdsa(65) | appDomainSeparator(32) | contentsHash(32) | typeString |
    uint16be(len(typeString)); the separator must be the order's exchange domain, the
    contents hash the order's struct hash and the type string the Order type. Session-key
    wrapped signatures (ERC-6492 suffix) are refused: the local venue has no session keys.
    """
    if signature.endswith(_SESSION_KEY_MAGIC):
        raise SignatureError("session-key signatures are not supported by the local venue")
    if len(signature) < 65 + 64 + 2:
        raise SignatureError("a type-3 signature is too short")
    type_length = int.from_bytes(signature[-2:], "big")
    if len(signature) != 65 + 64 + type_length + 2:
        raise SignatureError("a type-3 signature has an inconsistent length")
    ecdsa = signature[:65]
    app_separator = signature[65:97]
    contents_hash = signature[97:129]
    type_string = signature[129 : 129 + type_length]
    struct_hash = order.struct_hash()
    if app_separator != domain.separator:
        raise SignatureError("a type-3 signature names another exchange domain")
    if contents_hash != struct_hash:
        raise SignatureError("a type-3 signature signs other order contents")
    if type_string != ORDER_TYPE.encode():
        raise SignatureError("a type-3 signature names another contents type")
    typed_data_sign = keccak(
        _TYPED_DATA_SIGN_TYPEHASH
        + struct_hash
        + _DEPOSIT_WALLET_NAME_HASH
        + _DEPOSIT_WALLET_VERSION_HASH
        + _word(CHAIN_ID)
        + _address_word(order.signer)
        + bytes(32)
    )
    owner = recover_order_signer(app_separator, typed_data_sign, ecdsa)
    return WalletSignature(owner=owner, wallet=to_checksum_address(order.signer))


def recover_clob_auth_signer(address: str, timestamp: str, nonce: int, signature: bytes) -> str:
    """The address that signed an L1 ClobAuth message (spec section 3).

    Raises SignatureError if the signature is malformed or does not recover.
    """
    try:
        return native_recover_clob_auth_signer(address, timestamp, nonce, "0x" + signature.hex())
    except SignError as exc:
        raise SignatureError(f"ClobAuth signature does not recover: {exc}") from None


def parse_hex(text: str, *, what: str) -> bytes:
    """Decode 0x-prefixed hex; SignatureError with `what` in the message otherwise."""
    if not text.startswith(("0x", "0X")):
        raise SignatureError(f"{what} must be 0x-prefixed hex")
    try:
        return bytes.fromhex(text[2:])
    except ValueError:
        raise SignatureError(f"{what} is not valid hex") from None


def _word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    raw = bytes.fromhex(address[2:])
    if len(raw) != 20:
        raise SignatureError(f"not a 20-byte address: {address}")
    return bytes(12) + raw


def _bytes32(value: bytes) -> bytes:
    if len(value) != 32:
        raise SignatureError("bytes32 field is not 32 bytes")
    return value
