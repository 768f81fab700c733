//! Fair value and sizing for binary markets: the up/down probability from spot, the
//! venue's taker fee in exact integers, expected edge after that fee, and Kelly sizing.
//!
//! Prices are integer micro-USDC per share (1.00 = [`UNIT`]) and sizes integer
//! micro-shares, as everywhere in the core. Probabilities and fractions are `f64`: they
//! are model outputs, never money.

use std::f64::consts::FRAC_1_SQRT_2;
use std::fmt;

use crate::book::UNIT;

/// [`UNIT`] as a float, for converting micro units to price units.
const UNIT_F: f64 = 1_000_000.0;

/// Fees are rounded to 5 decimals: multiples of 10 micro-USDC (`engine.fees.FEE_QUANTUM`).
pub const FEE_QUANTUM: u64 = 10;

/// Why a fair-value or sizing function rejected its input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FairValueError {
    /// Spot or start price is zero (prices must be >= 1 in their integer unit).
    NonPositivePrice { name: &'static str },
    /// A share price outside what the function accepts (`[0, UNIT]`, or `(0, UNIT)` for
    /// Kelly, where a price of 0 or 1.00 is no bet).
    PriceOutOfRange { price: u64, exclusive: bool },
    /// A fee rate above 100% (`rate_ppm` > 1_000_000).
    RateOutOfRange { rate_ppm: u64 },
    /// The outcome code is neither 0 (Yes/Up) nor 1 (No/Down).
    InvalidOutcome { outcome: u64 },
    /// A float parameter is NaN, infinite or outside its domain.
    InvalidFloat {
        name: &'static str,
        value: f64,
        allowed: &'static str,
    },
    /// The fee does not fit in a `u64` (only for sizes near `u64::MAX`).
    FeeOverflow,
}

impl fmt::Display for FairValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NonPositivePrice { name } => write!(f, "{name} must be >= 1, got 0"),
            Self::PriceOutOfRange { price, exclusive } => {
                let (open, close) = if exclusive { ("(", ")") } else { ("[", "]") };
                write!(f, "price {price} is outside {open}0, {UNIT}{close}")
            }
            Self::RateOutOfRange { rate_ppm } => {
                write!(f, "fee rate_ppm must be in [0, {UNIT}], got {rate_ppm}")
            }
            Self::InvalidOutcome { outcome } => {
                write!(
                    f,
                    "invalid outcome {outcome}: must be 0 (Yes/Up) or 1 (No/Down)"
                )
            }
            Self::InvalidFloat {
                name,
                value,
                allowed,
            } => write!(f, "{name} must be {allowed}, got {value}"),
            Self::FeeOverflow => write!(f, "the fee does not fit in 64 bits"),
        }
    }
}

impl std::error::Error for FairValueError {}

/// The outcome a share pays on, by its index in the market's `outcomes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Index 0: "Yes", or "Up" in crypto up/down markets.
    Yes,
    /// Index 1: "No", or "Down".
    No,
}

impl Outcome {
    /// The outcome for its index (0 = Yes/Up, 1 = No/Down).
    ///
    /// # Errors
    /// [`FairValueError::InvalidOutcome`] for any other code.
    pub fn from_code(code: u64) -> Result<Self, FairValueError> {
        match code {
            0 => Ok(Self::Yes),
            1 => Ok(Self::No),
            outcome => Err(FairValueError::InvalidOutcome { outcome }),
        }
    }

    /// The probability that a share of this outcome pays, given P(Yes).
    pub fn win_probability(self, yes_probability: f64) -> f64 {
        match self {
            Self::Yes => yes_probability,
            Self::No => 1.0 - yes_probability,
        }
    }
}

