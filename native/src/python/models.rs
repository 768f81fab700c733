//! Bindings for the trading models: VPIN, Avellaneda-Stoikov quotes, fair value, fees
//! and Kelly sizing.
//!
//! Integer inputs convert to `u64`/`i64` (out-of-range ints raise `OverflowError`,
//! non-ints `TypeError`); core errors map to `VpinError`, `QuoteError` and
//! `FairValueError`, all `ValueError` subclasses. Nothing here can panic: every
//! failure is a returned error.
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::fair::{self, FairValueError as CoreFairValueError, Outcome};
use crate::quote::{
    MarketState, QuoteError as CoreQuoteError, QuoteParams as CoreQuoteParams, Quoter,
};
use crate::vpin::{Aggressor, Classification, Vpin as CoreVpin, VpinError as CoreVpinError};

create_exception!(
    engine._native,
    VpinError,
    PyValueError,
    "VPIN rejected a parameter or a trade (the state is then unchanged)."
);

create_exception!(
    engine._native,
    QuoteError,
    PyValueError,
    "Quoting rejected a parameter or a market state."
);

create_exception!(
    engine._native,
    FairValueError,
    PyValueError,
    "A fair-value, fee or sizing function rejected its input."
);

impl From<CoreVpinError> for PyErr {
    fn from(err: CoreVpinError) -> Self {
        VpinError::new_err(err.to_string())
    }
}

impl From<CoreQuoteError> for PyErr {
    fn from(err: CoreQuoteError) -> Self {
        QuoteError::new_err(err.to_string())
    }
}

impl From<CoreFairValueError> for PyErr {
    fn from(err: CoreFairValueError) -> Self {
        FairValueError::new_err(err.to_string())
    }
}

fn aggressor(side: Option<u64>) -> Result<Option<Aggressor>, CoreVpinError> {
    side.map(Aggressor::from_code).transpose()
}

/// Streaming VPIN over volume buckets, fed by real trades only.
#[pyclass(module = "engine._native", name = "Vpin")]
struct Vpin {
    inner: CoreVpin,
}

#[pymethods]
impl Vpin {
    /// Buckets of `bucket_volume` micro-shares, VPIN over `window` buckets, sigma over
    /// `sigma_window` price changes; `classification` is "bulk", "tick" or "side".
    #[new]
    #[pyo3(signature = (bucket_volume, window, sigma_window=50, classification="bulk"))]
    fn new(
        bucket_volume: u64,
        window: usize,
        sigma_window: usize,
        classification: &str,
    ) -> PyResult<Self> {
        let classification = Classification::from_name(classification)?;
        Ok(Self {
            inner: CoreVpin::new(bucket_volume, window, sigma_window, classification)?,
        })
    }

    /// Bucket size in micro-shares.
    #[getter]
    fn bucket_volume(&self) -> u64 {
        self.inner.bucket_volume()
    }

    /// Number of buckets VPIN averages over.
    #[getter]
    fn window(&self) -> usize {
        self.inner.window()
    }

    /// Number of price changes sigma is estimated over.
    #[getter]
    fn sigma_window(&self) -> usize {
        self.inner.sigma_window()
    }

    /// "bulk", "tick" or "side".
    #[getter]
    fn classification(&self) -> &'static str {
        self.inner.classification().name()
    }

    /// VPIN in [0, 1], or None until `window` buckets have filled.
    #[getter]
    fn value(&self) -> Option<f64> {
        self.inner.value()
    }

    /// Sample standard deviation of the recent price changes (micro), or None.
    #[getter]
    fn sigma(&self) -> Option<f64> {
        self.inner.sigma()
    }

    /// Full buckets so far.
    #[getter]
    fn buckets(&self) -> u64 {
        self.inner.buckets()
    }

    /// Volume in the bucket being filled, in micro-shares.
    #[getter]
    fn filled(&self) -> u64 {
        self.inner.filled()
    }

    /// Add one trade (side: 0 taker bought, 1 taker sold) and return VPIN.
    #[pyo3(signature = (price, size, side=None))]
    fn on_trade(&mut self, price: u64, size: u64, side: Option<u64>) -> PyResult<Option<f64>> {
        Ok(self.inner.on_trade(price, size, aggressor(side)?)?)
    }

    /// Add (price, size, side) trades in order, all or nothing; return VPIN after the last.
    #[pyo3(signature = (trades))]
    fn on_trades(&mut self, trades: Vec<(u64, u64, Option<u64>)>) -> PyResult<Option<f64>> {
        let trades = trades
            .into_iter()
            .map(|(price, size, side)| Ok((price, size, aggressor(side)?)))
            .collect::<Result<Vec<_>, CoreVpinError>>()?;
        Ok(self.inner.on_trades(&trades)?)
    }

    fn __repr__(&self) -> String {
        let value = self
            .inner
            .value()
            .map_or_else(|| "None".to_owned(), |v| v.to_string());
        format!(
            "Vpin(bucket_volume={}, window={}, sigma_window={}, classification={:?}, buckets={}, value={})",
            self.inner.bucket_volume(),
            self.inner.window(),
            self.inner.sigma_window(),
            self.inner.classification().name(),
            self.inner.buckets(),
            value,
        )
    }
}

