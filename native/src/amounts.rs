//! Order amounts with the venue's rounding, in integer micro units.
//!
//! A CLOB order signs two integers: `makerAmount` (what the maker gives) and
//! `takerAmount` (what it receives). BUY gives USDC for shares, SELL gives shares for
//! USDC; both have 6 decimals. The rules are the official client's (polymarket-client
//! 0.14.0, `actions/orders/limit.py` `_compute_limit_order_amounts`, `market.py`
//! `_compute_market_order_amounts`, `context.py` `_ROUNDING_BY_TICK`), which computes
//! with `Decimal`; here every value is an exact rational, so the results are identical
//! (spec 11.3: the float-based py-clob-client-v2 differs on 4.2% of cases).

use crate::error::SignError;

/// Micro units in one USDC or one share.
pub const UNIT: u64 = 1_000_000;

/// Sizes (and market-order amounts) are floored to 2 decimals: 10_000 micro.
pub const SIZE_STEP: u64 = 10_000;

/// The largest size or amount accepted, in micro (10**9 shares or USDC).
///
/// Far above any real order; it keeps every intermediate product in `u128` and keeps
/// the official client's 28-digit `Decimal` division exact, so "identical" holds for
/// every accepted input.
pub const MAX_QUANTITY: u64 = 1_000_000_000 * UNIT;

/// Order side; the codes are the ones signed into orders (and `engine.units.Side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderSide {
    /// Code 0: give USDC, receive shares.
    Buy,
    /// Code 1: give shares, receive USDC.
    Sell,
}

impl OrderSide {
    /// The side for a venue side code (0 = BUY, 1 = SELL).
    ///
    /// # Errors
    /// [`SignError::InvalidSide`] for any other code.
    pub fn from_code(code: u64) -> Result<Self, SignError> {
        match code {
            0 => Ok(Self::Buy),
            1 => Ok(Self::Sell),
            side => Err(SignError::InvalidSide { side }),
        }
    }

    /// The code signed as `uint8 side`.
    pub fn code(self) -> u8 {
        match self {
            Self::Buy => 0,
            Self::Sell => 1,
        }
    }

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Buy => "BUY",
            Self::Sell => "SELL",
        }
    }
}

/// Decimal places per tick size (the client's `RoundingConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounding {
    /// Decimals of a price on this tick's grid.
    pub price: u32,
    /// Decimals of a size (always 2).
    pub size: u32,
    /// Decimals kept in a computed amount (price decimals + 2).
    pub amount: u32,
}

/// The rounding configuration of a tick size given in micro.
///
/// # Errors
/// [`SignError::InvalidTick`] unless `tick` is one of the venue's six tick sizes.
pub fn rounding(tick: u64) -> Result<Rounding, SignError> {
    let (price, amount) = match tick {
        100_000 => (1, 3),
        10_000 => (2, 4),
        5_000 => (3, 5),
        2_500 => (4, 6),
        1_000 => (3, 5),
        100 => (4, 6),
        _ => return Err(SignError::InvalidTick { tick }),
    };
    Ok(Rounding {
        price,
        size: 2,
        amount,
    })
}

/// What an order gives and receives, in micro units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amounts {
    /// `makerAmount`: USDC for BUY, shares for SELL.
    pub maker: u64,
    /// `takerAmount`: shares for BUY, USDC for SELL.
    pub taker: u64,
}

/// Amounts of a limit order of `size` micro-shares at `price` micro-USDC per share.
///
/// The size is floored to 2 decimals; the price must be on the tick grid, so the
/// product is exact (price decimals + 2 = amount decimals for every tick).
///
/// # Errors
/// [`SignError::InvalidTick`], [`SignError::OffGrid`] or [`SignError::OutOfRange`] for
/// the price; [`SignError::TooLarge`] above [`MAX_QUANTITY`]; [`SignError::ZeroAmount`]
/// if the size floors to 0.
pub fn limit_amounts(
    side: OrderSide,
    price: u64,
    size: u64,
    tick: u64,
) -> Result<Amounts, SignError> {
    let config = rounding(tick)?;
    check_price(price, tick)?;
    let shares = floor_quantity("size", size)?;
    let cash = round_amount(
        u128::from(shares) * u128::from(price),
        u128::from(UNIT) * u128::from(UNIT),
        config.amount,
    )
    .ok_or_else(|| overflow("size", size))?;
    Ok(match side {
        OrderSide::Buy => Amounts {
            maker: cash,
            taker: shares,
        },
        OrderSide::Sell => Amounts {
            maker: shares,
            taker: cash,
        },
    })
}

