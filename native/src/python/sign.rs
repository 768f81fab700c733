//! Bindings for order amounts, signing, signer recovery and request authentication.
//!
//! Each function is one FFI crossing. Python ints convert to `u64` (negative ints raise
//! `OverflowError`, non-ints `TypeError`); every core error maps to `SignError`. The
//! private key is only ever borrowed from the caller's `bytes` and lives in the Rust
//! signer (zeroized on drop); nothing here prints or returns it.
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::amounts::{self, Amounts, OrderSide};
use crate::auth;
use crate::eip712::{hex_prefixed, ExchangeDomains};
use crate::eip712::{parse_hex, parse_hex_fixed, parse_u256_decimal, Address, Exchange};
use crate::error::SignError as CoreSignError;
use crate::sign::{self, Order, OrderParams, OrderType, SignatureType};

create_exception!(
    engine._native,
    SignError,
    PyValueError,
    "An order or signature was rejected: bad amounts, price, tick, side, token id, \
     account set-up, order type, or a malformed signature."
);

impl From<CoreSignError> for PyErr {
    fn from(err: CoreSignError) -> Self {
        SignError::new_err(err.to_string())
    }
}

/// A signed order: its id, signature, amounts and the exact `POST /order` body.
#[pyclass(module = "engine._native", name = "SignedOrder", frozen, get_all)]
struct SignedOrder {
    /// The venue's order id, `0x` + 64 hex (the EIP-712 digest of the Order).
    order_id: String,
    /// `0x` + hex of the 65-byte signature (317 bytes for signature type 3).
    signature: String,
    /// Micro units given: USDC for BUY, shares for SELL.
    maker_amount: u64,
    /// Micro units received: shares for BUY, USDC for SELL.
    taker_amount: u64,
    /// The compact JSON body to post, byte-identical to the official client's.
    body: Py<PyBytes>,
}

#[pymethods]
impl SignedOrder {
    fn __repr__(&self) -> String {
        format!(
            "SignedOrder(order_id='{}', maker_amount={}, taker_amount={})",
            self.order_id, self.maker_amount, self.taker_amount
        )
    }
}

/// A private key with its account set-up; signs orders and L1 ClobAuth messages.
#[pyclass(module = "engine._native", name = "OrderSigner", frozen)]
struct OrderSigner {
    inner: sign::OrderSigner,
}

#[pymethods]
impl OrderSigner {
    /// See `engine/_native.pyi` for the account set-up of each signature type.
    #[new]
    #[pyo3(signature = (private_key, *, signature_type = 0, funder = None, chain_id = 137))]
    fn new(
        private_key: &[u8],
        signature_type: u64,
        funder: Option<&str>,
        chain_id: u64,
    ) -> PyResult<Self> {
        let signature_type = SignatureType::from_code(signature_type)?;
        let funder = funder
            .map(|text| Address::parse(text, "funder"))
            .transpose()?;
        Ok(Self {
            inner: sign::OrderSigner::new(private_key, signature_type, funder, chain_id)?,
        })
    }

    /// The key's own (EOA) address, EIP-55.
    #[getter]
    fn address(&self) -> String {
        self.inner.address().checksummed()
    }

    /// The orders' `maker` (the funder), EIP-55.
    #[getter]
    fn maker(&self) -> String {
        self.inner.maker().checksummed()
    }

    /// The orders' `signer` field, EIP-55.
    #[getter]
    fn signer(&self) -> String {
        self.inner.signer().checksummed()
    }

    /// The signature type, 0-3.
    #[getter]
    fn signature_type(&self) -> u8 {
        self.inner.signature_type().code()
    }

    /// The chain id the orders are signed for.
    #[getter]
    fn chain_id(&self) -> u64 {
        self.inner.chain_id()
    }

    /// Build and sign a limit order of `size` micro-shares at `price` micro-USDC.
    #[pyo3(signature = (
        token_id, side, price, size, tick, *, neg_risk, exchange_version, order_type,
        post_only, salt, timestamp_ms, owner, expiration = 0, builder = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn sign_limit_order(
        &self,
        py: Python<'_>,
        token_id: &str,
        side: u64,
        price: u64,
        size: u64,
        tick: u64,
        neg_risk: bool,
        exchange_version: u64,
        order_type: &str,
        post_only: bool,
        salt: u64,
        timestamp_ms: u64,
        owner: &str,
        expiration: u64,
        builder: Option<&[u8]>,
    ) -> PyResult<SignedOrder> {
        let side = OrderSide::from_code(side)?;
        let amounts = amounts::limit_amounts(side, price, size, tick)?;
        let params = OrderParams {
            token_id,
            side,
            amounts,
            exchange: Exchange::select(exchange_version, neg_risk)?,
            order_type: OrderType::parse(order_type)?,
            post_only,
            salt,
            timestamp_ms,
            expiration,
            owner,
            builder: builder_word(builder)?,
        };
        self.sign(py, &params)
    }

