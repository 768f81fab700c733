//! PyO3 bindings: the only modules that know about Python.
//!
//! One file per core module; each exposes `register`, called once here. Core errors map
//! to typed Python exceptions in the file that binds them.
use pyo3::prelude::*;

mod book;
mod frames;
mod models;
mod sign;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    book::register(m)?;
    models::register(m)?;
    sign::register(m)?;
    frames::register(m)?;
    Ok(())
}
