//! polyengine's Rust core. Pure modules are usable from Rust (and `cargo test`) without
//! Python; the PyO3 bindings live in `python.rs` behind the `python` feature.

pub mod book;
pub mod error;
pub mod json;
pub mod wire;

#[cfg(feature = "python")]
mod python;
