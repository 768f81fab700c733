//! Request authentication (spec section 3): the L1 ClobAuth EIP-712 message signed to
//! create or derive API keys, and the L2 HMAC over every authenticated request.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::eip712::{keccak256, keccak256_parts, typed_data_digest, u64_word, Address};
use crate::error::SignError;
use crate::sign::recover_digest_signer;

/// The ClobAuth domain type: no verifying contract (polymarket-client `l1_auth.py`).
pub const CLOB_AUTH_DOMAIN_TYPE: &str = "EIP712Domain(string name,string version,uint256 chainId)";
/// The ClobAuth domain name.
pub const CLOB_AUTH_NAME: &str = "ClobAuthDomain";
/// The ClobAuth domain version (unchanged in CLOB V2).
pub const CLOB_AUTH_VERSION: &str = "1";
/// The ClobAuth struct type.
pub const CLOB_AUTH_TYPE: &str =
    "ClobAuth(address address,string timestamp,uint256 nonce,string message)";
/// The fixed attestation signed in every ClobAuth message.
pub const CLOB_AUTH_MESSAGE: &str = "This message attests that I control the given wallet";

/// The digest of a ClobAuth message: `address` attests control at `timestamp` (the
/// `POLY_TIMESTAMP` header text, signed as a string) with `nonce` (`POLY_NONCE`).
pub fn clob_auth_digest(address: &Address, timestamp: &str, nonce: u64, chain_id: u64) -> [u8; 32] {
    let domain = keccak256_parts(&[
        &keccak256(CLOB_AUTH_DOMAIN_TYPE.as_bytes()),
        &keccak256(CLOB_AUTH_NAME.as_bytes()),
        &keccak256(CLOB_AUTH_VERSION.as_bytes()),
        &u64_word(chain_id),
    ]);
    let struct_hash = keccak256_parts(&[
        &keccak256(CLOB_AUTH_TYPE.as_bytes()),
        &address.word(),
        &keccak256(timestamp.as_bytes()),
        &u64_word(nonce),
        &keccak256(CLOB_AUTH_MESSAGE.as_bytes()),
    ]);
    typed_data_digest(&domain, &struct_hash)
}

/// Recover who signed L1 headers; the venue accepts them when this equals `address`.
///
/// # Errors
/// As [`recover_digest_signer`].
pub fn recover_clob_auth_signer(
    address: &Address,
    timestamp: &str,
    nonce: u64,
    chain_id: u64,
    signature: &[u8],
) -> Result<Address, SignError> {
    recover_digest_signer(
        &clob_auth_digest(address, timestamp, nonce, chain_id),
        signature,
    )
}

/// URL-safe base64 that accepts secrets with or without `=` padding (the client pads).
const SECRET_BASE64: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The L2 `POLY_SIGNATURE`: URL-safe base64 (padded) of
/// `HMAC-SHA256(b64decode(secret), timestamp ‖ method ‖ path ‖ body)`, where `path` has
/// no host and no query and `body` is the exact bytes sent (polymarket-client `hmac.py`).
///
/// # Errors
/// [`SignError::InvalidSecret`] if the secret is not URL-safe base64.
pub fn l2_signature(
    secret: &str,
    timestamp: u64,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<String, SignError> {
    let key = SECRET_BASE64
        .decode(secret)
        .map_err(|_| SignError::InvalidSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| SignError::InvalidSecret)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(method.as_bytes());
    mac.update(path.as_bytes());
    if let Some(body) = body {
        mac.update(body);
    }
    Ok(base64::engine::general_purpose::URL_SAFE.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eip712::{parse_hex_fixed, POLYGON};
    use crate::sign::{OrderSigner, SignatureType};

    const KEY: &str = "0x78e8bcae87bd2535d8464098af91b1d02929c351aeb158d1e5209a588aea7d13";

    #[test]
    fn clob_auth_round_trip() {
        let key = parse_hex_fixed::<32>(KEY).expect("key");
        let signer = OrderSigner::new(&key, SignatureType::Eoa, None, POLYGON).expect("signer");
        let signature = signer
            .clob_auth_signature(1_793_404_800, 0)
            .expect("signed");
        assert!(signature[64] == 27 || signature[64] == 28);
        let address = signer.address();
        assert_eq!(
            recover_clob_auth_signer(&address, "1793404800", 0, POLYGON, &signature),
            Ok(address)
        );
        // The timestamp text and the nonce are part of what is signed.
        assert_ne!(
            recover_clob_auth_signer(&address, "1793404801", 0, POLYGON, &signature).ok(),
            Some(address)
        );
        assert_ne!(
            recover_clob_auth_signer(&address, "1793404800", 1, POLYGON, &signature).ok(),
            Some(address)
        );
    }

    #[test]
    fn l2_signature_known_value() {
        // HMAC-SHA256 with key b"secret" (base64 "c2VjcmV0", unpadded and padded alike).
        let a = l2_signature("c2VjcmV0", 1, "GET", "/data/orders", None).expect("valid");
        let b = l2_signature("c2VjcmV0", 1, "GET", "/data/orders", None).expect("valid");
        assert_eq!(a, b);
        assert_eq!(a.len(), 44);
        assert!(a.ends_with('='));
        let with_body = l2_signature("c2VjcmV0", 1, "POST", "/order", Some(b"{}")).expect("valid");
        assert_ne!(a, with_body);
        assert_eq!(
            l2_signature("not base64!", 1, "GET", "/", None),
            Err(SignError::InvalidSecret)
        );
    }
}
