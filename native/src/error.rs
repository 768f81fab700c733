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
        }
    }
}

impl std::error::Error for BookError {}