/// The standard normal CDF, `0.5 * erfc(-x / sqrt 2)`.
///
/// Written with `erfc` rather than `1 + erf` so the lower tail keeps its relative
/// precision (Phi(-8) ~ 6e-16 is not rounded to 0). Infinite `x` gives 0 or 1.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// The probability that an up/down market resolves Up: P(spot at the end >= start).
///
/// Log spot is modelled as a driftless Brownian motion with `sigma_per_sqrt_s` per
/// sqrt(second), so P(Up) = Phi(ln(spot / start) / (sigma * sqrt(seconds_left))). The
/// Ito term -sigma^2 tau / 2 is left out on purpose: over a window of minutes it is
/// ~1e-6 in log price, far below the noise of any sigma estimate. `spot` and `start`
/// are in the same integer unit (cents, micro-USD); they convert to `f64` exactly below
/// 2^53.
///
/// The limits are exact: with no time left (`seconds_left <= 0`, after the end too) or
/// no volatility the outcome is decided by the venue's rule, Up iff spot >= start (spec
/// section 6), so the answer is exactly 1.0 or 0.0. For any time left, spot == start
/// gives 0.5.
///
/// # Errors
/// [`FairValueError::NonPositivePrice`] if `spot` or `start` is 0;
/// [`FairValueError::InvalidFloat`] if `sigma_per_sqrt_s` is negative or not finite, or
/// `seconds_left` is not finite.
pub fn fair_up_probability(
    spot: u64,
    start: u64,
    sigma_per_sqrt_s: f64,
    seconds_left: f64,
) -> Result<f64, FairValueError> {
    if spot == 0 {
        return Err(FairValueError::NonPositivePrice { name: "spot" });
    }
    if start == 0 {
        return Err(FairValueError::NonPositivePrice { name: "start" });
    }
    check_float(
        "sigma_per_sqrt_s",
        sigma_per_sqrt_s,
        sigma_per_sqrt_s >= 0.0,
        "finite and >= 0",
    )?;
    check_float("seconds_left", seconds_left, true, "finite")?;
    let certain = if spot >= start { 1.0 } else { 0.0 };
    if seconds_left <= 0.0 {
        return Ok(certain);
    }
    let scale = sigma_per_sqrt_s * seconds_left.sqrt();
    // Zero volatility, or a product that underflowed to zero: the path cannot move.
    if scale <= 0.0 {
        return Ok(certain);
    }
    let log_moneyness = (spot as f64 / start as f64).ln();
    Ok(normal_cdf(log_moneyness / scale))
}

/// The venue's taker fee in micro-USDC for `size` micro-shares at `price`.
///
/// fee = size * rate * (p (1 - p))^exponent, rounded half-up to 5 decimals (spec
/// section 7; `engine.fees.FeeSchedule.taker_fee`, which this equals exactly). Computed
/// in exact integer arithmetic: with p in micro, the fee in quanta of 10 micro is
/// `size * rate_ppm * (p (UNIT - p))^e / (10 * UNIT^(1 + 2e))`, whose numerator can
/// exceed 128 bits, so it is held in a small fixed-width integer ([`Wide`]).
///
/// # Errors
/// [`FairValueError::PriceOutOfRange`] if `price` > `UNIT`;
/// [`FairValueError::RateOutOfRange`] if `rate_ppm` > `UNIT`;
/// [`FairValueError::FeeOverflow`] if the rounded fee exceeds `u64::MAX` (sizes near
/// `u64::MAX` only).
pub fn taker_fee(
    price: u64,
    size: u64,
    rate_ppm: u64,
    exponent: u32,
) -> Result<u64, FairValueError> {
    check_price(price)?;
    check_rate(rate_ppm)?;
    // fee <= size * (rate / UNIT) * 4^-exponent <= 2^64 * 4^-32 = 1 micro for exponent
    // >= 32, under half a quantum, so it rounds to 0.
    if size == 0 || rate_ppm == 0 || exponent >= MAX_FEE_EXPONENT {
        return Ok(0);
    }
    let product = price * (UNIT - price); // <= 2.5e11, far below 2^64
    let mut value = Wide::from_u64(size);
    value.mul_small(rate_ppm);
    for _ in 0..exponent {
        value.mul_small(product);
    }
    // Half-up: floor((N + D/2) / D) with D = 10 * UNIT^(1 + 2e); D/2 = 5 * UNIT^(1 + 2e).
    let divisions = 1 + 2 * exponent;
    let mut half = Wide::from_u64(FEE_QUANTUM / 2);
    for _ in 0..divisions {
        half.mul_small(UNIT);
    }
    value.add(&half);
    // floor(floor(N / a) / b) == floor(N / (a b)), so dividing factor by factor is exact.
    value.div_small(FEE_QUANTUM);
    for _ in 0..divisions {
        value.div_small(UNIT);
    }
    value
        .to_u64()
        .and_then(|quanta| quanta.checked_mul(FEE_QUANTUM))
        .ok_or(FairValueError::FeeOverflow)
}

