//! Model records to Python objects and back.

use std::sync::Arc;

use pyo3::exceptions::{PyNotImplementedError, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyType;
use vantage_model::{
    Cycle, Dealias, Host, Http, List, Neighbourdisc, Ping, Record, Sniff, Trace, Tracelb, Udpprobe,
};
use vantage_warts::types as k;

use crate::dealias::ScamperDealias;
use crate::host::ScamperHost;
use crate::lists::{CycleKind, ScamperCycle, ScamperList};
use crate::misc::{
    ScamperHttp, ScamperNeighbourdisc, ScamperOwamp, ScamperSniff, ScamperSting, ScamperTbit,
    ScamperUdpprobe,
};
use crate::ping::ScamperPing;
use crate::trace::ScamperTrace;
use crate::tracelb::ScamperTracelb;

/// A record ready to become a Python object: measurements already in the
/// `Arc` their Python class holds (built on the decoding thread).
pub(crate) enum Rec {
    List(Arc<List>),
    Cycle(Arc<Cycle>, CycleKind),
    Ping(Arc<Ping>),
    Trace(Arc<Trace>),
    Tracelb(Arc<Tracelb>),
    Dealias(Arc<Dealias>),
    Host(Arc<Host>),
    Http(Arc<Http>),
    Udpprobe(Arc<Udpprobe>),
    Sniff(Arc<Sniff>),
    Neighbourdisc(Arc<Neighbourdisc>),
    Unsupported(u16),
}

impl From<Record> for Rec {
    fn from(r: Record) -> Self {
        match r {
            Record::List(l) => Self::List(l),
            Record::CycleStart(c) => Self::Cycle(c, CycleKind::Start),
            Record::CycleDef(c) => Self::Cycle(c, CycleKind::Def),
            Record::CycleStop(c) => Self::Cycle(c, CycleKind::Stop),
            Record::Ping(x) => Self::Ping(Arc::from(x)),
            Record::Trace(x) => Self::Trace(Arc::from(x)),
            Record::Tracelb(x) => Self::Tracelb(Arc::from(x)),
            Record::Dealias(x) => Self::Dealias(Arc::from(x)),
            Record::Host(x) => Self::Host(Arc::from(x)),
            Record::Http(x) => Self::Http(Arc::from(x)),
            Record::Udpprobe(x) => Self::Udpprobe(Arc::from(x)),
            Record::Sniff(x) => Self::Sniff(Arc::from(x)),
            Record::Neighbourdisc(x) => Self::Neighbourdisc(Arc::from(x)),
            Record::Unsupported(raw) => Self::Unsupported(raw.kind),
        }
    }
}

impl Rec {
    /// The warts type code of the record.
    pub(crate) fn kind(&self) -> u16 {
        match self {
            Self::List(_) => k::LIST,
            Self::Cycle(_, CycleKind::Start) => k::CYCLE_START,
            Self::Cycle(_, CycleKind::Def) => k::CYCLE_DEF,
            Self::Cycle(_, CycleKind::Stop) => k::CYCLE_STOP,
            Self::Ping(_) => k::PING,
            Self::Trace(_) => k::TRACE,
            Self::Tracelb(_) => k::TRACELB,
            Self::Dealias(_) => k::DEALIAS,
            Self::Host(_) => k::HOST,
            Self::Http(_) => k::HTTP,
            Self::Udpprobe(_) => k::UDPPROBE,
            Self::Sniff(_) => k::SNIFF,
            Self::Neighbourdisc(_) => k::NEIGHBOURDISC,
            Self::Unsupported(kind) => *kind,
        }
    }
}

/// The Python class name for a record type code Vantage cannot decode yet.
pub(crate) fn unsupported_name(kind: u16) -> Option<&'static str> {
    match kind {
        k::TBIT => Some("ScamperTbit"),
        k::STING => Some("ScamperSting"),
        k::OWAMP => Some("ScamperOwamp"),
        _ => None,
    }
}

