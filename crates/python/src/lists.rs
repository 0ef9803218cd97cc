//! `ScamperList` and `ScamperCycle`: the bookkeeping records of a result stream.

use std::sync::Arc;

use pyo3::basic::CompareOp;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use vantage_model::{Cycle, List, Record};

use crate::conv;
use crate::error::not_constructible;

/// A list of measurements; `monitor` names the vantage point that ran it.
#[pyclass(name = "ScamperList", module = "vantage", frozen)]
pub struct ScamperList {
    pub(crate) l: Arc<List>,
}

#[pymethods]
impl ScamperList {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The list id.
    #[getter]
    fn id(&self) -> u32 {
        self.l.id
    }

    /// The list name.
    #[getter]
    fn name(&self) -> &str {
        &self.l.name
    }

    /// The description.
    #[getter]
    fn descr(&self) -> Option<&str> {
        self.l.descr.as_deref()
    }

    /// The monitor (vantage point) that ran the list.
    #[getter]
    fn monitor(&self) -> Option<&str> {
        self.l.monitor.as_deref()
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        match other.cast::<Self>() {
            Ok(o) => op
                .matches(self.l.cmp(&o.get().l))
                .into_pyobject(py)
                .map_or_else(
                    |_| py.NotImplemented(),
                    |b| b.to_owned().into_any().unbind(),
                ),
            Err(_) => py.NotImplemented(),
        }
    }

    fn __hash__(&self) -> u64 {
        crate::error::hash_of(&*self.l)
    }

    fn __repr__(&self) -> String {
        format!("<ScamperList id={} name={:?}>", self.l.id, self.l.name)
    }

    /// Lists have no JSON in scamper: always `None`.
    fn to_json(&self) -> Option<String> {
        None
    }

    /// Always `None` (see `to_json`).
    fn to_dict(&self) -> Option<Py<PyAny>> {
        None
    }
}

/// Which record a cycle came from: it decides what writing it produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CycleKind {
    Start,
    Def,
    Stop,
}

/// One cycle of a list.
#[pyclass(name = "ScamperCycle", module = "vantage", frozen)]
pub struct ScamperCycle {
    pub(crate) c: Arc<Cycle>,
    pub(crate) kind: CycleKind,
}

#[pymethods]
impl ScamperCycle {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The cycle id.
    #[getter]
    fn id(&self) -> u32 {
        self.c.id
    }

    /// When the cycle started.
    #[getter]
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::datetime_parts(py, u64::from(self.c.start_time), 0)
    }

    /// When the cycle stopped (the last microsecond of that second), if known.
    #[getter]
    fn stop<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.c
            .stop_time
            .map(|s| conv::datetime_parts(py, u64::from(s), 999_999))
            .transpose()
    }

    /// The host name of the machine that ran the cycle.
    #[getter]
    fn hostname(&self) -> Option<&str> {
        self.c.hostname.as_deref()
    }

    /// The list the cycle belongs to.
    #[getter]
    fn list(&self) -> ScamperList {
        ScamperList {
            l: Arc::clone(&self.c.list),
        }
    }

    fn __richcmp__(&self, other: &Bound<'_, PyAny>, op: CompareOp) -> Py<PyAny> {
        let py = other.py();
        match other.cast::<Self>() {
            Ok(o) => op
                .matches(self.c.cmp(&o.get().c))
                .into_pyobject(py)
                .map_or_else(
                    |_| py.NotImplemented(),
                    |b| b.to_owned().into_any().unbind(),
                ),
            Err(_) => py.NotImplemented(),
        }
    }

    fn __hash__(&self) -> u64 {
        crate::error::hash_of(&*self.c)
    }

    fn __repr__(&self) -> String {
        format!(
            "<ScamperCycle id={} list={:?}>",
            self.c.id, self.c.list.name
        )
    }

    /// The cycle-start or cycle-stop record as scamper's JSON (`None` for a
    /// cycle definition, which has no JSON).
    fn to_json(&self) -> Option<String> {
        vantage_warts::json::to_json(&self.record())
    }

    /// `json.loads(self.to_json())`, or `None`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.to_json().map(|s| conv::json_loads(py, &s)).transpose()
    }
}

impl ScamperCycle {
    /// The record this cycle came from.
    pub(crate) fn record(&self) -> Record {
        let c = Arc::clone(&self.c);
        match self.kind {
            CycleKind::Start => Record::CycleStart(c),
            CycleKind::Def => Record::CycleDef(c),
            CycleKind::Stop => Record::CycleStop(c),
        }
    }
}

/// The `list` property of a result.
pub(crate) fn list_of(l: Option<&Arc<List>>) -> Option<ScamperList> {
    l.map(|l| ScamperList { l: Arc::clone(l) })
}

/// The `cycle` property of a result.
pub(crate) fn cycle_of(c: Option<&Arc<Cycle>>) -> Option<ScamperCycle> {
    c.map(|c| ScamperCycle {
        c: Arc::clone(c),
        kind: CycleKind::Def,
    })
}
