//! CLOB V2 orders: the signed struct, ECDSA signatures for signature types 0-3, the
//! `POST /order` JSON body, and signer recovery.
//!
//! What is signed and posted follows the official client byte for byte (polymarket-client
//! 0.14.0: `actions/orders/orders.py` `create_unsigned_order`, `typed_data.py`
//! `build_order_typed_data` / `build_order_signature`, `post.py` `_build_send_order_payload`,
//! serialised by `json.dumps(separators=(",", ":"))` in `clients/_transport.py`).
//! Signatures are deterministic (RFC 6979) and low-s, like eth_account's, so the same
//! inputs give the same bytes.

use std::sync::LazyLock;

use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};

use crate::amounts::{Amounts, OrderSide};
use crate::auth::clob_auth_digest;
use crate::eip712::{
    keccak256, keccak256_parts, parse_u256_decimal, push_hex, typed_data_digest, u64_word, Address,
    Exchange, ExchangeDomains, DEPOSIT_WALLET_NAME, DEPOSIT_WALLET_VERSION, ORDER_TYPE,
    TYPED_DATA_SIGN_PREFIX,
};
use crate::error::SignError;

/// Salts must be below this (the official client draws `secrets.randbits(53)`; larger
/// JSON integers lose precision in JavaScript readers).
pub const SALT_LIMIT: u64 = 1 << 53;

/// Length of a plain ECDSA signature: r ‖ s ‖ v with v = 27 or 28.
pub const ECDSA_SIGNATURE_LEN: usize = 65;

/// Length of a signature-type-3 (POLY_1271) signature: ECDSA (65) ‖ app domain separator
/// (32) ‖ contents hash (32) ‖ Order type string (186) ‖ its length as uint16 (2).
pub const POLY_1271_SIGNATURE_LEN: usize = ECDSA_SIGNATURE_LEN + 32 + 32 + ORDER_TYPE.len() + 2;

const ZERO_WORD: [u8; 32] = [0u8; 32];

/// Who signs and who holds the funds (spec 11.2; polymarket-client `wallet.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// 0: the key's own address trades (maker = signer = EOA).
    Eoa,
    /// 1: a Polymarket proxy wallet holds the funds (maker = proxy, signer = EOA).
    PolyProxy,
    /// 2: a Gnosis Safe holds the funds (maker = Safe, signer = EOA).
    GnosisSafe,
    /// 3: a deposit wallet (ERC-1271) holds the funds and is the signer too
    /// (maker = signer = wallet); the EOA's ECDSA is wrapped ERC-7739 style.
    Poly1271,
}

impl SignatureType {
    /// The type for its signed code.
    ///
    /// # Errors
    /// [`SignError::InvalidSignatureType`] for codes above 3.
    pub fn from_code(code: u64) -> Result<Self, SignError> {
        match code {
            0 => Ok(Self::Eoa),
            1 => Ok(Self::PolyProxy),
            2 => Ok(Self::GnosisSafe),
            3 => Ok(Self::Poly1271),
            value => Err(SignError::InvalidSignatureType { value }),
        }
    }

    /// The code signed as `uint8 signatureType`.
    pub fn code(self) -> u8 {
        match self {
            Self::Eoa => 0,
            Self::PolyProxy => 1,
            Self::GnosisSafe => 2,
            Self::Poly1271 => 3,
        }
    }
}

/// Time in force, as the venue spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Good till cancelled.
    Gtc,
    /// Good till date (`expiration`, unix seconds).
    Gtd,
    /// Fill or kill.
    Fok,
    /// Fill and kill (fill what matches, cancel the rest).
    Fak,
}

impl OrderType {
    /// Parse "GTC", "GTD", "FOK" or "FAK" (exact spelling, as the venue wants it).
    ///
    /// # Errors
    /// [`SignError::InvalidOrderType`] for anything else.
    pub fn parse(text: &str) -> Result<Self, SignError> {
        match text {
            "GTC" => Ok(Self::Gtc),
            "GTD" => Ok(Self::Gtd),
            "FOK" => Ok(Self::Fok),
            "FAK" => Ok(Self::Fak),
            other => Err(SignError::InvalidOrderType {
                order_type: other.to_owned(),
            }),
        }
    }

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gtc => "GTC",
            Self::Gtd => "GTD",
            Self::Fok => "FOK",
            Self::Fak => "FAK",
        }
    }

    /// Whether what is left after matching rests on the book (GTC, GTD).
    pub fn rests(self) -> bool {
        matches!(self, Self::Gtc | Self::Gtd)
    }
}

