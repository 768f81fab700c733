//! Keccak-256, EIP-712 hashing, addresses and the domains the CLOB signs under.
//!
//! Only the fixed shapes the venue uses are encoded here (static types in 32-byte words),
//! so no general ABI encoder is needed: `encodeData` of a struct is the concatenation of
//! its 32-byte words, `hashStruct = keccak(typeHash ‖ encodeData)` (EIP-712), and the
//! signed digest is `keccak(0x19 0x01 ‖ domainSeparator ‖ hashStruct)`.

use sha3::{Digest, Keccak256};

use crate::error::SignError;

/// Polygon mainnet, the only chain with known CLOB V2 exchange addresses.
pub const POLYGON: u64 = 137;

/// The EIP-712 type of a CLOB V2 order (spec 11.2; polymarket-client `typed_data.py`).
pub const ORDER_TYPE: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,\
uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,\
bytes32 metadata,bytes32 builder)";

/// The domain type of the exchanges (and of the deposit wallet's ERC-7739 app domain).
pub const DOMAIN_TYPE: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";

/// The exchanges' EIP-712 domain name, for versions "2" and "3".
pub const EXCHANGE_NAME: &str = "Polymarket CTF Exchange";

/// The ERC-7739 wrapper type a deposit wallet (signature type 3) checks: the Order type
/// is appended as the referenced struct (polymarket-client `_TYPED_DATA_SIGN_FIELDS`).
pub const TYPED_DATA_SIGN_PREFIX: &str = "TypedDataSign(Order contents,string name,\
string version,uint256 chainId,address verifyingContract,bytes32 salt)";

/// The deposit wallet's own domain name and version, signed inside `TypedDataSign`.
pub const DEPOSIT_WALLET_NAME: &str = "DepositWallet";
/// See [`DEPOSIT_WALLET_NAME`].
pub const DEPOSIT_WALLET_VERSION: &str = "1";

/// CLOB V2 standard exchange on Polygon (spec section 0 and 11.1).
pub const EXCHANGE_V2: Address = Address(hex20("E111180000d2663C0091e4f400237545B87B996B"));
/// CLOB V2 neg-risk exchange on Polygon (spec section 0 and 11.1).
pub const EXCHANGE_V2_NEG_RISK: Address =
    Address(hex20("e2222d279d744050d28e00520010520000310F59"));
/// ExchangeV3 (Protocol V2 markets, domain version "3"; spec 11.1, no neg-risk variant).
pub const EXCHANGE_V3: Address = Address(hex20("e3333700cA9d93003F00f0F71f8515005F6c00Aa"));

/// keccak256 of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// keccak256 of the concatenation of `parts`, without building the concatenation.
pub fn keccak256_parts(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Keccak256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A `u64` as a big-endian uint256 word.
pub fn u64_word(value: u64) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[24..].copy_from_slice(&value.to_be_bytes());
    word
}

/// The EIP-712 digest `keccak(0x19 0x01 ‖ domain_separator ‖ struct_hash)`.
pub fn typed_data_digest(domain_separator: &[u8; 32], struct_hash: &[u8; 32]) -> [u8; 32] {
    keccak256_parts(&[b"\x19\x01", domain_separator, struct_hash])
}

/// A 20-byte Ethereum address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// Parse `0x` + 40 hex digits in any case (the checksum is not enforced, as
    /// eth_utils' `to_checksum_address` does not enforce it either).
    ///
    /// # Errors
    /// [`SignError::InvalidAddress`] naming `field` if the text is not such an address.
    pub fn parse(text: &str, field: &'static str) -> Result<Self, SignError> {
        let bytes = parse_hex_fixed::<20>(text).ok_or(SignError::InvalidAddress { field })?;
        Ok(Self(bytes))
    }

    /// The address as an ABI word (left-padded with zeros).
    pub fn word(&self) -> [u8; 32] {
        let mut word = [0u8; 32];
        word[12..].copy_from_slice(&self.0);
        word
    }

    /// The EIP-55 mixed-case checksum form, `0x`-prefixed (what eth_account and the
    /// official client put in order JSON and headers).
    pub fn checksummed(&self) -> String {
        let lower = hex_lower(&self.0);
        let hash = keccak256(lower.as_bytes());
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, ch) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0x0f;
            out.push(if nibble >= 8 {
                ch.to_ascii_uppercase()
            } else {
                ch
            });
        }
        out
    }
}

/// Which exchange contract (and so which EIP-712 domain) an order is signed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exchange {
    /// CTF exchange, domain version "2".
    V2,
    /// Neg-risk CTF exchange, domain version "2".
    V2NegRisk,
    /// ExchangeV3 for Protocol V2 position ids, domain version "3".
    V3,
}

