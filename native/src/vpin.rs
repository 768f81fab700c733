//! VPIN, the volume-synchronized probability of informed trading (Easley, López de Prado
//! and O'Hara, "Flow Toxicity and Liquidity in a High-Frequency World", RFS 2012).
//!
//! Trades fill volume buckets of a fixed size, splitting a trade across bucket edges.
//! Each trade's volume is split into buy and sell parts by a [`Classification`]; once a
//! bucket is full its order imbalance |buy - sell| is final, and VPIN is the mean
//! imbalance of the last `window` buckets divided by the bucket volume, in [0, 1].
//!
//! Only real trades feed it. Book updates are not a volume proxy: size added and
//! cancelled at a level is not traded volume, so feeding it would make buckets fill at
//! the pace of quoting rather than of trading and measure the quoters, not informed flow.
//!
//! Inputs are integers (micro price, micro size); the statistics are `f64`.

use std::collections::VecDeque;
use std::fmt;

use crate::fair::normal_cdf;

/// Largest accepted trade price (2^40 micro, about 1.1 million in price units): keeps the
/// exact integer sums of squared price changes inside `i128`.
pub const MAX_PRICE: u64 = 1 << 40;

/// Largest accepted `sigma_window` (same reason as [`MAX_PRICE`]).
pub const MAX_SIGMA_WINDOW: usize = 1 << 16;

/// Largest accepted `window` of buckets (memory: 8 MiB of `f64`).
pub const MAX_WINDOW: usize = 1 << 20;

/// Why VPIN rejected a parameter or a trade. A rejected trade leaves the state unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VpinError {
    /// `bucket_volume` is 0.
    ZeroBucketVolume,
    /// `window` is 0 or above [`MAX_WINDOW`].
    InvalidWindow { window: usize },
    /// `sigma_window` is below 2 (no sample deviation) or above [`MAX_SIGMA_WINDOW`].
    InvalidSigmaWindow { sigma_window: usize },
    /// The classification name is not "bulk", "tick" or "side".
    UnknownClassification { name: String },
    /// A trade of size 0.
    ZeroSize,
    /// A trade price above [`MAX_PRICE`].
    PriceTooLarge { price: u64 },
    /// A side code other than 0 (taker bought) or 1 (taker sold).
    InvalidSide { side: u64 },
    /// The "side" classification needs every trade's side.
    MissingSide,
}

impl fmt::Display for VpinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ZeroBucketVolume => write!(f, "bucket_volume must be >= 1"),
            Self::InvalidWindow { window } => {
                write!(f, "window must be in [1, {MAX_WINDOW}], got {window}")
            }
            Self::InvalidSigmaWindow { sigma_window } => write!(
                f,
                "sigma_window must be in [2, {MAX_SIGMA_WINDOW}], got {sigma_window}"
            ),
            Self::UnknownClassification { name } => write!(
                f,
                "classification must be \"bulk\", \"tick\" or \"side\", got {name:?}"
            ),
            Self::ZeroSize => write!(f, "trade size must be >= 1"),
            Self::PriceTooLarge { price } => {
                write!(f, "trade price {price} is above the maximum {MAX_PRICE}")
            }
            Self::InvalidSide { side } => write!(
                f,
                "invalid side {side}: must be 0 (taker bought) or 1 (taker sold)"
            ),
            Self::MissingSide => write!(f, "the \"side\" classification needs each trade's side"),
        }
    }
}

impl std::error::Error for VpinError {}

/// The taker's side of a trade (venue codes: 0 = BUY, 1 = SELL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggressor {
    /// The taker bought (code 0): buyer-initiated volume.
    Buy,
    /// The taker sold (code 1): seller-initiated volume.
    Sell,
}

impl Aggressor {
    /// The side for a venue code.
    ///
    /// # Errors
    /// [`VpinError::InvalidSide`] for codes other than 0 and 1.
    pub fn from_code(code: u64) -> Result<Self, VpinError> {
        match code {
            0 => Ok(Self::Buy),
            1 => Ok(Self::Sell),
            side => Err(VpinError::InvalidSide { side }),
        }
    }
}

