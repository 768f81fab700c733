//! A small strict JSON pull reader for the venue's frames.
//!
//! Why not serde_json: on a ~600-byte `price_change` frame it spends about a microsecond
//! (as long as orjson building the whole Python object), mostly stepping through long
//! strings (asset ids, hashes) byte by byte. This reader checks strings 16 bytes at a
//! time (SSE2 on x86_64; elsewhere eight at a time with plain integer operations, SWAR)
//! for a quote, backslash, control or non-ASCII byte, and lets the caller act on each
//! key as it comes, borrowing strings from the frame, so nothing is allocated unless a
//! string has escapes. Strings are handed
//! out as the bytes of valid UTF-8 (checked only when a string has a non-ASCII byte):
//! the venue's fields are ASCII, compared and parsed as bytes.
//!
//! It accepts exactly RFC 8259 JSON: no comments, trailing commas, NaN, leading zeros,
//! control characters in strings, invalid UTF-8 or lone surrogate escapes; containers
//! may nest up to [`MAX_DEPTH`] deep.

use std::borrow::Cow;

/// Deepest nesting of arrays and objects accepted (the venue's frames use 4).
pub const MAX_DEPTH: usize = 128;

/// A syntax error: what was expected and the byte offset where it went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    pub what: &'static str,
    pub at: usize,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Flags (high bit of each byte) the bytes of `word` that end a fast string scan: `"`,
/// `\`, a control character (< 0x20) or a non-ASCII byte (>= 0x80). Only the lowest
/// flag is exact (borrows may set higher ones), which is the one used.
fn special_bytes(word: u64) -> u64 {
    let zero_in = |x: u64| x.wrapping_sub(ONES) & !x;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    let control_or_high = word.wrapping_sub(ONES * 0x20) | word;
    (quote | backslash | control_or_high) & HIGHS
}

/// Whether a byte ends a fast string scan (see [`special_bytes`]).
fn is_special(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || !(0x20..0x80).contains(&byte)
}

/// The position of the first special byte at or after `pos` (the length if none):
/// 16 bytes per step with SSE2 on x86_64, then 8 per step (SWAR), then one by one.
#[inline(always)]
fn find_special(bytes: &[u8], mut pos: usize) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    while let Some(chunk) = bytes.get(pos..pos.saturating_add(16)) {
        // SAFETY: `special_mask` only needs SSE2, which this cfg guarantees (it is part
        // of the x86_64 baseline, so every x86_64 build has it); it reads `chunk` through
        // safe slice accesses only.
        let mask = unsafe { sse2::special_mask(chunk) };
        if mask != 0 {
            return pos + mask.trailing_zeros() as usize;
        }
        pos += 16;
    }
    while let Some(word) = word_at(bytes, pos) {
        let flags = special_bytes(word);
        if flags != 0 {
            return pos + (flags.trailing_zeros() / 8) as usize;
        }
        pos += 8;
    }
    while let Some(&byte) = bytes.get(pos) {
        if is_special(byte) {
            return pos;
        }
        pos += 1;
    }
    pos
}

/// SSE2 (part of every x86_64 CPU): three compares and a movemask per 16 bytes.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
        _mm_set_epi64x,
    };

    /// Bit i is set if byte i of `chunk` (16 bytes) is `"`, `\`, below 0x20 or above
    /// 0x7f (a signed compare below 0x20 catches both of the last two); bytes past
    /// the end of a shorter `chunk` count as zeros (special).
    #[target_feature(enable = "sse2")]
    pub(super) fn special_mask(chunk: &[u8]) -> u32 {
        let half = |at: usize| {
            let mut word = [0u8; 8];
            if let Some(src) = chunk.get(at..at + 8) {
                word.copy_from_slice(src);
            }
            i64::from_le_bytes(word)
        };
        let v = _mm_set_epi64x(half(8), half(0));
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        let control_or_high = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
        let any = _mm_or_si128(_mm_or_si128(quote, backslash), control_or_high);
        _mm_movemask_epi8(any) as u32
    }
}