impl Exchange {
    /// The exchange for a domain `version` (2 or 3) and a market's neg-risk flag.
    ///
    /// Version 3 has one exchange for every market, so `neg_risk` does not change it
    /// (polymarket-client `resolve_order_exchange_address` ignores it there too).
    ///
    /// # Errors
    /// [`SignError::InvalidExchangeVersion`] for any version other than 2 or 3.
    pub fn select(version: u64, neg_risk: bool) -> Result<Self, SignError> {
        match (version, neg_risk) {
            (2, false) => Ok(Self::V2),
            (2, true) => Ok(Self::V2NegRisk),
            (3, _) => Ok(Self::V3),
            (version, _) => Err(SignError::InvalidExchangeVersion { version }),
        }
    }

    /// The verifying contract of this exchange's domain (Polygon).
    pub fn address(self) -> Address {
        match self {
            Self::V2 => EXCHANGE_V2,
            Self::V2NegRisk => EXCHANGE_V2_NEG_RISK,
            Self::V3 => EXCHANGE_V3,
        }
    }

    /// The domain version string.
    pub fn version(self) -> &'static str {
        match self {
            Self::V2 | Self::V2NegRisk => "2",
            Self::V3 => "3",
        }
    }

    /// Position in [`ExchangeDomains`].
    fn index(self) -> usize {
        match self {
            Self::V2 => 0,
            Self::V2NegRisk => 1,
            Self::V3 => 2,
        }
    }

    /// The three exchanges, in [`ExchangeDomains`] order.
    pub const ALL: [Self; 3] = [Self::V2, Self::V2NegRisk, Self::V3];
}

/// The domain separator of a domain with a verifying contract.
pub fn domain_separator(name: &str, version: &str, chain_id: u64, contract: &Address) -> [u8; 32] {
    keccak256_parts(&[
        &keccak256(DOMAIN_TYPE.as_bytes()),
        &keccak256(name.as_bytes()),
        &keccak256(version.as_bytes()),
        &u64_word(chain_id),
        &contract.word(),
    ])
}

/// The three exchange domain separators of one chain, computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExchangeDomains {
    chain_id: u64,
    separators: [[u8; 32]; 3],
}

impl ExchangeDomains {
    /// The exchange domains of `chain_id`.
    ///
    /// # Errors
    /// [`SignError::UnsupportedChain`] unless `chain_id` is 137 (Polygon): the exchange
    /// addresses of other chains are not known for CLOB V2.
    pub fn new(chain_id: u64) -> Result<Self, SignError> {
        if chain_id != POLYGON {
            return Err(SignError::UnsupportedChain { chain_id });
        }
        let separators = Exchange::ALL.map(|exchange| {
            domain_separator(
                EXCHANGE_NAME,
                exchange.version(),
                chain_id,
                &exchange.address(),
            )
        });
        Ok(Self {
            chain_id,
            separators,
        })
    }

    /// The chain these domains belong to.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The domain separator of `exchange`.
    pub fn separator(&self, exchange: Exchange) -> &[u8; 32] {
        &self.separators[exchange.index()]
    }
}

/// Parse exactly `N` bytes from `0x` + `2N` hex digits (either case).
pub fn parse_hex_fixed<const N: usize>(text: &str) -> Option<[u8; N]> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if digits.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in digits.as_bytes().chunks_exact(2).enumerate() {
        out[i] = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
    }
    Some(out)
}

/// Parse `0x` + an even number of hex digits into bytes.
pub fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .as_bytes()
        .chunks_exact(2)
        .map(|pair| Some((hex_value(pair[0])? << 4) | hex_value(pair[1])?))
        .collect()
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Append the lowercase hex of `bytes` (no prefix) to `out`.
pub fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
    }
}

/// Lowercase hex of `bytes`, without prefix.
pub fn hex_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    push_hex(&mut out, bytes);
    out
}

/// `0x` + lowercase hex of `bytes`.
pub fn hex_prefixed(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("0x");
    push_hex(&mut out, bytes);
    out
}

/// Parse a canonical decimal uint256 (digits only, no sign, no leading zero except "0")
/// into a big-endian word; None if malformed or above 2**256 - 1.
pub fn parse_u256_decimal(text: &str) -> Option<[u8; 32]> {
    let digits = text.as_bytes();
    if digits.is_empty() || digits.len() > 78 || (digits.len() > 1 && digits[0] == b'0') {
        return None;
    }
    // Little-endian 64-bit limbs: value = value * 10 + digit, failing on overflow.
    let mut limbs = [0u64; 4];
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        let mut carry = u128::from(digit - b'0');
        for limb in &mut limbs {
            let wide = u128::from(*limb) * 10 + carry;
            *limb = wide as u64; // low 64 bits; the high part carries on
            carry = wide >> 64;
        }
        if carry != 0 {
            return None;
        }
    }
    let mut word = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        word[(3 - i) * 8..(4 - i) * 8].copy_from_slice(&limb.to_be_bytes());
    }
    Some(word)
}

