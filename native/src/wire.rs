//! Market-channel frames to books: parse a raw frame once and apply it to the books of
//! the outcome tokens it concerns, in one call.
//!
//! A frame is the payload of one WebSocket message: a JSON event object, an array of
//! them (the initial dump), or the text `PONG` / `NO NEW ASSETS`. It is read by the
//! strict pull reader in [`crate::json`]: strings are borrowed from the frame, decimal
//! prices and sizes go straight to integer micro units (no float), and levels land in
//! buffers reused from frame to frame, so applying a frame allocates nothing in the
//! steady state beyond its summary's lists.
//!
//! A frame is applied in two passes. The first parses and checks everything (JSON,
//! decimals, ticks, every price against its book's grid) into a list of operations; the
//! second applies them. So a frame is applied whole or not at all.

use std::borrow::Cow;
use std::ops::Range;

use rustc_hash::FxHashMap;

use crate::book::{Book, Side, UNIT, VALID_TICKS};
use crate::error::{BookError, FrameError};
use crate::json::{Reader, Scalar, SyntaxError};

/// A text frame the venue sends on the market channel that is not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextFrame {
    /// The answer to the client's `PING` heartbeat.
    Pong,
    /// Sent when a subscription adds no asset the connection did not already have.
    NoNewAssets,
}

impl TextFrame {
    /// The frame's text, as the venue sends it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pong => "PONG",
            Self::NoNewAssets => "NO NEW ASSETS",
        }
    }

    /// The text frame these bytes are (surrounding ASCII whitespace ignored), if any.
    pub fn parse(frame: &[u8]) -> Option<Self> {
        match frame.trim_ascii() {
            b"PONG" => Some(Self::Pong),
            b"NO NEW ASSETS" => Some(Self::NoNewAssets),
            _ => None,
        }
    }
}

/// Parse a venue decimal string ("0.57", "200", "51.14") into micro units, exactly.
///
/// The grammar is strict: ASCII digits, optionally a point and 1 to 6 more digits; no
/// sign, exponent, spaces or leading point. None if the text does not match or the value
/// does not fit in a u64 of micro units.
pub fn parse_micro(text: &[u8]) -> Option<u64> {
    let (whole, fraction) = match text.iter().position(|&byte| byte == b'.') {
        Some(point) => (text.get(..point)?, Some(text.get(point + 1..)?)),
        None => (text, None),
    };
    if whole.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &byte in whole {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    value = value.checked_mul(UNIT)?;
    if let Some(fraction) = fraction {
        if fraction.is_empty() || fraction.len() > 6 {
            return None;
        }
        let mut micro: u64 = 0;
        for &byte in fraction {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            micro = micro * 10 + u64::from(digit);
        }
        for _ in fraction.len()..6 {
            micro *= 10;
        }
        value = value.checked_add(micro)?;
    }
    Some(value)
}

/// A venue best-price field: `Some(None)` for an empty side ("", "0" or "1"), `Some(p)`
/// for a price strictly inside (0, 1), None if the text is not such a decimal.
fn parse_best(text: &[u8]) -> Option<Option<u64>> {
    if text.is_empty() {
        return Some(None);
    }
    match parse_micro(text)? {
        0 | UNIT => Some(None),
        price if price < UNIT => Some(Some(price)),
        _ => None,
    }
}

/// A tick size text ("0.01") in micro units, if it is one of the venue's ticks.
fn parse_tick(text: &[u8]) -> Option<u64> {
    parse_micro(text).filter(|tick| VALID_TICKS.contains(tick))
}

/// "BUY" or "SELL" (any case) as the side of the book it rests on (or the taker's side).
fn parse_side(text: &[u8]) -> Option<Side> {
    if text.eq_ignore_ascii_case(b"BUY") {
        Some(Side::Bid)
    } else if text.eq_ignore_ascii_case(b"SELL") {
        Some(Side::Ask)
    } else {
        None
    }
}

/// Whether `price` lies on the grid of `tick` inside `[tick, UNIT - tick]` (the rule
/// [`Book`] enforces), as the error the book would return.
fn check_price(price: u64, tick: u64) -> Result<(), BookError> {
    if !price.is_multiple_of(tick) {
        return Err(BookError::OffGrid { price, tick });
    }
    if price < tick || price > UNIT - tick {
        return Err(BookError::OutOfRange { price, tick });
    }
    Ok(())
}

/// A token's best bid and best ask after a frame changed its book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBest {
    /// Position of the token in [`MarketBooks::ids`].
    pub token: usize,
    pub best_bid: Option<u64>,
    pub best_ask: Option<u64>,
}

/// A `last_trade_price` event for one of the books' tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub token: usize,
    pub price: u64,
    pub size: u64,
    /// The taker's side: [`Side::Bid`] for BUY, [`Side::Ask`] for SELL.
    pub side: Side,
}

/// The venue's best bid/ask for a token disagreed with the book's after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch {
    pub token: usize,
    /// The book's (best bid, best ask) prices.
    pub book: (Option<u64>, Option<u64>),
    /// The venue's (best bid, best ask) prices.
    pub venue: (Option<u64>, Option<u64>),
}

/// A token's book moved to another tick grid (and was emptied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickChange {
    pub token: usize,
    pub old: u64,
    pub new: u64,
}

/// What one frame did to the books. Tokens are positions in [`MarketBooks::ids`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FrameSummary {
    /// Set for the venue's non-JSON text frames; everything else is then empty.
    pub text: Option<TextFrame>,
    /// Events in the frame that concern these books.
    pub events: usize,
    /// Events skipped: for other tokens, or of kinds that change no book (`new_market`).
    pub ignored: usize,
    /// Each changed book once, in the order first changed, with its best prices after
    /// the whole frame.
    pub changed: Vec<TokenBest>,
    /// `last_trade_price` events, in frame order.
    pub trades: Vec<Trade>,
    /// Integrity failures: the book disagreed with the venue's stated best prices.
    pub mismatches: Vec<Mismatch>,
    /// Books moved to another grid, by a `tick_size_change` or by a `book` snapshot
    /// carrying another `tick_size`.
    pub tick_changes: Vec<TickChange>,
    /// A `tick_size_change` event started a new book epoch: that book is empty until
    /// the next snapshot.
    pub tick_size_changed: bool,
    /// The winning asset id of a `market_resolved` event for these tokens ("" when the
    /// venue names none).
    pub resolved: Option<String>,
}

