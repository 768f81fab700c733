//! polyengine's Rust core. Pure modules are usable from Rust (and `cargo test`) without
//! Python; the PyO3 bindings live in `python/` behind the `python` feature.

pub mod amounts;
pub mod auth;
pub mod book;
pub mod eip712;
pub mod error;
pub mod fair;
pub mod json;
pub mod quote;
pub mod sign;
pub mod vpin;
pub mod wire;

#[cfg(feature = "python")]
mod python;
