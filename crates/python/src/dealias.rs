//! `ScamperDealias` (alias resolution), its probe definitions, probes and replies.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use vantage_model::{
    Addr, Dealias, DealiasMethod, DealiasProbe, DealiasProbedef, DealiasReply, DealiasResult,
    ProbedefMethod,
};

use crate::addr::{ScamperAddr, parse_addr};
use crate::conv;
use crate::error::not_constructible;
use crate::icmpext::{ScamperIcmpExts, exts_of};
use crate::result::result_class;

fn iter_of<'py, T: pyo3::IntoPyObject<'py>>(
    py: Python<'py>,
    items: Vec<T>,
) -> PyResult<Bound<'py, PyAny>> {
    PyList::new(py, items)?.try_iter().map(Bound::into_any)
}

result_class! {
    /// An alias resolution: ally, mercator, radargun, prefixscan, bump, or
    /// the MIDAR estimation and discovery stages.
    ScamperDealias(Dealias) = Dealias;
    {
        /// When a midardisc measurement was scheduled to start.
        #[getter]
        fn startat<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            match &self.r.method {
                DealiasMethod::Midardisc { startat: Some(t), .. } => conv::datetime(py, *t).map(Some),
                _ => Ok(None),
            }
        }

        /// Time between probes (mercator: its reply timeout, as in the reference).
        #[getter]
        fn wait_probe<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            let d = match &self.r.method {
                DealiasMethod::Mercator { wait_timeout, .. } => Some(*wait_timeout),
                DealiasMethod::Ally { wait_probe, .. }
                | DealiasMethod::Radargun { wait_probe, .. }
                | DealiasMethod::Prefixscan { wait_probe, .. }
                | DealiasMethod::Bump { wait_probe, .. }
                | DealiasMethod::Midarest { wait_probe, .. } => Some(*wait_probe),
                _ => None,
            };
            d.map(|d| conv::delta(py, d)).transpose()
        }

        /// Time between rounds (radargun, midarest).
        #[getter]
        fn wait_round<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            match &self.r.method {
                DealiasMethod::Radargun { wait_round, .. } | DealiasMethod::Midarest { wait_round, .. } => {
                    conv::delta(py, *wait_round).map(Some)
                }
                _ => Ok(None),
            }
        }

        /// Reply timeout.
        #[getter]
        fn wait_timeout<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            let d = match &self.r.method {
                DealiasMethod::Mercator { wait_timeout, .. }
                | DealiasMethod::Ally { wait_timeout, .. }
                | DealiasMethod::Radargun { wait_timeout, .. }
                | DealiasMethod::Prefixscan { wait_timeout, .. }
                | DealiasMethod::Midarest { wait_timeout, .. }
                | DealiasMethod::Midardisc { wait_timeout, .. } => Some(*wait_timeout),
                _ => None,
            };
            d.map(|d| conv::delta(py, d)).transpose()
        }

        /// Number of probe definitions (`None` for an unknown method).
        #[getter]
        fn probedef_count(&self) -> Option<usize> {
            (!matches!(self.r.method, DealiasMethod::Other(_))).then_some(self.r.probedefs.len())
        }

        /// Number of probes sent.
        #[getter]
        fn probe_count(&self) -> usize {
            self.r.probes.len()
        }

        /// The outcome as scamper names it (`aliases`, `not-aliases`, `none`, ...).
        #[getter]
        fn result_str(&self) -> String {
            self.r.result.to_string()
        }

        /// Whether this is an ally measurement.
        fn is_ally(&self) -> bool {
            matches!(self.r.method, DealiasMethod::Ally { .. })
        }

        /// Whether this is a mercator measurement.
        fn is_mercator(&self) -> bool {
            matches!(self.r.method, DealiasMethod::Mercator { .. })
        }

        /// Whether this is a prefixscan measurement.
        fn is_prefixscan(&self) -> bool {
            matches!(self.r.method, DealiasMethod::Prefixscan { .. })
        }

        /// Whether this is a radargun measurement.
        fn is_radargun(&self) -> bool {
            matches!(self.r.method, DealiasMethod::Radargun { .. })
        }

        /// Whether this is a bump measurement.
        fn is_bump(&self) -> bool {
            matches!(self.r.method, DealiasMethod::Bump { .. })
        }

        /// Whether this is a MIDAR estimation stage.
        fn is_midarest(&self) -> bool {
            matches!(self.r.method, DealiasMethod::Midarest { .. })
        }

        /// Whether this is a MIDAR discovery stage.
        fn is_midardisc(&self) -> bool {
            matches!(self.r.method, DealiasMethod::Midardisc { .. })
        }

        /// Whether the measurement found aliases.
        fn has_aliases(&self) -> bool {
            self.r.result == DealiasResult::Aliases
        }

        /// The two aliases found by ally, mercator or prefixscan, else `None`.
        fn aliases(&self, py: Python<'_>) -> PyResult<Option<(Py<ScamperAddr>, Py<ScamperAddr>)>> {
            if self.r.result != DealiasResult::Aliases {
                return Ok(None);
            }
            let pair = match &self.r.method {
                DealiasMethod::Ally { .. } => self
                    .r
                    .probedefs
                    .first()
                    .and_then(|a| a.dst)
                    .zip(self.r.probedefs.get(1).and_then(|b| b.dst)),
                DealiasMethod::Mercator { .. } => {
                    let dst = self.r.probedefs.first().and_then(|d| d.dst);
                    let from = self.r.probes.iter().flat_map(|p| p.replies.iter()).map(|r| r.src).next();
                    dst.zip(from)
                }
                DealiasMethod::Prefixscan { a, ab, .. } => a.zip(*ab),
                _ => None,
            };
            match pair {
                Some((a, b)) => Ok(Some((conv::addr(py, a)?.unbind(), conv::addr(py, b)?.unbind()))),
                None => Ok(None),
            }
        }

        /// Probe definition `i`, or `None`.
        #[pyo3(signature = (i = 0))]
        fn probedef(&self, i: usize) -> Option<ScamperDealiasProbedef> {
            self.r.probedefs.get(i).map(ScamperDealiasProbedef::from_model)
        }

        /// Every probe definition.
        fn probedefs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            iter_of(py, self.r.probedefs.iter().map(ScamperDealiasProbedef::from_model).collect())
        }

        /// Probe `i`, or `None`.
        #[pyo3(signature = (i = 0))]
        fn probe(&self, i: usize) -> Option<ScamperDealiasProbe> {
            (i < self.r.probes.len()).then(|| ScamperDealiasProbe { r: Arc::clone(&self.r), p: i })
        }

        /// Every probe, in sending order.
        fn probes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            let v: Vec<_> = (0..self.r.probes.len())
                .map(|p| ScamperDealiasProbe { r: Arc::clone(&self.r), p })
                .collect();
            iter_of(py, v)
        }

        /// scamper's text rendering (one line for ally; empty for other methods).
        fn to_text(&self) -> String {
            crate::text::dealias(&self.r)
        }
    }
}