impl FrameSummary {
    /// Whether the books must be rebuilt from snapshots: a mismatch or a new tick epoch.
    pub fn needs_resync(&self) -> bool {
        self.tick_size_changed || !self.mismatches.is_empty()
    }
}

/// One checked operation of the first pass, applied by the second.
#[derive(Debug)]
enum Op {
    Snapshot {
        token: usize,
        tick: u64,
        bids: Range<usize>,
        asks: Range<usize>,
    },
    Change {
        token: usize,
        side: Side,
        price: u64,
        size: u64,
    },
    Check {
        token: usize,
        venue: (Option<u64>, Option<u64>),
    },
    Trade(Trade),
    Tick {
        token: usize,
        tick: u64,
    },
    Resolved(String),
}

/// One parsed `price_changes` entry; `token` is None for tokens of other books.
#[derive(Debug, Clone, Copy)]
struct Change {
    token: Option<usize>,
    side: Side,
    price: u64,
    size: u64,
    venue: Option<(Option<u64>, Option<u64>)>,
}

/// Buffers reused from frame to frame.
#[derive(Debug, Default)]
struct Scratch {
    levels: Vec<(u64, u64)>,
    changes: Vec<Change>,
    ops: Vec<Op>,
    /// Each token's tick as the frame so far leaves it (first pass).
    ticks: Vec<u64>,
    /// Per-token flags, all false between uses.
    marks: Vec<bool>,
    /// Per-token venue statement of the event being read (first pass).
    venue: Vec<(Option<u64>, Option<u64>)>,
    /// Tokens in first-seen order (an event's, then the frame's); empty between uses.
    touched: Vec<usize>,
}

/// The books of a set of outcome tokens (typically a market's two), fed by raw frames.
#[derive(Debug)]
pub struct MarketBooks {
    ids: Vec<Box<str>>,
    /// Asset id bytes to position: frames hand out field values as bytes.
    index: FxHashMap<Box<[u8]>, usize>,
    books: Vec<Book>,
    scratch: Scratch,
}

impl MarketBooks {
    /// Empty books on the grid of `tick` for each asset id, in this order.
    ///
    /// # Errors
    /// [`BookError::InvalidTick`] for a tick the venue does not use,
    /// [`BookError::DuplicateAsset`] if an asset id is given twice.
    pub fn new<S: AsRef<str>>(tick: u64, ids: &[S]) -> Result<Self, BookError> {
        let book = Book::new(tick)?;
        let mut index = FxHashMap::default();
        for (position, id) in ids.iter().enumerate() {
            if index
                .insert(id.as_ref().as_bytes().into(), position)
                .is_some()
            {
                return Err(BookError::DuplicateAsset { index: position });
            }
        }
        Ok(Self {
            ids: ids.iter().map(|id| id.as_ref().into()).collect(),
            index,
            books: vec![book; ids.len()],
            scratch: Scratch {
                marks: vec![false; ids.len()],
                venue: vec![(None, None); ids.len()],
                ..Scratch::default()
            },
        })
    }

    /// The asset ids, in the order given to [`MarketBooks::new`].
    pub fn ids(&self) -> &[Box<str>] {
        &self.ids
    }

    /// The position of an asset id, if it is one of these books'.
    pub fn token(&self, asset_id: &str) -> Option<usize> {
        self.index.get(asset_id.as_bytes()).copied()
    }

    /// The book at a position.
    pub fn book(&self, token: usize) -> Option<&Book> {
        self.books.get(token)
    }

    /// The book at a position, to change it directly (replays, tests).
    pub fn book_mut(&mut self, token: usize) -> Option<&mut Book> {
        self.books.get_mut(token)
    }

    /// Number of books.
    pub fn len(&self) -> usize {
        self.books.len()
    }

    /// Whether there are no books at all.
    pub fn is_empty(&self) -> bool {
        self.books.is_empty()
    }

    /// Bytes held by the books and the id index (not the reusable frame buffers).
    pub fn memory_bytes(&self) -> usize {
        let books: usize = self.books.iter().map(Book::memory_bytes).sum();
        let ids: usize = self.ids.iter().map(|id| 2 * (id.len() + 16) + 8).sum();
        std::mem::size_of::<Self>() + books + ids
    }

    /// Replace a token's book with a snapshot (for example from REST `/book`), moving it
    /// to the grid of `tick` first when one is given.
    ///
    /// # Errors
    /// [`BookError::InvalidTick`], or [`BookError::OffGrid`] / [`BookError::OutOfRange`]
    /// for a bad price; the book is then unchanged.
    ///
    /// # Panics
    /// Never: a position past the end is ignored (check it with [`MarketBooks::token`]).
    pub fn apply_snapshot(
        &mut self,
        token: usize,
        bids: &[(u64, u64)],
        asks: &[(u64, u64)],
        tick: Option<u64>,
    ) -> Result<(), BookError> {
        let Some(book) = self.books.get_mut(token) else {
            return Ok(());
        };
        match tick {
            Some(tick) if tick != book.tick() => {
                let mut fresh = Book::new(tick)?;
                fresh.apply_snapshot(bids, asks)?;
                *book = fresh;
                Ok(())
            }
            _ => book.apply_snapshot(bids, asks),
        }
    }

    /// Parse one raw market-channel frame and apply every event in it to these books.
    ///
    /// Events for other tokens are skipped (a frame may carry several markets). After a
    /// `price_change` event, each token's book is compared with the best bid/ask the
    /// venue stated in that token's last entry of the event (the venue states them after
    /// each entry, or after all of them; the last entry's values are the ones after the
    /// whole event in both cases); a `best_bid_ask` event is compared the same way.
    /// Disagreements are reported, not raised: the caller resyncs.
    ///
    /// # Errors
    /// [`FrameError`] if the frame is not JSON (nor a known text frame), not events, has
    /// a malformed decimal, side or tick, lacks a field its event needs, or has a price
    /// off its book's grid. Nothing is applied then: the books are unchanged.
    pub fn apply_frame(&mut self, frame: &[u8]) -> Result<FrameSummary, FrameError> {
        if let Some(text) = TextFrame::parse(frame) {
            return Ok(FrameSummary {
                text: Some(text),
                ..FrameSummary::default()
            });
        }
        let scratch = &mut self.scratch;
        scratch.levels.clear();
        scratch.changes.clear();
        scratch.ops.clear();
        scratch.touched.clear();
        scratch.ticks.clear();
        scratch.ticks.extend(self.books.iter().map(Book::tick));
        let mut parser = Parser {
            index: &self.index,
            scratch,
            event: 0,
            events: 0,
            ignored: 0,
        };
        let mut reader = Reader::new(frame);
        match reader.peek() {
            Some(b'[') => reader.array(|reader| parser.event(reader))?,
            Some(b'{') => parser.event(&mut reader)?,
            _ => {
                reader.skip_value()?;
                reader.end()?;
                return Err(FrameError::Json(
                    "expected an event object or an array of them".to_owned(),
                ));
            }
        }
        reader.end()?;
        let mut summary = FrameSummary {
            events: parser.events,
            ignored: parser.ignored,
            ..FrameSummary::default()
        };
        self.apply_ops(&mut summary)?;
        Ok(summary)
    }

