//! Errors of the pure Rust core. Plain enums with `Display`, so the Python bindings can
//! map each to a typed exception with a readable message.

use std::fmt;

/// Why an order book rejected an input. Every variant comes from bad input, never from
/// a broken invariant: the book is left unchanged when one is returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookError {
    /// The tick is not one of the venue's six tick sizes (in micro units).
    InvalidTick { tick: u64 },
    /// The price is not a multiple of the book's tick.
    OffGrid { price: u64, tick: u64 },
    /// The price is on the grid but outside `[tick, 1_000_000 - tick]`.
    OutOfRange { price: u64, tick: u64 },
    /// The side code is neither 0 (BUY, bids) nor 1 (SELL, asks).
    InvalidSide { side: u64 },
    /// A packed delta buffer whose length is not a multiple of 24 bytes.
    InvalidDeltas { len: usize },
    /// A set of books was given the same asset id twice (at position `index`).
    DuplicateAsset { index: usize },
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InvalidTick { tick } => write!(
                f,
                "invalid tick {tick}: must be one of 100000, 10000, 5000, 2500, 1000, 100 (micro)"
            ),
            Self::OffGrid { price, tick } => {
                write!(f, "price {price} is not a multiple of the tick {tick}")
            }
            Self::OutOfRange { price, tick } => write!(
                f,
                "price {price} is outside [{tick}, {}] for tick {tick}",
                crate::book::UNIT - tick
            ),
            Self::InvalidSide { side } => {
                write!(
                    f,
                    "invalid side {side}: must be 0 (BUY, bids) or 1 (SELL, asks)"
                )
            }
            Self::InvalidDeltas { len } => write!(
                f,
                "invalid delta buffer of {len} bytes: must hold (side, price, size) u64 triples, 24 bytes each"
            ),
            Self::DuplicateAsset { index } => {
                write!(f, "asset id at position {index} is given twice")
            }
        }
    }
}

impl std::error::Error for BookError {}