/// How a trade's volume is split into buy and sell parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classification {
    /// Bulk volume classification (Easley et al. 2012): a fraction Phi(dp / sigma) of
    /// the volume is buys, where dp is the change from the previous trade price and
    /// sigma the sample standard deviation of the last `sigma_window` changes (this one
    /// included, zero changes too). With fewer than 2 changes, or sigma = 0, this is the
    /// limit of Phi: 1 for a rise, 0 for a fall, 1/2 for no change.
    Bulk,
    /// Tick rule (Lee and Ready 1991): all buys on an uptick, all sells on a downtick,
    /// and on no change the previous direction (1/2 until the first move).
    Tick,
    /// The venue's reported taker side; every trade must carry one.
    Side,
}

impl Classification {
    /// Parse "bulk", "tick" or "side".
    ///
    /// # Errors
    /// [`VpinError::UnknownClassification`] for any other name.
    pub fn from_name(name: &str) -> Result<Self, VpinError> {
        match name {
            "bulk" => Ok(Self::Bulk),
            "tick" => Ok(Self::Tick),
            "side" => Ok(Self::Side),
            other => Err(VpinError::UnknownClassification {
                name: other.to_owned(),
            }),
        }
    }

    /// The name this classification is parsed from.
    pub fn name(self) -> &'static str {
        match self {
            Self::Bulk => "bulk",
            Self::Tick => "tick",
            Self::Side => "side",
        }
    }
}

/// Streaming VPIN over volume buckets. O(1) amortized per trade.
#[derive(Debug, Clone)]
pub struct Vpin {
    bucket_volume: u64,
    window: usize,
    sigma_window: usize,
    classification: Classification,
    last_price: Option<u64>,
    /// Tick rule: buy fraction of the last non-zero move (1 up, 0 down, 1/2 none yet).
    direction: f64,
    /// The last `sigma_window` price changes and their exact sums.
    changes: VecDeque<i64>,
    change_sum: i128,
    change_square_sum: i128,
    /// The bucket being filled.
    filled: u64,
    buy: f64,
    /// |buy - sell| of the last `window` full buckets, oldest first, and their sum.
    imbalances: VecDeque<f64>,
    imbalance_sum: f64,
    /// Pushes since the sum was last recomputed from scratch (bounds float drift).
    since_resum: usize,
    buckets: u64,
}

impl Vpin {
    /// A VPIN over buckets of `bucket_volume` micro-shares and a rolling `window` of
    /// buckets; `sigma_window` price changes estimate sigma for bulk classification.
    ///
    /// # Errors
    /// [`VpinError::ZeroBucketVolume`], [`VpinError::InvalidWindow`] or
    /// [`VpinError::InvalidSigmaWindow`] for parameters out of range.
    pub fn new(
        bucket_volume: u64,
        window: usize,
        sigma_window: usize,
        classification: Classification,
    ) -> Result<Self, VpinError> {
        if bucket_volume == 0 {
            return Err(VpinError::ZeroBucketVolume);
        }
        if window == 0 || window > MAX_WINDOW {
            return Err(VpinError::InvalidWindow { window });
        }
        if !(2..=MAX_SIGMA_WINDOW).contains(&sigma_window) {
            return Err(VpinError::InvalidSigmaWindow { sigma_window });
        }
        Ok(Self {
            bucket_volume,
            window,
            sigma_window,
            classification,
            last_price: None,
            direction: 0.5,
            changes: VecDeque::with_capacity(sigma_window),
            change_sum: 0,
            change_square_sum: 0,
            filled: 0,
            buy: 0.0,
            imbalances: VecDeque::with_capacity(window),
            imbalance_sum: 0.0,
            since_resum: 0,
            buckets: 0,
        })
    }

    /// Bucket size in micro-shares.
    pub fn bucket_volume(&self) -> u64 {
        self.bucket_volume
    }

    /// Number of buckets VPIN averages over.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Number of price changes sigma is estimated over.
    pub fn sigma_window(&self) -> usize {
        self.sigma_window
    }

    /// How trade volume is split into buys and sells.
    pub fn classification(&self) -> Classification {
        self.classification
    }