    /// The second pass: apply the checked operations and fill in the summary.
    ///
    /// # Errors
    /// None in practice: the first pass checked everything a book can reject. Should a
    /// book still reject an operation, every book the frame touched is cleared (so the
    /// next integrity check fails) and [`FrameError::Book`] is returned.
    fn apply_ops(&mut self, summary: &mut FrameSummary) -> Result<(), FrameError> {
        let Scratch {
            levels,
            ops,
            marks,
            touched,
            ..
        } = &mut self.scratch;
        let books = &mut self.books;
        touched.clear();
        let mut failure = None;
        for op in ops.drain(..) {
            let token = match op {
                Op::Snapshot { token, .. }
                | Op::Change { token, .. }
                | Op::Check { token, .. }
                | Op::Tick { token, .. } => token,
                Op::Trade(trade) => {
                    summary.trades.push(trade);
                    continue;
                }
                Op::Resolved(winner) => {
                    summary.resolved = Some(winner);
                    continue;
                }
            };
            let Some(book) = books.get_mut(token) else {
                continue;
            };
            let applied = match op {
                Op::Snapshot {
                    tick, bids, asks, ..
                } => regrid(book, tick, token, summary).and_then(|()| {
                    let bids = levels.get(bids).unwrap_or_default();
                    let asks = levels.get(asks).unwrap_or_default();
                    book.apply_snapshot(bids, asks)
                }),
                Op::Change {
                    side, price, size, ..
                } => book.apply_change(side, price, size),
                Op::Check { venue, .. } => {
                    let mine = book.best_prices();
                    if mine != venue {
                        summary.mismatches.push(Mismatch {
                            token,
                            book: mine,
                            venue,
                        });
                    }
                    continue;
                }
                Op::Tick { tick, .. } => {
                    summary.tick_size_changed = true;
                    let old = book.tick();
                    Book::new(tick).map(|fresh| {
                        *book = fresh;
                        summary.tick_changes.push(TickChange {
                            token,
                            old,
                            new: tick,
                        });
                    })
                }
                Op::Trade(_) | Op::Resolved(_) => continue,
            };
            if let Some(mark) = marks.get_mut(token) {
                if !*mark {
                    *mark = true;
                    touched.push(token);
                }
            }
            if let Err(error) = applied {
                failure = Some(error);
                break;
            }
        }
        ops.clear();
        for &token in touched.iter() {
            if let Some(mark) = marks.get_mut(token) {
                *mark = false;
            }
            let Some(book) = books.get_mut(token) else {
                continue;
            };
            if failure.is_some() {
                book.clear();
            }
            let (best_bid, best_ask) = book.best_prices();
            summary.changed.push(TokenBest {
                token,
                best_bid,
                best_ask,
            });
        }
        touched.clear();
        failure.map_or(Ok(()), |error| Err(FrameError::Book(error)))
    }
}

/// Move a book to another grid (emptying it) if a snapshot says so, and report it.
fn regrid(
    book: &mut Book,
    tick: u64,
    token: usize,
    summary: &mut FrameSummary,
) -> Result<(), BookError> {
    let old = book.tick();
    if old != tick {
        *book = Book::new(tick)?;
        summary.tick_changes.push(TickChange {
            token,
            old,
            new: tick,
        });
    }
    Ok(())
}

impl From<SyntaxError> for FrameError {
    fn from(error: SyntaxError) -> Self {
        Self::Json(error.to_string())
    }
}

/// The distinct `market` (condition id) values of a frame's events, in order of first
/// appearance, for routing a frame without applying it. Text frames have none.
///
/// # Errors
/// [`FrameError`] if the frame is not a JSON event object or array of them, or an event
/// has no string `market`.
pub fn frame_markets(frame: &[u8]) -> Result<Vec<Cow<'_, str>>, FrameError> {
    let mut markets = Vec::new();
    if TextFrame::parse(frame).is_some() {
        return Ok(markets);
    }
    let mut index = 0;
    let mut reader = Reader::new(frame);
    match reader.peek() {
        Some(b'[') => reader.array(|reader| scan_event(reader, &mut markets, &mut index))?,
        _ => scan_event(&mut reader, &mut markets, &mut index)?,
    }
    reader.end()?;
    Ok(markets)
}

/// Read one event for [`frame_markets`], adding its market if new.
fn scan_event<'a>(
    reader: &mut Reader<'a>,
    markets: &mut Vec<Cow<'a, str>>,
    index: &mut usize,
) -> Result<(), FrameError> {
    let mut market = None;
    reader.object(|reader, key| {
        if key.as_ref() == b"market" {
            market = Some(reader.scalar()?);
            Ok(())
        } else {
            reader.skip_value()
        }
    })?;
    match market {
        Some(Scalar::Str(market)) => {
            // The reader hands out only valid UTF-8, so this conversion cannot fail.
            let market = match market {
                Cow::Borrowed(bytes) => Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or("")),
                Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
            };
            if !markets.contains(&market) {
                markets.push(market);
            }
            *index += 1;
            Ok(())
        }
        other => Err(FrameError::Event {
            index: *index,
            reason: if other.is_some() {
                "market is not a string".to_owned()
            } else {
                "no market".to_owned()
            },
        }),
    }
}

// --- the first pass: reading events into checked operations --------------------------