/// The 11 signed fields of a CLOB V2 order (spec 11.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Random, so that otherwise equal orders get distinct ids.
    pub salt: u64,
    /// Who gives `maker_amount` (the funder).
    pub maker: Address,
    /// Who signs: the EOA, or the deposit wallet for type 3.
    pub signer: Address,
    /// The outcome token (or V2 position id), a uint256.
    pub token_id: [u8; 32],
    /// Micro units given.
    pub maker_amount: u64,
    /// Micro units received.
    pub taker_amount: u64,
    /// BUY or SELL.
    pub side: OrderSide,
    /// Signature type 0-3.
    pub signature_type: SignatureType,
    /// Creation time in unix milliseconds.
    pub timestamp_ms: u64,
    /// Zero unless a builder integration sets it.
    pub metadata: [u8; 32],
    /// Builder code, zero if none.
    pub builder: [u8; 32],
}

impl Order {
    /// `hashStruct(Order)`: keccak of the typehash and the 11 fields as words. This is
    /// also the `contentsHash` of a type-3 signature.
    pub fn struct_hash(&self) -> [u8; 32] {
        keccak256_parts(&[
            &order_typehash(),
            &u64_word(self.salt),
            &self.maker.word(),
            &self.signer.word(),
            &self.token_id,
            &u64_word(self.maker_amount),
            &u64_word(self.taker_amount),
            &u64_word(u64::from(self.side.code())),
            &u64_word(u64::from(self.signature_type.code())),
            &u64_word(self.timestamp_ms),
            &self.metadata,
            &self.builder,
        ])
    }

    /// The order id the venue reports: the EIP-712 digest of the Order under the
    /// exchange's domain (the same for type 3, whose ECDSA covers a different digest).
    pub fn id(&self, domain_separator: &[u8; 32]) -> [u8; 32] {
        typed_data_digest(domain_separator, &self.struct_hash())
    }
}

/// keccak of the Order type string, hashed once.
fn order_typehash() -> [u8; 32] {
    static TYPEHASH: LazyLock<[u8; 32]> = LazyLock::new(|| keccak256(ORDER_TYPE.as_bytes()));
    *TYPEHASH
}

/// keccak of the TypedDataSign type string with the Order type appended, hashed once.
fn typed_data_sign_typehash() -> [u8; 32] {
    static TYPEHASH: LazyLock<[u8; 32]> = LazyLock::new(|| {
        keccak256_parts(&[TYPED_DATA_SIGN_PREFIX.as_bytes(), ORDER_TYPE.as_bytes()])
    });
    *TYPEHASH
}

/// The digest a deposit wallet's owner signs for type 3: EIP-712 under the exchange's
/// domain of `TypedDataSign(contents, "DepositWallet", "1", chainId, wallet, 0)`
/// (ERC-7739 nested typed data; polymarket-client `build_order_typed_data`).
pub fn deposit_wallet_digest(
    domain_separator: &[u8; 32],
    contents_hash: &[u8; 32],
    wallet: &Address,
    chain_id: u64,
) -> [u8; 32] {
    let struct_hash = keccak256_parts(&[
        &typed_data_sign_typehash(),
        contents_hash,
        &keccak256(DEPOSIT_WALLET_NAME.as_bytes()),
        &keccak256(DEPOSIT_WALLET_VERSION.as_bytes()),
        &u64_word(chain_id),
        &wallet.word(),
        &ZERO_WORD,
    ]);
    typed_data_digest(domain_separator, &struct_hash)
}

/// Everything about one order besides the account: what the signer turns into a signed
/// order and its JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderParams<'a> {
    /// Decimal uint256 token id (or V2 position id), exactly as it goes into the JSON.
    pub token_id: &'a str,
    /// BUY or SELL.
    pub side: OrderSide,
    /// Maker and taker amounts (see `amounts`).
    pub amounts: Amounts,
    /// Which exchange domain to sign for.
    pub exchange: Exchange,
    /// Time in force.
    pub order_type: OrderType,
    /// Post-only (GTC/GTD only); sent as `"postOnly":true` only when set.
    pub post_only: bool,
    /// Below [`SALT_LIMIT`].
    pub salt: u64,
    /// Unix milliseconds.
    pub timestamp_ms: u64,
    /// Unix seconds for GTD, else 0 (sent, not signed).
    pub expiration: u64,
    /// The API key that owns the order.
    pub owner: &'a str,
    /// Builder code, zero if none.
    pub builder: [u8; 32],
}

/// A signed order, ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedOrder {
    /// The venue's order id (EIP-712 digest of the Order).
    pub order_id: [u8; 32],
    /// 65 bytes for types 0-2, [`POLY_1271_SIGNATURE_LEN`] for type 3.
    pub signature: Vec<u8>,
    /// The amounts signed.
    pub amounts: Amounts,
    /// The exact compact JSON body of `POST /order`.
    pub body: Vec<u8>,
}