    /// Build and sign a market order (FOK or FAK): BUY spends `amount` micro-USDC, SELL
    /// sells `amount` micro-shares, at worst `price`.
    #[pyo3(signature = (
        token_id, side, amount, price, tick, *, neg_risk, exchange_version, order_type,
        salt, timestamp_ms, owner, builder = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn sign_market_order(
        &self,
        py: Python<'_>,
        token_id: &str,
        side: u64,
        amount: u64,
        price: u64,
        tick: u64,
        neg_risk: bool,
        exchange_version: u64,
        order_type: &str,
        salt: u64,
        timestamp_ms: u64,
        owner: &str,
        builder: Option<&[u8]>,
    ) -> PyResult<SignedOrder> {
        let side = OrderSide::from_code(side)?;
        let order_type = OrderType::parse(order_type)?;
        if order_type.rests() {
            return Err(CoreSignError::InvalidOrderType {
                order_type: order_type.as_str().to_owned(),
            }
            .into());
        }
        let amounts = amounts::market_amounts(side, amount, price, tick)?;
        let params = OrderParams {
            token_id,
            side,
            amounts,
            exchange: Exchange::select(exchange_version, neg_risk)?,
            order_type,
            post_only: false,
            salt,
            timestamp_ms,
            expiration: 0,
            owner,
            builder: builder_word(builder)?,
        };
        self.sign(py, &params)
    }

    /// The L1 `POLY_SIGNATURE` (ClobAuth) for `timestamp` (unix s) and `nonce`, `0x` hex.
    #[pyo3(signature = (timestamp, nonce = 0))]
    fn clob_auth_signature(&self, timestamp: u64, nonce: u64) -> PyResult<String> {
        Ok(hex_prefixed(
            &self.inner.clob_auth_signature(timestamp, nonce)?,
        ))
    }

    fn __repr__(&self) -> String {
        format!(
            "OrderSigner(address='{}', maker='{}', signature_type={}, chain_id={})",
            self.inner.address().checksummed(),
            self.inner.maker().checksummed(),
            self.inner.signature_type().code(),
            self.inner.chain_id(),
        )
    }
}

impl OrderSigner {
    fn sign(&self, py: Python<'_>, params: &OrderParams<'_>) -> PyResult<SignedOrder> {
        let signed = self.inner.sign_order(params)?;
        Ok(SignedOrder {
            order_id: hex_prefixed(&signed.order_id),
            signature: hex_prefixed(&signed.signature),
            maker_amount: signed.amounts.maker,
            taker_amount: signed.amounts.taker,
            body: PyBytes::new(py, &signed.body).unbind(),
        })
    }
}

fn builder_word(builder: Option<&[u8]>) -> Result<[u8; 32], CoreSignError> {
    match builder {
        None => Ok([0u8; 32]),
        Some(bytes) => <[u8; 32]>::try_from(bytes).map_err(|_| CoreSignError::InvalidHex {
            field: "builder",
            bytes: 32,
        }),
    }
}

fn amounts_tuple(amounts: Amounts) -> (u64, u64) {
    (amounts.maker, amounts.taker)
}

/// `(maker_amount, taker_amount)` of a limit order, in micro.
#[pyfunction]
#[pyo3(signature = (side, price, size, tick))]
fn limit_order_amounts(side: u64, price: u64, size: u64, tick: u64) -> PyResult<(u64, u64)> {
    let side = OrderSide::from_code(side)?;
    Ok(amounts_tuple(amounts::limit_amounts(
        side, price, size, tick,
    )?))
}

/// `(maker_amount, taker_amount)` of a market order, in micro.
#[pyfunction]
#[pyo3(signature = (side, amount, price, tick))]
fn market_order_amounts(side: u64, amount: u64, price: u64, tick: u64) -> PyResult<(u64, u64)> {
    let side = OrderSide::from_code(side)?;
    Ok(amounts_tuple(amounts::market_amounts(
        side, amount, price, tick,
    )?))
}

