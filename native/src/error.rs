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