/// A private key with its account set-up (signature type and funder): signs orders and
/// L1 ClobAuth messages. The key is zeroized on drop (k256 `SigningKey`) and never shown
/// by `Debug`.
pub struct OrderSigner {
    key: SigningKey,
    address: Address,
    maker: Address,
    signer: Address,
    signature_type: SignatureType,
    domains: ExchangeDomains,
    // EIP-55 forms, computed once for the JSON body.
    maker_text: String,
    signer_text: String,
}

impl std::fmt::Debug for OrderSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderSigner")
            .field("address", &self.address.checksummed())
            .field("maker", &self.maker_text)
            .field("signature_type", &self.signature_type)
            .finish_non_exhaustive()
    }
}

impl OrderSigner {
    /// A signer for a 32-byte secp256k1 private key.
    ///
    /// Type 0 trades from the key's address (`funder` None or that address); types 1
    /// and 2 trade from `funder` (the proxy or Safe) and sign with the key's address;
    /// type 3 trades and signs as `funder` (the deposit wallet owned by the key).
    ///
    /// # Errors
    /// [`SignError::InvalidKey`], [`SignError::FunderRequired`],
    /// [`SignError::FunderMismatch`] or [`SignError::UnsupportedChain`].
    pub fn new(
        private_key: &[u8],
        signature_type: SignatureType,
        funder: Option<Address>,
        chain_id: u64,
    ) -> Result<Self, SignError> {
        if private_key.len() != 32 {
            return Err(SignError::InvalidKey);
        }
        let key = SigningKey::from_slice(private_key).map_err(|_| SignError::InvalidKey)?;
        let address = address_of(key.verifying_key());
        let (maker, signer) = match (signature_type, funder) {
            (SignatureType::Eoa, None) => (address, address),
            (SignatureType::Eoa, Some(funder)) if funder == address => (address, address),
            (SignatureType::Eoa, Some(_)) => return Err(SignError::FunderMismatch),
            (SignatureType::PolyProxy | SignatureType::GnosisSafe, Some(funder)) => {
                (funder, address)
            }
            (SignatureType::Poly1271, Some(wallet)) => (wallet, wallet),
            (other, None) => {
                return Err(SignError::FunderRequired {
                    signature_type: other.code(),
                })
            }
        };
        Ok(Self {
            key,
            address,
            maker,
            signer,
            signature_type,
            domains: ExchangeDomains::new(chain_id)?,
            maker_text: maker.checksummed(),
            signer_text: signer.checksummed(),
        })
    }

    /// The key's own (EOA) address: the L1/L2 `POLY_ADDRESS` and the API key's owner.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The order's `maker` (who holds the funds).
    pub fn maker(&self) -> Address {
        self.maker
    }

    /// The order's `signer` field (the EOA, or the deposit wallet for type 3).
    pub fn signer(&self) -> Address {
        self.signer
    }

    /// The signature type this signer produces.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The chain the orders are signed for.
    pub fn chain_id(&self) -> u64 {
        self.domains.chain_id()
    }

    /// Build, sign and serialise one order.
    ///
    /// # Errors
    /// [`SignError::InvalidTokenId`], [`SignError::SaltTooLarge`],
    /// [`SignError::PostOnlyNotAllowed`], [`SignError::Expiration`],
    /// [`SignError::EmptyOwner`], or [`SignError::SigningFailed`] (about 2**-127).
    pub fn sign_order(&self, params: &OrderParams<'_>) -> Result<SignedOrder, SignError> {
        let token_id = parse_u256_decimal(params.token_id).ok_or(SignError::InvalidTokenId)?;
        if params.salt >= SALT_LIMIT {
            return Err(SignError::SaltTooLarge { salt: params.salt });
        }
        if params.post_only && !params.order_type.rests() {
            return Err(SignError::PostOnlyNotAllowed);
        }
        if (params.order_type == OrderType::Gtd) != (params.expiration != 0) {
            return Err(SignError::Expiration {
                order_type: params.order_type.as_str(),
                expiration: params.expiration,
            });
        }
        if params.owner.is_empty() {
            return Err(SignError::EmptyOwner);
        }
        let order = Order {
            salt: params.salt,
            maker: self.maker,
            signer: self.signer,
            token_id,
            maker_amount: params.amounts.maker,
            taker_amount: params.amounts.taker,
            side: params.side,
            signature_type: self.signature_type,
            timestamp_ms: params.timestamp_ms,
            metadata: ZERO_WORD,
            builder: params.builder,
        };
        let domain = self.domains.separator(params.exchange);
        let contents_hash = order.struct_hash();
        let order_id = typed_data_digest(domain, &contents_hash);
        let signature = if self.signature_type == SignatureType::Poly1271 {
            let digest =
                deposit_wallet_digest(domain, &contents_hash, &self.signer, self.chain_id());
            let mut signature = Vec::with_capacity(POLY_1271_SIGNATURE_LEN);
            signature.extend_from_slice(&sign_digest(&self.key, &digest)?);
            signature.extend_from_slice(domain);
            signature.extend_from_slice(&contents_hash);
            signature.extend_from_slice(ORDER_TYPE.as_bytes());
            // The type string's length as 2 big-endian bytes (`f"{len:04x}"`).
            signature.extend_from_slice(&(ORDER_TYPE.len() as u16).to_be_bytes());
            signature
        } else {
            sign_digest(&self.key, &order_id)?.to_vec()
        };
        let body = self.order_body(params, &signature);
        Ok(SignedOrder {
            order_id,
            signature,
            amounts: params.amounts,
            body,
        })
    }

