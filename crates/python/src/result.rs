//! The members every measurement result class shares (python-api §3.6).

/// Declares a result class wrapping an `Arc` of a model record, with the
/// common members (`inst`, `list`, `cycle`, `userid`, `start`, `errmsg`,
/// `to_json`, `to_dict`) and the class's own methods given in braces.
macro_rules! result_class {
    (
        $(#[$meta:meta])*
        $cls:ident($model:ty) = $variant:ident;
        { $($body:tt)* }
    ) => {
        $(#[$meta])*
        #[pyclass(module = "vantage", frozen)]
        pub struct $cls {
            pub(crate) r: std::sync::Arc<$model>,
            pub(crate) inst: Option<Py<PyAny>>,
        }

        impl $cls {
            /// Wraps a record; `inst` is the instance that measured it, if any.
            pub(crate) fn wrap(r: std::sync::Arc<$model>, inst: Option<Py<PyAny>>) -> Self {
                Self { r, inst }
            }

            /// The record as a model `Record` (a copy).
            pub(crate) fn record(&self) -> vantage_model::Record {
                vantage_model::Record::$variant(Box::new((*self.r).clone()))
            }
        }

        #[pymethods]
        impl $cls {
            #[new]
            #[pyo3(signature = (*_args, **_kwargs))]
            fn new(
                _args: &Bound<'_, pyo3::types::PyTuple>,
                _kwargs: Option<&Bound<'_, PyAny>>,
            ) -> PyResult<Self> {
                Err(crate::error::not_constructible())
            }

            /// The instance (vantage point) that ran the measurement; `None` when read from a file.
            #[getter]
            fn inst(&self, py: Python<'_>) -> Option<Py<PyAny>> {
                self.inst.as_ref().map(|i| i.clone_ref(py))
            }

            /// The list the measurement belongs to.
            #[getter]
            fn list(&self) -> Option<crate::lists::ScamperList> {
                crate::lists::list_of(self.r.list.as_ref())
            }

            /// The cycle the measurement belongs to.
            #[getter]
            fn cycle(&self) -> Option<crate::lists::ScamperCycle> {
                crate::lists::cycle_of(self.r.cycle.as_ref())
            }

            /// The user id given to the measurement (0 if none).
            #[getter]
            fn userid(&self) -> u32 {
                self.r.user_id
            }

            /// When the measurement started (aware UTC datetime).
            #[getter]
            fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                crate::conv::datetime(py, self.r.start)
            }

            /// The prober's error text, if any.
            #[getter]
            fn errmsg(&self) -> Option<&str> {
                self.r.errmsg.as_deref()
            }

            /// The record as scamper's JSON (what `vantage warts2json` prints), or
            /// `None` if scamper has no JSON for it.
            fn to_json(&self) -> Option<String> {
                vantage_warts::json::to_json(&self.record())
            }

            /// `json.loads(self.to_json())`, or `None` without JSON.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
                self.to_json()
                    .map(|s| crate::conv::json_loads(py, &s))
                    .transpose()
            }

            $($body)*
        }
    };
}

/// Declares a class for one element of a result (a reply, a hop, ...): the
/// parent record and an index path into it.
macro_rules! child_class {
    (
        $(#[$meta:meta])*
        $cls:ident($model:ty) { $($idx:ident),* }
    ) => {
        $(#[$meta])*
        #[pyclass(module = "vantage", frozen)]
        pub struct $cls {
            pub(crate) r: std::sync::Arc<$model>,
            $(pub(crate) $idx: usize,)*
        }
    };
}

pub(crate) use child_class;
pub(crate) use result_class;
