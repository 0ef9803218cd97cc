//! ICMP extensions (RFC 4884) and MPLS label stacks (RFC 4950) of a reply.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use vantage_model::{IcmpExt, MplsLabel};

use crate::error::not_constructible;

/// The ICMP extension objects of one reply, or `None` when it has none.
pub(crate) fn exts_of(exts: &[IcmpExt]) -> Option<ScamperIcmpExts> {
    (!exts.is_empty()).then(|| ScamperIcmpExts {
        e: Arc::new(exts.to_vec()),
    })
}

/// The ICMP extension objects of one reply.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperIcmpExts {
    e: Arc<Vec<IcmpExt>>,
}

#[pymethods]
impl ScamperIcmpExts {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// How many extension objects there are.
    #[getter]
    fn ext_count(&self) -> usize {
        self.e.len()
    }

    /// Extension object `i`, or `None`.
    fn ext(&self, i: usize) -> Option<ScamperIcmpExt> {
        (i < self.e.len()).then(|| ScamperIcmpExt {
            e: Arc::clone(&self.e),
            i,
        })
    }

    /// Every extension object.
    fn exts(&self) -> Vec<ScamperIcmpExt> {
        (0..self.e.len())
            .map(|i| ScamperIcmpExt {
                e: Arc::clone(&self.e),
                i,
            })
            .collect()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        pyo3::types::PyList::new(py, self.exts())?
            .try_iter()
            .map(Bound::into_any)
    }

    /// The first MPLS label stack extension, or `None`.
    #[getter]
    fn mpls(&self) -> Option<ScamperIcmpExt> {
        let i = self.e.iter().position(IcmpExt::is_mpls)?;
        Some(ScamperIcmpExt {
            e: Arc::clone(&self.e),
            i,
        })
    }
}

/// One ICMP extension object.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperIcmpExt {
    e: Arc<Vec<IcmpExt>>,
    i: usize,
}

impl ScamperIcmpExt {
    fn x(&self) -> &IcmpExt {
        &self.e[self.i]
    }

    fn label(&self, i: usize) -> Option<MplsLabel> {
        self.x().mpls_labels().nth(i)
    }
}

#[pymethods]
impl ScamperIcmpExt {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The class number (1: MPLS).
    #[getter]
    fn class_num(&self) -> u8 {
        self.x().class
    }

    /// The C-type within the class.
    #[getter]
    fn c_type(&self) -> u8 {
        self.x().ctype
    }

    /// Length of the object's data.
    #[getter]
    fn data_len(&self) -> usize {
        self.x().data.len()
    }

    /// The object's data.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.x().data)
    }

    /// Whether this is an MPLS label stack.
    fn is_mpls(&self) -> bool {
        self.x().is_mpls()
    }

    /// How many MPLS label stack entries there are (0 if not MPLS).
    #[getter]
    fn mpls_count(&self) -> usize {
        self.x().mpls_labels().count()
    }

    /// The MPLS label stack entries, or `None` if this is not MPLS.
    fn mpls_lses(&self) -> Option<Vec<ScamperIcmpMplsLabelStackEntry>> {
        if !self.x().is_mpls() {
            return None;
        }
        Some(
            self.x()
                .mpls_labels()
                .map(|l| ScamperIcmpMplsLabelStackEntry { l })
                .collect(),
        )
    }

    /// MPLS label stack entry `i`, or `None`.
    fn mpls_lse(&self, i: usize) -> Option<ScamperIcmpMplsLabelStackEntry> {
        self.label(i).map(|l| ScamperIcmpMplsLabelStackEntry { l })
    }

    /// Label of entry `i`.
    fn mpls_label(&self, i: usize) -> Option<u32> {
        self.label(i).map(|l| l.label)
    }

    /// TTL of entry `i`.
    fn mpls_ttl(&self, i: usize) -> Option<u8> {
        self.label(i).map(|l| l.ttl)
    }

    /// Traffic class (EXP) of entry `i`.
    fn mpls_exp(&self, i: usize) -> Option<u8> {
        self.label(i).map(|l| l.exp)
    }

    /// Bottom-of-stack bit of entry `i`.
    fn mpls_s(&self, i: usize) -> Option<u8> {
        self.label(i).map(|l| u8::from(l.s))
    }
}

/// One MPLS label stack entry.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperIcmpMplsLabelStackEntry {
    l: MplsLabel,
}

#[pymethods]
impl ScamperIcmpMplsLabelStackEntry {
    /// Entry `i` of the MPLS extension `ext`.
    #[new]
    fn new(ext: &Bound<'_, ScamperIcmpExt>, i: usize) -> PyResult<Self> {
        ext.get().label(i).map(|l| Self { l }).ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err("no such MPLS label stack entry")
        })
    }

    /// The 20-bit label.
    #[getter]
    fn label(&self) -> u32 {
        self.l.label
    }

    /// The traffic class (EXP) bits.
    #[getter]
    fn exp(&self) -> u8 {
        self.l.exp
    }

    /// The bottom-of-stack bit.
    #[getter]
    fn s(&self) -> u8 {
        u8::from(self.l.s)
    }

    /// The TTL.
    #[getter]
    fn ttl(&self) -> u8 {
        self.l.ttl
    }

    fn __str__(&self) -> String {
        format!(
            "MPLS Label={} Exp={} TTL={} S={}",
            self.l.label,
            self.l.exp,
            self.l.ttl,
            u8::from(self.l.s)
        )
    }
}