    /// The L1 `POLY_SIGNATURE` for creating or deriving API keys: the ClobAuth EIP-712
    /// signature of the key's own address at `timestamp` (unix seconds) and `nonce`.
    ///
    /// # Errors
    /// [`SignError::SigningFailed`] (about 2**-127).
    pub fn clob_auth_signature(
        &self,
        timestamp: u64,
        nonce: u64,
    ) -> Result<[u8; ECDSA_SIGNATURE_LEN], SignError> {
        let digest = clob_auth_digest(
            &self.address,
            &timestamp.to_string(),
            nonce,
            self.chain_id(),
        );
        sign_digest(&self.key, &digest)
    }

    /// The compact JSON the official client posts: keys sorted as it writes them,
    /// `postOnly` only when set, the owner escaped like `json.dumps` (ASCII only).
    fn order_body(&self, params: &OrderParams<'_>, signature: &[u8]) -> Vec<u8> {
        let mut out = String::with_capacity(640 + 2 * signature.len() + params.owner.len());
        out.push_str(r#"{"deferExec":false,"order":{"builder":"0x"#);
        push_hex(&mut out, &params.builder);
        out.push_str(r#"","expiration":""#);
        out.push_str(&params.expiration.to_string());
        out.push_str(r#"","maker":""#);
        out.push_str(&self.maker_text);
        out.push_str(r#"","makerAmount":""#);
        out.push_str(&params.amounts.maker.to_string());
        out.push_str(r#"","metadata":"0x"#);
        push_hex(&mut out, &ZERO_WORD);
        out.push_str(r#"","salt":"#);
        out.push_str(&params.salt.to_string());
        out.push_str(r#","side":""#);
        out.push_str(params.side.as_str());
        out.push_str(r#"","signature":"0x"#);
        push_hex(&mut out, signature);
        out.push_str(r#"","signatureType":"#);
        out.push_str(&self.signature_type.code().to_string());
        out.push_str(r#","signer":""#);
        out.push_str(&self.signer_text);
        out.push_str(r#"","takerAmount":""#);
        out.push_str(&params.amounts.taker.to_string());
        out.push_str(r#"","timestamp":""#);
        out.push_str(&params.timestamp_ms.to_string());
        out.push_str(r#"","tokenId":""#);
        out.push_str(params.token_id);
        out.push_str(r#""},"orderType":""#);
        out.push_str(params.order_type.as_str());
        out.push_str(r#"","owner":"#);
        push_json_string(&mut out, params.owner);
        if params.post_only {
            out.push_str(r#","postOnly":true"#);
        }
        out.push('}');
        out.into_bytes()
    }
}

/// Append `text` as a JSON string the way Python's `json.dumps` writes it with its
/// default `ensure_ascii=True`: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, and `\u00xx`
/// (lowercase hex, UTF-16 surrogate pairs) for every other character outside 0x20-0x7e.
pub fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for ch in text.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            ' '..='~' => out.push(ch),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// ECDSA-sign a 32-byte digest: r ‖ s ‖ v, low-s, v = 27 + y parity (eth_account's form).
///
/// # Errors
/// [`SignError::SigningFailed`] if k256 fails or the recovery id needs an x-reduced r.
fn sign_digest(key: &SigningKey, digest: &[u8; 32]) -> Result<[u8; 65], SignError> {
    let (signature, recovery) = key
        .sign_prehash_recoverable(digest)
        .map_err(|_| SignError::SigningFailed)?;
    if recovery.is_x_reduced() {
        return Err(SignError::SigningFailed);
    }
    let mut out = [0u8; 65];
    out[..64].copy_from_slice(&signature.to_bytes());
    out[64] = 27 + u8::from(recovery.is_y_odd());
    Ok(out)
}

/// The Ethereum address of a public key: the last 20 bytes of keccak(x ‖ y).
fn address_of(key: &VerifyingKey) -> Address {
    let point = key.to_encoded_point(false);
    let hash = keccak256(&point.as_bytes()[1..]);
    let mut address = [0u8; 20];
    address.copy_from_slice(&hash[12..]);
    Address(address)
}

/// Recover the address that produced a 65-byte signature (r ‖ s ‖ v, v in 27/28 or 0/1)
/// over `digest` (ecrecover).
///
/// # Errors
/// [`SignError::InvalidSignature`] if the length or v is wrong, r or s is out of range,
/// s is high (Ethereum signers produce low-s), or no key recovers.
pub fn recover_digest_signer(digest: &[u8; 32], signature: &[u8]) -> Result<Address, SignError> {
    if signature.len() != ECDSA_SIGNATURE_LEN {
        return Err(SignError::InvalidSignature {
            reason: "an ECDSA signature is 65 bytes (r, s, v)",
        });
    }
    let parity = match signature[64] {
        0 | 27 => false,
        1 | 28 => true,
        _ => {
            return Err(SignError::InvalidSignature {
                reason: "v must be 27 or 28 (or 0 or 1)",
            })
        }
    };
    let rs = Signature::from_slice(&signature[..64]).map_err(|_| SignError::InvalidSignature {
        reason: "r or s is zero or not below the curve order",
    })?;
    let key = VerifyingKey::recover_from_prehash(digest, &rs, RecoveryId::new(parity, false))
        .map_err(|_| SignError::InvalidSignature {
            reason: "no public key recovers from it (or s is high)",
        })?;
    Ok(address_of(&key))
}

/// Check an order's signature as the venue would and return `(order_id, address)`:
/// the address whose key signed it. For types 0-2 that must equal `order.signer`; for
/// type 3 it is the deposit wallet's owner, after the wrapper (app domain, contents hash,
/// type string) has been checked against `order` and `exchange`. The caller compares the
/// address with what it expects.
///
/// # Errors
/// [`SignError::InvalidSignature`] for a wrong length or wrapper, or as
/// [`recover_digest_signer`].
pub fn recover_order_signer(
    order: &Order,
    exchange: Exchange,
    domains: &ExchangeDomains,
    signature: &[u8],
) -> Result<([u8; 32], Address), SignError> {
    let domain = domains.separator(exchange);
    let contents_hash = order.struct_hash();
    let order_id = typed_data_digest(domain, &contents_hash);
    if order.signature_type != SignatureType::Poly1271 {
        return Ok((order_id, recover_digest_signer(&order_id, signature)?));
    }
    if signature.len() != POLY_1271_SIGNATURE_LEN {
        return Err(SignError::InvalidSignature {
            reason: "a signature-type-3 signature is 317 bytes",
        });
    }
    let (ecdsa, wrapper) = signature.split_at(ECDSA_SIGNATURE_LEN);
    let type_len = (ORDER_TYPE.len() as u16).to_be_bytes();
    if &wrapper[..32] != domain {
        return Err(SignError::InvalidSignature {
            reason: "the app domain separator is not this exchange's",
        });
    }
    if wrapper[32..64] != contents_hash {
        return Err(SignError::InvalidSignature {
            reason: "the contents hash is not this order's",
        });
    }
    if &wrapper[64..64 + ORDER_TYPE.len()] != ORDER_TYPE.as_bytes()
        || wrapper[64 + ORDER_TYPE.len()..] != type_len
    {
        return Err(SignError::InvalidSignature {
            reason: "the contents type is not the Order type",
        });
    }
    let digest = deposit_wallet_digest(domain, &contents_hash, &order.signer, domains.chain_id());
    Ok((order_id, recover_digest_signer(&digest, ecdsa)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amounts::limit_amounts;
    use crate::eip712::{parse_hex, parse_hex_fixed, POLYGON};

    // Spec 11.4: a throwaway key, never funded.
    const KEY: &str = "0x78e8bcae87bd2535d8464098af91b1d02929c351aeb158d1e5209a588aea7d13";
    const ADDRESS: &str = "0x436143878c1027c1E5cf3BE12Fc6af7E09D7E9d1";
    const TOKEN: &str =
        "71321045679252212594626385532706912750332728571942532289631379312455583992563";
    const OWNER: &str = "00000000-0000-4000-8000-000000000000";

    fn key() -> [u8; 32] {
        parse_hex_fixed::<32>(KEY).expect("key")
    }

    fn signer(signature_type: SignatureType, funder: Option<&str>) -> OrderSigner {
        let funder = funder.map(|text| Address::parse(text, "funder").expect("address"));
        OrderSigner::new(&key(), signature_type, funder, POLYGON).expect("signer")
    }

    fn params<'a>(
        token_id: &'a str,
        side: OrderSide,
        price: u64,
        size: u64,
        exchange: Exchange,
    ) -> OrderParams<'a> {
        OrderParams {
            token_id,
            side,
            amounts: limit_amounts(side, price, size, 10_000).expect("amounts"),
            exchange,
            order_type: OrderType::Gtc,
            post_only: false,
            salt: 1_234_567_890,
            timestamp_ms: 1_793_404_800_000,
            expiration: 0,
            owner: OWNER,
            builder: [0u8; 32],
        }
    }

    fn hex(bytes: &[u8]) -> String {
        crate::eip712::hex_prefixed(bytes)
    }

    #[test]
    fn spec_vector_buy_v2_eoa() {
        let signer = signer(SignatureType::Eoa, None);
        assert_eq!(signer.address().checksummed(), ADDRESS);
        let signed = signer
            .sign_order(&params(
                TOKEN,
                OrderSide::Buy,
                570_000,
                10_000_000,
                Exchange::V2,
            ))
            .expect("signed");
        assert_eq!(
            hex(&signed.order_id),
            "0x7684ff921b4027398c7cb6870cada3eeda4804731971ac21b72b7e190b14b3b6"
        );
        let body = concat!(
            r#"{"deferExec":false,"order":{"builder":"0x0000000000000000000000000000000000000000000000000000000000000000","expiration":"0","#,
            r#""maker":"0x436143878c1027c1E5cf3BE12Fc6af7E09D7E9d1","makerAmount":"5700000","metadata":"0x0000000000000000000000000000000000000000000000000000000000000000","#,
            r#""salt":1234567890,"side":"BUY","signature":"0xa0703e57fa67357ca8ea16f7b4d19adb5ef1ec21e004771cb5cf82ce870af2262c22c2bc08f693a1bf9577fa5fe02a9b0d5d7e707901759b7dea2973831d21f61b","#,
            r#""signatureType":0,"signer":"0x436143878c1027c1E5cf3BE12Fc6af7E09D7E9d1","takerAmount":"10000000","timestamp":"1793404800000","#,
            r#""tokenId":"71321045679252212594626385532706912750332728571942532289631379312455583992563"},"orderType":"GTC","owner":"00000000-0000-4000-8000-000000000000"}"#,
        );
        assert_eq!(String::from_utf8(signed.body).expect("utf-8"), body);
        let address = recover_digest_signer(&signed.order_id, &signed.signature).expect("recovers");
        assert_eq!(address, signer.address());
    }

    #[test]
    fn spec_vector_sell_neg_risk() {
        let signed = signer(SignatureType::Eoa, None)
            .sign_order(&params(
                TOKEN,
                OrderSide::Sell,
                570_000,
                7_333_000,
                Exchange::V2NegRisk,
            ))
            .expect("signed");
        assert_eq!(
            (signed.amounts.maker, signed.amounts.taker),
            (7_330_000, 4_178_100)
        );
        assert_eq!(
            hex(&signed.order_id),
            "0x26b1156bf679653bb5a63728a04e16119c56f8222348506fa68ba14adb030bef"
        );
        assert_eq!(
            hex(&signed.signature),
            "0x310834c6d4a374d9bb018af0c3a308de19d3763f7ba925c1a64e3e431d61408804857d7c9634e6b11cf1092b353e646c3086df5c87b5c774094ccdf86c55d6bc1b"
        );
    }

    #[test]
    fn spec_vector_buy_v3() {
        // tokenId = uint256(0x01 ‖ 0x11 * 16 ‖ 0x00 * 15).
        let mut word = [0u8; 32];
        word[0] = 0x01;
        word[1..17].fill(0x11);
        let token = decimal_of(&word);
        let signed = signer(SignatureType::Eoa, None)
            .sign_order(&params(
                &token,
                OrderSide::Buy,
                570_000,
                10_000_000,
                Exchange::V3,
            ))
            .expect("signed");
        assert_eq!(
            hex(&signed.order_id),
            "0x265bb02819322800814a370b4ee4d6c7b922b77c2c840795f57a3143dde854f9"
        );
        assert_eq!(
            hex(&signed.signature),
            "0xeef7b0684aeb8cdcc476c2a963023c1ea7b54a5eb8fd0c8bd444d930c3c773d72b163ebbce762c1ab2d851e378ed99543d2999e58d1b54b86daf74b1bf13f8c41b"
        );
    }

    #[test]
    fn spec_vector_type3_deposit_wallet() {
        let wallet = "0x1111111111111111111111111111111111111111";
        let signer = signer(SignatureType::Poly1271, Some(wallet));
        assert_eq!(signer.maker().checksummed(), wallet);
        assert_eq!(signer.signer(), signer.maker());
        let signed = signer
            .sign_order(&params(
                TOKEN,
                OrderSide::Buy,
                570_000,
                10_000_000,
                Exchange::V2,
            ))
            .expect("signed");
        assert_eq!(
            hex(&signed.order_id),
            "0x28e39489e0ab452c8cd2b864f4209ef75bfe8eefc38f85110bf5a17f754853ce"
        );
        assert_eq!(signed.signature.len(), 317);
        let expected = [
            "0xbcf486dd3570f44b102e0fc530220757f4069c6000000ea2a16d428bc15ac1ae5632f7819de28f81fc457932ff7ba8211897ba42487cd36994d7c76637418bc71c",
            "3264e159346253e26a64e00b69032db0e7d32f94628de3e6eecb50304d7af3d2",
            "b2b25194efb8fc3d8bef2eb855195cc711aff9dd6b1c683161b85bd90299b215",
            &crate::eip712::hex_lower(ORDER_TYPE.as_bytes()),
            "00ba",
        ]
        .concat();
        assert_eq!(hex(&signed.signature), expected);
    }

    #[test]
    fn recovery_checks_every_signature_type() {
        let domains = ExchangeDomains::new(POLYGON).expect("domains");
        let funder = "0x2222222222222222222222222222222222222222";
        for (signature_type, funder) in [
            (SignatureType::Eoa, None),
            (SignatureType::PolyProxy, Some(funder)),
            (SignatureType::GnosisSafe, Some(funder)),
            (SignatureType::Poly1271, Some(funder)),
        ] {
            let signer = signer(signature_type, funder);
            for exchange in Exchange::ALL {
                let p = params(TOKEN, OrderSide::Sell, 430_000, 5_000_000, exchange);
                let signed = signer.sign_order(&p).expect("signed");
                let order = Order {
                    salt: p.salt,
                    maker: signer.maker(),
                    signer: signer.signer(),
                    token_id: parse_u256_decimal(TOKEN).expect("token"),
                    maker_amount: signed.amounts.maker,
                    taker_amount: signed.amounts.taker,
                    side: p.side,
                    signature_type,
                    timestamp_ms: p.timestamp_ms,
                    metadata: [0u8; 32],
                    builder: [0u8; 32],
                };
                let (id, address) =
                    recover_order_signer(&order, exchange, &domains, &signed.signature)
                        .expect("recovers");
                assert_eq!(id, signed.order_id);
                assert_eq!(address, signer.address());
                // Any other exchange's domain recovers someone else, or fails the wrapper.
                let other = Exchange::ALL[(Exchange::ALL
                    .iter()
                    .position(|e| *e == exchange)
                    .expect("listed")
                    + 1)
                    % 3];
                match recover_order_signer(&order, other, &domains, &signed.signature) {
                    Ok((_, address)) => assert_ne!(address, signer.address()),
                    Err(err) => assert!(matches!(err, SignError::InvalidSignature { .. })),
                }
                // A tampered amount changes the id and the recovered address.
                let tampered = Order {
                    taker_amount: order.taker_amount + 1,
                    ..order.clone()
                };
                match recover_order_signer(&tampered, exchange, &domains, &signed.signature) {
                    Ok((id, address)) => {
                        assert_ne!(id, signed.order_id);
                        assert_ne!(address, signer.address());
                    }
                    Err(err) => assert!(matches!(err, SignError::InvalidSignature { .. })),
                }
            }
        }
    }

    #[test]
    fn malformed_signatures_are_errors() {
        let digest = [7u8; 32];
        assert!(recover_digest_signer(&digest, &[0u8; 64]).is_err());
        assert!(recover_digest_signer(&digest, &[0u8; 65]).is_err());
        let mut bad_v = [1u8; 65];
        bad_v[64] = 29;
        assert!(recover_digest_signer(&digest, &bad_v).is_err());
        let sig = parse_hex("0xa0703e57fa67357ca8ea16f7b4d19adb5ef1ec21e004771cb5cf82ce870af2262c22c2bc08f693a1bf9577fa5fe02a9b0d5d7e707901759b7dea2973831d21f61b").expect("hex");
        let id = parse_hex_fixed::<32>(
            "0x7684ff921b4027398c7cb6870cada3eeda4804731971ac21b72b7e190b14b3b6",
        )
        .expect("id");
        let address = recover_digest_signer(&id, &sig).expect("recovers");
        assert_eq!(address.checksummed(), ADDRESS);
        // v as 0/1 is accepted too.
        let mut zero_one = sig.clone();
        zero_one[64] -= 27;
        assert_eq!(recover_digest_signer(&id, &zero_one), Ok(address));
    }

    #[test]
    fn order_rules_are_enforced() {
        let signer = signer(SignatureType::Eoa, None);
        let base = params(TOKEN, OrderSide::Buy, 570_000, 10_000_000, Exchange::V2);
        let check = |p: OrderParams<'_>, err: SignError| {
            assert_eq!(signer.sign_order(&p), Err(err));
        };
        check(
            OrderParams {
                token_id: "0x1",
                ..base.clone()
            },
            SignError::InvalidTokenId,
        );
        check(
            OrderParams {
                salt: SALT_LIMIT,
                ..base.clone()
            },
            SignError::SaltTooLarge { salt: SALT_LIMIT },
        );
        check(
            OrderParams {
                order_type: OrderType::Fak,
                post_only: true,
                ..base.clone()
            },
            SignError::PostOnlyNotAllowed,
        );
        check(
            OrderParams {
                order_type: OrderType::Gtd,
                ..base.clone()
            },
            SignError::Expiration {
                order_type: "GTD",
                expiration: 0,
            },
        );
        check(
            OrderParams {
                expiration: 5,
                ..base.clone()
            },
            SignError::Expiration {
                order_type: "GTC",
                expiration: 5,
            },
        );
        check(
            OrderParams {
                owner: "",
                ..base.clone()
            },
            SignError::EmptyOwner,
        );
        let body = signer
            .sign_order(&OrderParams {
                order_type: OrderType::Gtd,
                expiration: 1_793_500_000,
                post_only: true,
                owner: "k\"\\\n\u{7f}é😀",
                ..base
            })
            .expect("signed")
            .body;
        let body = String::from_utf8(body).expect("ascii");
        assert!(body.contains(r#""expiration":"1793500000""#));
        assert!(body.ends_with(
            r#""orderType":"GTD","owner":"k\"\\\n\u007f\u00e9\ud83d\ude00","postOnly":true}"#
        ));
    }

    #[test]
    fn signer_set_up_rules() {
        let other = Address::parse("0x2222222222222222222222222222222222222222", "funder")
            .expect("address");
        let own = Address::parse(ADDRESS, "funder").expect("address");
        assert!(OrderSigner::new(&key(), SignatureType::Eoa, Some(own), POLYGON).is_ok());
        assert_eq!(
            OrderSigner::new(&key(), SignatureType::Eoa, Some(other), POLYGON).err(),
            Some(SignError::FunderMismatch)
        );
        for signature_type in [
            SignatureType::PolyProxy,
            SignatureType::GnosisSafe,
            SignatureType::Poly1271,
        ] {
            assert_eq!(
                OrderSigner::new(&key(), signature_type, None, POLYGON).err(),
                Some(SignError::FunderRequired {
                    signature_type: signature_type.code()
                })
            );
        }
        let proxy = OrderSigner::new(&key(), SignatureType::PolyProxy, Some(other), POLYGON)
            .expect("signer");
        assert_eq!((proxy.maker(), proxy.signer()), (other, own));
        for bad in [
            &[0u8; 32][..],
            &[0xff; 32][..],
            &[1u8; 31][..],
            &[1u8; 33][..],
        ] {
            assert_eq!(
                OrderSigner::new(bad, SignatureType::Eoa, None, POLYGON).err(),
                Some(SignError::InvalidKey)
            );
        }
        assert_eq!(
            OrderSigner::new(&key(), SignatureType::Eoa, None, 1).err(),
            Some(SignError::UnsupportedChain { chain_id: 1 })
        );
        let debug = format!("{proxy:?}");
        assert!(!debug.contains(&KEY[2..]) && debug.contains("address"));
    }

    /// Decimal digits of a big-endian uint256 (test helper: long division by 10).
    fn decimal_of(word: &[u8; 32]) -> String {
        let mut digits = Vec::new();
        let mut value = word.to_vec();
        while value.iter().any(|byte| *byte != 0) {
            let mut rest = 0u32;
            for byte in &mut value {
                let current = (rest << 8) | u32::from(*byte);
                *byte = (current / 10) as u8;
                rest = current % 10;
            }
            digits.push(char::from(b'0' + rest as u8));
        }
        if digits.is_empty() {
            digits.push('0');
        }
        digits.iter().rev().collect()
    }
}