/// The address (EIP-55) whose key made a 65-byte signature over a 32-byte digest.
#[pyfunction]
#[pyo3(signature = (digest, signature))]
fn recover_digest_signer(digest: &[u8], signature: &[u8]) -> PyResult<String> {
    let digest = <[u8; 32]>::try_from(digest).map_err(|_| CoreSignError::InvalidHex {
        field: "digest",
        bytes: 32,
    })?;
    Ok(sign::recover_digest_signer(&digest, signature)?.checksummed())
}

/// Check an order's signature; returns `(order_id, address that signed)`.
#[pyfunction]
#[pyo3(signature = (
    *, salt, maker, signer, token_id, maker_amount, taker_amount, side, signature_type,
    timestamp_ms, signature, exchange_version, neg_risk,
    metadata = "0x0000000000000000000000000000000000000000000000000000000000000000",
    builder = "0x0000000000000000000000000000000000000000000000000000000000000000",
    chain_id = 137,
))]
#[allow(clippy::too_many_arguments)]
fn recover_order_signer(
    salt: u64,
    maker: &str,
    signer: &str,
    token_id: &str,
    maker_amount: u64,
    taker_amount: u64,
    side: u64,
    signature_type: u64,
    timestamp_ms: u64,
    signature: &str,
    exchange_version: u64,
    neg_risk: bool,
    metadata: &str,
    builder: &str,
    chain_id: u64,
) -> PyResult<(String, String)> {
    let order = Order {
        salt,
        maker: Address::parse(maker, "maker")?,
        signer: Address::parse(signer, "signer")?,
        token_id: parse_u256_decimal(token_id).ok_or(CoreSignError::InvalidTokenId)?,
        maker_amount,
        taker_amount,
        side: OrderSide::from_code(side)?,
        signature_type: SignatureType::from_code(signature_type)?,
        timestamp_ms,
        metadata: parse_word(metadata, "metadata")?,
        builder: parse_word(builder, "builder")?,
    };
    let signature = parse_hex(signature).ok_or(CoreSignError::InvalidSignature {
        reason: "not 0x-prefixed hex",
    })?;
    let domains = ExchangeDomains::new(chain_id)?;
    let exchange = Exchange::select(exchange_version, neg_risk)?;
    let (order_id, address) = sign::recover_order_signer(&order, exchange, &domains, &signature)?;
    Ok((hex_prefixed(&order_id), address.checksummed()))
}

fn parse_word(text: &str, field: &'static str) -> Result<[u8; 32], CoreSignError> {
    parse_hex_fixed::<32>(text).ok_or(CoreSignError::InvalidHex { field, bytes: 32 })
}

/// The address (EIP-55) that signed L1 headers (`POLY_ADDRESS`, `POLY_TIMESTAMP` text,
/// `POLY_NONCE`, `POLY_SIGNATURE` hex).
#[pyfunction]
#[pyo3(signature = (address, timestamp, nonce, signature, *, chain_id = 137))]
fn recover_clob_auth_signer(
    address: &str,
    timestamp: &str,
    nonce: u64,
    signature: &str,
    chain_id: u64,
) -> PyResult<String> {
    let address = Address::parse(address, "address")?;
    let signature = parse_hex(signature).ok_or(CoreSignError::InvalidSignature {
        reason: "not 0x-prefixed hex",
    })?;
    Ok(
        auth::recover_clob_auth_signer(&address, timestamp, nonce, chain_id, &signature)?
            .checksummed(),
    )
}

/// The L2 `POLY_SIGNATURE` (URL-safe base64 HMAC-SHA256) of one request.
#[pyfunction]
#[pyo3(signature = (secret, timestamp, method, path, body = None))]
fn l2_hmac_signature(
    secret: &str,
    timestamp: u64,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> PyResult<String> {
    Ok(auth::l2_signature(secret, timestamp, method, path, body)?)
}

/// Add the signing classes, functions and exception to the `engine._native` module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("SignError", m.py().get_type::<SignError>())?;
    m.add_class::<OrderSigner>()?;
    m.add_class::<SignedOrder>()?;
    m.add_function(wrap_pyfunction!(limit_order_amounts, m)?)?;
    m.add_function(wrap_pyfunction!(market_order_amounts, m)?)?;
    m.add_function(wrap_pyfunction!(recover_digest_signer, m)?)?;
    m.add_function(wrap_pyfunction!(recover_order_signer, m)?)?;
    m.add_function(wrap_pyfunction!(recover_clob_auth_signer, m)?)?;
    m.add_function(wrap_pyfunction!(l2_hmac_signature, m)?)?;
    Ok(())
}
