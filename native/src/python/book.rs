//! Bindings for the order book.
//!
//! Each method is one FFI crossing that converts Python ints to `u64` (negative ints
//! raise `OverflowError`, non-ints `TypeError`) and maps core errors to `BookError`.
use std::sync::OnceLock;

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::book::{Book, Side};
use crate::error::BookError as CoreBookError;

create_exception!(
    engine._native,
    BookError,
    PyValueError,
    "An order book rejected an input: invalid tick, price off the grid or out of range, or a bad side."
);

impl From<CoreBookError> for PyErr {
    fn from(err: CoreBookError) -> Self {
        BookError::new_err(err.to_string())
    }
}

/// The order book of one outcome token on a fixed tick grid (prices and sizes in micro).
///
/// `best()` keeps the tuple it returned until the book changes: building a tuple and
/// two ints costs more than the call itself, and readers often ask again before the
/// next change. Every mutation goes through `book_mut`, which drops it.
#[pyclass(module = "engine._native", name = "OrderBook", eq)]
pub(crate) struct OrderBook {
    book: Book,
    best: OnceLock<Py<PyTuple>>,
}

impl PartialEq for OrderBook {
    fn eq(&self, other: &Self) -> bool {
        self.book == other.book
    }
}

impl OrderBook {
    /// Wrap a core book (for containers that hand out copies of theirs).
    pub(crate) fn from_book(book: Book) -> Self {
        Self {
            book,
            best: OnceLock::new(),
        }
    }

    /// The book, to change it: forgets the cached best prices first.
    fn book_mut(&mut self) -> &mut Book {
        self.best.take();
        &mut self.book
    }
}

#[pymethods]
impl OrderBook {
    /// An empty book; `tick` must be one of the venue's six tick sizes in micro.
    #[new]
    #[pyo3(signature = (tick))]
    fn new(tick: u64) -> PyResult<Self> {
        Ok(Self::from_book(Book::new(tick)?))
    }

    /// The tick size of the grid, in micro-USDC.
    #[getter]
    fn tick(&self) -> u64 {
        self.book.tick()
    }

    /// Replace the whole book with `(price, size)` levels; all or nothing.
    #[pyo3(signature = (bids, asks))]
    fn apply_snapshot(&mut self, bids: Vec<(u64, u64)>, asks: Vec<(u64, u64)>) -> PyResult<()> {
        Ok(self.book_mut().apply_snapshot(&bids, &asks)?)
    }

    /// Set the total size at `price` on `side` (0 = bids, 1 = asks); size 0 removes it.
    #[pyo3(signature = (side, price, size))]
    fn apply_change(&mut self, side: u64, price: u64, size: u64) -> PyResult<()> {
        let side = Side::from_code(side)?;
        Ok(self.book_mut().apply_change(side, price, size)?)
    }

    /// Apply many `(side, price, size)` changes in order, in one call; all or nothing.
    #[pyo3(signature = (changes))]
    fn apply_changes(&mut self, changes: Vec<(u64, u64, u64)>) -> PyResult<()> {
        let changes = changes
            .into_iter()
            .map(|(side, price, size)| Ok((Side::from_code(side)?, price, size)))
            .collect::<Result<Vec<_>, CoreBookError>>()?;
        Ok(self.book_mut().apply_changes(&changes)?)
    }

    /// Apply packed little-endian u64 `(side, price, size)` deltas (24 bytes each) in
    /// one call; all or nothing. Returns how many were applied.
    #[pyo3(signature = (deltas))]
    fn apply_deltas(&mut self, deltas: &[u8]) -> PyResult<usize> {
        Ok(self.book_mut().apply_packed(deltas)?)
    }

    /// The highest bid as `(price, size)`, or None.
    fn best_bid(&self) -> Option<(u64, u64)> {
        self.book.best_bid()
    }

    /// The lowest ask as `(price, size)`, or None.
    fn best_ask(&self) -> Option<(u64, u64)> {
        self.book.best_ask()
    }

    /// Best bid price and best ask price in one call (each None if that side is empty).
    fn best(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        if let Some(cached) = self.best.get() {
            return Ok(cached.clone_ref(py));
        }
        let (bid, ask) = self.book.best_prices();
        let fresh = PyTuple::new(py, [bid, ask])?.unbind();
        Ok(self.best.get_or_init(|| fresh).clone_ref(py))
    }

    /// (best bid, bid size, best ask, ask size) in one call; sizes 0 for an empty side.
    fn top(&self) -> (Option<u64>, u64, Option<u64>, u64) {
        super::frames::top(&self.book)
    }

    /// Size-weighted mid of the top of the book (floored to a micro), or None.
    fn microprice(&self) -> Option<u64> {
        self.book.microprice()
    }

    /// (bid depth - ask depth) / (bid depth + ask depth) over `levels` levels per side,
    /// or None when both sides are empty.
    #[pyo3(signature = (levels))]
    fn imbalance(&self, levels: usize) -> Option<f64> {
        self.book.imbalance(levels)
    }

    /// Midpoint of best bid and best ask (exact), or None if a side is empty.
    fn mid(&self) -> Option<u64> {
        self.book.mid()
    }

    /// Best ask minus best bid (<= 0 when crossed or locked), or None if a side is empty.
    fn spread(&self) -> Option<i64> {
        self.book.spread()
    }

    /// Total size over the best `levels` non-empty levels of `side`.
    #[pyo3(signature = (side, levels))]
    fn depth(&self, side: u64, levels: usize) -> PyResult<u64> {
        Ok(self.book.depth(Side::from_code(side)?, levels))
    }

    /// The best `n` non-empty levels of `side` as `(price, size)`, best first.
    #[pyo3(signature = (side, n))]
    fn levels(&self, side: u64, n: usize) -> PyResult<Vec<(u64, u64)>> {
        Ok(self.book.levels(Side::from_code(side)?, n))
    }

    /// Number of non-empty levels on `side`.
    #[pyo3(signature = (side))]
    fn level_count(&self, side: u64) -> PyResult<usize> {
        Ok(self.book.level_count(Side::from_code(side)?))
    }

    /// The other outcome's book (bids = asks at 1 - p, asks = bids at 1 - p), as a copy.
    fn complement(&self) -> Self {
        Self::from_book(self.book.complement())
    }

    /// Remove every level, keeping the tick.
    fn clear(&mut self) {
        self.book_mut().clear();
    }

    /// Whether best bid >= best ask (a stale or inconsistent book).
    fn is_crossed(&self) -> bool {
        self.book.is_crossed()
    }

    fn __repr__(&self) -> String {
        let (bid, ask) = self.book.best_prices();
        let show = |p: Option<u64>| p.map_or_else(|| "None".to_owned(), |p| p.to_string());
        format!(
            "OrderBook(tick={}, best_bid={}, best_ask={}, bid_levels={}, ask_levels={})",
            self.book.tick(),
            show(bid),
            show(ask),
            self.book.level_count(Side::Bid),
            self.book.level_count(Side::Ask),
        )
    }
}

/// Add the book's classes and exception to the `engine._native` module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("BookError", m.py().get_type::<BookError>())?;
    m.add_class::<OrderBook>()?;
    Ok(())
}
