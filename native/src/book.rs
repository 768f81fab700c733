//! Order book of one outcome token on a fixed tick grid.
//!
//! Prices are integer micro-USDC (1.00 = 1_000_000) and every venue tick divides that
//! exactly, so a side is a plain `Vec<u64>` of sizes indexed by `price / tick`: an update
//! is one store, and the best level is tracked incrementally (a rescan happens only when
//! the best level itself empties). No float touches a price or a size.

pub use crate::error::BookError;

/// Micro units in one USDC (the price of a certain outcome).
pub const UNIT: u64 = 1_000_000;

/// Every tick size the venue uses, in micro units (0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001).
pub const VALID_TICKS: [u64; 6] = [100_000, 10_000, 5_000, 2_500, 1_000, 100];

/// Bytes per packed delta in [`Book::apply_packed`]: three little-endian u64s.
pub const DELTA_BYTES: usize = 24;

/// Decode one packed `(side, price, size)` delta; `delta` is exactly 24 bytes.
fn unpack_delta(delta: &[u8]) -> (u64, u64, u64) {
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        if let Some(src) = delta.get(at..at + 8) {
            bytes.copy_from_slice(src);
        }
        u64::from_le_bytes(bytes)
    };
    (word(0), word(8), word(16))
}

/// Side of the book. The codes match `engine.units.Side`: resting BUY orders are bids,
/// resting SELL orders are asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Resting BUY orders (code 0); best is the highest price.
    Bid,
    /// Resting SELL orders (code 1); best is the lowest price.
    Ask,
}

impl Side {
    /// The side for a venue side code (0 = BUY = bids, 1 = SELL = asks).
    ///
    /// # Errors
    /// [`BookError::InvalidSide`] for any other code.
    pub fn from_code(code: u64) -> Result<Self, BookError> {
        match code {
            0 => Ok(Self::Bid),
            1 => Ok(Self::Ask),
            side => Err(BookError::InvalidSide { side }),
        }
    }

    /// The venue side code of this side (0 for bids, 1 for asks).
    pub fn code(self) -> u64 {
        match self {
            Self::Bid => 0,
            Self::Ask => 1,
        }
    }

    /// The other side.
    pub fn opposite(self) -> Self {
        match self {
            Self::Bid => Self::Ask,
            Self::Ask => Self::Bid,
        }
    }
}

/// One side of the book: sizes per grid index plus the cached best index.
///
/// Invariants: index 0 (price 0) and the last index (price 1.00) always hold 0, because
/// prices are validated into `[tick, UNIT - tick]`; `best` is the best non-empty index
/// (highest for bids, lowest for asks) and `count` the number of non-empty indices.
#[derive(Clone, PartialEq, Eq)]
struct Ladder {
    side: Side,
    sizes: Vec<u64>,
    best: Option<usize>,
    count: usize,
}

impl Ladder {
    fn new(side: Side, slots: usize) -> Self {
        Self {
            side,
            sizes: vec![0; slots],
            best: None,
            count: 0,
        }
    }

    /// Whether index `a` is a better price than index `b` on this side.
    fn is_better(&self, a: usize, b: usize) -> bool {
        match self.side {
            Side::Bid => a > b,
            Side::Ask => a < b,
        }
    }

    /// The next non-empty index strictly worse than `from`, if any.
    fn worse_than(&self, from: usize) -> Option<usize> {
        match self.side {
            Side::Bid => self.sizes.get(..from)?.iter().rposition(|&s| s != 0),
            Side::Ask => {
                let start = from + 1;
                let found = self.sizes.get(start..)?.iter().position(|&s| s != 0)?;
                Some(start + found)
            }
        }
    }

    /// Set the total size at a validated index; 0 empties the level.
    fn set(&mut self, index: usize, size: u64) {
        let Some(slot) = self.sizes.get_mut(index) else {
            return;
        };
        let old = std::mem::replace(slot, size);
        match (old == 0, size == 0) {
            (true, false) => {
                self.count += 1;
                if self.best.is_none_or(|best| self.is_better(index, best)) {
                    self.best = Some(index);
                }
            }
            (false, true) => {
                self.count -= 1;
                if self.best == Some(index) {
                    self.best = self.worse_than(index);
                }
            }
            _ => {}
        }
    }

    fn clear(&mut self) {
        if self.count != 0 {
            self.sizes.fill(0);
        }
        self.best = None;
        self.count = 0;
    }