/// Exponents at or above this make every fee round to 0 (see [`taker_fee`]).
const MAX_FEE_EXPONENT: u32 = 32;

/// Expected profit in micro-USDC of buying `size` micro-shares of `outcome` at `price`
/// as a taker, when the market resolves Yes with probability `yes_probability`:
/// `win * size - price * size / UNIT - taker_fee(price, size)`.
///
/// Negative when there is no edge. A maker pays no fee: pass `rate_ppm = 0`. Buying No
/// at q is the mirror of selling Yes at 1 - q, so one function covers both sides.
///
/// # Errors
/// [`FairValueError::InvalidFloat`] if `yes_probability` is not in [0, 1]; otherwise as
/// [`taker_fee`].
pub fn edge_after_fees(
    yes_probability: f64,
    price: u64,
    size: u64,
    rate_ppm: u64,
    exponent: u32,
    outcome: Outcome,
) -> Result<f64, FairValueError> {
    check_probability(yes_probability)?;
    let fee = taker_fee(price, size, rate_ppm, exponent)?;
    let win = outcome.win_probability(yes_probability);
    let payout = win * size as f64;
    let cost = (u128::from(price) * u128::from(size)) as f64 / UNIT_F;
    Ok(payout - cost - fee as f64)
}

/// The Kelly fraction of bankroll to spend buying `outcome` at `price` (micro), scaled
/// by `multiplier` (e.g. 0.5 for half Kelly) and capped at `cap`; 0.0 without edge.
///
/// A share bought at all-in cost c (price plus the unrounded taker fee per share, in
/// price units) pays 1 with probability q, else 0. Maximising
/// q ln(1 - f + f / c) + (1 - q) ln(1 - f) gives f* = (q - c) / (1 - c) (Kelly 1956;
/// for a YES buy at p without fees, f* = (q - p) / (1 - p)); the No case is the same
/// with q -> 1 - q and No's own price. Fees are per share here because sizing precedes
/// the order; use [`edge_after_fees`] for the exact, rounded figure of a given order.
///
/// # Errors
/// [`FairValueError::InvalidFloat`] if `yes_probability` is not in [0, 1],
/// `multiplier` is negative or not finite, or `cap` is not in [0, 1];
/// [`FairValueError::PriceOutOfRange`] unless 0 < `price` < `UNIT`;
/// [`FairValueError::RateOutOfRange`] if `rate_ppm` > `UNIT`.
pub fn kelly_fraction(
    yes_probability: f64,
    price: u64,
    rate_ppm: u64,
    exponent: u32,
    outcome: Outcome,
    multiplier: f64,
    cap: f64,
) -> Result<f64, FairValueError> {
    check_probability(yes_probability)?;
    if price == 0 || price >= UNIT {
        return Err(FairValueError::PriceOutOfRange {
            price,
            exclusive: true,
        });
    }
    check_rate(rate_ppm)?;
    check_float(
        "multiplier",
        multiplier,
        multiplier >= 0.0,
        "finite and >= 0",
    )?;
    check_float("cap", cap, (0.0..=1.0).contains(&cap), "in [0, 1]")?;
    let win = outcome.win_probability(yes_probability);
    let cost = cost_per_share(price, rate_ppm, exponent);
    if cost >= 1.0 || win <= cost {
        return Ok(0.0);
    }
    let full = (win - cost) / (1.0 - cost);
    Ok((full * multiplier).min(cap))
}