/// Read a string value and parse it at once; `at` places a complaint in the frame.
fn parsed<T>(
    reader: &mut Reader<'_>,
    name: &str,
    parse: impl FnOnce(&[u8]) -> Option<T>,
    at: impl Fn(String) -> FrameError,
) -> Result<T, FrameError> {
    match reader.scalar()? {
        Scalar::Str(text) => parse(&text).ok_or_else(|| {
            let what = match name {
                "side" => "BUY or SELL",
                "best_bid" | "best_ask" => "a price in [0, 1] with at most 6 decimal places",
                _ => "a decimal with at most 6 places",
            };
            at(format!(
                "{name} {:?} is not {what}",
                String::from_utf8_lossy(&text)
            ))
        }),
        Scalar::NotStr => Err(at(format!("{name} is not a string"))),
    }
}

/// The string in an optional field, or why there is none.
fn required<'a>(field: &'a Option<Scalar<'_>>, name: &str) -> Result<&'a [u8], String> {
    match field {
        Some(Scalar::Str(text)) => Ok(text),
        Some(Scalar::NotStr) => Err(format!("{name} is not a string")),
        None => Err(format!("no {name}")),
    }
}

/// A decimal field in micro units, or why not.
fn micro_field(field: &Option<Scalar<'_>>, name: &str) -> Result<u64, String> {
    let text = required(field, name)?;
    parse_micro(text).ok_or_else(|| {
        format!(
            "{name} {:?} is not a decimal with at most 6 places",
            String::from_utf8_lossy(text)
        )
    })
}

/// A side field, or why not.
fn side_field(field: &Option<Scalar<'_>>) -> Result<Side, String> {
    let text = required(field, "side")?;
    parse_side(text).ok_or_else(|| {
        format!(
            "side {:?} is not BUY or SELL",
            String::from_utf8_lossy(text)
        )
    })
}

/// A best-price field (`Some(None)` for an empty side), or why not.
fn best_field(field: &Option<Scalar<'_>>, name: &str) -> Result<Option<u64>, String> {
    let text = required(field, name)?;
    parse_best(text).ok_or_else(|| {
        format!(
            "{name} {:?} is not a price in [0, 1] with at most 6 decimal places",
            String::from_utf8_lossy(text)
        )
    })
}

/// A tick-size field in micro units, or why not.
fn tick_field(field: &Option<Scalar<'_>>, name: &str) -> Result<u64, String> {
    let text = required(field, name)?;
    parse_tick(text).ok_or_else(|| {
        format!(
            "{name} {:?} is not one of the venue's ticks \
             (0.1, 0.01, 0.005, 0.0025, 0.001, 0.0001)",
            String::from_utf8_lossy(text)
        )
    })
}

/// Everything one event (or one `price_changes` entry) said that the parser may need,
/// read in any key order; a repeated key keeps its last value.
#[derive(Default)]
struct RawEvent<'a> {
    kind: Option<Scalar<'a>>,
    asset_id: Option<Scalar<'a>>,
    price: Option<Scalar<'a>>,
    size: Option<Scalar<'a>>,
    side: Option<Scalar<'a>>,
    best_bid: Option<Scalar<'a>>,
    best_ask: Option<Scalar<'a>>,
    new_tick_size: Option<Scalar<'a>>,
    tick_size: Option<Scalar<'a>>,
    winning_asset_id: Option<Scalar<'a>>,
    bids: Option<Range<usize>>,
    asks: Option<Range<usize>>,
    changes: Option<Range<usize>>,
    /// `assets_ids` listed one of these books' tokens.
    names_ours: bool,
}

/// The first pass's state: where parsed levels and operations go.
struct Parser<'s> {
    index: &'s FxHashMap<Box<[u8]>, usize>,
    scratch: &'s mut Scratch,
    /// Index of the event being read within the frame.
    event: usize,
    events: usize,
    ignored: usize,
}