/// Validated Avellaneda-Stoikov quoting parameters.
#[pyclass(module = "engine._native", name = "QuoteParams", frozen)]
struct QuoteParams {
    quoter: Quoter,
}

#[pymethods]
impl QuoteParams {
    /// Check and keep the parameters (see the stub for each one's meaning).
    #[new]
    #[pyo3(signature = (
        tick,
        size,
        gamma,
        k,
        *,
        vpin_widening=0.0,
        flow_skew=0.0,
        volatility_multiplier=1.0,
        regime_multiplier=1.0,
        competitor_multiplier=1.0,
    ))]
    #[allow(clippy::too_many_arguments)] // mirrors the keyword arguments of the Python API
    fn new(
        tick: u64,
        size: u64,
        gamma: f64,
        k: f64,
        vpin_widening: f64,
        flow_skew: f64,
        volatility_multiplier: f64,
        regime_multiplier: f64,
        competitor_multiplier: f64,
    ) -> PyResult<Self> {
        let quoter = Quoter::new(CoreQuoteParams {
            tick,
            size,
            gamma,
            k,
            vpin_widening,
            flow_skew,
            volatility_multiplier,
            regime_multiplier,
            competitor_multiplier,
        })?;
        Ok(Self { quoter })
    }

    /// Tick of the market, in micro.
    #[getter]
    fn tick(&self) -> u64 {
        self.quoter.params().tick
    }

    /// Requested order size in micro-shares.
    #[getter]
    fn size(&self) -> u64 {
        self.quoter.params().size
    }

    /// Size every quote carries: `size` cut to the 0.01 step, at least 5 shares.
    #[getter]
    fn quote_size(&self) -> u64 {
        self.quoter.size()
    }

    /// Risk aversion.
    #[getter]
    fn gamma(&self) -> f64 {
        self.quoter.params().gamma
    }

    /// Fill-intensity decay.
    #[getter]
    fn k(&self) -> f64 {
        self.quoter.params().k
    }

    /// a in the spread factor (1 + a * vpin).
    #[getter]
    fn vpin_widening(&self) -> f64 {
        self.quoter.params().vpin_widening
    }

    /// c in the reservation shift c * flow (price units).
    #[getter]
    fn flow_skew(&self) -> f64 {
        self.quoter.params().flow_skew
    }

    /// Scales sigma.
    #[getter]
    fn volatility_multiplier(&self) -> f64 {
        self.quoter.params().volatility_multiplier
    }

    /// Spread multiplier for the regime.
    #[getter]
    fn regime_multiplier(&self) -> f64 {
        self.quoter.params().regime_multiplier
    }

    /// Spread multiplier for competition.
    #[getter]
    fn competitor_multiplier(&self) -> f64 {
        self.quoter.params().competitor_multiplier
    }

    fn __repr__(&self) -> String {
        let p = self.quoter.params();
        format!(
            "QuoteParams(tick={}, size={}, gamma={:?}, k={:?}, vpin_widening={:?}, flow_skew={:?}, \
             volatility_multiplier={:?}, regime_multiplier={:?}, competitor_multiplier={:?})",
            p.tick,
            p.size,
            p.gamma,
            p.k,
            p.vpin_widening,
            p.flow_skew,
            p.volatility_multiplier,
            p.regime_multiplier,
            p.competitor_multiplier,
        )
    }
}

/// A two-sided quote in micro on the tick grid; a side is None when it cannot be placed.
#[pyclass(module = "engine._native", name = "Quote", frozen, eq)]
#[derive(PartialEq)]
struct Quote {
    #[pyo3(get)]
    bid: Option<u64>,
    #[pyo3(get)]
    ask: Option<u64>,
    #[pyo3(get)]
    size: u64,
    #[pyo3(get)]
    reservation: f64,
    #[pyo3(get)]
    spread: f64,
}