/// Decode 40 hex digits at compile time (the fixed contract addresses).
///
/// # Panics
/// On a malformed literal; it only runs in constants, so that fails the build.
const fn hex20(text: &str) -> [u8; 20] {
    const fn nibble(digit: u8) -> u8 {
        match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            b'A'..=b'F' => digit - b'A' + 10,
            _ => panic!("not a hex digit"),
        }
    }
    let bytes = text.as_bytes();
    assert!(bytes.len() == 40, "an address has 40 hex digits");
    let mut out = [0u8; 20];
    let mut i = 0;
    while i < 20 {
        out[i] = (nibble(bytes[2 * i]) << 4) | nibble(bytes[2 * i + 1]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(text: &str) -> [u8; 32] {
        parse_hex_fixed::<32>(text).expect("32-byte hex")
    }

    #[test]
    fn keccak_of_empty_input() {
        assert_eq!(
            keccak256(b""),
            h("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        );
    }

    #[test]
    fn order_typehash_matches_spec() {
        // Spec 11.2.
        assert_eq!(
            keccak256(ORDER_TYPE.as_bytes()),
            h("0xbb86318a2138f5fa8ae32fbe8e659f8fcf13cc6ae4014a707893055433818589")
        );
    }

    #[test]
    fn exchange_domain_separators_match_spec() {
        // Spec 11.2: v2 standard, v2 neg-risk, v3.
        let domains = ExchangeDomains::new(POLYGON).expect("polygon");
        assert_eq!(
            domains.separator(Exchange::V2),
            &h("0x3264e159346253e26a64e00b69032db0e7d32f94628de3e6eecb50304d7af3d2")
        );
        assert_eq!(
            domains.separator(Exchange::V2NegRisk),
            &h("0x9b858f53327b0bd13af8ec14cfb35234fb9eb7b0504d1a4e61f433840d30e81a")
        );
        assert_eq!(
            domains.separator(Exchange::V3),
            &h("0x466c63910185bbd55e8679264200c4e0abdcbb0c6264eb3d41d13326022e095b")
        );
        assert_eq!(
            ExchangeDomains::new(80_002),
            Err(SignError::UnsupportedChain { chain_id: 80_002 })
        );
    }

    #[test]
    fn exchange_selection() {
        assert_eq!(Exchange::select(2, false), Ok(Exchange::V2));
        assert_eq!(Exchange::select(2, true), Ok(Exchange::V2NegRisk));
        assert_eq!(Exchange::select(3, false), Ok(Exchange::V3));
        assert_eq!(Exchange::select(3, true), Ok(Exchange::V3));
        assert_eq!(
            Exchange::select(1, false),
            Err(SignError::InvalidExchangeVersion { version: 1 })
        );
    }

    #[test]
    fn checksum_addresses_round_trip() {
        // EIP-55's own examples, and the spec's exchange addresses.
        for text in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
            "0xE111180000d2663C0091e4f400237545B87B996B",
            "0xe3333700cA9d93003F00f0F71f8515005F6c00Aa",
        ] {
            let address = Address::parse(&text.to_lowercase(), "address").expect("address");
            assert_eq!(address.checksummed(), text);
        }
        for bad in [
            "",
            "0x",
            "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0x5aAeb6053F3E",
        ] {
            assert_eq!(
                Address::parse(bad, "maker"),
                Err(SignError::InvalidAddress { field: "maker" })
            );
        }
    }

    #[test]
    fn u256_decimal_parsing() {
        assert_eq!(parse_u256_decimal("0"), Some([0u8; 32]));
        assert_eq!(
            parse_u256_decimal("258").map(|w| (w[30], w[31])),
            Some((1, 2))
        );
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(parse_u256_decimal(max), Some([0xff; 32]));
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(parse_u256_decimal(over), None);
        for bad in ["", "01", "-1", "+1", "1.0", " 1", "0x10", "１"] {
            assert_eq!(parse_u256_decimal(bad), None, "{bad:?}");
        }
        // 2**64 crosses a limb.
        let word = parse_u256_decimal("18446744073709551616").expect("2**64");
        assert_eq!(word[23], 1);
        assert!(word.iter().enumerate().all(|(i, b)| i == 23 || *b == 0));
    }

    #[test]
    fn hex_helpers() {
        assert_eq!(hex_prefixed(&[0x00, 0xab, 0x10]), "0x00ab10");
        assert_eq!(parse_hex("0x00AB10"), Some(vec![0x00, 0xab, 0x10]));
        assert_eq!(parse_hex("0x0"), None);
        assert_eq!(parse_hex("00"), None);
        assert_eq!(parse_hex("0xzz"), None);
        assert_eq!(parse_hex_fixed::<2>("0x0102"), Some([1, 2]));
        assert_eq!(parse_hex_fixed::<2>("0x010203"), None);
    }
}
