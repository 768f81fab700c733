"""L1 and L2 authentication of the CLOB API (spec section 3), and the API-key registry.

L1 (create or derive an API key): the request carries an EIP-712 ClobAuth signature of
(address, timestamp, nonce) that must recover to POLY_ADDRESS, with a fresh timestamp.
L2 (everything private): POLY_SIGNATURE is an urlsafe-base64 HMAC-SHA256, keyed by the
API secret, over timestamp + METHOD + path (no host, no query) + the raw body bytes.

Credentials are derived from the server seed and (address, nonce), so a restarted venue
with the same seed gives a client the same key again, and `derive-api-key` is
deterministic as on the venue. Secrets never leave this module except in the reply that
creates or derives them; `Credentials.__repr__` hides them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from eth_utils.address import is_hex_address, to_checksum_address

from engine.venue.server.signing import SignatureError, parse_hex, recover_clob_auth_signer

MAX_CLOCK_SKEW_S = 60
"""How far POLY_TIMESTAMP may be from the server's clock, either way, in seconds."""

ERR_INVALID_API_KEY = "Unauthorized/Invalid api key"
ERR_INVALID_L1 = "Invalid L1 Request headers"
ERR_KEY_EXISTS = "Could not create api key"
ERR_KEY_UNKNOWN = "Could not derive api key!"


class AuthError(Exception):
    """A request that fails authentication: answered 401 with the venue's text."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Credentials:
    """One API key: the id clients send (`key`), its secret and passphrase, its owner."""

    key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    address: str
    nonce: int

    def reply(self) -> dict[str, str]:
        """The body of POST /auth/api-key and GET /auth/derive-api-key."""
        return {"apiKey": self.key, "secret": self.secret, "passphrase": self.passphrase}


class KeyRegistry:
    """API keys by id and by (owner address, nonce)."""

    def __init__(self, seed: int) -> None:
        self._seed = f"polyengine-venue-keys|{seed}".encode()
        self._by_key: dict[str, Credentials] = {}
        self._by_owner: dict[tuple[str, int], Credentials] = {}

    def derive(self, address: str, nonce: int) -> Credentials:
        """The credentials (address, nonce) has or would get; registers nothing."""
        material = f"{address.lower()}|{nonce}".encode()
        digest = hmac.new(self._seed, material, hashlib.sha512).digest()
        key = str(uuid.UUID(bytes=digest[:16], version=4))
        secret = base64.urlsafe_b64encode(digest[16:48]).decode()
        passphrase = digest[48:64].hex() + hashlib.sha256(digest).hexdigest()[:32]
        return Credentials(key, secret, passphrase, to_checksum_address(address), nonce)

    def create(self, address: str, nonce: int) -> Credentials | None:
        """Register the key of (address, nonce); None if it already exists."""
        owner = (address.lower(), nonce)
        if owner in self._by_owner:
            return None
        creds = self.derive(address, nonce)
        self._by_key[creds.key] = creds
        self._by_owner[owner] = creds
        return creds

    def existing(self, address: str, nonce: int) -> Credentials | None:
        return self._by_owner.get((address.lower(), nonce))

    def get(self, key: str) -> Credentials | None:
        return self._by_key.get(key)

    def keys_of(self, address: str) -> list[Credentials]:
        return [c for (owner, _), c in self._by_owner.items() if owner == address.lower()]

    def all(self) -> list[Credentials]:
        return list(self._by_key.values())


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name) or headers.get(name.lower()) or headers.get(name.replace("_", "-"))
    return value or ""


def _check_timestamp(text: str, now_s: float, message: str) -> None:
    try:
        ts = int(text)
    except ValueError:
        raise AuthError(message) from None
    if abs(now_s - ts) > MAX_CLOCK_SKEW_S:
        raise AuthError(message)


@dataclass(frozen=True, slots=True)
class L1Request:
    """A verified L1 request: the owner address and the nonce it asked for."""

    address: str
    nonce: int


def verify_l1(headers: Mapping[str, str], now_s: float) -> L1Request:
    """Check the ClobAuth headers; AuthError(ERR_INVALID_L1) on any problem."""
    address = _header(headers, "POLY_ADDRESS")
    signature = _header(headers, "POLY_SIGNATURE")
    timestamp = _header(headers, "POLY_TIMESTAMP")
    nonce_text = _header(headers, "POLY_NONCE") or "0"
    if not (address and signature and timestamp) or not is_hex_address(address):
        raise AuthError(ERR_INVALID_L1)
    _check_timestamp(timestamp, now_s, ERR_INVALID_L1)
    try:
        nonce = int(nonce_text)
        if nonce < 0:
            raise ValueError
        signer = recover_clob_auth_signer(
            to_checksum_address(address), timestamp, nonce, parse_hex(signature, what="signature")
        )
    except (ValueError, SignatureError):
        raise AuthError(ERR_INVALID_L1) from None
    if signer.lower() != address.lower():
        raise AuthError(ERR_INVALID_L1)
    return L1Request(to_checksum_address(address), nonce)


def hmac_signature(secret: str, timestamp: str, method: str, path: str, body: bytes) -> str:
    """The L2 POLY_SIGNATURE for a request, as clients compute it (padded urlsafe base64)."""
    raw_secret = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    message = f"{timestamp}{method}{path}".encode() + body
    digest = hmac.new(raw_secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def verify_l2(
    registry: KeyRegistry,
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    now_s: float,
) -> Credentials:
    """Check the L2 headers against the key they name; AuthError on any problem.

    The HMAC covers the raw body bytes as received, so clients that serialize JSON
    differently (ASCII escapes or not) are all accepted.
    """
    key = _header(headers, "POLY_API_KEY")
    creds = registry.get(key) if key else None
    if creds is None:
        raise AuthError(ERR_INVALID_API_KEY)
    passphrase = _header(headers, "POLY_PASSPHRASE")
    if not hmac.compare_digest(passphrase.encode(), creds.passphrase.encode()):
        raise AuthError(ERR_INVALID_API_KEY)
    if _header(headers, "POLY_ADDRESS").lower() != creds.address.lower():
        raise AuthError(ERR_INVALID_API_KEY)
    timestamp = _header(headers, "POLY_TIMESTAMP")
    _check_timestamp(timestamp, now_s, ERR_INVALID_API_KEY)
    try:
        expected = hmac_signature(creds.secret, timestamp, method, path, body)
    except (binascii.Error, ValueError):
        raise AuthError(ERR_INVALID_API_KEY) from None
    given = _header(headers, "POLY_SIGNATURE").rstrip("=")
    if not hmac.compare_digest(given.encode(), expected.rstrip("=").encode()):
        raise AuthError(ERR_INVALID_API_KEY)
    return creds