#[pymethods]
impl Quote {
    fn __repr__(&self) -> String {
        let show = |p: Option<u64>| p.map_or_else(|| "None".to_owned(), |p| p.to_string());
        format!(
            "Quote(bid={}, ask={}, size={}, reservation={:?}, spread={:?})",
            show(self.bid),
            show(self.ask),
            self.size,
            self.reservation,
            self.spread,
        )
    }
}

/// Avellaneda-Stoikov quote for one market state (prices in micro).
#[pyfunction]
#[pyo3(signature = (params, mid, best_bid, best_ask, inventory, seconds_left, sigma, vpin=None, flow=0.0))]
#[allow(clippy::too_many_arguments)] // mirrors the keyword arguments of the Python API
fn quote(
    params: &Bound<'_, QuoteParams>,
    mid: u64,
    best_bid: Option<u64>,
    best_ask: Option<u64>,
    inventory: i64,
    seconds_left: f64,
    sigma: f64,
    vpin: Option<f64>,
    flow: f64,
) -> PyResult<Quote> {
    let state = MarketState {
        mid,
        best_bid,
        best_ask,
        inventory,
        seconds_left,
        sigma,
        vpin,
        flow,
    };
    let q = params.get().quoter.quote(&state)?;
    Ok(Quote {
        bid: q.bid,
        ask: q.ask,
        size: q.size,
        reservation: q.reservation,
        spread: q.spread,
    })
}

/// P(Up) for an up/down market: Phi(ln(spot/start) / (sigma sqrt(seconds_left))).
#[pyfunction]
#[pyo3(signature = (spot, start, sigma_per_sqrt_s, seconds_left))]
fn fair_up_probability(
    spot: u64,
    start: u64,
    sigma_per_sqrt_s: f64,
    seconds_left: f64,
) -> PyResult<f64> {
    Ok(fair::fair_up_probability(
        spot,
        start,
        sigma_per_sqrt_s,
        seconds_left,
    )?)
}

/// The venue's taker fee in micro-USDC, exactly as engine.fees.FeeSchedule.taker_fee.
#[pyfunction]
#[pyo3(signature = (price, size, rate_ppm, exponent))]
fn taker_fee(price: u64, size: u64, rate_ppm: u64, exponent: u32) -> PyResult<u64> {
    Ok(fair::taker_fee(price, size, rate_ppm, exponent)?)
}

/// Expected profit in micro-USDC of a taker buy of `outcome`, after the fee.
#[pyfunction]
#[pyo3(signature = (probability, price, size, rate_ppm, exponent, *, outcome=0))]
fn edge_after_fees(
    probability: f64,
    price: u64,
    size: u64,
    rate_ppm: u64,
    exponent: u32,
    outcome: u64,
) -> PyResult<f64> {
    let outcome = Outcome::from_code(outcome)?;
    Ok(fair::edge_after_fees(
        probability,
        price,
        size,
        rate_ppm,
        exponent,
        outcome,
    )?)
}

/// Fractional, capped Kelly fraction of bankroll for buying `outcome` at `price`.
#[pyfunction]
#[pyo3(signature = (probability, price, rate_ppm, exponent, *, outcome=0, multiplier=1.0, cap=1.0))]
fn kelly_fraction(
    probability: f64,
    price: u64,
    rate_ppm: u64,
    exponent: u32,
    outcome: u64,
    multiplier: f64,
    cap: f64,
) -> PyResult<f64> {
    let outcome = Outcome::from_code(outcome)?;
    Ok(fair::kelly_fraction(
        probability,
        price,
        rate_ppm,
        exponent,
        outcome,
        multiplier,
        cap,
    )?)
}

/// Add the models' classes, functions and exceptions to the `engine._native` module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("VpinError", py.get_type::<VpinError>())?;
    m.add("QuoteError", py.get_type::<QuoteError>())?;
    m.add("FairValueError", py.get_type::<FairValueError>())?;
    m.add_class::<Vpin>()?;
    m.add_class::<QuoteParams>()?;
    m.add_class::<Quote>()?;
    m.add_function(wrap_pyfunction!(quote, m)?)?;
    m.add_function(wrap_pyfunction!(fair_up_probability, m)?)?;
    m.add_function(wrap_pyfunction!(taker_fee, m)?)?;
    m.add_function(wrap_pyfunction!(edge_after_fees, m)?)?;
    m.add_function(wrap_pyfunction!(kelly_fraction, m)?)?;
    Ok(())
}
