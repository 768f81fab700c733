//! Two-sided maker quotes after Avellaneda and Stoikov, "High-frequency trading in a
//! limit order book" (Quantitative Finance 8(3), 2008), on the venue's tick grid.
//!
//! With center price s, inventory q, volatility sigma and time to resolution tau (the
//! market ends at a known time, which is what makes the finite-horizon model fit):
//!
//! - reservation price r = s - q gamma sigma^2 tau, plus a flow skew c * flow;
//! - total spread delta = gamma sigma^2 tau + (2 / gamma) ln(1 + gamma / k), times the
//!   regime and competitor multipliers and the toxicity factor (1 + a * vpin).
//!
//! The bid r - delta/2 is rounded down and the ask r + delta/2 up to the tick, both
//! clamped into [tick, 1 - tick], and then kept off the current book (bid < best ask,
//! ask > best bid) so a quote never takes; a side that cannot be placed is None.
//!
//! Units: prices in micro (1.00 = 1_000_000) at the edges, price units (1.00 = 1.0)
//! inside; sigma in price units per sqrt(second); inventory in micro-shares (signed,
//! positive = long the outcome quoted); gamma per share and price unit; k per price
//! unit (fill intensity A exp(-k delta)).

use std::fmt;

use crate::book::{UNIT, VALID_TICKS};

/// Resting orders must be at least 5 shares (`engine.units.MIN_ORDER_SIZE`).
pub const MIN_ORDER_SIZE: u64 = 5 * UNIT;

/// Sizes carry at most 2 decimals on the venue (`engine.units.SIZE_STEP`).
pub const SIZE_STEP: u64 = 10_000;

/// [`UNIT`] as a float.
const UNIT_F: f64 = 1_000_000.0;

/// A price within this many ticks of a grid point counts as on it, so float noise
/// (0.49 * 100 = 48.999999999999993) does not move a quote by a whole tick.
pub const GRID_SNAP: f64 = 1e-9;

/// Why quoting rejected a parameter or a market state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuoteError {
    /// The tick is not one of the venue's tick sizes.
    InvalidTick { tick: u64 },
    /// A price input above 1.00 (`UNIT`).
    PriceOutOfRange { name: &'static str, price: u64 },
    /// A float parameter is NaN, infinite or outside its domain.
    InvalidFloat {
        name: &'static str,
        value: f64,
        allowed: &'static str,
    },
    /// The model overflowed (for example gamma so small that 2 / gamma is infinite, or
    /// an inventory times risk beyond `f64`).
    NonFinite { what: &'static str },
}

impl fmt::Display for QuoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::InvalidTick { tick } => write!(
                f,
                "invalid tick {tick}: must be one of 100000, 10000, 5000, 2500, 1000, 100 (micro)"
            ),
            Self::PriceOutOfRange { name, price } => {
                write!(f, "{name} {price} is outside [0, {UNIT}]")
            }
            Self::InvalidFloat {
                name,
                value,
                allowed,
            } => write!(f, "{name} must be {allowed}, got {value}"),
            Self::NonFinite { what } => write!(f, "the {what} is not finite: inputs too large"),
        }
    }
}

impl std::error::Error for QuoteError {}

/// Configuration of the quoting model (validated by [`Quoter::new`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuoteParams {
    /// Tick of the market, in micro.
    pub tick: u64,
    /// Order size in micro-shares; quoted as at least [`MIN_ORDER_SIZE`], on the size step.
    pub size: u64,
    /// Risk aversion gamma (> 0): inventory skew and the risk part of the spread.
    pub gamma: f64,
    /// Fill-intensity decay k (> 0): the liquidity part of the spread, (2/gamma) ln(1 + gamma/k).
    pub k: f64,
    /// a in the toxicity factor (1 + a * vpin) on the spread (>= 0).
    pub vpin_widening: f64,
    /// c in the reservation shift c * flow, in price units (>= 0).
    pub flow_skew: f64,
    /// Scales sigma, so it widens the spread and the inventory skew together (> 0).
    pub volatility_multiplier: f64,
    /// Spread multiplier for the market regime, e.g. > 1 near resolution (> 0).
    pub regime_multiplier: f64,
    /// Spread multiplier for competition, e.g. < 1 when others quote tight (> 0).
    pub competitor_multiplier: f64,
}