    /// Full buckets so far (saturating).
    pub fn buckets(&self) -> u64 {
        self.buckets
    }

    /// Volume in the bucket being filled, in micro-shares (always < `bucket_volume`).
    pub fn filled(&self) -> u64 {
        self.filled
    }

    /// VPIN in [0, 1] over the last `window` full buckets; None until `window` buckets
    /// have filled.
    pub fn value(&self) -> Option<f64> {
        if self.imbalances.len() < self.window {
            return None;
        }
        let total = self.window as f64 * self.bucket_volume as f64;
        // The running sum may drift a few ulps below 0 or above the maximum.
        Some((self.imbalance_sum / total).clamp(0.0, 1.0))
    }

    /// Sample standard deviation of the last `sigma_window` price changes, in micro;
    /// None with fewer than 2 changes. Exact integer sums, one rounding in the ratio.
    pub fn sigma(&self) -> Option<f64> {
        let n = self.changes.len();
        if n < 2 {
            return None;
        }
        let n = n as i128;
        let numerator = n * self.change_square_sum - self.change_sum * self.change_sum;
        let denominator = n * (n - 1);
        Some((to_f64(numerator) / to_f64(denominator)).sqrt())
    }

    /// Add one trade (`side` is the taker's, used only by [`Classification::Side`]) and
    /// return VPIN afterwards (None until the first window is full).
    ///
    /// # Errors
    /// [`VpinError::ZeroSize`], [`VpinError::PriceTooLarge`], or
    /// [`VpinError::MissingSide`] in "side" mode; the state is then unchanged.
    pub fn on_trade(
        &mut self,
        price: u64,
        size: u64,
        side: Option<Aggressor>,
    ) -> Result<Option<f64>, VpinError> {
        self.check(price, size, side)?;
        self.apply(price, size, side);
        Ok(self.value())
    }

    /// Add trades in order, all or nothing, and return VPIN after the last one.
    ///
    /// # Errors
    /// As [`Vpin::on_trade`], for any trade; every trade is checked first, so on error
    /// the state is unchanged.
    pub fn on_trades(
        &mut self,
        trades: &[(u64, u64, Option<Aggressor>)],
    ) -> Result<Option<f64>, VpinError> {
        for &(price, size, side) in trades {
            self.check(price, size, side)?;
        }
        for &(price, size, side) in trades {
            self.apply(price, size, side);
        }
        Ok(self.value())
    }

    fn check(&self, price: u64, size: u64, side: Option<Aggressor>) -> Result<(), VpinError> {
        if size == 0 {
            return Err(VpinError::ZeroSize);
        }
        if price > MAX_PRICE {
            return Err(VpinError::PriceTooLarge { price });
        }
        if self.classification == Classification::Side && side.is_none() {
            return Err(VpinError::MissingSide);
        }
        Ok(())
    }

    fn apply(&mut self, price: u64, size: u64, side: Option<Aggressor>) {
        let fraction = self.buy_fraction(price, side);
        self.add_volume(size, fraction);
    }

    /// Record the price change and return the fraction of this trade that is buys.
    fn buy_fraction(&mut self, price: u64, side: Option<Aggressor>) -> f64 {
        // Prices are <= 2^40 (checked), so they and their difference fit in i64.
        let change = self.last_price.map(|last| price as i64 - last as i64);
        self.last_price = Some(price);
        if let Some(change) = change {
            self.record_change(change);
        }
        match self.classification {
            Classification::Side => match side {
                Some(Aggressor::Buy) => 1.0,
                Some(Aggressor::Sell) => 0.0,
                None => 0.5, // unreachable: `check` requires a side in this mode
            },
            Classification::Tick => {
                match change {
                    Some(dp) if dp > 0 => self.direction = 1.0,
                    Some(dp) if dp < 0 => self.direction = 0.0,
                    _ => {}
                }
                self.direction
            }
            Classification::Bulk => match change {
                // Phi(0) = 1/2 whatever sigma is; most trades on a quiet tape do not
                // move the price, and this skips sigma and erfc for them.
                None | Some(0) => 0.5,
                Some(dp) => match self.sigma() {
                    Some(sigma) if sigma > 0.0 => normal_cdf(dp as f64 / sigma),
                    _ => sign_fraction(dp),
                },
            },
        }
    }

