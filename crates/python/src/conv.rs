//! Conversions from model values to the Python values the API promises:
//! aware UTC datetimes, timedeltas, enum members, `ScamperAddr`s.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDateTime, PyDelta, PyDict, PyTzInfo};
use vantage_model::{Addr, Timestamp};

use crate::addr::ScamperAddr;

/// Cached `datetime` building blocks: the UTC epoch and one microsecond.
struct TimeBase {
    epoch: Py<PyAny>,
    micro: Py<PyAny>,
}

static TIME_BASE: PyOnceLock<TimeBase> = PyOnceLock::new();

fn time_base(py: Python<'_>) -> PyResult<&TimeBase> {
    TIME_BASE.get_or_try_init(py, || -> PyResult<TimeBase> {
        let utc = PyTzInfo::utc(py)?;
        let epoch = PyDateTime::new(py, 1970, 1, 1, 0, 0, 0, 0, Some(&utc))?;
        let micro = PyDelta::new(py, 0, 0, 1, false)?;
        Ok(TimeBase {
            epoch: epoch.into_any().unbind(),
            micro: micro.into_any().unbind(),
        })
    })
}

/// A `timedelta` of `us` microseconds. Multiplying a cached one-microsecond
/// timedelta is several times faster than calling the constructor through the
/// stable ABI.
pub(crate) fn delta_us(py: Python<'_>, us: u64) -> PyResult<Bound<'_, PyAny>> {
    time_base(py)?.micro.bind(py).mul(us)
}

/// A timezone-aware UTC `datetime` for seconds + microseconds since the epoch.
pub(crate) fn datetime_parts(py: Python<'_>, sec: u64, usec: u64) -> PyResult<Bound<'_, PyAny>> {
    let tb = time_base(py)?;
    let d = tb.micro.bind(py).mul(sec * 1_000_000 + usec)?;
    tb.epoch.bind(py).add(d)
}

/// A timezone-aware UTC `datetime` for a model timestamp.
pub(crate) fn datetime(py: Python<'_>, t: Timestamp) -> PyResult<Bound<'_, PyAny>> {
    datetime_parts(py, u64::from(t.sec), u64::from(t.usec))
}

/// `None` for a zero ("not set") timestamp, else the datetime.
pub(crate) fn datetime_opt(py: Python<'_>, t: Timestamp) -> PyResult<Option<Bound<'_, PyAny>>> {
    if t.is_zero() {
        Ok(None)
    } else {
        datetime(py, t).map(Some)
    }
}

/// A `timedelta` at microsecond precision.
pub(crate) fn delta(py: Python<'_>, d: Duration) -> PyResult<Bound<'_, PyAny>> {
    delta_us(py, u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// A `timedelta` of `ms` milliseconds.
pub(crate) fn delta_ms(py: Python<'_>, ms: u32) -> PyResult<Bound<'_, PyAny>> {
    delta_us(py, u64::from(ms) * 1000)
}

/// A new `ScamperAddr`.
pub(crate) fn addr(py: Python<'_>, a: Addr) -> PyResult<Bound<'_, ScamperAddr>> {
    Bound::new(py, ScamperAddr::from(a))
}

/// A new `ScamperAddr`, or `None`.
pub(crate) fn addr_opt(
    py: Python<'_>,
    a: Option<Addr>,
) -> PyResult<Option<Bound<'_, ScamperAddr>>> {
    a.map(|a| addr(py, a)).transpose()
}

/// A list of new `ScamperAddr`s.
pub(crate) fn addr_list<'py>(
    py: Python<'py>,
    a: &[Addr],
) -> PyResult<Vec<Bound<'py, ScamperAddr>>> {
    a.iter().map(|a| addr(py, *a)).collect()
}

/// One of the `IntEnum` classes of `vantage._enums`, as a value → member map.
pub(crate) struct EnumClass {
    name: &'static str,
    members: PyOnceLock<Py<PyDict>>,
}

impl EnumClass {
    /// The enum named `name` in `vantage._enums`, loaded on first use.
    pub(crate) const fn new(name: &'static str) -> Self {
        Self {
            name,
            members: PyOnceLock::new(),
        }
    }

    /// The member with value `code`, or the plain int for a code the enum does not name.
    pub(crate) fn member<'py>(&self, py: Python<'py>, code: i64) -> PyResult<Bound<'py, PyAny>> {
        let map = self
            .members
            .get_or_try_init(py, || -> PyResult<Py<PyDict>> {
                let cls = py.import("vantage._enums")?.getattr(self.name)?;
                let map = cls.getattr("_value2member_map_")?.cast_into::<PyDict>()?;
                Ok(map.unbind())
            })?;
        let map = map.bind(py);
        let key = code.into_pyobject(py)?;
        match map.get_item(&key)? {
            Some(m) => Ok(m),
            None => Ok(key.into_any()),
        }
    }
}

/// Python `json.loads` of `text`.
pub(crate) fn json_loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let loads = LOADS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("json")?.getattr("loads")?.unbind())
    })?;
    loads.bind(py).call1((text,))
}
