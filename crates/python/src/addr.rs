//! `ScamperAddr`: an address with scamper's comparison, hashing and predicates.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

use pyo3::basic::CompareOp;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString, PyTuple};
use vantage_model::{Addr, AddrKind};

/// An IPv4, IPv6 or link-layer address.
///
/// Equal to another `ScamperAddr` or to a `str` holding the same address, but
/// hashed by value so that it never hashes like that `str`.
#[pyclass(name = "ScamperAddr", module = "vantage", frozen)]
#[derive(Clone, Copy)]
pub struct ScamperAddr {
    pub(crate) a: Addr,
}

impl From<Addr> for ScamperAddr {
    fn from(a: Addr) -> Self {
        Self { a }
    }
}

fn invalid() -> PyErr {
    PyValueError::new_err("invalid address")
}

/// Parses a `str` or `bytes` address argument.
pub(crate) fn parse_addr(obj: &Bound<'_, PyAny>) -> PyResult<Addr> {
    if let Ok(a) = obj.cast::<ScamperAddr>() {
        return Ok(a.get().a);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        let s = s.to_cow()?;
        return s.parse::<Addr>().map_err(|_| invalid());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        let b = b.as_bytes();
        let kind = match b.len() {
            4 => AddrKind::V4,
            16 => AddrKind::V6,
            6 => AddrKind::Ethernet,
            8 => AddrKind::Firewire,
            _ => return Err(invalid()),
        };
        return Addr::from_bytes(kind, b).ok_or_else(invalid);
    }
    Err(PyTypeError::new_err(
        "ScamperAddr needs a str or bytes address",
    ))
}

/// The other side of a comparison, if it is an address.
fn other_addr(other: &Bound<'_, PyAny>) -> Option<Addr> {
    if let Ok(a) = other.cast::<ScamperAddr>() {
        return Some(a.get().a);
    }
    let s = other.cast::<PyString>().ok()?;
    s.to_cow().ok()?.parse::<Addr>().ok()
}