/// The error for a record Vantage reads but cannot decode.
pub(crate) fn not_implemented(kind: u16) -> PyErr {
    match unsupported_name(kind) {
        Some(name) => PyNotImplementedError::new_err(format!(
            "{name}: Vantage cannot decode {} records yet (read on to skip it, or use filter_types)",
            k::record_type_name(kind)
        )),
        None => PyRuntimeError::new_err(format!("unexpected object type {kind}")),
    }
}

/// The Python object for a record; `inst` is the instance that produced it.
pub(crate) fn to_py(py: Python<'_>, rec: Rec, inst: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
    let obj = match rec {
        Rec::List(l) => Bound::new(py, ScamperList { l })?.into_any(),
        Rec::Cycle(c, kind) => Bound::new(py, ScamperCycle { c, kind })?.into_any(),
        Rec::Ping(x) => Bound::new(py, ScamperPing::wrap(x, inst))?.into_any(),
        Rec::Trace(x) => Bound::new(py, ScamperTrace::wrap(x, inst))?.into_any(),
        Rec::Tracelb(x) => Bound::new(py, ScamperTracelb::wrap(x, inst))?.into_any(),
        Rec::Dealias(x) => Bound::new(py, ScamperDealias::wrap(x, inst))?.into_any(),
        Rec::Host(x) => Bound::new(py, ScamperHost::wrap(x, inst))?.into_any(),
        Rec::Http(x) => Bound::new(py, ScamperHttp::wrap(x, inst))?.into_any(),
        Rec::Udpprobe(x) => Bound::new(py, ScamperUdpprobe::wrap(x, inst))?.into_any(),
        Rec::Sniff(x) => Bound::new(py, ScamperSniff::wrap(x, inst))?.into_any(),
        Rec::Neighbourdisc(x) => Bound::new(py, ScamperNeighbourdisc::wrap(x, inst))?.into_any(),
        Rec::Unsupported(kind) => return Err(not_implemented(kind)),
    };
    Ok(obj.unbind())
}

/// The warts type code of a result class given to `filter_types`, or `None`
/// for any other class (lists and cycles cannot be filtered).
pub(crate) fn type_code(py: Python<'_>, t: &Bound<'_, PyType>) -> Option<u16> {
    let table = [
        (py.get_type::<ScamperPing>(), k::PING),
        (py.get_type::<ScamperTrace>(), k::TRACE),
        (py.get_type::<ScamperTracelb>(), k::TRACELB),
        (py.get_type::<ScamperDealias>(), k::DEALIAS),
        (py.get_type::<ScamperNeighbourdisc>(), k::NEIGHBOURDISC),
        (py.get_type::<ScamperTbit>(), k::TBIT),
        (py.get_type::<ScamperSting>(), k::STING),
        (py.get_type::<ScamperSniff>(), k::SNIFF),
        (py.get_type::<ScamperHost>(), k::HOST),
        (py.get_type::<ScamperHttp>(), k::HTTP),
        (py.get_type::<ScamperUdpprobe>(), k::UDPPROBE),
        (py.get_type::<ScamperOwamp>(), k::OWAMP),
    ];
    table.iter().find(|(c, _)| c.is(t)).map(|(_, code)| *code)
}

/// The record a Python object stands for: `Ok(None)` for objects written
/// implicitly (addresses); `RuntimeError` for anything else.
pub(crate) fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Option<Record>> {
    macro_rules! try_result {
        ($($cls:ty),*) => {
            $(
                if let Ok(x) = obj.cast::<$cls>() {
                    return Ok(Some(x.get().record()));
                }
            )*
        };
    }
    try_result!(
        ScamperPing,
        ScamperTrace,
        ScamperTracelb,
        ScamperDealias,
        ScamperHost,
        ScamperHttp,
        ScamperUdpprobe,
        ScamperSniff,
        ScamperNeighbourdisc
    );
    if let Ok(l) = obj.cast::<ScamperList>() {
        return Ok(Some(Record::List(Arc::clone(&l.get().l))));
    }
    if let Ok(c) = obj.cast::<ScamperCycle>() {
        return Ok(Some(c.get().record()));
    }
    if obj.cast::<crate::addr::ScamperAddr>().is_ok() {
        return Ok(None);
    }
    Err(PyRuntimeError::new_err("unhandled object type"))
}