/// Amounts of a market order at the worst acceptable `price`: BUY spends `amount`
/// micro-USDC, SELL sells `amount` micro-shares.
///
/// The amount is floored to 2 decimals. A SELL's USDC is exact; a BUY's shares
/// (`amount / price`) keep `amount` decimals (4, 5 or 6), rounded down unless the value
/// is within 10**-4 of a unit of the next one, as the client does: it rounds up at
/// `amount + 4` decimals first, then down (`_compute_market_order_amounts`).
///
/// # Errors
/// As [`limit_amounts`].
pub fn market_amounts(
    side: OrderSide,
    amount: u64,
    price: u64,
    tick: u64,
) -> Result<Amounts, SignError> {
    let config = rounding(tick)?;
    check_price(price, tick)?;
    let maker = floor_quantity("amount", amount)?;
    let taker = match side {
        // shares = USDC / price
        OrderSide::Buy => round_amount(
            u128::from(maker) * u128::from(UNIT),
            u128::from(price) * u128::from(UNIT),
            config.amount,
        ),
        // USDC = shares * price
        OrderSide::Sell => round_amount(
            u128::from(maker) * u128::from(price),
            u128::from(UNIT) * u128::from(UNIT),
            config.amount,
        ),
    }
    .ok_or_else(|| overflow("amount", amount))?;
    Ok(Amounts { maker, taker })
}

/// Check that `price` is on the tick grid within `[tick, UNIT - tick]` (the client's
/// `validate_price_on_tick_grid`, which mirrors the exchange's own check).
///
/// # Errors
/// [`SignError::InvalidTick`], [`SignError::OffGrid`] or [`SignError::OutOfRange`].
pub fn check_price(price: u64, tick: u64) -> Result<(), SignError> {
    rounding(tick)?;
    if !price.is_multiple_of(tick) {
        return Err(SignError::OffGrid { price, tick });
    }
    if price < tick || price > UNIT - tick {
        return Err(SignError::OutOfRange { price, tick });
    }
    Ok(())
}

/// Floor a size or amount to 2 decimals, rejecting 0 and values above the maximum.
fn floor_quantity(field: &'static str, value: u64) -> Result<u64, SignError> {
    if value > MAX_QUANTITY {
        return Err(SignError::TooLarge {
            field,
            value,
            max: MAX_QUANTITY,
        });
    }
    let floored = value - value % SIZE_STEP;
    if floored == 0 {
        return Err(SignError::ZeroAmount { field, value });
    }
    Ok(floored)
}

/// The client's amount rounding of the exact value `numerator / denominator` (in whole
/// units), returned in micro: keep it if it has at most `decimals` places, else round up
/// at `decimals + 4` places and, if still longer, down at `decimals`. Both steps together
/// are `floor(ceil(x * 10**(d+4)) / 10**4)` in units of 10**-d. None if the result does
/// not fit a `u64`, which inputs up to [`MAX_QUANTITY`] never reach.
fn round_amount(numerator: u128, denominator: u128, decimals: u32) -> Option<u64> {
    let scaled = numerator * 10u128.pow(decimals + 4);
    let units = scaled.div_ceil(denominator) / 10_000;
    u64::try_from(units * 10u128.pow(6 - decimals)).ok()
}