    fn record_change(&mut self, change: i64) {
        if self.changes.len() == self.sigma_window {
            if let Some(old) = self.changes.pop_front() {
                self.change_sum -= i128::from(old);
                self.change_square_sum -= i128::from(old) * i128::from(old);
            }
        }
        self.changes.push_back(change);
        self.change_sum += i128::from(change);
        self.change_square_sum += i128::from(change) * i128::from(change);
    }

    /// Pour `size` into buckets, closing each one that fills.
    fn add_volume(&mut self, size: u64, fraction: f64) {
        let volume = self.bucket_volume;
        let first = size.min(volume - self.filled);
        self.buy += first as f64 * fraction;
        self.filled += first;
        if self.filled < volume {
            return; // the whole trade fitted
        }
        self.close_bucket(self.buy);
        let rest = size - first;
        // Every further full bucket of this trade has the same split; only the last
        // `window` of them can still be in the window.
        let full = rest / volume;
        if full > 0 {
            let buy = volume as f64 * fraction;
            let kept = usize::try_from(full).map_or(self.window, |n| n.min(self.window));
            for _ in 0..kept {
                self.close_bucket(buy);
            }
            self.buckets = self.buckets.saturating_add(full - kept as u64);
        }
        self.filled = rest % volume;
        self.buy = self.filled as f64 * fraction;
    }

    /// Record a full bucket with `buy` micro-shares of buys.
    fn close_bucket(&mut self, buy: f64) {
        let imbalance = (2.0 * buy - self.bucket_volume as f64).abs();
        if self.imbalances.len() == self.window {
            if let Some(old) = self.imbalances.pop_front() {
                self.imbalance_sum -= old;
            }
        }
        self.imbalances.push_back(imbalance);
        self.imbalance_sum += imbalance;
        self.since_resum += 1;
        if self.since_resum >= self.window {
            self.imbalance_sum = self.imbalances.iter().sum();
            self.since_resum = 0;
        }
        self.buckets = self.buckets.saturating_add(1);
        self.filled = 0;
        self.buy = 0.0;
    }
}

/// `value as f64`, through `i64` when it fits: the same rounding, but one instruction
/// instead of the software `i128` conversion (a third of a trade's cost otherwise).
fn to_f64(value: i128) -> f64 {
    match i64::try_from(value) {
        Ok(small) => small as f64,
        Err(_) => value as f64,
    }
}

