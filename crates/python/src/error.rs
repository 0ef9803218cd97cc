//! Errors and small helpers shared by every class.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use pyo3::PyErr;
use pyo3::exceptions::PyTypeError;

/// The error every non-constructible class raises from `__init__`.
pub(crate) fn not_constructible() -> PyErr {
    PyTypeError::new_err("This class cannot be instantiated directly.")
}

/// A Python hash (never -1) of a Rust value.
pub(crate) fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish() >> 1
}
