//! Bindings for frames to books: `MarketBooks`, its per-frame `FrameSummary`, and the
//! routing scan `frame_markets`.
//!
//! A frame crosses the FFI once, as bytes; the summary keeps the core's plain data and
//! builds Python tuples only for the fields that are read. Asset ids are given as `str`;
//! an id the container does not hold raises `KeyError`.
use pyo3::create_exception;
use pyo3::exceptions::{PyKeyError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use super::book::OrderBook;
use crate::book::{Book, Side};
use crate::error::FrameError as CoreFrameError;
use crate::wire::{self, FrameSummary as CoreSummary, MarketBooks as CoreBooks};

create_exception!(
    engine._native,
    FrameError,
    PyValueError,
    "A market-channel frame could not be parsed or applied; the books are unchanged."
);

impl From<CoreFrameError> for PyErr {
    fn from(err: CoreFrameError) -> Self {
        FrameError::new_err(err.to_string())
    }
}

/// The books of a set of outcome tokens, fed by raw market-channel frames.
#[pyclass(module = "engine._native", name = "MarketBooks")]
struct MarketBooks {
    books: CoreBooks,
    /// The asset ids as Python strings, shared with every summary.
    ids: Py<PyTuple>,
}

impl MarketBooks {
    fn token(&self, asset_id: &str) -> PyResult<usize> {
        self.books
            .token(asset_id)
            .ok_or_else(|| PyKeyError::new_err(asset_id.to_owned()))
    }

    fn book(&self, asset_id: &str) -> PyResult<&Book> {
        let token = self.token(asset_id)?;
        self.books
            .book(token)
            .ok_or_else(|| PyKeyError::new_err(asset_id.to_owned()))
    }
}

#[pymethods]
impl MarketBooks {
    /// Empty books on the grid of `tick` (micro) for each asset id, in this order.
    #[new]
    #[pyo3(signature = (tick, asset_ids))]
    fn new(py: Python<'_>, tick: u64, asset_ids: Vec<String>) -> PyResult<Self> {
        let books = CoreBooks::new(tick, &asset_ids)?;
        let ids = PyTuple::new(py, &asset_ids)?.unbind();
        Ok(Self { books, ids })
    }

    /// The asset ids, in the order given.
    #[getter]
    fn asset_ids(&self, py: Python<'_>) -> Py<PyTuple> {
        self.ids.clone_ref(py)
    }

    fn __len__(&self) -> usize {
        self.books.len()
    }

    fn __contains__(&self, asset_id: &str) -> bool {
        self.books.token(asset_id).is_some()
    }

    /// A copy of one token's book.
    fn __getitem__(&self, asset_id: &str) -> PyResult<OrderBook> {
        Ok(OrderBook::from_book(self.book(asset_id)?.clone()))
    }

    /// Parse one raw frame and apply all of it; raises FrameError (books unchanged).
    #[pyo3(signature = (frame))]
    fn apply_frame(&mut self, py: Python<'_>, frame: &[u8]) -> PyResult<FrameSummary> {
        let summary = self.books.apply_frame(frame)?;
        Ok(FrameSummary {
            summary,
            ids: self.ids.clone_ref(py),
        })
    }

    /// Replace a token's book with a snapshot, on the grid of `tick` when given.
    #[pyo3(signature = (asset_id, bids, asks, tick = None))]
    fn apply_snapshot(
        &mut self,
        asset_id: &str,
        bids: Vec<(u64, u64)>,
        asks: Vec<(u64, u64)>,
        tick: Option<u64>,
    ) -> PyResult<()> {
        let token = self.token(asset_id)?;
        Ok(self.books.apply_snapshot(token, &bids, &asks, tick)?)
    }

    /// Apply packed little-endian u64 (side, price, size) deltas; all or nothing.
    #[pyo3(signature = (asset_id, deltas))]
    fn apply_deltas(&mut self, asset_id: &str, deltas: &[u8]) -> PyResult<usize> {
        let token = self.token(asset_id)?;
        match self.books.book_mut(token) {
            Some(book) => Ok(book.apply_packed(deltas)?),
            None => Err(PyKeyError::new_err(asset_id.to_owned())),
        }
    }

    /// The tick of a token's book, in micro.
    fn tick(&self, asset_id: &str) -> PyResult<u64> {
        Ok(self.book(asset_id)?.tick())
    }

    /// Best bid price and best ask price of a token, in one call.
    fn best(&self, asset_id: &str) -> PyResult<(Option<u64>, Option<u64>)> {
        Ok(self.book(asset_id)?.best_prices())
    }

    /// The top of a token's book: (best bid, bid size, best ask, ask size); sizes are 0
    /// where a side is empty.
    fn top(&self, asset_id: &str) -> PyResult<(Option<u64>, u64, Option<u64>, u64)> {
        let book = self.book(asset_id)?;
        Ok(top(book))
    }

    /// Midpoint of a token's best bid and ask, or None.
    fn mid(&self, asset_id: &str) -> PyResult<Option<u64>> {
        Ok(self.book(asset_id)?.mid())
    }

    /// Size-weighted mid of a token's top of book (floored to a micro), or None.
    fn microprice(&self, asset_id: &str) -> PyResult<Option<u64>> {
        Ok(self.book(asset_id)?.microprice())
    }

    /// Best ask minus best bid of a token (<= 0 when crossed), or None.
    fn spread(&self, asset_id: &str) -> PyResult<Option<i64>> {
        Ok(self.book(asset_id)?.spread())
    }

    /// Total size over the best `levels` levels of one side of a token's book.
    #[pyo3(signature = (asset_id, side, levels))]
    fn depth(&self, asset_id: &str, side: u64, levels: usize) -> PyResult<u64> {
        Ok(self.book(asset_id)?.depth(Side::from_code(side)?, levels))
    }

    /// (bid depth - ask depth) / (bid depth + ask depth) over `levels` levels, or None.
    #[pyo3(signature = (asset_id, levels))]
    fn imbalance(&self, asset_id: &str, levels: usize) -> PyResult<Option<f64>> {
        Ok(self.book(asset_id)?.imbalance(levels))
    }

    /// The best `n` levels of one side of a token's book, best first.
    #[pyo3(signature = (asset_id, side, n))]
    fn levels(&self, asset_id: &str, side: u64, n: usize) -> PyResult<Vec<(u64, u64)>> {
        Ok(self.book(asset_id)?.levels(Side::from_code(side)?, n))
    }

    /// A token's book seen from the other outcome (bids = asks at 1 - p), as a copy.
    fn complement(&self, asset_id: &str) -> PyResult<OrderBook> {
        Ok(OrderBook::from_book(self.book(asset_id)?.complement()))
    }

    /// Bytes held by the books and their id index.
    fn memory_bytes(&self) -> usize {
        self.books.memory_bytes()
    }

    fn __repr__(&self) -> String {
        format!(
            "MarketBooks({} books, tick {})",
            self.books.len(),
            self.books.book(0).map_or(0, Book::tick)
        )
    }
}

/// (best bid, bid size, best ask, ask size), sizes 0 for an empty side.
pub(crate) fn top(book: &Book) -> (Option<u64>, u64, Option<u64>, u64) {
    let (bid, bid_size) = book.best_bid().unzip();
    let (ask, ask_size) = book.best_ask().unzip();
    (bid, bid_size.unwrap_or(0), ask, ask_size.unwrap_or(0))
}

/// What one frame did to the books (immutable; tuples are built when read).
#[pyclass(frozen, module = "engine._native", name = "FrameSummary")]
struct FrameSummary {
    summary: CoreSummary,
    ids: Py<PyTuple>,
}

impl FrameSummary {
    fn id<'py>(&self, py: Python<'py>, token: usize) -> PyResult<Bound<'py, PyAny>> {
        self.ids.bind(py).get_item(token)
    }
}