/// Phi(dp / 0): all buys on a rise, all sells on a fall, half and half on no change.
fn sign_fraction(change: i64) -> f64 {
    match change.signum() {
        1 => 1.0,
        -1 => 0.0,
        _ => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vpin(bucket: u64, window: usize, classification: Classification) -> Vpin {
        Vpin::new(bucket, window, 10, classification).expect("valid parameters")
    }

    #[test]
    fn rejects_bad_parameters() {
        let bulk = Classification::Bulk;
        assert_eq!(
            Vpin::new(0, 1, 2, bulk).err(),
            Some(VpinError::ZeroBucketVolume)
        );
        assert_eq!(
            Vpin::new(1, 0, 2, bulk).err(),
            Some(VpinError::InvalidWindow { window: 0 })
        );
        assert_eq!(
            Vpin::new(1, 1, 1, bulk).err(),
            Some(VpinError::InvalidSigmaWindow { sigma_window: 1 })
        );
        assert!(Classification::from_name("quote").is_err());
        assert_eq!(Classification::from_name("tick"), Ok(Classification::Tick));
    }

    #[test]
    fn none_until_the_first_window_is_full() {
        let mut v = vpin(10, 2, Classification::Side);
        assert_eq!(v.on_trade(500_000, 10, Some(Aggressor::Buy)), Ok(None));
        assert_eq!(v.buckets(), 1);
        // Second bucket: 5 buys, 5 sells -> imbalances 10 and 0 -> (10 + 0) / (2 * 10).
        assert_eq!(v.on_trade(500_000, 5, Some(Aggressor::Buy)), Ok(None));
        assert_eq!(v.on_trade(500_000, 5, Some(Aggressor::Sell)), Ok(Some(0.5)));
    }

    #[test]
    fn a_trade_is_split_across_bucket_edges() {
        let mut v = vpin(10, 3, Classification::Side);
        v.on_trade(1, 4, Some(Aggressor::Sell)).expect("valid");
        // 6 buys close the first bucket (|6 - 4| = 2), then two full buckets of buys
        // (10 each), and 5 are left in the fourth bucket.
        let value = v.on_trade(1, 31, Some(Aggressor::Buy)).expect("valid");
        assert_eq!(value, Some(22.0 / 30.0));
        assert_eq!((v.buckets(), v.filled()), (3, 5));
    }

    #[test]
    fn a_huge_trade_only_keeps_the_window() {
        let mut v = vpin(1, 4, Classification::Side);
        v.on_trade(1, u64::MAX, Some(Aggressor::Buy))
            .expect("valid");
        assert_eq!(v.buckets(), u64::MAX);
        assert_eq!(v.value(), Some(1.0));
    }

    #[test]
    fn tick_rule_carries_the_last_direction() {
        let mut v = vpin(1, 1, Classification::Tick);
        let mut last = |price| v.on_trade(price, 1, None).expect("valid");
        assert_eq!(last(50), Some(0.0)); // first trade: half and half
        assert_eq!(last(51), Some(1.0)); // uptick: all buys
        assert_eq!(last(51), Some(1.0)); // zero tick: still buys
        assert_eq!(last(49), Some(1.0)); // downtick: all sells
    }

    #[test]
    fn bulk_uses_phi_of_the_standardized_change() {
        let mut v = vpin(1_000, 1, Classification::Bulk);
        v.on_trade(100, 1, None).expect("valid"); // no change yet: half and half
        v.on_trade(102, 1, None).expect("valid"); // one change, no sigma: all buys
        v.on_trade(101, 1, None).expect("valid"); // changes [2, -1]
        assert_eq!(v.sigma(), Some(4.5_f64.sqrt()));
        let third = normal_cdf(-1.0 / 4.5_f64.sqrt());
        // A +3 move fills the bucket; changes [2, -1, 3]: variance (3 * 14 - 16) / 6.
        v.on_trade(104, 997, None).expect("valid");
        let sigma = (26.0_f64 / 6.0).sqrt();
        assert_eq!(v.sigma(), Some(sigma));
        let buys = 0.5 + 1.0 + third + 997.0 * normal_cdf(3.0 / sigma);
        let expected = (2.0 * buys - 1_000.0).abs() / 1_000.0;
        let value = v.value().expect("one full bucket");
        assert!((value - expected).abs() < 1e-12, "{value} vs {expected}");
    }

    #[test]
    fn rejected_trades_change_nothing() {
        let mut v = vpin(10, 1, Classification::Side);
        assert_eq!(v.on_trade(1, 1, None), Err(VpinError::MissingSide));
        assert_eq!(
            v.on_trade(1, 0, Some(Aggressor::Buy)),
            Err(VpinError::ZeroSize)
        );
        assert_eq!(
            v.on_trade(MAX_PRICE + 1, 1, Some(Aggressor::Buy)),
            Err(VpinError::PriceTooLarge {
                price: MAX_PRICE + 1
            })
        );
        let batch = [(1, 10, Some(Aggressor::Buy)), (1, 1, None)];
        assert_eq!(v.on_trades(&batch), Err(VpinError::MissingSide));
        assert_eq!((v.buckets(), v.filled()), (0, 0));
        assert_eq!(
            Aggressor::from_code(2),
            Err(VpinError::InvalidSide { side: 2 })
        );
    }

    #[test]
    fn sigma_window_rolls() {
        let mut v = Vpin::new(1_000, 1, 2, Classification::Bulk).expect("valid");
        for price in [10, 20, 20, 50] {
            v.on_trade(price, 1, None).expect("valid");
        }
        // Changes 10, 0, 30: only [0, 30] remain.
        let sigma = v.sigma().expect("two changes");
        assert!((sigma - 450.0_f64.sqrt()).abs() < 1e-12);
    }
}