/// A probe definition of an alias resolution (user-constructible, for the
/// radargun and MIDAR commands).
#[pyclass(module = "vantage", frozen)]
#[derive(Clone)]
pub struct ScamperDealiasProbedef {
    method: ProbedefMethod,
    src: Option<Addr>,
    dst: Option<Addr>,
    ttl: Option<u8>,
    size: Option<u16>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_id: Option<u16>,
    icmp_sum: Option<u16>,
}

impl ScamperDealiasProbedef {
    fn from_model(d: &DealiasProbedef) -> Self {
        let icmp = d.method.is_icmp();
        Self {
            method: d.method,
            src: d.src,
            dst: d.dst,
            ttl: Some(d.ttl),
            size: (d.size != 0).then_some(d.size),
            sport: (!icmp).then_some(d.sport),
            dport: (!icmp).then_some(d.dport),
            icmp_id: icmp.then_some(d.icmp_id),
            icmp_sum: icmp.then_some(d.icmp_csum),
        }
    }
}

fn opt_addr(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Addr>> {
    match obj {
        Some(o) if !o.is_none() => parse_addr(o).map(Some),
        _ => Ok(None),
    }
}

fn ranged<T: TryFrom<i64>>(name: &str, v: Option<i64>, lo: i64, hi: i64) -> PyResult<Option<T>> {
    match v {
        None => Ok(None),
        Some(x) if (lo..=hi).contains(&x) => T::try_from(x)
            .map(Some)
            .map_err(|_| PyValueError::new_err(format!("invalid {name}"))),
        Some(_) => Err(PyValueError::new_err(format!(
            "{name} must be within {lo}..{hi}"
        ))),
    }
}

#[pymethods]
impl ScamperDealiasProbedef {
    #[new]
    #[pyo3(signature = (method, src = None, dst = None, ttl = None, size = None, sport = None, dport = None, icmp_id = None, icmp_sum = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        method: &str,
        src: Option<&Bound<'_, PyAny>>,
        dst: Option<&Bound<'_, PyAny>>,
        ttl: Option<i64>,
        size: Option<i64>,
        sport: Option<i64>,
        dport: Option<i64>,
        icmp_id: Option<i64>,
        icmp_sum: Option<i64>,
    ) -> PyResult<Self> {
        let m = ProbedefMethod::KNOWN
            .iter()
            .find(|(_, _, n)| n.eq_ignore_ascii_case(method) && *n != "unset")
            .map(|(m, _, _)| *m)
            .ok_or_else(|| PyValueError::new_err(format!("invalid probedef method {method:?}")))?;
        let pd = Self {
            method: m,
            src: opt_addr(src)?,
            dst: opt_addr(dst)?,
            ttl: ranged("ttl", ttl, 0, 255)?,
            size: ranged("size", size, 0, 65535)?,
            sport: ranged("sport", sport, 0, 65535)?,
            dport: ranged("dport", dport, 0, 65535)?,
            icmp_id: ranged("icmp_id", icmp_id, 0, 65535)?,
            icmp_sum: ranged("icmp_sum", icmp_sum, 0, 65535)?,
        };
        if m.is_icmp() && (pd.sport.is_some() || pd.dport.is_some()) {
            return Err(PyValueError::new_err(
                "ports are only for udp and tcp probedefs",
            ));
        }
        if !m.is_icmp() && (pd.icmp_id.is_some() || pd.icmp_sum.is_some()) {
            return Err(PyValueError::new_err(
                "icmp_id and icmp_sum are only for icmp probedefs",
            ));
        }
        Ok(pd)
    }

    /// The method name.
    #[getter]
    fn method(&self) -> String {
        self.method.to_string()
    }

    /// The source address.
    #[getter]
    fn src(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
        Ok(conv::addr_opt(py, self.src)?.map(Bound::unbind))
    }

    /// The destination address.
    #[getter]
    fn dst(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
        Ok(conv::addr_opt(py, self.dst)?.map(Bound::unbind))
    }

    /// The IP TTL.
    #[getter]
    fn ttl(&self) -> Option<u8> {
        self.ttl
    }

    /// The probe size.
    #[getter]
    fn size(&self) -> Option<u16> {
        self.size
    }

    /// The source port (udp/tcp).
    #[getter]
    fn sport(&self) -> Option<u16> {
        self.sport
    }

    /// The destination port (udp/tcp).
    #[getter]
    fn dport(&self) -> Option<u16> {
        self.dport
    }

    /// The ICMP id (icmp).
    #[getter]
    fn icmp_id(&self) -> Option<u16> {
        self.icmp_id
    }

    /// The ICMP checksum (icmp).
    #[getter]
    fn icmp_sum(&self) -> Option<u16> {
        self.icmp_sum
    }

    /// Whether probes are UDP.
    fn is_udp(&self) -> bool {
        self.method.is_udp()
    }

    /// Whether probes are ICMP.
    fn is_icmp(&self) -> bool {
        self.method.is_icmp()
    }

    /// Whether probes are TCP.
    fn is_tcp(&self) -> bool {
        self.method.is_tcp()
    }

    /// The probedef as scamper's `-p` option text.
    fn __str__(&self) -> String {
        let mut s = format!("-P {}", self.method);
        if let Some(d) = self.dst {
            let _ = write!(s, " -i {d}");
        }
        if let Some(c) = self.icmp_sum {
            let _ = write!(s, " -c {c}");
        }
        if let Some(p) = self.sport {
            let _ = write!(s, " -F {p}");
        }
        if let Some(p) = self.dport {
            let _ = write!(s, " -d {p}");
        }
        if let Some(z) = self.size {
            let _ = write!(s, " -s {z}");
        }
        if let Some(t) = self.ttl {
            let _ = write!(s, " -t {t}");
        }
        s
    }

    fn __repr__(&self) -> String {
        let mut args = vec![format!("'{}'", self.method)];
        let mut kw = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                args.push(format!("{k}={v}"));
            }
        };
        kw("src", self.src.map(|a| format!("'{a}'")));
        kw("dst", self.dst.map(|a| format!("'{a}'")));
        kw("ttl", self.ttl.map(|v| v.to_string()));
        kw("size", self.size.map(|v| v.to_string()));
        kw("sport", self.sport.map(|v| v.to_string()));
        kw("dport", self.dport.map(|v| v.to_string()));
        kw("icmp_id", self.icmp_id.map(|v| v.to_string()));
        kw("icmp_sum", self.icmp_sum.map(|v| v.to_string()));
        format!("ScamperDealiasProbedef({})", args.join(", "))
    }
}