/// Price plus the unrounded taker fee of one share, in price units (1.00 = 1.0).
fn cost_per_share(price: u64, rate_ppm: u64, exponent: u32) -> f64 {
    let p = price as f64 / UNIT_F;
    let rate = rate_ppm as f64 / UNIT_F;
    p + rate * (p * (1.0 - p)).powf(f64::from(exponent))
}

fn check_float(
    name: &'static str,
    value: f64,
    in_domain: bool,
    allowed: &'static str,
) -> Result<(), FairValueError> {
    if value.is_finite() && in_domain {
        Ok(())
    } else {
        Err(FairValueError::InvalidFloat {
            name,
            value,
            allowed,
        })
    }
}

fn check_probability(probability: f64) -> Result<(), FairValueError> {
    check_float(
        "probability",
        probability,
        (0.0..=1.0).contains(&probability),
        "in [0, 1]",
    )
}

fn check_price(price: u64) -> Result<(), FairValueError> {
    if price > UNIT {
        return Err(FairValueError::PriceOutOfRange {
            price,
            exclusive: false,
        });
    }
    Ok(())
}

fn check_rate(rate_ppm: u64) -> Result<(), FairValueError> {
    if rate_ppm > UNIT {
        return Err(FairValueError::RateOutOfRange { rate_ppm });
    }
    Ok(())
}

/// Limbs of [`Wide`]: the largest fee numerator is below 2^1264 (size < 2^64, rate <
/// 2^20, 31 factors below 2^38, plus the rounding half < 2^1263), so 24 limbs suffice.
const LIMBS: usize = 24;

/// A fixed-width unsigned integer (little-endian 64-bit limbs) with just the operations
/// the exact fee needs: multiply by, and divide by, a `u64`, and add. Callers keep values
/// below 2^(64 * LIMBS); see [`LIMBS`].
#[derive(Clone, Copy)]
struct Wide([u64; LIMBS]);

impl Wide {
    fn from_u64(value: u64) -> Self {
        let mut limbs = [0; LIMBS];
        limbs[0] = value;
        Self(limbs)
    }

    fn mul_small(&mut self, factor: u64) {
        let mut carry: u128 = 0;
        for limb in &mut self.0 {
            let wide = u128::from(*limb) * u128::from(factor) + carry;
            *limb = wide as u64; // low 64 bits
            carry = wide >> 64;
        }
        debug_assert_eq!(carry, 0, "Wide overflow");
    }

    fn add(&mut self, other: &Self) {
        let mut carry = false;
        for (limb, &addend) in self.0.iter_mut().zip(&other.0) {
            let (sum, first) = limb.overflowing_add(addend);
            let (sum, second) = sum.overflowing_add(u64::from(carry));
            *limb = sum;
            carry = first || second;
        }
        debug_assert!(!carry, "Wide overflow");
    }

    /// Floor division by a non-zero `divisor`.
    fn div_small(&mut self, divisor: u64) {
        let divisor = u128::from(divisor);
        let mut remainder: u128 = 0;
        for limb in self.0.iter_mut().rev() {
            let current = (remainder << 64) | u128::from(*limb);
            *limb = (current / divisor) as u64; // < 2^64 because remainder < divisor
            remainder = current % divisor;
        }
    }