/// Why an order could not be built or signed, or a signature not checked. Every variant
/// comes from bad input (or a malformed signature), never from a broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignError {
    /// The private key is not 32 bytes or not a valid secp256k1 scalar (0 or >= n).
    InvalidKey,
    /// A field that must be a `0x` + 40 hex address is not one.
    InvalidAddress { field: &'static str },
    /// A hex field is not `0x` + hex of the expected byte length.
    InvalidHex { field: &'static str, bytes: usize },
    /// The token id is not a canonical decimal uint256 (digits only, no leading zero).
    InvalidTokenId,
    /// The tick is not one of the venue's six tick sizes (in micro units).
    InvalidTick { tick: u64 },
    /// The price is not a multiple of the tick.
    OffGrid { price: u64, tick: u64 },
    /// The price is on the grid but outside `[tick, 1_000_000 - tick]`.
    OutOfRange { price: u64, tick: u64 },
    /// The side code is neither 0 (BUY) nor 1 (SELL).
    InvalidSide { side: u64 },
    /// A size or amount is zero once floored to the venue's 2 decimals.
    ZeroAmount { field: &'static str, value: u64 },
    /// A size or amount is above the supported maximum (see `amounts::MAX_QUANTITY`).
    TooLarge {
        field: &'static str,
        value: u64,
        max: u64,
    },
    /// The signature type is not 0, 1, 2 or 3.
    InvalidSignatureType { value: u64 },
    /// Signature types 1-3 need the funder (proxy, Safe or deposit wallet) address.
    FunderRequired { signature_type: u8 },
    /// Signature type 0 signs for the key's own address; a different funder is a mistake.
    FunderMismatch,
    /// The order type is not GTC, GTD, FOK or FAK (or a market order asked to rest).
    InvalidOrderType { order_type: String },
    /// Post-only is only allowed with GTC and GTD (the venue and the official client say so).
    PostOnlyNotAllowed,
    /// GTD needs an expiration (unix s) and the other types must have 0.
    Expiration {
        order_type: &'static str,
        expiration: u64,
    },
    /// The exchange version is neither 2 (CTF exchanges) nor 3 (ExchangeV3).
    InvalidExchangeVersion { version: u64 },
    /// No exchange addresses are known for this chain.
    UnsupportedChain { chain_id: u64 },
    /// The salt is not below 2**53 (the official client's range, exact in JSON numbers).
    SaltTooLarge { salt: u64 },
    /// The order owner (API key) is empty.
    EmptyOwner,
    /// A signature is malformed or does not recover to a public key.
    InvalidSignature { reason: &'static str },
    /// The L2 API secret is not URL-safe base64.
    InvalidSecret,
    /// ECDSA signing failed (a nonce gave r or s = 0, or an x-reduced r that Ethereum's
    /// 27/28 recovery byte cannot express); probability about 2**-127.
    SigningFailed,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidKey => {
                f.write_str("invalid private key: must be 32 bytes, a secp256k1 scalar in [1, n-1]")
            }
            Self::InvalidAddress { field } => {
                write!(
                    f,
                    "{field} must be an address: 0x followed by 40 hex digits"
                )
            }
            Self::InvalidHex { field, bytes } => write!(
                f,
                "{field} must be 0x followed by {} hex digits ({bytes} bytes)",
                bytes * 2
            ),
            Self::InvalidTokenId => f.write_str(
                "token id must be a decimal uint256: digits only, no sign, no leading zero",
            ),
            Self::InvalidTick { tick } => write!(
                f,
                "invalid tick {tick}: must be one of 100000, 10000, 5000, 2500, 1000, 100 (micro)"
            ),
            Self::OffGrid { price, tick } => {
                write!(f, "price {price} is not a multiple of the tick {tick}")
            }
            Self::OutOfRange { price, tick } => write!(
                f,
                "price {price} is outside [{tick}, {}] for tick {tick}",
                crate::book::UNIT - tick
            ),
            Self::InvalidSide { side } => {
                write!(f, "invalid side {side}: must be 0 (BUY) or 1 (SELL)")
            }
            Self::ZeroAmount { field, value } => write!(
                f,
                "{field} {value} (micro) is zero once floored to 2 decimals (10000 micro)"
            ),
            Self::TooLarge { field, value, max } => {
                write!(f, "{field} {value} (micro) is above the maximum {max}")
            }
            Self::InvalidSignatureType { value } => write!(
                f,
                "invalid signature type {value}: must be 0 (EOA), 1 (POLY_PROXY), \
                 2 (GNOSIS_SAFE) or 3 (POLY_1271 deposit wallet)"
            ),
            Self::FunderRequired { signature_type } => write!(
                f,
                "signature type {signature_type} needs funder: the proxy, Safe or deposit \
                 wallet address that holds the funds"
            ),
            Self::FunderMismatch => f.write_str(
                "signature type 0 (EOA) trades from the key's own address: funder must be \
                 None or that address",
            ),
            Self::InvalidOrderType { order_type } => write!(
                f,
                "invalid order type {order_type:?}: must be GTC, GTD, FOK or FAK \
                 (FOK or FAK for market orders)"
            ),
            Self::PostOnlyNotAllowed => {
                f.write_str("post-only orders are only supported for GTC and GTD order types")
            }
            Self::Expiration {
                order_type,
                expiration,
            } => write!(
                f,
                "expiration {expiration} does not fit order type {order_type}: GTD needs a \
                 unix time in seconds, every other type 0"
            ),
            Self::InvalidExchangeVersion { version } => write!(
                f,
                "invalid exchange version {version}: must be 2 (CTF exchanges) or 3 (ExchangeV3)"
            ),
            Self::UnsupportedChain { chain_id } => write!(
                f,
                "no exchange addresses known for chain {chain_id}: only 137 (Polygon)"
            ),
            Self::SaltTooLarge { salt } => write!(f, "salt {salt} must be below 2**53"),
            Self::EmptyOwner => f.write_str("owner (the API key) must not be empty"),
            Self::InvalidSignature { reason } => write!(f, "invalid signature: {reason}"),
            Self::InvalidSecret => f.write_str("the API secret is not URL-safe base64"),
            Self::SigningFailed => f.write_str("ECDSA signing failed for this digest"),
        }
    }
}

impl std::error::Error for SignError {}
/// Why a market-channel frame was rejected. The books are left unchanged when one is
/// returned (except [`FrameError::Book`]): a frame is checked completely before
/// anything is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Not JSON, not an event object or an array of them, or a field of the wrong type
    /// or format (serde_json's message, with the line and column).
    Json(String),
    /// Event `index` (0-based within the frame) is well-formed JSON but cannot be
    /// applied: a required field is missing, a tick is not one of the venue's, or a
    /// price is off its book's grid.
    Event { index: usize, reason: String },
    /// A book rejected an operation the frame check had passed. It cannot happen (the
    /// check applies the books' own rules); if it did, every book the frame touched
    /// was cleared rather than left half-updated.
    Book(BookError),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Json(message) => write!(f, "malformed frame: {message}"),
            Self::Event { index, reason } => write!(f, "event {index} of the frame: {reason}"),
            Self::Book(error) => write!(
                f,
                "a book rejected the frame ({error}); the books it touched were cleared"
            ),
        }
    }
}

impl std::error::Error for FrameError {}