type Best = (Option<u64>, Option<u64>);

#[pymethods]
impl FrameSummary {
    /// "PONG" or "NO NEW ASSETS" for the venue's text frames, else None.
    #[getter]
    fn text(&self) -> Option<&'static str> {
        self.summary.text.map(wire::TextFrame::as_str)
    }

    /// Events in the frame that concern these books.
    #[getter]
    fn events(&self) -> usize {
        self.summary.events
    }

    /// Events skipped: other tokens, or kinds that change no book.
    #[getter]
    fn ignored(&self) -> usize {
        self.summary.ignored
    }

    /// Each changed book once: (asset_id, best bid, best ask) after the frame.
    #[getter]
    fn changed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let items = self
            .summary
            .changed
            .iter()
            .map(|c| Ok((self.id(py, c.token)?, c.best_bid, c.best_ask)))
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, items)
    }

    /// Trades from `last_trade_price`: (asset_id, price, size, taker side 0/1).
    #[getter]
    fn trades<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let items = self
            .summary
            .trades
            .iter()
            .map(|t| Ok((self.id(py, t.token)?, t.price, t.size, t.side.code())))
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, items)
    }

    /// Integrity failures: (asset_id, book's (bid, ask), venue's (bid, ask)).
    #[getter]
    fn mismatches<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let items = self
            .summary
            .mismatches
            .iter()
            .map(|m| -> PyResult<(Bound<'py, PyAny>, Best, Best)> {
                Ok((self.id(py, m.token)?, m.book, m.venue))
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, items)
    }

    /// Books moved to another grid (and emptied): (asset_id, old tick, new tick).
    #[getter]
    fn tick_changes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let items = self
            .summary
            .tick_changes
            .iter()
            .map(|t| Ok((self.id(py, t.token)?, t.old, t.new)))
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, items)
    }

    /// The winning asset id of a `market_resolved` for these tokens ("" if none named).
    #[getter]
    fn resolved(&self) -> Option<&str> {
        self.summary.resolved.as_deref()
    }

    /// Whether the books must be rebuilt from snapshots (mismatch or tick_size_change).
    #[getter]
    fn needs_resync(&self) -> bool {
        self.summary.needs_resync()
    }

    fn __repr__(&self) -> String {
        let s = &self.summary;
        if let Some(text) = s.text {
            return format!("FrameSummary(text={:?})", text.as_str());
        }
        format!(
            "FrameSummary(events={}, ignored={}, changed={}, trades={}, mismatches={}, tick_changes={}, resolved={:?})",
            s.events,
            s.ignored,
            s.changed.len(),
            s.trades.len(),
            s.mismatches.len(),
            s.tick_changes.len(),
            s.resolved,
        )
    }
}

/// The distinct `market` ids of a frame's events, in order; [] for text frames.
#[pyfunction]
#[pyo3(signature = (frame))]
fn frame_markets(frame: &[u8]) -> PyResult<Vec<std::borrow::Cow<'_, str>>> {
    Ok(wire::frame_markets(frame)?)
}

/// Add the frame classes, function and exception to the `engine._native` module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("FrameError", m.py().get_type::<FrameError>())?;
    m.add_class::<MarketBooks>()?;
    m.add_class::<FrameSummary>()?;
    m.add_function(wrap_pyfunction!(frame_markets, m)?)?;
    Ok(())
}