/// The eight bytes at `pos` as a little-endian word (first byte lowest), if there are.
fn word_at(bytes: &[u8], pos: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(pos..pos.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// The reader: a position in the frame's bytes.
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

/// A string's content: valid UTF-8, borrowed from the frame unless it had escapes.
pub type Text<'a> = Cow<'a, [u8]>;

/// A value read for a field whose type the caller checks later: a string, or a note
/// that it was some other (skipped) JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar<'a> {
    Str(Text<'a>),
    NotStr,
}

type Result<T> = std::result::Result<T, SyntaxError>;

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            depth: 0,
        }
    }

    fn fail(&self, what: &'static str) -> SyntaxError {
        SyntaxError { what, at: self.pos }
    }

    fn error<T>(&self, what: &'static str) -> Result<T> {
        Err(self.fail(what))
    }

    /// Skip whitespace and return the next byte without consuming it (None at the end).
    #[inline(always)]
    pub fn peek(&mut self) -> Option<u8> {
        // Fast path: every structural byte is above the space, whitespace is not.
        if let Some(&byte) = self.bytes.get(self.pos) {
            if byte > b' ' {
                return Some(byte);
            }
        }
        while let Some(&byte) = self.bytes.get(self.pos) {
            if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(byte);
            }
            self.pos += 1;
        }
        None
    }

    /// Consume `byte` (after whitespace).
    fn eat(&mut self, byte: u8, what: &'static str) -> Result<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.error(what)
        }
    }

    /// Require that only whitespace is left.
    ///
    /// # Errors
    /// A [`SyntaxError`] for anything after the value.
    pub fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.error("unexpected data after the JSON value"),
        }
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return self.error("nesting too deep");
        }
        self.depth += 1;
        Ok(())
    }

    /// Read an object, calling `entry(reader, key)` for each key; `entry` must read or
    /// skip the value. Duplicate keys are all passed on (the caller keeps the last).
    ///
    /// # Errors
    /// A [`SyntaxError`] for malformed JSON, or whatever `entry` returns.
    pub fn object<E: From<SyntaxError>>(
        &mut self,
        mut entry: impl FnMut(&mut Self, Text<'a>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.eat(b'{', "expected an object")?;
        self.enter()?;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.fail("expected a string key").into());
            }
            self.pos += 1;
            let key = self.string_body()?;
            self.eat(b':', "expected ':' after a key")?;
            entry(self, key)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(self.fail("expected ',' or '}'").into()),
            }
        }
    }

    /// Read an array, calling `element(reader)` for each element, which must read or
    /// skip it.
    ///
    /// # Errors
    /// A [`SyntaxError`] for malformed JSON, or whatever `element` returns.
    pub fn array<E: From<SyntaxError>>(
        &mut self,
        mut element: impl FnMut(&mut Self) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.eat(b'[', "expected an array")?;
        self.enter()?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            element(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(self.fail("expected ',' or ']'").into()),
            }
        }
    }

    /// Read a string value, or note (and skip) any other value.
    ///
    /// # Errors
    /// A [`SyntaxError`] for malformed JSON.
    #[inline(always)]
    pub fn scalar(&mut self) -> Result<Scalar<'a>> {
        if self.peek() == Some(b'"') {
            self.pos += 1;
            Ok(Scalar::Str(self.string_body()?))
        } else {
            self.skip_value()?;
            Ok(Scalar::NotStr)
        }
    }

    /// Read a string (the next byte must be its opening quote), borrowed from the frame
    /// unless it has escapes.
    ///
    /// # Errors
    /// A [`SyntaxError`] for an unterminated string, a control character, a bad escape
    /// or invalid UTF-8.
    pub fn string(&mut self) -> Result<Text<'a>> {
        if self.peek() != Some(b'"') {
            return self.error("expected a string");
        }
        self.pos += 1;
        self.string_body()
    }

    /// The rest of a string whose opening quote was just consumed.
    #[inline(always)]
    fn string_body(&mut self) -> Result<Text<'a>> {
        let bytes = self.bytes;
        let start = self.pos;
        let mut pos = start;
        let mut ascii = true;
        loop {
            pos = find_special(bytes, pos);
            let Some(&byte) = bytes.get(pos) else {
                self.pos = pos;
                return self.error("unterminated string");
            };
            match byte {
                b'"' => {
                    let raw = bytes.get(start..pos).unwrap_or_default();
                    if !ascii && std::str::from_utf8(raw).is_err() {
                        return Err(SyntaxError {
                            what: "invalid UTF-8 in a string",
                            at: start,
                        });
                    }
                    self.pos = pos + 1;
                    return Ok(Cow::Borrowed(raw));
                }
                b'\\' => {
                    self.pos = pos;
                    return self.escaped_string(start);
                }
                0..=0x1f => {
                    self.pos = pos;
                    return self.error("control character in a string");
                }
                _ => ascii = false,
            }
            pos += 1;
        }
    }

    /// The slow path for strings with escapes: decode into an owned string.
    fn escaped_string(&mut self, start: usize) -> Result<Text<'a>> {
        let bytes = self.bytes;
        let mut out: Vec<u8> = bytes.get(start..self.pos).unwrap_or_default().to_vec();
        loop {
            let Some(&byte) = bytes.get(self.pos) else {
                return self.error("unterminated string");
            };
            self.pos += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    let Some(&escape) = bytes.get(self.pos) else {
                        return self.error("unterminated string");
                    };
                    self.pos += 1;
                    match escape {
                        b'"' | b'\\' | b'/' => out.push(escape),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let ch = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return self.error("invalid escape in a string"),
                    }
                }
                0..=0x1f => {
                    self.pos -= 1;
                    return self.error("control character in a string");
                }
                _ => out.push(byte),
            }
        }
        match String::from_utf8(out) {
            Ok(decoded) => Ok(Cow::Owned(decoded.into_bytes())),
            Err(_) => Err(SyntaxError {
                what: "invalid UTF-8 in a string",
                at: start,
            }),
        }
    }

    /// The character of a `\uXXXX` escape (the `\u` consumed), pairing surrogates.
    fn unicode_escape(&mut self) -> Result<char> {
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return self.error("lone surrogate in a \\u escape");
                }
                self.pos += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return self.error("lone surrogate in a \\u escape");
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return self.error("lone surrogate in a \\u escape"),
            _ => high,
        };
        char::from_u32(code).map_or_else(|| self.error("invalid \\u escape"), Ok)
    }

    fn hex4(&mut self) -> Result<u32> {
        let mut value = 0;
        for _ in 0..4 {
            let Some(digit) = self
                .bytes
                .get(self.pos)
                .and_then(|&b| char::from(b).to_digit(16))
            else {
                return self.error("invalid \\u escape");
            };
            value = value * 16 + digit;
            self.pos += 1;
        }
        Ok(value)
    }

    /// Skip one value of any type, checking its syntax.
    ///
    /// # Errors
    /// A [`SyntaxError`] for malformed JSON.
    pub fn skip_value(&mut self) -> Result<()> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.string_body().map(drop)
            }
            Some(b'{') => self.object(|reader, _| reader.skip_value()),
            Some(b'[') => self.array(Self::skip_value),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => self.error("expected a JSON value"),
            None => self.error("unexpected end of data"),
        }
    }

    fn literal(&mut self, word: &'static [u8]) -> Result<()> {
        if self.bytes.get(self.pos..self.pos + word.len()) == Some(word) {
            self.pos += word.len();
            Ok(())
        } else {
            self.error("expected a JSON value")
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<()> {
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => {
                self.pos += 1;
                if self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    return self.error("leading zero in a number");
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return self.error("invalid number"),
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return self.error("invalid number");
            }
        }
        if matches!(self.bytes.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.bytes.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.error("invalid number");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Skip one whole document, as a validity check.
    fn valid(text: &[u8]) -> bool {
        let mut reader = Reader::new(text);
        reader.skip_value().and_then(|()| reader.end()).is_ok()
    }

    fn read_string(text: &[u8]) -> Result<Text<'_>> {
        let mut reader = Reader::new(text);
        let value = reader.string()?;
        reader.end()?;
        Ok(value)
    }

    #[test]
    fn accepts_rfc_8259_documents() {
        for text in [
            &b"{}"[..],
            b"[]",
            b" [1, -2, 3.5, -0.25e+10, 0, 0E3, true, false, null, \"x\"] ",
            b"{\"a\": {\"b\": [{}, [], \"\\u00e9\\n\"]}, \"c\": \"caf\xc3\xa9\"}",
            b"\"\\ud83d\\ude00\"",
            b"\t\r\n\"\"\n",
        ] {
            assert!(valid(text), "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn rejects_everything_else() {
        for text in [
            &b""[..],
            b"PONG",
            b"{",
            b"[1,]",
            b"{\"a\":1,}",
            b"{\"a\" 1}",
            b"{a:1}",
            b"[01]",
            b"[1.]",
            b"[.5]",
            b"[1e]",
            b"[-]",
            b"[NaN]",
            b"[Infinity]",
            b"[tru]",
            b"\"abc",
            b"\"a\x01b\"",
            b"\"\\x\"",
            b"\"\\ud800\"",
            b"\"\\udc00\"",
            b"\"\\ud800\\u0041\"",
            b"\"\xff\"",
            b"\"\xc3\"",
            b"[1] [2]",
            b"[1] x",
            b"// comment\n[]",
        ] {
            assert!(!valid(text), "{}", String::from_utf8_lossy(text));
        }
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let long =
            b"\"40113202025193181740822500498877260546965498642740503547096491847887927548587\"";
        assert!(matches!(read_string(long), Ok(Cow::Borrowed(s)) if s.len() == 77));
        assert!(read_string(b"\"").is_err());
        assert!(read_string(b"\"0123456789").is_err());
        assert_eq!(
            read_string(b"\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\""),
            Ok(Cow::Owned(
                "a\"b\\c/\u{8}\u{c}\n\r\tA\u{e9}".as_bytes().to_vec()
            ))
        );
        assert_eq!(
            read_string("\"日本語\"".as_bytes()),
            Ok(Cow::Borrowed("日本語".as_bytes()))
        );
        // Every position of a special byte relative to the 8-byte scan windows.
        for offset in 0..20 {
            let mut text = vec![b'"'];
            text.extend(std::iter::repeat_n(b'x', offset));
            text.extend_from_slice(b"\\n\"");
            assert_eq!(
                read_string(&text).map(|s| s.len()),
                Ok(offset + 1),
                "{offset}"
            );
            let mut bad = vec![b'"'];
            bad.extend(std::iter::repeat_n(b'x', offset));
            bad.extend_from_slice(b"\x1f\"");
            assert_eq!(
                read_string(&bad).map_err(|e| e.at),
                Err(offset + 1),
                "{offset}"
            );
        }
    }

    #[test]
    fn nesting_is_limited() {
        let deep = |n: usize| [vec![b'['; n], vec![b']'; n]].concat();
        assert!(valid(&deep(MAX_DEPTH)));
        assert!(!valid(&deep(MAX_DEPTH + 1)));
    }

    #[test]
    fn errors_say_what_and_where() {
        let mut reader = Reader::new(b"[1, 2 3]");
        let error = reader.skip_value().unwrap_err();
        assert_eq!(error.to_string(), "expected ',' or ']' at byte 6");
    }

    #[test]
    fn every_scan_width_finds_the_first_special_byte() {
        for len in 0..40 {
            for at in 0..=len {
                for byte in [b'"', b'\\', 0x00, 0x1f, 0x80, 0xff] {
                    let mut text = vec![b'a'; len];
                    if at < len {
                        text[at] = byte;
                    }
                    assert_eq!(find_special(&text, 0), at, "{len} {at} {byte:#x}");
                    assert_eq!(find_special(&text, at.min(len)), at);
                }
            }
        }
    }

    #[test]
    fn special_byte_flags_find_the_first_one() {
        for (index, byte) in [
            (0, b'"'),
            (3, b'\\'),
            (5, 0x00),
            (7, 0x1f),
            (2, 0x80),
            (6, 0xff),
        ] {
            let mut word = *b"abcdefgh";
            word[index] = byte;
            let flags = special_bytes(u64::from_le_bytes(word));
            assert_eq!(flags.trailing_zeros() / 8, index as u32, "{byte:#x}");
        }
        assert_eq!(special_bytes(u64::from_le_bytes(*b" ~!#[]{}")), 0);
    }
}