/// The error for a computed amount that overflows, blaming the input quantity.
fn overflow(field: &'static str, value: u64) -> SignError {
    SignError::TooLarge {
        field,
        value,
        max: MAX_QUANTITY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICKS: [u64; 6] = [100_000, 10_000, 5_000, 2_500, 1_000, 100];

    #[test]
    fn spec_examples() {
        // Spec section 4: BUY 10@0.57, SELL 7.333@0.57, market BUY $25@0.60.
        assert_eq!(
            limit_amounts(OrderSide::Buy, 570_000, 10_000_000, 10_000),
            Ok(Amounts {
                maker: 5_700_000,
                taker: 10_000_000
            })
        );
        assert_eq!(
            limit_amounts(OrderSide::Sell, 570_000, 7_333_000, 10_000),
            Ok(Amounts {
                maker: 7_330_000,
                taker: 4_178_100
            })
        );
        assert_eq!(
            market_amounts(OrderSide::Buy, 25_000_000, 600_000, 10_000),
            Ok(Amounts {
                maker: 25_000_000,
                taker: 41_666_600
            })
        );
    }

    #[test]
    fn rounding_table() {
        // polymarket-client `_ROUNDING_BY_TICK`: amount decimals = price decimals + 2,
        // and the price decimals are the tick's own.
        for tick in TICKS {
            let config = rounding(tick).expect("valid tick");
            assert_eq!(config.amount, config.price + 2);
            assert_eq!(config.size, 2);
            let scale = 10u64.pow(6 - config.price);
            assert_eq!(
                tick % scale,
                0,
                "tick {tick} has at most {} dp",
                config.price
            );
            assert_ne!(
                tick % (scale * 10),
                0,
                "tick {tick} has exactly {} dp",
                config.price
            );
        }
        assert_eq!(rounding(3_000), Err(SignError::InvalidTick { tick: 3_000 }));
    }

    #[test]
    fn market_buy_rounds_up_only_when_within_a_ten_thousandth() {
        // $1 at 0.3 = 3.3333... shares: floored to 3.3333.
        assert_eq!(
            market_amounts(OrderSide::Buy, 1_000_000, 300_000, 100_000).map(|a| a.taker),
            Ok(3_333_000)
        );
        // 0.07 / 0.0003 = 233.333... at tick 0.0001 (6 dp): 233.333333.
        assert_eq!(
            market_amounts(OrderSide::Buy, 70_000, 300, 100).map(|a| a.taker),
            Ok(233_333_333)
        );
        // 1.99 / 0.9999 = 1.99019901990199...: floored at 6 dp.
        assert_eq!(
            market_amounts(OrderSide::Buy, 1_990_000, 999_900, 100).map(|a| a.taker),
            Ok(1_990_199)
        );
        // x = 0.01 / 0.0003 = 33.3333333...: 6 dp floor.
        assert_eq!(
            market_amounts(OrderSide::Buy, 10_000, 300, 100).map(|a| a.taker),
            Ok(33_333_333)
        );
        // x = 5 / 0.6 = 8.3333...: 4 dp floor.
        assert_eq!(
            market_amounts(OrderSide::Buy, 5_000_000, 600_000, 10_000).map(|a| a.taker),
            Ok(8_333_300)
        );
        // The rule itself, at 0 decimals: a value less than 10**-4 below the next unit is
        // pulled up (the ceiling at 4 places reaches it); anything further is floored.
        assert_eq!(
            round_amount(99_999_999_999, 100_000_000_000, 0),
            Some(1_000_000)
        );
        assert_eq!(round_amount(99_989_999_999, 100_000_000_000, 0), Some(0));
    }

    #[test]
    fn market_sell_is_exact() {
        assert_eq!(
            market_amounts(OrderSide::Sell, 7_333_000, 570_000, 10_000),
            Ok(Amounts {
                maker: 7_330_000,
                taker: 4_178_100
            })
        );
    }

    #[test]
    fn limit_amounts_are_exact_on_every_grid() {
        for tick in TICKS {
            for steps in [1, 2, 7, UNIT / tick - 1] {
                let price = steps * tick;
                for size in [10_000, 1_230_000, 5_000_000, 123_456_789, MAX_QUANTITY] {
                    let floored = size - size % SIZE_STEP;
                    let buy = limit_amounts(OrderSide::Buy, price, size, tick).expect("valid");
                    let sell = limit_amounts(OrderSide::Sell, price, size, tick).expect("valid");
                    let cash = u128::from(floored) * u128::from(price);
                    assert_eq!(cash % u128::from(UNIT), 0);
                    let cash = u64::try_from(cash / u128::from(UNIT)).expect("fits");
                    assert_eq!(
                        buy,
                        Amounts {
                            maker: cash,
                            taker: floored
                        }
                    );
                    assert_eq!(
                        sell,
                        Amounts {
                            maker: floored,
                            taker: cash
                        }
                    );
                }
            }
        }
    }

    #[test]
    fn rejects_bad_inputs() {
        assert_eq!(
            limit_amounts(OrderSide::Buy, 575_000, 10_000_000, 10_000),
            Err(SignError::OffGrid {
                price: 575_000,
                tick: 10_000
            })
        );
        assert_eq!(
            limit_amounts(OrderSide::Buy, 1_000_000, 10_000_000, 10_000),
            Err(SignError::OutOfRange {
                price: 1_000_000,
                tick: 10_000
            })
        );
        assert_eq!(
            limit_amounts(OrderSide::Buy, 0, 10_000_000, 10_000),
            Err(SignError::OutOfRange {
                price: 0,
                tick: 10_000
            })
        );
        assert_eq!(
            limit_amounts(OrderSide::Sell, 570_000, 9_999, 10_000),
            Err(SignError::ZeroAmount {
                field: "size",
                value: 9_999
            })
        );
        assert_eq!(
            market_amounts(OrderSide::Buy, MAX_QUANTITY + 1, 570_000, 10_000),
            Err(SignError::TooLarge {
                field: "amount",
                value: MAX_QUANTITY + 1,
                max: MAX_QUANTITY
            })
        );
        assert_eq!(
            market_amounts(OrderSide::Buy, 1_000_000, 570_000, 20_000),
            Err(SignError::InvalidTick { tick: 20_000 })
        );
        assert_eq!(
            OrderSide::from_code(2),
            Err(SignError::InvalidSide { side: 2 })
        );
    }

    #[test]
    fn largest_market_buy_fits() {
        let amounts = market_amounts(OrderSide::Buy, MAX_QUANTITY, 100, 100).expect("fits in u64");
        assert_eq!(amounts.taker, MAX_QUANTITY * (UNIT / 100));
    }
}