    /// This ladder seen from the other outcome: price p becomes `UNIT - p` (index i
    /// becomes `last - i`) and bids become asks (and vice versa).
    fn mirrored(&self) -> Self {
        let last = self.sizes.len() - 1;
        Self {
            side: self.side.opposite(),
            sizes: self.sizes.iter().rev().copied().collect(),
            best: self.best.map(|i| last - i),
            count: self.count,
        }
    }
}

/// Iterator over the non-empty levels of one side, best first, as `(price, size)`.
///
/// The next level is looked up only when asked for, so taking the first level costs
/// no scan.
pub struct Levels<'a> {
    ladder: &'a Ladder,
    tick: u64,
    last: Option<usize>,
}

impl Iterator for Levels<'_> {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        let index = match self.last {
            None => self.ladder.best?,
            Some(last) => self.ladder.worse_than(last)?,
        };
        self.last = Some(index);
        let size = self.ladder.sizes.get(index).copied().unwrap_or(0);
        Some((index as u64 * self.tick, size))
    }
}

/// The order book of one outcome token: bids and asks on a fixed tick grid.
#[derive(Clone, PartialEq, Eq)]
pub struct Book {
    tick: u64,
    bids: Ladder,
    asks: Ladder,
}

impl std::fmt::Debug for Book {
    /// Summarise instead of dumping up to 20,002 slots.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Book")
            .field("tick", &self.tick)
            .field("best_bid", &self.best_bid())
            .field("best_ask", &self.best_ask())
            .field("bid_levels", &self.bids.count)
            .field("ask_levels", &self.asks.count)
            .finish()
    }
}

impl Book {
    /// An empty book on the grid of `tick` (micro units).
    ///
    /// # Errors
    /// [`BookError::InvalidTick`] unless `tick` is one of [`VALID_TICKS`].
    pub fn new(tick: u64) -> Result<Self, BookError> {
        if !VALID_TICKS.contains(&tick) {
            return Err(BookError::InvalidTick { tick });
        }
        // One slot per grid price from 0 to UNIT inclusive; the two ends stay empty.
        let slots =
            usize::try_from(UNIT / tick + 1).map_err(|_| BookError::InvalidTick { tick })?;
        Ok(Self {
            tick,
            bids: Ladder::new(Side::Bid, slots),
            asks: Ladder::new(Side::Ask, slots),
        })
    }