/// What the quoter sees of one market at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarketState {
    /// Center price in micro: the book mid or a model fair value, in [0, UNIT].
    pub mid: u64,
    /// Current best bid and best ask in micro, if any.
    pub best_bid: Option<u64>,
    pub best_ask: Option<u64>,
    /// Signed inventory of the quoted outcome in micro-shares.
    pub inventory: i64,
    /// Seconds until the market resolves (>= 0).
    pub seconds_left: f64,
    /// Volatility of the center price in price units per sqrt(second) (>= 0).
    pub sigma: f64,
    /// Current VPIN in [0, 1]; None (not yet known) means no toxicity widening.
    pub vpin: Option<f64>,
    /// Signed order-flow imbalance in [-1, 1]; positive = buying pressure.
    pub flow: f64,
}

/// A two-sided quote on the tick grid; a side is None when it cannot be placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    pub bid: Option<u64>,
    pub ask: Option<u64>,
    /// Order size in micro-shares for each side.
    pub size: u64,
    /// The model's reservation price, in micro (before rounding and clamping).
    pub reservation: f64,
    /// The model's total spread, in micro (before rounding and clamping).
    pub spread: f64,
}

/// Validated [`QuoteParams`] with the parts that do not depend on the market state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quoter {
    params: QuoteParams,
    /// (2 / gamma) ln(1 + gamma / k), the spread with no risk term.
    liquidity_spread: f64,
    size: u64,
}

impl Quoter {
    /// Check the parameters and precompute the state-independent terms.
    ///
    /// # Errors
    /// [`QuoteError::InvalidTick`] for a tick that is not a venue tick;
    /// [`QuoteError::InvalidFloat`] for a float out of its domain (see [`QuoteParams`]);
    /// [`QuoteError::NonFinite`] if the liquidity spread overflows.
    pub fn new(params: QuoteParams) -> Result<Self, QuoteError> {
        if !VALID_TICKS.contains(&params.tick) {
            return Err(QuoteError::InvalidTick { tick: params.tick });
        }
        let positive = "finite and > 0";
        let non_negative = "finite and >= 0";
        check("gamma", params.gamma, params.gamma > 0.0, positive)?;
        check("k", params.k, params.k > 0.0, positive)?;
        check(
            "vpin_widening",
            params.vpin_widening,
            params.vpin_widening >= 0.0,
            non_negative,
        )?;
        check(
            "flow_skew",
            params.flow_skew,
            params.flow_skew >= 0.0,
            non_negative,
        )?;
        for (name, value) in [
            ("volatility_multiplier", params.volatility_multiplier),
            ("regime_multiplier", params.regime_multiplier),
            ("competitor_multiplier", params.competitor_multiplier),
        ] {
            check(name, value, value > 0.0, positive)?;
        }
        let liquidity_spread = 2.0 / params.gamma * (params.gamma / params.k).ln_1p();
        if !liquidity_spread.is_finite() {
            return Err(QuoteError::NonFinite {
                what: "liquidity spread",
            });
        }
        let size = (params.size - params.size % SIZE_STEP).max(MIN_ORDER_SIZE);
        Ok(Self {
            params,
            liquidity_spread,
            size,
        })
    }

    /// The parameters this quoter was built from.
    pub fn params(&self) -> &QuoteParams {
        &self.params
    }

    /// The size every quote carries: `params.size` cut to the size step, at least
    /// [`MIN_ORDER_SIZE`].
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The quote for one market state.
    ///
    /// # Errors
    /// [`QuoteError::PriceOutOfRange`] for a mid or best price above 1.00;
    /// [`QuoteError::InvalidFloat`] for `seconds_left` or `sigma` negative or not
    /// finite, `vpin` outside [0, 1] or `flow` outside [-1, 1];
    /// [`QuoteError::NonFinite`] if the reservation price or spread overflows.
    pub fn quote(&self, state: &MarketState) -> Result<Quote, QuoteError> {
        check_state(state)?;
        let p = &self.params;
        let center = state.mid as f64 / UNIT_F;
        let inventory = state.inventory as f64 / UNIT_F;
        let sigma = state.sigma * p.volatility_multiplier;
        let risk = p.gamma * sigma * sigma * state.seconds_left;
        let reservation = center - inventory * risk + p.flow_skew * state.flow;
        let toxicity = 1.0 + p.vpin_widening * state.vpin.unwrap_or(0.0);
        let spread = (risk + self.liquidity_spread)
            * p.regime_multiplier
            * p.competitor_multiplier
            * toxicity;
        if !reservation.is_finite() {
            return Err(QuoteError::NonFinite {
                what: "reservation price",
            });
        }
        if !spread.is_finite() {
            return Err(QuoteError::NonFinite { what: "spread" });
        }
        let half = spread / 2.0;
        let tick = p.tick;
        let last = UNIT / tick - 1; // grid index of 1 - tick
        let per_unit = (UNIT / tick) as f64;
        let mut bid = grid_index(((reservation - half) * per_unit + GRID_SNAP).floor(), last);
        let mut ask = grid_index(((reservation + half) * per_unit - GRID_SNAP).ceil(), last);
        // Rounding or clamping can land both sides on one price: keep them a tick apart.
        if ask <= bid {
            if bid < last {
                ask = bid + 1;
            } else {
                bid = last - 1;
                ask = last;
            }
        }
        // Stay off the book: the highest grid price below the best ask, the lowest
        // above the best bid (either may be off this grid after a tick change).
        if let Some(best_ask) = state.best_ask {
            bid = bid.min(best_ask.div_ceil(tick).saturating_sub(1));
        }
        if let Some(best_bid) = state.best_bid {
            ask = ask.max(best_bid / tick + 1);
        }
        Ok(Quote {
            bid: (bid >= 1).then_some(bid * tick),
            ask: (ask <= last).then_some(ask * tick),
            size: self.size,
            reservation: reservation * UNIT_F,
            spread: spread * UNIT_F,
        })
    }
}