/// One round of a MIDAR discovery schedule (user-constructible).
#[pyclass(module = "vantage", frozen)]
pub struct ScamperDealiasMidardiscRound {
    start_us: u64,
    begin: u32,
    end: u32,
}

#[pymethods]
impl ScamperDealiasMidardiscRound {
    #[new]
    fn new(
        start: &Bound<'_, PyAny>,
        begin: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let d: Duration = start
            .extract()
            .map_err(|_| PyTypeError::new_err("start must be a timedelta"))?;
        let int = |o: &Bound<'_, PyAny>, n: &str| -> PyResult<u32> {
            if o.is_instance_of::<pyo3::types::PyBool>()
                || !o.is_instance_of::<pyo3::types::PyInt>()
            {
                return Err(PyTypeError::new_err(format!("{n} must be an int")));
            }
            o.extract::<u32>()
                .map_err(|_| PyValueError::new_err(format!("invalid {n}")))
        };
        Ok(Self {
            start_us: u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            begin: int(begin, "begin")?,
            end: int(end, "end")?,
        })
    }

    /// Offset of the round from the start.
    #[getter]
    fn start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::delta_us(py, self.start_us)
    }

    /// First probedef index.
    #[getter]
    fn begin(&self) -> u32 {
        self.begin
    }

    /// Last probedef index.
    #[getter]
    fn end(&self) -> u32 {
        self.end
    }

    fn __str__(&self) -> String {
        format!(
            "{}.{:06}:{}:{}",
            self.start_us / 1_000_000,
            self.start_us % 1_000_000,
            self.begin,
            self.end
        )
    }
}