fn v4_in(a: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    u32::from(a) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn v6_in(a: Ipv6Addr, net: [u16; 8], len: u32) -> bool {
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    let n = Ipv6Addr::new(
        net[0], net[1], net[2], net[3], net[4], net[5], net[6], net[7],
    );
    u128::from(a) & mask == u128::from(n) & mask
}

/// IANA special-purpose IPv4 blocks, multicast and class E.
const V4_RESERVED: &[([u8; 4], u32)] = &[
    ([0, 0, 0, 0], 8),
    ([10, 0, 0, 0], 8),
    ([100, 64, 0, 0], 10),
    ([127, 0, 0, 0], 8),
    ([169, 254, 0, 0], 16),
    ([172, 16, 0, 0], 12),
    ([192, 0, 0, 0], 24),
    ([192, 0, 2, 0], 24),
    ([192, 88, 99, 0], 24),
    ([192, 168, 0, 0], 16),
    ([198, 18, 0, 0], 15),
    ([198, 51, 100, 0], 24),
    ([203, 0, 113, 0], 24),
    ([224, 0, 0, 0], 4),
    ([240, 0, 0, 0], 4),
];

/// Special-purpose IPv6 blocks inside 2000::/3 (everything outside it is reserved).
const V6_RESERVED: &[([u16; 8], u32)] = &[
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
    ([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32),
    ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16),
    ([0x2620, 0x004f, 0x8000, 0, 0, 0, 0, 0], 48),
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
];

#[pymethods]
impl ScamperAddr {
    #[new]
    fn new(addr: &Bound<'_, PyAny>) -> PyResult<Self> {
        parse_addr(addr).map(Self::from)
    }

    fn __str__(&self) -> String {
        self.a.to_string()
    }

    fn __repr__(&self) -> String {
        format!("ScamperAddr('{}')", self.a)
    }

    fn __format__(&self, py: Python<'_>, spec: &str) -> PyResult<Py<PyAny>> {
        let s = PyString::new(py, &self.a.to_string());
        Ok(s.call_method1("__format__", (spec,))?.unbind())
    }

    fn __hash__(&self) -> u64 {
        let mut h = DefaultHasher::new();
        self.a.hash(&mut h);
        // Python reserves -1; keep clear of it.
        h.finish() >> 1
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        match other_addr(other) {
            Some(o) => op.matches(self.a.cmp(&o)).into_pyobject(py).map_or_else(
                |_| py.NotImplemented(),
                |b| b.to_owned().into_any().unbind(),
            ),
            None => py.NotImplemented(),
        }
    }

    fn __getnewargs__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, [self.packed_bytes(py)])
    }

    fn __getstate__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("type", self.a.kind().code())?;
        d.set_item("addr", self.packed_bytes(py))?;
        Ok(d)
    }

    fn __setstate__(&self, state: &Bound<'_, PyAny>) -> PyResult<()> {
        let kind = state
            .get_item("type")?
            .extract::<u8>()
            .ok()
            .and_then(AddrKind::from_code)
            .ok_or_else(invalid)?;
        let bytes = state.get_item("addr")?;
        let bytes = bytes.cast::<PyBytes>().map_err(|_| invalid())?;
        let a = Addr::from_bytes(kind, bytes.as_bytes()).ok_or_else(invalid)?;
        if a == self.a {
            Ok(())
        } else {
            Err(PyTypeError::new_err("ScamperAddr objects are immutable"))
        }
    }

    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }

    /// The address bytes (4, 16, 6 or 8 of them). Optional in the reference's API.
    #[getter]
    #[allow(clippy::unnecessary_wraps)]
    fn packed<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        Some(self.packed_bytes(py))
    }

    /// Whether this is an IPv4 address.
    fn is_ipv4(&self) -> bool {
        self.a.is_ipv4()
    }

    /// Whether this is an IPv6 address.
    fn is_ipv6(&self) -> bool {
        self.a.is_ipv6()
    }

    /// Whether the address is link-local (169.254/16, fe80::/10).
    fn is_linklocal(&self) -> bool {
        match self.a {
            Addr::V4(a) => v4_in(a, [169, 254, 0, 0], 16),
            Addr::V6(a) => v6_in(a, [0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
            _ => false,
        }
    }

    /// Whether the address is RFC 1918 private IPv4 space.
    fn is_rfc1918(&self) -> bool {
        match self.a {
            Addr::V4(a) => {
                v4_in(a, [10, 0, 0, 0], 8)
                    || v4_in(a, [172, 16, 0, 0], 12)
                    || v4_in(a, [192, 168, 0, 0], 16)
            }
            _ => false,
        }
    }

    /// Whether the address is IPv6 global unicast (2000::/3).
    fn is_unicast(&self) -> bool {
        match self.a {
            Addr::V6(a) => v6_in(a, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3),
            _ => false,
        }
    }

    /// Whether the address is a 6to4 address (2002::/16).
    fn is_6to4(&self) -> bool {
        match self.a {
            Addr::V6(a) => v6_in(a, [0x2002, 0, 0, 0, 0, 0, 0, 0], 16),
            _ => false,
        }
    }

    /// Whether the address is in special-purpose, multicast or otherwise
    /// non-routable space.
    fn is_reserved(&self) -> bool {
        is_reserved(self.a)
    }
}

/// Whether `a` is in reserved space (see `ScamperAddr.is_reserved`).
pub(crate) fn is_reserved(a: Addr) -> bool {
    match a {
        Addr::V4(a) => V4_RESERVED.iter().any(|(n, l)| v4_in(a, *n, *l)),
        Addr::V6(a) => {
            !v6_in(a, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3)
                || V6_RESERVED.iter().any(|(n, l)| v6_in(a, *n, *l))
        }
        _ => false,
    }
}

impl ScamperAddr {
    fn packed_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let mut buf = [0u8; 16];
        let n = self.a.write_bytes(&mut buf);
        PyBytes::new(py, &buf[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::is_reserved;

    #[test]
    fn reserved_space() {
        for (a, want) in [
            ("10.0.0.1", true),
            ("100.64.0.1", true),
            ("198.19.255.255", true),
            ("198.20.0.1", false),
            ("8.8.8.8", false),
            ("240.0.0.1", true),
            ("2001:db8::1", true),
            ("2001:4860::1", false),
            ("fc00::1", true),
            ("3fff::1", true),
        ] {
            assert_eq!(is_reserved(a.parse().unwrap()), want, "{a}");
        }
    }
}