    /// The tick size of this book's grid, in micro units.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// The grid index of a price, after checking it is a valid price for this book.
    ///
    /// # Errors
    /// [`BookError::OffGrid`] if `price` is not a multiple of the tick,
    /// [`BookError::OutOfRange`] if it is outside `[tick, UNIT - tick]`.
    fn index(&self, price: u64) -> Result<usize, BookError> {
        let tick = self.tick;
        if !price.is_multiple_of(tick) {
            return Err(BookError::OffGrid { price, tick });
        }
        if price < tick || price > UNIT - tick {
            return Err(BookError::OutOfRange { price, tick });
        }
        usize::try_from(price / tick).map_err(|_| BookError::OutOfRange { price, tick })
    }

    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Bid => &self.bids,
            Side::Ask => &self.asks,
        }
    }

    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        }
    }

    /// Replace the whole book with a snapshot of `(price, size)` levels per side.
    ///
    /// A snapshot never merges with the previous state. Levels with size 0 are ignored
    /// and a repeated price keeps its last size (size is always the level's total).
    ///
    /// # Errors
    /// [`BookError::OffGrid`] or [`BookError::OutOfRange`] for any bad price; every price
    /// is checked first, so on error the book is unchanged.
    pub fn apply_snapshot(
        &mut self,
        bids: &[(u64, u64)],
        asks: &[(u64, u64)],
    ) -> Result<(), BookError> {
        for &(price, _) in bids.iter().chain(asks) {
            self.index(price)?;
        }
        self.clear();
        for (side, levels) in [(Side::Bid, bids), (Side::Ask, asks)] {
            for &(price, size) in levels {
                let index = self.index(price)?;
                self.ladder_mut(side).set(index, size);
            }
        }
        Ok(())
    }

    /// Set the total size resting at `price` on `side`; size 0 removes the level.
    ///
    /// # Errors
    /// [`BookError::OffGrid`] or [`BookError::OutOfRange`] for a bad price (book unchanged).
    pub fn apply_change(&mut self, side: Side, price: u64, size: u64) -> Result<(), BookError> {
        let index = self.index(price)?;
        self.ladder_mut(side).set(index, size);
        Ok(())
    }

    /// Apply many `(side, price, size)` changes in order, all or nothing.
    ///
    /// # Errors
    /// [`BookError::OffGrid`] or [`BookError::OutOfRange`] for any bad price; every price
    /// is checked first, so on error the book is unchanged.
    pub fn apply_changes(&mut self, changes: &[(Side, u64, u64)]) -> Result<(), BookError> {
        for &(_, price, _) in changes {
            self.index(price)?;
        }
        for &(side, price, size) in changes {
            self.apply_change(side, price, size)?;
        }
        Ok(())
    }

    /// Apply packed deltas in order, all or nothing: `deltas` is a sequence of
    /// little-endian u64 triples `(side, price, size)`, 24 bytes each (what
    /// `array("Q", [...]).tobytes()` gives on a little-endian machine). Returns how many
    /// deltas were applied. For replays and backtests: one call for a whole batch.
    ///
    /// # Errors
    /// [`BookError::InvalidDeltas`] if the length is not a multiple of 24,
    /// [`BookError::InvalidSide`], [`BookError::OffGrid`] or [`BookError::OutOfRange`]
    /// for any bad delta; everything is checked first, so on error the book is unchanged.
    pub fn apply_packed(&mut self, deltas: &[u8]) -> Result<usize, BookError> {
        if !deltas.len().is_multiple_of(DELTA_BYTES) {
            return Err(BookError::InvalidDeltas { len: deltas.len() });
        }
        for delta in deltas.chunks_exact(DELTA_BYTES) {
            let (side, price, _) = unpack_delta(delta);
            Side::from_code(side)?;
            self.index(price)?;
        }
        for delta in deltas.chunks_exact(DELTA_BYTES) {
            let (side, price, size) = unpack_delta(delta);
            let index = self.index(price)?;
            self.ladder_mut(Side::from_code(side)?).set(index, size);
        }
        Ok(deltas.len() / DELTA_BYTES)
    }

    /// Bytes this book holds: the struct and both ladders' arrays (one u64 per grid
    /// price per side, so 16 KB on a 0.001 grid).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + (self.bids.sizes.capacity() + self.asks.sizes.capacity()) * std::mem::size_of::<u64>()
    }

    /// Remove every level, keeping the tick.
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// The non-empty levels of `side`, best first, as `(price, size)`.
    pub fn iter_levels(&self, side: Side) -> Levels<'_> {
        Levels {
            ladder: self.ladder(side),
            tick: self.tick,
            last: None,
        }
    }

    /// The best level of `side` as `(price, size)`.
    pub fn best(&self, side: Side) -> Option<(u64, u64)> {
        let ladder = self.ladder(side);
        let index = ladder.best?;
        let size = ladder.sizes.get(index).copied().unwrap_or(0);
        Some((index as u64 * self.tick, size))
    }

    /// Best bid price and best ask price (each None if that side is empty).
    pub fn best_prices(&self) -> (Option<u64>, Option<u64>) {
        let price = |ladder: &Ladder| ladder.best.map(|index| index as u64 * self.tick);
        (price(&self.bids), price(&self.asks))
    }

    /// The highest bid as `(price, size)`.
    pub fn best_bid(&self) -> Option<(u64, u64)> {
        self.best(Side::Bid)
    }

    /// The lowest ask as `(price, size)`.
    pub fn best_ask(&self) -> Option<(u64, u64)> {
        self.best(Side::Ask)
    }

    /// The midpoint of best bid and best ask, if both exist. Exact: both prices are
    /// multiples of 100, so their sum is even.
    pub fn mid(&self) -> Option<u64> {
        let (bid, _) = self.best_bid()?;
        let (ask, _) = self.best_ask()?;
        Some((bid + ask) / 2)
    }

    /// Best ask minus best bid, if both exist; negative or zero when the book is
    /// crossed or locked (signed so that a bad book never wraps around).
    pub fn spread(&self) -> Option<i64> {
        let (bid, _) = self.best_bid()?;
        let (ask, _) = self.best_ask()?;
        // Prices are at most UNIT, so both fit in i64.
        Some(ask as i64 - bid as i64)
    }

    /// The size-weighted mid of the top of the book, `(bid * ask_size + ask * bid_size) /
    /// (bid_size + ask_size)`, floored to a micro unit; None if a side is empty. It leans
    /// toward the side with less size, where the next trade is more likely to move the
    /// price.
    pub fn microprice(&self) -> Option<u64> {
        let (bid, bid_size) = self.best_bid()?;
        let (ask, ask_size) = self.best_ask()?;
        let (bid, bid_size, ask, ask_size) = (
            u128::from(bid),
            u128::from(bid_size),
            u128::from(ask),
            u128::from(ask_size),
        );
        let weighted = bid * ask_size + ask * bid_size;
        // Non-empty levels have a size above 0, so the sum is never 0; both prices are
        // at most UNIT, so the weighted mean is too and fits in u64.
        let value = weighted.checked_div(bid_size + ask_size)?;
        u64::try_from(value).ok()
    }

    /// Order-book imbalance over the best `n_levels` levels of each side:
    /// `(bid_depth - ask_depth) / (bid_depth + ask_depth)`, in [-1, 1]; None if both
    /// sides are empty. A ratio, not money, so a float; it is correctly rounded (the same
    /// as Python's `(b - a) / (b + a)` on ints) while both depths are below 2**53.
    pub fn imbalance(&self, n_levels: usize) -> Option<f64> {
        let bids = self.depth(Side::Bid, n_levels);
        let asks = self.depth(Side::Ask, n_levels);
        let total = u128::from(bids) + u128::from(asks);
        if total == 0 {
            return None;
        }
        let diff = i128::from(bids) - i128::from(asks);
        Some(diff as f64 / total as f64)
    }

    /// Total size over the best `n_levels` non-empty levels of `side` (saturating, so an
    /// absurd size cannot overflow).
    pub fn depth(&self, side: Side, n_levels: usize) -> u64 {
        self.iter_levels(side)
            .take(n_levels)
            .fold(0, |total, (_, size)| total.saturating_add(size))
    }

    /// The best `n` non-empty levels of `side`, best first, as `(price, size)`.
    pub fn levels(&self, side: Side, n: usize) -> Vec<(u64, u64)> {
        self.iter_levels(side).take(n).collect()
    }

    /// Number of non-empty levels on `side`.
    pub fn level_count(&self, side: Side) -> usize {
        self.ladder(side).count
    }

    /// Whether best bid >= best ask. A resting book on the venue never is (the venue
    /// would have matched), so this flags a stale or inconsistent book.
    pub fn is_crossed(&self) -> bool {
        match (self.best_bid(), self.best_ask()) {
            (Some((bid, _)), Some((ask, _))) => bid >= ask,
            _ => false,
        }
    }

    /// The other outcome's book: BUY YES at p is SELL NO at `1 - p`, so its bids are
    /// this book's asks at `UNIT - p` and its asks are this book's bids at `UNIT - p`.
    pub fn complement(&self) -> Self {
        Self {
            tick: self.tick,
            bids: self.asks.mirrored(),
            asks: self.bids.mirrored(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn book(tick: u64) -> Book {
        Book::new(tick).expect("valid tick")
    }

    #[test]
    fn new_accepts_only_venue_ticks() {
        for tick in VALID_TICKS {
            assert_eq!(book(tick).tick(), tick);
        }
        for tick in [0, 1, 50, 200, 3_000, 1_000_000] {
            assert_eq!(Book::new(tick), Err(BookError::InvalidTick { tick }));
        }
    }

    #[test]
    fn empty_book_has_nothing() {
        let b = book(10_000);
        assert_eq!(b.best_bid(), None);
        assert_eq!(b.best_ask(), None);
        assert_eq!(b.mid(), None);
        assert_eq!(b.spread(), None);
        assert_eq!(b.depth(Side::Bid, 10), 0);
        assert!(b.levels(Side::Ask, 10).is_empty());
        assert!(!b.is_crossed());
        assert_eq!(b.level_count(Side::Bid), 0);
    }

    #[test]
    fn snapshot_replaces_and_never_merges() {
        let mut b = book(10_000);
        b.apply_snapshot(&[(400_000, 5), (450_000, 7)], &[(550_000, 3)])
            .expect("valid snapshot");
        assert_eq!(b.best_bid(), Some((450_000, 7)));
        assert_eq!(b.best_ask(), Some((550_000, 3)));
        b.apply_snapshot(&[(300_000, 1)], &[])
            .expect("valid snapshot");
        assert_eq!(b.levels(Side::Bid, 10), vec![(300_000, 1)]);
        assert_eq!(b.best_ask(), None);
        assert_eq!(b.level_count(Side::Bid), 1);
        assert_eq!(b.level_count(Side::Ask), 0);
    }

    #[test]
    fn snapshot_ignores_zero_sizes_and_keeps_last_duplicate() {
        let mut b = book(10_000);
        b.apply_snapshot(&[(400_000, 0), (300_000, 2), (300_000, 9)], &[])
            .expect("valid snapshot");
        assert_eq!(b.levels(Side::Bid, 10), vec![(300_000, 9)]);
        assert_eq!(b.level_count(Side::Bid), 1);
    }

    #[test]
    fn change_sets_total_and_zero_removes() {
        let mut b = book(10_000);
        b.apply_change(Side::Bid, 400_000, 5).expect("valid");
        b.apply_change(Side::Bid, 400_000, 8).expect("valid");
        assert_eq!(b.best_bid(), Some((400_000, 8)));
        b.apply_change(Side::Bid, 420_000, 1).expect("valid");
        assert_eq!(b.best_bid(), Some((420_000, 1)));
        b.apply_change(Side::Bid, 420_000, 0).expect("valid");
        assert_eq!(b.best_bid(), Some((400_000, 8)));
        b.apply_change(Side::Bid, 400_000, 0).expect("valid");
        assert_eq!(b.best_bid(), None);
        // Removing a level that does not exist is a no-op.
        b.apply_change(Side::Ask, 600_000, 0).expect("valid");
        assert_eq!(b.level_count(Side::Ask), 0);
    }

    #[test]
    fn ask_best_rescans_upwards() {
        let mut b = book(1_000);
        for (price, size) in [(600_000, 1), (601_000, 2), (700_000, 3)] {
            b.apply_change(Side::Ask, price, size).expect("valid");
        }
        assert_eq!(b.best_ask(), Some((600_000, 1)));
        b.apply_change(Side::Ask, 600_000, 0).expect("valid");
        assert_eq!(b.best_ask(), Some((601_000, 2)));
        b.apply_change(Side::Ask, 601_000, 0).expect("valid");
        assert_eq!(b.best_ask(), Some((700_000, 3)));
    }

    #[test]
    fn mid_spread_depth_levels() {
        let mut b = book(100);
        b.apply_snapshot(
            &[(499_900, 10), (499_800, 20), (400_000, 30)],
            &[(500_000, 1), (500_100, 2), (999_900, 3)],
        )
        .expect("valid snapshot");
        assert_eq!(b.mid(), Some(499_950));
        assert_eq!(b.spread(), Some(100));
        assert_eq!(b.depth(Side::Bid, 0), 0);
        assert_eq!(b.depth(Side::Bid, 2), 30);
        assert_eq!(b.depth(Side::Bid, 99), 60);
        assert_eq!(b.depth(Side::Ask, usize::MAX), 6);
        assert_eq!(b.levels(Side::Ask, 2), vec![(500_000, 1), (500_100, 2)]);
        assert_eq!(
            b.levels(Side::Bid, 5),
            vec![(499_900, 10), (499_800, 20), (400_000, 30)]
        );
        assert!(!b.is_crossed());
    }

    #[test]
    fn extreme_grid_prices_and_sizes() {
        let mut b = book(100);
        b.apply_change(Side::Bid, 100, u64::MAX).expect("valid");
        b.apply_change(Side::Bid, 200, u64::MAX).expect("valid");
        b.apply_change(Side::Ask, 999_900, 1).expect("valid");
        assert_eq!(b.depth(Side::Bid, 2), u64::MAX);
        assert_eq!(b.spread(), Some(999_700));
        assert_eq!(b.complement().best_bid(), Some((100, 1)));
    }

    #[test]
    fn crossed_and_locked_books_are_flagged() {
        let mut b = book(10_000);
        b.apply_snapshot(&[(500_000, 1)], &[(500_000, 1)])
            .expect("valid snapshot");
        assert!(b.is_crossed());
        assert_eq!(b.spread(), Some(0));
        b.apply_change(Side::Bid, 520_000, 1).expect("valid");
        assert_eq!(b.spread(), Some(-20_000));
        assert_eq!(b.mid(), Some(510_000));
    }

    #[test]
    fn bad_prices_are_rejected_and_leave_the_book_unchanged() {
        let mut b = book(10_000);
        b.apply_snapshot(&[(400_000, 5)], &[(600_000, 5)])
            .expect("valid snapshot");
        let before = b.clone();
        assert_eq!(
            b.apply_change(Side::Bid, 405_000, 1),
            Err(BookError::OffGrid {
                price: 405_000,
                tick: 10_000
            })
        );
        for price in [0, 1_000_000, 2_000_000] {
            assert_eq!(
                b.apply_change(Side::Ask, price, 1),
                Err(BookError::OutOfRange {
                    price,
                    tick: 10_000
                })
            );
        }
        assert_eq!(
            b.apply_snapshot(&[(300_000, 1)], &[(u64::MAX, 1)]),
            Err(BookError::OffGrid {
                price: u64::MAX,
                tick: 10_000
            })
        );
        assert_eq!(
            b.apply_changes(&[(Side::Bid, 300_000, 1), (Side::Ask, 0, 1)]),
            Err(BookError::OutOfRange {
                price: 0,
                tick: 10_000
            })
        );
        assert_eq!(b, before);
    }

    #[test]
    fn side_codes() {
        assert_eq!(Side::from_code(0), Ok(Side::Bid));
        assert_eq!(Side::from_code(1), Ok(Side::Ask));
        assert_eq!(Side::from_code(2), Err(BookError::InvalidSide { side: 2 }));
        assert_eq!(Side::Ask.code(), 1);
        assert_eq!(Side::Bid.opposite(), Side::Ask);
    }

    #[test]
    fn complement_mirrors_prices_and_swaps_sides() {
        let mut b = book(5_000);
        b.apply_snapshot(
            &[(450_000, 10), (400_000, 20)],
            &[(505_000, 3), (600_000, 4)],
        )
        .expect("valid snapshot");
        let c = b.complement();
        assert_eq!(c.tick(), 5_000);
        assert_eq!(c.levels(Side::Bid, 10), vec![(495_000, 3), (400_000, 4)]);
        assert_eq!(c.levels(Side::Ask, 10), vec![(550_000, 10), (600_000, 20)]);
        assert_eq!(c.level_count(Side::Bid), 2);
        assert_eq!(c.complement(), b);
        // The complement is an independent book that stays consistent under updates.
        let mut c = c;
        c.apply_change(Side::Bid, 495_000, 0).expect("valid");
        assert_eq!(c.best_bid(), Some((400_000, 4)));
        assert_eq!(b.best_ask(), Some((505_000, 3)));
    }

    #[test]
    fn clear_empties_but_keeps_tick() {
        let mut b = book(2_500);
        b.apply_snapshot(&[(2_500, 1)], &[(997_500, 1)])
            .expect("valid");
        b.clear();
        assert_eq!(b, book(2_500));
    }

    /// Tiny deterministic generator so the randomized test needs no dependencies.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, bound: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) % bound
        }
    }

    #[test]
    fn random_changes_match_a_btreemap_model() {
        let mut rng = Lcg(7);
        for tick in VALID_TICKS {
            let mut b = book(tick);
            let mut model: [BTreeMap<u64, u64>; 2] = [BTreeMap::new(), BTreeMap::new()];
            // A small pool of prices so levels are often emptied and refilled.
            let pool: Vec<u64> = (0..12)
                .map(|_| (1 + rng.next(UNIT / tick - 1)) * tick)
                .collect();
            for _ in 0..2_000 {
                let side = if rng.next(2) == 0 {
                    Side::Bid
                } else {
                    Side::Ask
                };
                let price = pool[rng.next(pool.len() as u64) as usize];
                let size = if rng.next(3) == 0 {
                    0
                } else {
                    rng.next(1_000) + 1
                };
                b.apply_change(side, price, size).expect("valid");
                let levels = &mut model[side.code() as usize];
                if size == 0 {
                    levels.remove(&price);
                } else {
                    levels.insert(price, size);
                }
                let bids: Vec<(u64, u64)> = model[0].iter().rev().map(|(&p, &s)| (p, s)).collect();
                let asks: Vec<(u64, u64)> = model[1].iter().map(|(&p, &s)| (p, s)).collect();
                assert_eq!(b.levels(Side::Bid, usize::MAX), bids);
                assert_eq!(b.levels(Side::Ask, usize::MAX), asks);
                assert_eq!(b.best_bid(), bids.first().copied());
                assert_eq!(b.best_ask(), asks.first().copied());
                assert_eq!(b.level_count(Side::Bid), bids.len());
                assert_eq!(b.level_count(Side::Ask), asks.len());
            }
        }
    }
}