impl Parser<'_> {
    fn invalid(&self, reason: String) -> FrameError {
        FrameError::Event {
            index: self.event,
            reason,
        }
    }

    /// Read one event object, then check it and turn it into operations.
    fn event(&mut self, reader: &mut Reader<'_>) -> Result<(), FrameError> {
        if reader.peek() != Some(b'{') {
            return Err(self.invalid("not an event object".to_owned()));
        }
        let mut raw = RawEvent::default();
        reader.object(|reader, key| -> Result<(), FrameError> {
            match key.as_ref() {
                b"event_type" => raw.kind = Some(reader.scalar()?),
                b"asset_id" => raw.asset_id = Some(reader.scalar()?),
                b"price" => raw.price = Some(reader.scalar()?),
                b"size" => raw.size = Some(reader.scalar()?),
                b"side" => raw.side = Some(reader.scalar()?),
                b"best_bid" => raw.best_bid = Some(reader.scalar()?),
                b"best_ask" => raw.best_ask = Some(reader.scalar()?),
                b"new_tick_size" => raw.new_tick_size = Some(reader.scalar()?),
                b"tick_size" => raw.tick_size = Some(reader.scalar()?),
                b"winning_asset_id" => raw.winning_asset_id = Some(reader.scalar()?),
                b"bids" => raw.bids = Some(self.levels(reader, "bids")?),
                b"asks" => raw.asks = Some(self.levels(reader, "asks")?),
                b"price_changes" => raw.changes = Some(self.changes(reader)?),
                b"assets_ids" => raw.names_ours = self.names_ours(reader)?,
                _ => reader.skip_value()?,
            }
            Ok(())
        })?;
        self.finish(&raw).map_err(|reason| self.invalid(reason))?;
        self.scratch.changes.clear();
        self.event += 1;
        Ok(())
    }

    /// `bids` / `asks`: `{"price", "size"}` objects appended to the level buffer; the
    /// value is where they landed.
    fn levels(&mut self, reader: &mut Reader<'_>, name: &str) -> Result<Range<usize>, FrameError> {
        let start = self.scratch.levels.len();
        if reader.peek() != Some(b'[') {
            return Err(self.invalid(format!("{name} is not an array")));
        }
        let mut position = 0;
        reader.array(|reader| -> Result<(), FrameError> {
            let at = |reason: String| self.invalid(format!("{name}[{position}]: {reason}"));
            if reader.peek() != Some(b'{') {
                return Err(at("not a level object".to_owned()));
            }
            let (mut price, mut size) = (None, None);
            reader.object(|reader, key| -> Result<(), FrameError> {
                match key.as_ref() {
                    b"price" => price = Some(parsed(reader, "price", parse_micro, at)?),
                    b"size" => size = Some(parsed(reader, "size", parse_micro, at)?),
                    _ => reader.skip_value()?,
                }
                Ok(())
            })?;
            let (Some(price), Some(size)) = (price, size) else {
                return Err(at("a level needs a price and a size".to_owned()));
            };
            self.scratch.levels.push((price, size));
            position += 1;
            Ok(())
        })?;
        Ok(start..self.scratch.levels.len())
    }

    /// `price_changes`: entries appended to the change buffer, each read field by field
    /// as it comes (asset, side, price, new total size, and the venue's best prices for
    /// that asset when it states them).
    fn changes(&mut self, reader: &mut Reader<'_>) -> Result<Range<usize>, FrameError> {
        let start = self.scratch.changes.len();
        if reader.peek() != Some(b'[') {
            return Err(self.invalid("price_changes is not an array".to_owned()));
        }
        let mut position = 0;
        reader.array(|reader| -> Result<(), FrameError> {
            let at = |reason: String| self.invalid(format!("price_changes[{position}]: {reason}"));
            if reader.peek() != Some(b'{') {
                return Err(at("not an object".to_owned()));
            }
            let index = self.index;
            let mut token = None;
            let (mut price, mut size, mut side) = (None, None, None);
            let (mut best_bid, mut best_ask) = (None, None);
            reader.object(|reader, key| -> Result<(), FrameError> {
                match key.as_ref() {
                    b"asset_id" => {
                        token = Some(parsed(
                            reader,
                            "asset_id",
                            |id| Some(index.get(id).copied()),
                            at,
                        )?);
                    }
                    b"price" => price = Some(parsed(reader, "price", parse_micro, at)?),
                    b"size" => size = Some(parsed(reader, "size", parse_micro, at)?),
                    b"side" => side = Some(parsed(reader, "side", parse_side, at)?),
                    b"best_bid" => best_bid = Some(parsed(reader, "best_bid", parse_best, at)?),
                    b"best_ask" => best_ask = Some(parsed(reader, "best_ask", parse_best, at)?),
                    _ => reader.skip_value()?,
                }
                Ok(())
            })?;
            let missing = |name: &str| at(format!("no {name}"));
            let change = Change {
                token: token.ok_or_else(|| missing("asset_id"))?,
                side: side.ok_or_else(|| missing("side"))?,
                price: price.ok_or_else(|| missing("price"))?,
                size: size.ok_or_else(|| missing("size"))?,
                venue: match (best_bid, best_ask) {
                    (None, None) => None,
                    (Some(bid), Some(ask)) => Some((bid, ask)),
                    (None, Some(_)) => return Err(missing("best_bid")),
                    (Some(_), None) => return Err(missing("best_ask")),
                },
            };
            self.scratch.changes.push(change);
            position += 1;
            Ok(())
        })?;
        Ok(start..self.scratch.changes.len())
    }

    /// One `price_changes` entry: asset, side, price, new total size, and the venue's
    /// best prices for that asset when it states them.
    fn change_entry(&self, raw: &RawEvent<'_>) -> Result<Change, String> {
        let token = self.token(raw)?;
        let price = micro_field(&raw.price, "price")?;
        let size = micro_field(&raw.size, "size")?;
        let side = side_field(&raw.side)?;
        let venue = match (&raw.best_bid, &raw.best_ask) {
            (None, None) => None,
            _ => Some((
                best_field(&raw.best_bid, "best_bid")?,
                best_field(&raw.best_ask, "best_ask")?,
            )),
        };
        Ok(Change {
            token,
            side,
            price,
            size,
            venue,
        })
    }

    /// `assets_ids`: whether any listed asset is one of these books' (anything but an
    /// array of strings names none).
    fn names_ours(&self, reader: &mut Reader<'_>) -> Result<bool, FrameError> {
        if reader.peek() != Some(b'[') {
            reader.skip_value()?;
            return Ok(false);
        }
        let mut ours = false;
        reader.array(|reader| -> Result<(), FrameError> {
            if let Scalar::Str(asset) = reader.scalar()? {
                ours |= self.index.contains_key(asset.as_ref());
            }
            Ok(())
        })?;
        Ok(ours)
    }

    /// The position of the event's asset, None for another book's asset.
    fn token(&self, raw: &RawEvent<'_>) -> Result<Option<usize>, String> {
        Ok(self
            .index
            .get(required(&raw.asset_id, "asset_id")?)
            .copied())
    }

    /// Check one parsed event and turn it into operations.
    fn finish(&mut self, raw: &RawEvent<'_>) -> Result<(), String> {
        let ours = match required(&raw.kind, "event_type")? {
            b"book" => self.book(raw)?,
            b"price_change" => self.price_change(raw)?,
            b"last_trade_price" => {
                let token = self.token(raw)?;
                let price = micro_field(&raw.price, "price")?;
                let size = micro_field(&raw.size, "size")?;
                let side = side_field(&raw.side)?;
                token.map(|token| {
                    let trade = Trade {
                        token,
                        price,
                        size,
                        side,
                    };
                    self.scratch.ops.push(Op::Trade(trade));
                })
            }
            b"tick_size_change" => {
                let token = self.token(raw)?;
                let tick = tick_field(&raw.new_tick_size, "new_tick_size")?;
                token.map(|token| {
                    self.scratch.ops.push(Op::Tick { token, tick });
                    if let Some(slot) = self.scratch.ticks.get_mut(token) {
                        *slot = tick;
                    }
                })
            }
            b"best_bid_ask" => {
                let token = self.token(raw)?;
                let venue = (
                    best_field(&raw.best_bid, "best_bid")?,
                    best_field(&raw.best_ask, "best_ask")?,
                );
                token.map(|token| self.scratch.ops.push(Op::Check { token, venue }))
            }
            b"market_resolved" => {
                let winner = match &raw.winning_asset_id {
                    None => &[][..],
                    Some(_) => required(&raw.winning_asset_id, "winning_asset_id")?,
                };
                let ours = raw.names_ours || self.index.contains_key(winner);
                let winner = String::from_utf8_lossy(winner).into_owned();
                ours.then(|| self.scratch.ops.push(Op::Resolved(winner)))
            }
            // new_market and anything newer carry nothing for the books.
            _ => None,
        };
        match ours {
            Some(()) => self.events += 1,
            None => self.ignored += 1,
        }
        Ok(())
    }

    /// A `book` snapshot: every level is checked against the grid it will be on.
    fn book(&mut self, raw: &RawEvent<'_>) -> Result<Option<()>, String> {
        let token = self.token(raw)?;
        let (Some(bids), Some(asks)) = (raw.bids.clone(), raw.asks.clone()) else {
            return Err("book without bids and asks".to_owned());
        };
        let tick = match &raw.tick_size {
            Some(_) => Some(tick_field(&raw.tick_size, "tick_size")?),
            None => None,
        };
        let Some(token) = token else {
            return Ok(None);
        };
        let Some(&current) = self.scratch.ticks.get(token) else {
            return Ok(None);
        };
        let tick = tick.unwrap_or(current);
        for range in [bids.clone(), asks.clone()] {
            for &(price, _) in self.scratch.levels.get(range).unwrap_or_default() {
                check_price(price, tick).map_err(|error| error.to_string())?;
            }
        }
        if let Some(slot) = self.scratch.ticks.get_mut(token) {
            *slot = tick;
        }
        self.scratch.ops.push(Op::Snapshot {
            token,
            tick,
            bids,
            asks,
        });
        Ok(Some(()))
    }

    /// A `price_change` event: its changes in order, then one integrity check per token
    /// against the venue's best prices in that token's last entry. The legacy form
    /// (one change at the top level, no best prices) is accepted too.
    fn price_change(&mut self, raw: &RawEvent<'_>) -> Result<Option<()>, String> {
        let Some(range) = raw.changes.clone() else {
            let Change {
                token,
                side,
                price,
                size,
                ..
            } = self.change_entry(raw)?;
            let Some(token) = token else {
                return Ok(None);
            };
            let tick = self.scratch.ticks.get(token).copied().unwrap_or(UNIT);
            check_price(price, tick).map_err(|error| error.to_string())?;
            self.scratch.ops.push(Op::Change {
                token,
                side,
                price,
                size,
            });
            return Ok(Some(()));
        };
        let scratch = &mut *self.scratch;
        let changes = scratch.changes.get(range).unwrap_or_default();
        let mut ours = false;
        for change in changes {
            if let Some(token) = change.token {
                let tick = scratch.ticks.get(token).copied().unwrap_or(UNIT);
                check_price(change.price, tick).map_err(|error| error.to_string())?;
                scratch.ops.push(Op::Change {
                    token,
                    side: change.side,
                    price: change.price,
                    size: change.size,
                });
                ours = true;
            }
        }
        // One check per token, in order of first appearance, with its last statement.
        for change in changes {
            if let (Some(token), Some(venue)) = (change.token, change.venue) {
                if let (Some(mark), Some(slot)) =
                    (scratch.marks.get_mut(token), scratch.venue.get_mut(token))
                {
                    if !*mark {
                        *mark = true;
                        scratch.touched.push(token);
                    }
                    *slot = venue;
                }
            }
        }
        for &token in &scratch.touched {
            if let (Some(mark), Some(&venue)) =
                (scratch.marks.get_mut(token), scratch.venue.get(token))
            {
                *mark = false;
                scratch.ops.push(Op::Check { token, venue });
            }
        }
        scratch.touched.clear();
        Ok(ours.then_some(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YES: &str =
        "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    const NO: &str =
        "52114319501245915516055106046884209969926127482827954674443846427813813222426";

    fn books() -> MarketBooks {
        MarketBooks::new(10_000, &[YES, NO]).expect("valid books")
    }

    fn snapshot(asset: &str, bids: &str, asks: &str) -> String {
        format!(
            r#"{{"event_type":"book","asset_id":"{asset}","market":"0xm","bids":[{bids}],"asks":[{asks}],"timestamp":"1","hash":"h"}}"#
        )
    }

    fn level(price: &str, size: &str) -> String {
        format!(r#"{{"price":"{price}","size":"{size}"}}"#)
    }

    fn change(asset: &str, side: &str, price: &str, size: &str, best: (&str, &str)) -> String {
        format!(
            r#"{{"asset_id":"{asset}","price":"{price}","size":"{size}","side":"{side}","hash":"x","best_bid":"{}","best_ask":"{}"}}"#,
            best.0, best.1
        )
    }

    fn price_change(entries: &[String]) -> String {
        format!(
            r#"{{"market":"0xm","price_changes":[{}],"timestamp":"2","event_type":"price_change"}}"#,
            entries.join(",")
        )
    }

    /// Both books with a 0.49/0.51 YES market and its mirror on NO.
    fn seeded() -> MarketBooks {
        let mut b = books();
        let frame = format!(
            "[{},{}]",
            snapshot(YES, &level("0.49", "100"), &level("0.51", "50")),
            snapshot(NO, &level("0.49", "50"), &level("0.51", "100"))
        );
        let summary = b.apply_frame(frame.as_bytes()).expect("valid frame");
        assert_eq!(summary.events, 2);
        b
    }

    fn best(b: &MarketBooks, token: usize) -> (Option<u64>, Option<u64>) {
        b.book(token).expect("token").best_prices()
    }

    #[test]
    fn decimals_parse_exactly_and_strictly() {
        let cases: [(&[u8], Option<u64>); 14] = [
            (b"0.57", Some(570_000)),
            (b"200", Some(200_000_000)),
            (b"51.14", Some(51_140_000)),
            (b"0.000001", Some(1)),
            (b"200.0", Some(200_000_000)),
            (b"18446744073709.551615", Some(u64::MAX)),
            (b"18446744073709.551616", None),
            (b"0.0000001", None),
            (b"", None),
            (b".5", None),
            (b"5.", None),
            (b"-1", None),
            (b"1e3", None),
            (b" 1", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_micro(text),
                expected,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(parse_best(b""), Some(None));
        assert_eq!(parse_best(b"0"), Some(None));
        assert_eq!(parse_best(b"1"), Some(None));
        assert_eq!(parse_best(b"1.00"), Some(None));
        assert_eq!(parse_best(b"0.5"), Some(Some(500_000)));
        assert_eq!(parse_best(b"1.5"), None);
        assert_eq!(parse_tick(b"0.0025"), Some(2_500));
        assert_eq!(parse_tick(b"0.02"), None);
    }

    #[test]
    fn text_frames_are_reported_not_errors() {
        let mut b = books();
        for (text, kind) in [
            (&b"PONG"[..], TextFrame::Pong),
            (b"NO NEW ASSETS", TextFrame::NoNewAssets),
            (b" PONG\n", TextFrame::Pong),
        ] {
            let summary = b.apply_frame(text).expect("text frame");
            assert_eq!(summary.text, Some(kind));
            assert_eq!(summary.events, 0);
        }
        assert!(matches!(b.apply_frame(b"PING"), Err(FrameError::Json(_))));
        assert_eq!(frame_markets(b"PONG"), Ok(vec![]));
    }

    #[test]
    fn book_snapshots_replace_the_book_best_last_order_irrelevant() {
        let mut b = seeded();
        let frame = snapshot(
            YES,
            &[level("0.40", "1"), level("0.45", "2")].join(","),
            &[level("0.60", "3"), level("0.55", "4")].join(","),
        );
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert_eq!(
            summary.changed,
            vec![TokenBest {
                token: 0,
                best_bid: Some(450_000),
                best_ask: Some(550_000)
            }]
        );
        let book = b.book(0).expect("yes");
        assert_eq!(
            book.levels(Side::Bid, 9),
            vec![(450_000, 2_000_000), (400_000, 1_000_000)]
        );
        assert_eq!(
            book.levels(Side::Ask, 9),
            vec![(550_000, 4_000_000), (600_000, 3_000_000)]
        );
        assert_eq!(best(&b, 1), (Some(490_000), Some(510_000)));
    }

    #[test]
    fn price_changes_set_totals_and_pass_the_integrity_check() {
        let mut b = seeded();
        // A resting BUY YES 0.50 x 200 shows on both books, as the venue mirrors it.
        let frame = price_change(&[
            change(YES, "BUY", "0.5", "200", ("0.5", "0.51")),
            change(NO, "SELL", "0.5", "200", ("0.49", "0.5")),
        ]);
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert_eq!(summary.events, 1);
        assert!(summary.mismatches.is_empty());
        assert!(!summary.needs_resync());
        assert_eq!(summary.changed.len(), 2);
        assert_eq!(best(&b, 0), (Some(500_000), Some(510_000)));
        assert_eq!(best(&b, 1), (Some(490_000), Some(500_000)));
        // Size 0 removes the level.
        let frame = price_change(&[change(YES, "BUY", "0.50", "0", ("0.49", "0.51"))]);
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert!(summary.mismatches.is_empty());
        assert_eq!(best(&b, 0), (Some(490_000), Some(510_000)));
    }

    #[test]
    fn the_check_uses_each_tokens_last_entry_after_the_whole_event() {
        let mut b = seeded();
        // Per-entry statements (real venue) and after-the-event statements (simulator)
        // both end with the same last entry per token.
        let frame = price_change(&[
            change(YES, "BUY", "0.5", "1", ("0.5", "0.51")),
            change(YES, "SELL", "0.505", "1", ("0.5", "0.505")),
        ]);
        let summary = b.apply_frame(frame.as_bytes());
        assert!(
            matches!(summary, Err(FrameError::Event { index: 0, .. })),
            "0.505 is off a 0.01 grid"
        );
        let frame = price_change(&[
            change(YES, "BUY", "0.5", "1", ("0.49", "0.51")),
            change(YES, "SELL", "0.52", "1", ("0.5", "0.51")),
        ]);
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert!(summary.mismatches.is_empty(), "{summary:?}");
        let frame = price_change(&[change(YES, "BUY", "0.3", "1", ("0.3", "0.51"))]);
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert_eq!(
            summary.mismatches,
            vec![Mismatch {
                token: 0,
                book: (Some(500_000), Some(510_000)),
                venue: (Some(300_000), Some(510_000))
            }]
        );
        assert!(summary.needs_resync());
    }

    #[test]
    fn empty_sides_are_zero_one_or_empty_text() {
        let mut b = books();
        let frame = price_change(&[
            change(YES, "BUY", "0.4", "1", ("0.4", "1")),
            change(NO, "SELL", "0.6", "1", ("", "0.6")),
        ]);
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert!(summary.mismatches.is_empty(), "{summary:?}");
        let frame = format!(
            r#"{{"event_type":"best_bid_ask","asset_id":"{YES}","market":"0xm","best_bid":"0.4","best_ask":"0","spread":"0.6"}}"#
        );
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert!(summary.mismatches.is_empty());
        assert!(summary.changed.is_empty());
    }

    #[test]
    fn trades_ticks_and_resolution_are_reported() {
        let mut b = seeded();
        let frame = format!(
            r#"[{{"event_type":"last_trade_price","asset_id":"{YES}","market":"0xm","price":"0.51","side":"BUY","size":"25","fee_rate_bps":"0","timestamp":"3"}},
                {{"event_type":"tick_size_change","asset_id":"{NO}","market":"0xm","old_tick_size":"0.01","new_tick_size":"0.001","timestamp":"4"}},
                {{"event_type":"market_resolved","id":"1","market":"0xm","assets_ids":["{YES}","{NO}"],"winning_asset_id":"{NO}","winning_outcome":"No","timestamp":"5","tags":[]}}]"#
        );
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert_eq!(
            summary.trades,
            vec![Trade {
                token: 0,
                price: 510_000,
                size: 25_000_000,
                side: Side::Bid
            }]
        );
        assert_eq!(
            summary.tick_changes,
            vec![TickChange {
                token: 1,
                old: 10_000,
                new: 1_000
            }]
        );
        assert!(summary.tick_size_changed && summary.needs_resync());
        assert_eq!(summary.resolved.as_deref(), Some(NO));
        assert_eq!(summary.events, 3);
        assert_eq!(b.book(1).map(Book::tick), Some(1_000));
        assert_eq!(best(&b, 1), (None, None), "a new epoch starts empty");
        // The new grid is in force at once: 0.505 is now a valid NO price.
        let frame = price_change(&[change(NO, "BUY", "0.505", "1", ("0.505", "1"))]);
        assert!(b
            .apply_frame(frame.as_bytes())
            .expect("valid")
            .mismatches
            .is_empty());
    }

    #[test]
    fn a_snapshot_with_another_tick_size_regrids_its_book() {
        let mut b = seeded();
        let frame = format!(
            r#"{{"event_type":"book","asset_id":"{YES}","market":"0xm","bids":[{{"price":"0.495","size":"1"}}],"asks":[],"tick_size":"0.005","version":"v2"}}"#
        );
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert_eq!(summary.tick_changes.len(), 1);
        assert!(!summary.needs_resync(), "a snapshot is itself the resync");
        assert_eq!(best(&b, 0), (Some(495_000), None));
    }

    #[test]
    fn other_tokens_and_kinds_are_skipped() {
        let mut b = seeded();
        let other = "1".repeat(77);
        let frame = format!(
            "[{},{},{}]",
            snapshot(&other, &level("0.1", "1"), ""),
            price_change(&[change(&other, "BUY", "0.2", "1", ("0.2", "1"))]),
            r#"{"event_type":"new_market","id":"9","market":"0xn","assets_ids":["a","b"],"outcomes":["Yes","No"],"order_price_min_tick_size":0.01}"#
        );
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert_eq!((summary.events, summary.ignored), (0, 3));
        assert!(summary.changed.is_empty());
        let resolved = r#"{"event_type":"market_resolved","market":"0xn","assets_ids":["a","b"],"winning_asset_id":"a"}"#;
        assert_eq!(
            b.apply_frame(resolved.as_bytes()).expect("valid").resolved,
            None
        );
    }

    #[test]
    fn malformed_frames_are_errors_and_change_nothing() {
        let good = price_change(&[change(YES, "BUY", "0.3", "9", ("0.49", "0.51"))]);
        let cases = [
            good.replace("0.3", "0.3000001"),
            good.replace("\"BUY\"", "\"HOLD\""),
            good.replace("\"0.3\"", "0.3"),
            good.replace("\"0.3\"", "\"1.3\""),
            good.replace(",\"size\":\"9\"", ""),
            good.replace("\"price_changes\":[", "\"price_changes\":[1,"),
            good.replace(
                "\"event_type\":\"price_change\"",
                "\"type\":\"price_change\"",
            ),
            good[..good.len() - 1].to_owned(),
            format!("{good} x"),
            format!("[{good},]"),
            format!(
                r#"{{"event_type":"tick_size_change","asset_id":"{YES}","new_tick_size":"0.02"}}"#
            ),
            format!(
                r#"{{"event_type":"book","asset_id":"{YES}","bids":[{{"price":"0.5"}}],"asks":[]}}"#
            ),
            "[1, 2, 3]".to_owned(),
            "\"text\"".to_owned(),
            String::new(),
        ];
        for frame in cases {
            let mut b = seeded();
            // A valid event first, so "nothing applied" is checked, not just "nothing".
            let frame = format!("[{},{frame}]", change_frame_ok());
            let before = (best(&b, 0), best(&b, 1));
            let levels = b.book(0).expect("yes").levels(Side::Bid, 99);
            assert!(b.apply_frame(frame.as_bytes()).is_err(), "{frame}");
            assert_eq!((best(&b, 0), best(&b, 1)), before, "{frame}");
            assert_eq!(b.book(0).expect("yes").levels(Side::Bid, 99), levels);
        }
    }

    fn change_frame_ok() -> String {
        price_change(&[change(YES, "BUY", "0.2", "5", ("0.49", "0.51"))])
    }

    #[test]
    fn errors_say_which_event_and_why() {
        let mut b = seeded();
        let frame = format!(
            "[{},{}]",
            change_frame_ok(),
            price_change(&[change(YES, "BUY", "0.2", "1.0000001", ("0.49", "0.51"))])
        );
        let error = b.apply_frame(frame.as_bytes()).expect_err("bad size");
        assert_eq!(
            error.to_string(),
            "event 1 of the frame: price_changes[0]: size \"1.0000001\" is not a decimal with at most 6 places"
        );
        let error = b.apply_frame(b"{\"event_type\": }").expect_err("bad json");
        assert_eq!(
            error.to_string(),
            "malformed frame: expected a JSON value at byte 15"
        );
    }

    #[test]
    fn legacy_single_change_price_change_is_applied_without_a_check() {
        let mut b = seeded();
        let frame = format!(
            r#"{{"asset_id":"{YES}","event_type":"price_change","hash":"h","market":"0xm","price":"0.48","side":"BUY","size":"7","timestamp":"1"}}"#
        );
        let summary = b.apply_frame(frame.as_bytes()).expect("valid");
        assert_eq!(summary.events, 1);
        assert_eq!(b.book(0).expect("yes").levels(Side::Bid, 9).len(), 2);
    }

    #[test]
    fn frame_markets_lists_each_market_once_in_order() {
        let frame = format!(
            "[{},{},{}]",
            snapshot(YES, "", "").replace("0xm", "0xb"),
            change_frame_ok(),
            snapshot(NO, "", "").replace("0xm", "0xb")
        );
        assert_eq!(
            frame_markets(frame.as_bytes()),
            Ok(vec![Cow::Borrowed("0xb"), Cow::Borrowed("0xm")])
        );
        assert!(matches!(
            frame_markets(b"[{\"event_type\":\"book\"}]"),
            Err(FrameError::Event { index: 0, .. })
        ));
        assert!(matches!(
            frame_markets(b"{\"market\":"),
            Err(FrameError::Json(_))
        ));
    }

    #[test]
    fn books_reject_bad_ticks_and_duplicate_ids() {
        assert_eq!(
            MarketBooks::new(3, &[YES]).err(),
            Some(BookError::InvalidTick { tick: 3 })
        );
        assert_eq!(
            MarketBooks::new(10_000, &[YES, NO, YES]).err(),
            Some(BookError::DuplicateAsset { index: 2 })
        );
        let mut b = seeded();
        assert_eq!(b.token(NO), Some(1));
        assert_eq!(b.token("nope"), None);
        b.apply_snapshot(1, &[(1_000, 5)], &[], Some(1_000))
            .expect("valid");
        assert_eq!(b.book(1).map(Book::tick), Some(1_000));
        let before = b.book(1).cloned();
        assert!(b.apply_snapshot(1, &[(1_500, 5)], &[], None).is_err());
        assert_eq!(b.book(1).cloned(), before);
    }

    #[test]
    fn a_thousand_books_on_a_fine_grid_stay_small() {
        let ids: Vec<String> = (0..1_000).map(|i| format!("{i:077}")).collect();
        let b = MarketBooks::new(1_000, &ids).expect("valid");
        assert!(b.memory_bytes() < 50 << 20, "{}", b.memory_bytes());
        assert!(b.memory_bytes() > 1_000 * 2 * 1_001 * 8);
    }
}