    fn to_u64(self) -> Option<u64> {
        let (low, high) = self.0.split_first()?;
        high.iter().all(|&limb| limb == 0).then_some(*low)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-300)
    }

    #[test]
    fn normal_cdf_known_values_and_tails() {
        assert_eq!(normal_cdf(0.0), 0.5);
        assert!(close(normal_cdf(1.0), 0.841_344_746_068_542_9));
        assert!(close(normal_cdf(-1.959_963_984_540_054), 0.025));
        assert!(close(normal_cdf(-8.0), 6.220_960_574_271_785e-16));
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn fair_value_limits_are_exact() {
        for (spot, start, up) in [(101, 100, 1.0), (100, 100, 1.0), (99, 100, 0.0)] {
            assert_eq!(fair_up_probability(spot, start, 1e-4, 0.0), Ok(up));
            assert_eq!(fair_up_probability(spot, start, 1e-4, -5.0), Ok(up));
            assert_eq!(fair_up_probability(spot, start, 0.0, 900.0), Ok(up));
        }
        // Any time left and spot == start: a fair coin.
        assert_eq!(fair_up_probability(100, 100, 1e-4, 1e-9), Ok(0.5));
    }

    #[test]
    fn fair_value_is_phi_of_log_moneyness() {
        let p = fair_up_probability(10_100, 10_000, 1e-3, 100.0).expect("valid");
        let z = (1.01_f64).ln() / (1e-3 * 10.0);
        assert!(close(p, normal_cdf(z)));
        let down = fair_up_probability(10_000, 10_100, 1e-3, 100.0).expect("valid");
        assert!(close(p + down, 1.0));
    }

    #[test]
    fn fair_value_rejects_bad_inputs() {
        assert_eq!(
            fair_up_probability(0, 1, 0.1, 1.0),
            Err(FairValueError::NonPositivePrice { name: "spot" })
        );
        assert_eq!(
            fair_up_probability(1, 0, 0.1, 1.0),
            Err(FairValueError::NonPositivePrice { name: "start" })
        );
        assert!(fair_up_probability(1, 1, -0.1, 1.0).is_err());
        assert!(fair_up_probability(1, 1, f64::NAN, 1.0).is_err());
        assert!(fair_up_probability(1, 1, 0.1, f64::INFINITY).is_err());
    }

    #[test]
    fn taker_fee_matches_the_venue_examples() {
        // Spec section 7: rate 0.25, exponent 2, per 100 shares.
        let hundred = 100 * UNIT;
        assert_eq!(taker_fee(500_000, hundred, 250_000, 2), Ok(1_562_500));
        assert_eq!(taker_fee(100_000, hundred, 250_000, 2), Ok(202_500));
        assert_eq!(taker_fee(990_000, hundred, 250_000, 2), Ok(2_450));
        // Crypto 2026: rate 0.07, exponent 1: $1.75 per 100 shares at 0.50.
        assert_eq!(taker_fee(500_000, hundred, 70_000, 1), Ok(1_750_000));
    }

    #[test]
    fn taker_fee_rounds_half_up_to_five_decimals() {
        // 1 share at 0.5, rate 0.07: 0.0175 exactly -> 17_500 micro.
        assert_eq!(taker_fee(500_000, UNIT, 70_000, 1), Ok(17_500));
        // 0.001 share at 0.5, rate 0.02: 0.000005 exactly, half a quantum, rounds up.
        assert_eq!(taker_fee(500_000, 1_000, 20_000, 1), Ok(10));
        // Just under half a quantum rounds down to 0.
        assert_eq!(taker_fee(500_000, 999, 20_000, 1), Ok(0));
        assert_eq!(taker_fee(500_000, 0, 70_000, 1), Ok(0));
        assert_eq!(taker_fee(0, UNIT, 70_000, 1), Ok(0));
        assert_eq!(taker_fee(UNIT, UNIT, 70_000, 1), Ok(0));
        // Exponent 0: size * rate, whatever the price.
        assert_eq!(taker_fee(0, UNIT, 70_000, 0), Ok(70_000));
        assert_eq!(taker_fee(500_000, u64::MAX, UNIT, 40), Ok(0));
    }

    #[test]
    fn taker_fee_handles_the_largest_inputs() {
        // At p = 0.5 on the largest size, (2^64 - 1) / 4^29 is just under 64 micro: 60;
        // with exponent 31 it is just under 4 micro, which rounds to 0.
        assert_eq!(taker_fee(500_000, u64::MAX, UNIT, 29), Ok(60));
        assert_eq!(taker_fee(500_000, u64::MAX, UNIT, 31), Ok(0));
        assert_eq!(
            taker_fee(500_000, u64::MAX, UNIT, 0),
            Err(FairValueError::FeeOverflow)
        );
        assert_eq!(
            taker_fee(UNIT + 1, 1, 0, 1),
            Err(FairValueError::PriceOutOfRange {
                price: UNIT + 1,
                exclusive: false
            })
        );
        assert_eq!(
            taker_fee(1, 1, UNIT + 1, 1),
            Err(FairValueError::RateOutOfRange { rate_ppm: UNIT + 1 })
        );
    }

    #[test]
    fn edge_subtracts_cost_and_fee() {
        let edge =
            edge_after_fees(0.6, 500_000, 100 * UNIT, 70_000, 1, Outcome::Yes).expect("valid");
        // 60 - 50 - 1.75 dollars.
        assert!(close(edge, 8_250_000.0));
        let no = edge_after_fees(0.6, 500_000, 100 * UNIT, 70_000, 1, Outcome::No).expect("valid");
        assert!(close(no, -11_750_000.0));
        assert!(edge_after_fees(1.5, 1, 1, 0, 1, Outcome::Yes).is_err());
    }

    #[test]
    fn kelly_is_zero_without_edge_and_capped() {
        let k = |q, price, outcome| kelly_fraction(q, price, 0, 1, outcome, 1.0, 1.0);
        assert_eq!(k(0.5, 500_000, Outcome::Yes), Ok(0.0));
        assert_eq!(k(0.4, 500_000, Outcome::Yes), Ok(0.0));
        assert!(close(k(0.6, 500_000, Outcome::Yes).expect("valid"), 0.2));
        // The No case: P(No) = 0.7 at 0.40 -> (0.7 - 0.4) / 0.6 = 0.5.
        assert!(close(k(0.3, 400_000, Outcome::No).expect("valid"), 0.5));
        assert_eq!(
            kelly_fraction(0.9, 100_000, 0, 1, Outcome::Yes, 0.5, 0.25),
            Ok(0.25)
        );
        assert!(close(
            kelly_fraction(0.6, 500_000, 0, 1, Outcome::Yes, 0.5, 1.0).expect("valid"),
            0.1
        ));
        // A fee that eats the edge leaves nothing to bet.
        assert_eq!(
            kelly_fraction(0.51, 500_000, 70_000, 1, Outcome::Yes, 1.0, 1.0),
            Ok(0.0)
        );
    }

    #[test]
    fn kelly_rejects_bad_inputs() {
        for price in [0, UNIT, UNIT + 1] {
            assert_eq!(
                kelly_fraction(0.5, price, 0, 1, Outcome::Yes, 1.0, 1.0),
                Err(FairValueError::PriceOutOfRange {
                    price,
                    exclusive: true
                })
            );
        }
        assert!(kelly_fraction(f64::NAN, 1, 0, 1, Outcome::Yes, 1.0, 1.0).is_err());
        assert!(kelly_fraction(0.5, 1, 0, 1, Outcome::Yes, -1.0, 1.0).is_err());
        assert!(kelly_fraction(0.5, 1, 0, 1, Outcome::Yes, 1.0, 1.5).is_err());
        assert_eq!(
            Outcome::from_code(2),
            Err(FairValueError::InvalidOutcome { outcome: 2 })
        );
    }

    #[test]
    fn wide_multiplies_adds_and_divides_exactly() {
        let mut value = Wide::from_u64(u64::MAX);
        for _ in 0..10 {
            value.mul_small(u64::MAX);
        }
        let mut other = Wide::from_u64(12_345);
        other.mul_small(1);
        value.add(&other);
        for _ in 0..10 {
            value.div_small(u64::MAX);
        }
        assert_eq!(value.to_u64(), Some(u64::MAX));
    }
}