/// A float grid index clamped into [1, last] (the prices tick ..= 1 - tick).
fn grid_index(index: f64, last: u64) -> u64 {
    // Finite or infinite, never NaN (the inputs were checked finite); the clamp makes
    // the cast exact.
    index.clamp(1.0, last as f64) as u64
}

fn check_state(state: &MarketState) -> Result<(), QuoteError> {
    for (name, price) in [
        ("mid", Some(state.mid)),
        ("best_bid", state.best_bid),
        ("best_ask", state.best_ask),
    ] {
        if let Some(price) = price.filter(|&price| price > UNIT) {
            return Err(QuoteError::PriceOutOfRange { name, price });
        }
    }
    let non_negative = "finite and >= 0";
    check(
        "seconds_left",
        state.seconds_left,
        state.seconds_left >= 0.0,
        non_negative,
    )?;
    check("sigma", state.sigma, state.sigma >= 0.0, non_negative)?;
    if let Some(vpin) = state.vpin {
        check("vpin", vpin, (0.0..=1.0).contains(&vpin), "in [0, 1]")?;
    }
    check(
        "flow",
        state.flow,
        (-1.0..=1.0).contains(&state.flow),
        "in [-1, 1]",
    )
}

fn check(
    name: &'static str,
    value: f64,
    in_domain: bool,
    allowed: &'static str,
) -> Result<(), QuoteError> {
    if value.is_finite() && in_domain {
        Ok(())
    } else {
        Err(QuoteError::InvalidFloat {
            name,
            value,
            allowed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CENT: u64 = 10_000;

    fn params() -> QuoteParams {
        QuoteParams {
            tick: CENT,
            size: 10 * UNIT,
            gamma: 0.1,
            k: 50.0,
            vpin_widening: 0.0,
            flow_skew: 0.0,
            volatility_multiplier: 1.0,
            regime_multiplier: 1.0,
            competitor_multiplier: 1.0,
        }
    }

    fn state() -> MarketState {
        MarketState {
            mid: 500_000,
            best_bid: None,
            best_ask: None,
            inventory: 0,
            seconds_left: 600.0,
            sigma: 0.0,
            vpin: None,
            flow: 0.0,
        }
    }

    fn quoter(params: QuoteParams) -> Quoter {
        Quoter::new(params).expect("valid parameters")
    }

    fn quote(params: QuoteParams, state: MarketState) -> Quote {
        quoter(params).quote(&state).expect("valid state")
    }

    #[test]
    fn flat_inventory_quotes_around_the_mid() {
        // delta = (2 / 0.1) ln(1 + 0.1 / 50) = 0.03996005: 0.48002 -> 0.48, 0.51998 -> 0.52.
        let q = quote(params(), state());
        assert_eq!(
            (q.bid, q.ask, q.size),
            (Some(480_000), Some(520_000), 10 * UNIT)
        );
        assert!((q.reservation - 500_000.0).abs() < 1e-9);
        assert!((q.spread - 39_960.053_253).abs() < 1e-3);
    }

    #[test]
    fn long_inventory_lowers_both_sides() {
        let mut s = state();
        s.sigma = 0.001;
        s.inventory = 50 * UNIT as i64;
        // r = 0.5 - 50 * 0.1 * 1e-6 * 600 = 0.497; risk adds 0.00006 to the spread.
        let q = quote(params(), s);
        assert!((q.reservation - 497_000.0).abs() < 1e-6);
        assert_eq!((q.bid, q.ask), (Some(470_000), Some(520_000)));
    }

    #[test]
    fn toxicity_regime_and_competitors_scale_the_spread() {
        let mut p = params();
        p.vpin_widening = 2.0;
        p.regime_multiplier = 1.5;
        p.competitor_multiplier = 0.5;
        let mut s = state();
        s.vpin = Some(0.5);
        let q = quote(p, s);
        let base = 2.0 / 0.1 * (0.1_f64 / 50.0).ln_1p();
        assert!((q.spread - base * 0.75 * 2.0 * UNIT_F).abs() < 1e-6);
        // Half-spread 0.02997: 0.47003 -> 0.47, 0.52997 -> 0.53.
        assert_eq!((q.bid, q.ask), (Some(470_000), Some(530_000)));
    }

    #[test]
    fn flow_skews_the_reservation() {
        let mut p = params();
        p.flow_skew = 0.01;
        let mut s = state();
        s.flow = 1.0;
        let q = quote(p, s);
        assert!((q.reservation - 510_000.0).abs() < 1e-6);
        assert_eq!((q.bid, q.ask), (Some(490_000), Some(530_000)));
    }

    #[test]
    fn grid_snap_keeps_exact_prices() {
        // k = gamma / (e^(gamma * 0.01) - 1) makes the half-spread exactly one cent in
        // theory; floats land a hair off, and the snap keeps 0.49 / 0.51.
        let mut p = params();
        p.k = p.gamma / ((p.gamma * 0.01).exp() - 1.0);
        let q = quote(p, state());
        assert_eq!((q.bid, q.ask), (Some(490_000), Some(510_000)));
    }

    #[test]
    fn clamps_into_the_grid_and_never_locks() {
        let mut s = state();
        s.mid = UNIT;
        let q = quote(params(), s);
        assert_eq!((q.bid, q.ask), (Some(980_000), Some(990_000)));
        s.mid = 0;
        let q = quote(params(), s);
        assert_eq!((q.bid, q.ask), (Some(CENT), Some(20_000)));
        // A far-out reservation clamps both sides to 0.99: the bid steps down a tick.
        s.mid = UNIT;
        s.inventory = -1_000_000 * UNIT as i64;
        s.sigma = 0.01;
        let q = quote(params(), s);
        assert_eq!((q.bid, q.ask), (Some(980_000), Some(990_000)));
    }

    #[test]
    fn never_crosses_the_book() {
        let mut s = state();
        s.best_bid = Some(500_000);
        s.best_ask = Some(505_000); // off the cent grid
        let q = quote(params(), s);
        assert_eq!((q.bid, q.ask), (Some(480_000), Some(520_000)));
        s.best_ask = Some(470_000);
        s.best_bid = Some(530_000);
        let q = quote(params(), s);
        assert_eq!((q.bid, q.ask), (Some(460_000), Some(540_000)));
        // No room below a best ask of one tick, nor above a best bid of 1 - tick.
        s.best_ask = Some(CENT);
        s.best_bid = Some(UNIT - CENT);
        let q = quote(params(), s);
        assert_eq!((q.bid, q.ask), (None, None));
    }

    #[test]
    fn size_is_on_the_step_and_at_least_the_minimum() {
        let mut p = params();
        p.size = 1;
        assert_eq!(quoter(p).size(), MIN_ORDER_SIZE);
        p.size = 12_345_678;
        assert_eq!(quoter(p).size(), 12_340_000);
    }

    #[test]
    fn rejects_bad_parameters_and_states() {
        let mut p = params();
        p.tick = 3;
        assert_eq!(Quoter::new(p), Err(QuoteError::InvalidTick { tick: 3 }));
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let mut p = params();
            p.gamma = bad;
            assert!(Quoter::new(p).is_err());
        }
        let mut p = params();
        p.gamma = 1e-320;
        assert!(matches!(Quoter::new(p), Err(QuoteError::NonFinite { .. })));
        let q = quoter(params());
        let mut s = state();
        s.best_ask = Some(UNIT + 1);
        assert_eq!(
            q.quote(&s),
            Err(QuoteError::PriceOutOfRange {
                name: "best_ask",
                price: UNIT + 1
            })
        );
        for (vpin, flow, seconds) in [(Some(1.5), 0.0, 1.0), (None, 2.0, 1.0), (None, 0.0, -1.0)] {
            let mut s = state();
            s.vpin = vpin;
            s.flow = flow;
            s.seconds_left = seconds;
            assert!(matches!(q.quote(&s), Err(QuoteError::InvalidFloat { .. })));
        }
        let mut s = state();
        s.sigma = 1e200;
        s.inventory = 1;
        assert!(matches!(q.quote(&s), Err(QuoteError::NonFinite { .. })));
    }
}