/// One alias-resolution probe.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperDealiasProbe {
    r: Arc<Dealias>,
    p: usize,
}

impl ScamperDealiasProbe {
    fn x(&self) -> &DealiasProbe {
        &self.r.probes[self.p]
    }

    fn reply_obj(&self, i: usize) -> ScamperDealiasReply {
        ScamperDealiasReply {
            r: Arc::clone(&self.r),
            p: self.p,
            i,
        }
    }
}

#[pymethods]
impl ScamperDealiasProbe {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The probe's definition.
    #[getter]
    fn probedef(&self) -> Option<ScamperDealiasProbedef> {
        self.r
            .probedefs
            .get(self.x().probedef as usize)
            .map(ScamperDealiasProbedef::from_model)
    }

    /// The probe's IP-ID.
    #[getter]
    fn ipid(&self) -> u16 {
        self.x().ipid
    }

    /// The sequence number.
    #[getter]
    fn seq(&self) -> u32 {
        self.x().seq
    }

    /// When it was sent.
    #[getter]
    fn tx<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::datetime(py, self.x().tx)
    }

    /// Number of replies.
    #[getter]
    fn reply_count(&self) -> usize {
        self.x().replies.len()
    }

    /// Reply `i`, or `None`.
    #[pyo3(signature = (i = 0))]
    fn reply(&self, i: usize) -> Option<ScamperDealiasReply> {
        (i < self.x().replies.len()).then(|| self.reply_obj(i))
    }

    /// Every reply.
    fn replies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        iter_of(
            py,
            (0..self.x().replies.len())
                .map(|i| self.reply_obj(i))
                .collect(),
        )
    }
}

/// One reply to an alias-resolution probe.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperDealiasReply {
    r: Arc<Dealias>,
    p: usize,
    i: usize,
}

impl ScamperDealiasReply {
    fn x(&self) -> &DealiasReply {
        &self.r.probes[self.p].replies[self.i]
    }
}

#[pymethods]
impl ScamperDealiasReply {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The replying address.
    #[getter]
    fn src(&self, py: Python<'_>) -> PyResult<Py<ScamperAddr>> {
        Ok(conv::addr(py, self.x().src)?.unbind())
    }

    /// When it arrived (`None` if not recorded).
    #[getter]
    fn rx<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        conv::datetime_opt(py, self.x().rx)
    }

    /// The reply's TTL.
    #[getter]
    fn ttl(&self) -> u8 {
        self.x().ttl
    }

    /// The reply's size.
    #[getter]
    fn size(&self) -> u16 {
        self.x().size
    }

    /// TCP flags of a TCP reply.
    #[getter]
    fn tcp_flags(&self) -> Option<u8> {
        let x = self.x();
        x.is_tcp().then_some(x.tcp_flags)
    }

    /// ICMP type of an ICMP reply.
    #[getter]
    fn icmp_type(&self) -> Option<u8> {
        let x = self.x();
        x.is_icmp().then_some(x.icmp_type)
    }

    /// ICMP code of an ICMP reply.
    #[getter]
    fn icmp_code(&self) -> Option<u8> {
        let x = self.x();
        x.is_icmp().then_some(x.icmp_code)
    }

    /// TTL of the quoted probe (ICMP replies).
    #[getter]
    fn icmp_q_ttl(&self) -> Option<u8> {
        let x = self.x();
        x.is_icmp().then_some(x.icmp_q_ttl)
    }

    /// The IP-ID (16-bit IPv4, 32-bit IPv6 when present).
    #[getter]
    fn ipid(&self) -> Option<u32> {
        let x = self.x();
        if x.src.is_ipv6() {
            x.flags
                .contains(vantage_model::DealiasReplyFlags::IPID32)
                .then_some(x.ipid)
        } else {
            Some(x.ipid)
        }
    }

    /// ICMP extension objects, or `None`.
    #[getter]
    fn icmp_exts(&self) -> Option<ScamperIcmpExts> {
        exts_of(&self.x().icmp_exts)
    }

    /// Whether the reply is TCP.
    fn is_tcp(&self) -> bool {
        self.x().is_tcp()
    }

    /// Whether the reply is ICMP.
    fn is_icmp(&self) -> bool {
        self.x().is_icmp()
    }

    /// Whether the reply is an ICMP time exceeded.
    fn is_icmp_ttl_exp(&self) -> bool {
        let x = self.x();
        (x.proto == 1 && x.icmp_type == 11) || (x.proto == 58 && x.icmp_type == 3)
    }

    /// Whether the reply is an ICMP destination unreachable.
    fn is_icmp_unreach(&self) -> bool {
        let x = self.x();
        (x.proto == 1 && x.icmp_type == 3) || (x.proto == 58 && x.icmp_type == 1)
    }

    /// Whether the reply is an ICMP port unreachable.
    fn is_icmp_unreach_port(&self) -> bool {
        let x = self.x();
        (x.proto == 1 && x.icmp_type == 3 && x.icmp_code == 3)
            || (x.proto == 58 && x.icmp_type == 1 && x.icmp_code == 4)
    }

    /// Whether the reply is an ICMP echo reply.
    fn is_icmp_echo_reply(&self) -> bool {
        let x = self.x();
        (x.proto == 1 && x.icmp_type == 0) || (x.proto == 58 && x.icmp_type == 129)
    }

    /// Whether the reply came from the probe's destination.
    fn is_from_target(&self) -> bool {
        let pd = self.r.probes[self.p].probedef as usize;
        self.r.probedefs.get(pd).and_then(|d| d.dst) == Some(self.x().src)
    }
}
