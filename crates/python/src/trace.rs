//! `ScamperTrace`, its hops and its PMTUD results.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use vantage_model::{Trace, TraceHop, TraceMethod, TraceReplyFlags, TraceStop};

use crate::addr::ScamperAddr;
use crate::conv::{self, EnumClass};
use crate::error::not_constructible;
use crate::icmpext::{ScamperIcmpExts, exts_of};
use crate::result::result_class;

static TRACE_STOP: EnumClass = EnumClass::new("ScamperTraceStop");

/// Where a hop object's reply lives in its trace.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum HopSet {
    Hops,
    Pmtud,
}

result_class! {
    /// A traceroute measurement.
    ScamperTrace(Trace) = Trace;
    {
        /// Why the traceroute stopped (`ScamperTraceStop`).
        #[getter]
        fn stop_reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            TRACE_STOP.member(py, i64::from(self.r.stop_reason.code()))
        }

        /// Why it stopped, as scamper names it (`completed`, `gaplimit`, ...).
        #[getter]
        fn stop_reason_str(&self) -> String {
            self.r.stop_reason.to_string()
        }

        /// The source address.
        #[getter]
        fn src(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.src)?.map(Bound::unbind))
        }

        /// The destination address.
        #[getter]
        fn dst(&self, py: Python<'_>) -> PyResult<Py<ScamperAddr>> {
            Ok(conv::addr(py, self.r.dst)?.unbind())
        }

        /// The first-hop router, if chosen.
        #[getter]
        fn rtr(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.rtr)?.map(Bound::unbind))
        }

        /// Number of TTLs probed.
        #[getter]
        fn hop_count(&self) -> u16 {
            self.r.hop_count
        }

        /// Hops up to where the trace stopped.
        #[getter]
        fn stop_hop(&self) -> u16 {
            self.r.effective_hop_count()
        }

        /// Attempts per hop.
        #[getter]
        fn attempts(&self) -> u8 {
            self.r.attempts
        }

        /// Largest TTL to probe (0: default).
        #[getter]
        fn hoplimit(&self) -> u8 {
            self.r.hoplimit
        }

        /// Probes in flight at once.
        #[getter]
        fn squeries(&self) -> u8 {
            self.r.squeries
        }

        /// Consecutive unresponsive hops before stopping.
        #[getter]
        fn gaplimit(&self) -> u8 {
            self.r.gaplimit
        }

        /// What to do at the gap limit (1 stop, 2 last-ditch probes).
        #[getter]
        fn gapaction(&self) -> u8 {
            self.r.gapaction.code()
        }

        /// First TTL probed.
        #[getter]
        fn firsthop(&self) -> u8 {
            self.r.firsthop
        }

        /// Probe IP TOS.
        #[getter]
        fn tos(&self) -> u8 {
            self.r.tos
        }

        /// Minimum time between probes.
        #[getter]
        fn wait_probe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.wait_probe)
        }

        /// How long to wait for each reply.
        #[getter]
        fn wait_timeout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.wait_timeout)
        }

        /// Confidence level.
        #[getter]
        fn confidence(&self) -> u8 {
            self.r.confidence
        }

        /// Probe size in bytes.
        #[getter]
        fn probe_size(&self) -> u16 {
            self.r.probe_size
        }

        /// The probe payload; the model does not keep it, so `None`.
        #[getter]
        fn payload(&self) -> Option<Vec<u8>> {
            None
        }

        /// Source port of TCP/UDP probes, else `None`.
        #[getter]
        fn probe_sport(&self) -> Option<u16> {
            (self.r.method.is_tcp() || self.r.method.is_udp()).then_some(self.r.sport)
        }

        /// Destination port of TCP/UDP probes, else `None`.
        #[getter]
        fn probe_dport(&self) -> Option<u16> {
            (self.r.method.is_tcp() || self.r.method.is_udp()).then_some(self.r.dport)
        }

        /// The ICMP checksum of icmp-paris probes, else `None`.
        #[getter]
        fn probe_icmp_sum(&self) -> Option<u16> {
            (self.r.method == TraceMethod::IcmpEchoParis).then_some(self.r.dport)
        }

        /// Fragment offset of probes (0: none).
        #[getter]
        fn offset(&self) -> u16 {
            self.r.offset
        }

        /// Probes sent.
        #[getter]
        fn probe_count(&self) -> u16 {
            self.r.probes_sent
        }

        /// Path MTU discovery results, if the trace did PMTUD.
        #[getter]
        fn pmtud(&self) -> Option<ScamperTracePmtud> {
            self.r.pmtud.as_ref().map(|_| ScamperTracePmtud { r: Arc::clone(&self.r) })
        }

        /// The first reply at TTL `i + 1` (0-based), or `None` if none came.
        fn hop(&self, i: &Bound<'_, PyAny>) -> PyResult<Option<ScamperTraceHop>> {
            let i: i64 = i
                .extract()
                .map_err(|_| PyValueError::new_err("hop index must be an int"))?;
            if !(0..=254).contains(&i) {
                return Err(PyValueError::new_err("hop index must be within 0..254"));
            }
            Ok(self.hop_at(i as u8 + 1))
        }

        /// The first reply at each TTL up to where the trace stopped, `None`
        /// for TTLs without one.
        fn hops<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            let n = self.r.effective_hop_count().min(255) as u8;
            let items: Vec<Option<ScamperTraceHop>> = (1..=n).map(|ttl| self.hop_at(ttl)).collect();
            pyo3::types::PyList::new(py, items)?.try_iter().map(Bound::into_any)
        }

        /// The distinct addresses that replied; `reserved=False` leaves out
        /// reserved addresses.
        #[pyo3(signature = (reserved = true))]
        fn addrs(&self, py: Python<'_>, reserved: bool) -> PyResult<Vec<Py<ScamperAddr>>> {
            let mut seen = Vec::new();
            for h in &self.r.hops {
                if !seen.contains(&h.addr) && (reserved || !crate::addr::is_reserved(h.addr)) {
                    seen.push(h.addr);
                }
            }
            Ok(conv::addr_list(py, &seen)?.into_iter().map(Bound::unbind).collect())
        }

        /// Whether probes were UDP.
        fn is_udp(&self) -> bool {
            self.r.method.is_udp()
        }

        /// Whether probes were TCP.
        fn is_tcp(&self) -> bool {
            self.r.method.is_tcp()
        }

        /// Whether probes were ICMP.
        fn is_icmp(&self) -> bool {
            self.r.method.is_icmp()
        }

        /// Whether no stop reason was recorded.
        fn is_stop_noreason(&self) -> bool {
            self.r.stop_reason == TraceStop::None
        }

        /// Whether the destination was reached.
        fn is_stop_completed(&self) -> bool {
            self.r.stop_reason == TraceStop::Completed
        }

        /// Whether an ICMP unreachable stopped it.
        fn is_stop_unreach(&self) -> bool {
            self.r.stop_reason == TraceStop::Unreach
        }

        /// Whether another ICMP message stopped it.
        fn is_stop_icmp(&self) -> bool {
            self.r.stop_reason == TraceStop::Icmp
        }

        /// Whether a loop stopped it.
        fn is_stop_loop(&self) -> bool {
            self.r.stop_reason == TraceStop::Loop
        }

        /// Whether the gap limit stopped it.
        fn is_stop_gaplimit(&self) -> bool {
            self.r.stop_reason == TraceStop::Gaplimit
        }

        /// Whether an error stopped it.
        fn is_stop_error(&self) -> bool {
            self.r.stop_reason == TraceStop::Error
        }

        /// Whether the hop limit stopped it.
        fn is_stop_hoplimit(&self) -> bool {
            self.r.stop_reason == TraceStop::Hoplimit
        }

        /// Whether a doubletree global stop set address stopped it.
        fn is_stop_gss(&self) -> bool {
            self.r.stop_reason == TraceStop::Gss
        }

        /// Whether it was halted.
        fn is_stop_halted(&self) -> bool {
            self.r.stop_reason == TraceStop::Halted
        }

        /// scamper's text rendering of the traceroute.
        fn to_text(&self) -> String {
            crate::text::trace(&self.r)
        }

        fn __str__(&self) -> String {
            crate::text::trace(&self.r)
        }
    }
}

impl ScamperTrace {
    fn hop_at(&self, ttl: u8) -> Option<ScamperTraceHop> {
        let i = self.r.hops.iter().position(|h| h.probe_ttl == ttl)?;
        Some(ScamperTraceHop {
            r: Arc::clone(&self.r),
            set: HopSet::Hops,
            i,
        })
    }
}

/// One reply to one traceroute probe.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperTraceHop {
    r: Arc<Trace>,
    set: HopSet,
    i: usize,
}

impl ScamperTraceHop {
    fn x(&self) -> &TraceHop {
        match (self.set, &self.r.pmtud) {
            (HopSet::Pmtud, Some(p)) => &p.hops[self.i],
            _ => &self.r.hops[self.i],
        }
    }
}

/// `"[<name> ]<addr>  <ms> ms"`.
pub(crate) fn hop_line(h: &TraceHop) -> String {
    let us = h.rtt.as_micros();
    let name = h
        .name
        .as_deref()
        .map(|n| format!("{n} "))
        .unwrap_or_default();
    format!("{name}{} {}.{:03} ms", h.addr, us / 1000, us % 1000)
}

#[pymethods]
impl ScamperTraceHop {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The replying address.
    #[getter]
    fn src(&self, py: Python<'_>) -> PyResult<Py<ScamperAddr>> {
        Ok(conv::addr(py, self.x().addr)?.unbind())
    }

    /// The reverse-DNS name of the address, if looked up.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.x().name.as_deref()
    }

    /// When the probe was sent, if recorded.
    #[getter]
    fn tx<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.x().tx.map(|t| conv::datetime(py, t)).transpose()
    }

    /// Round-trip time.
    #[getter]
    fn rtt<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::delta(py, self.x().rtt)
    }

    /// Which attempt at this TTL, 1-based.
    #[getter]
    fn attempt(&self) -> u16 {
        u16::from(self.x().probe_id) + 1
    }

    /// The probe's TTL.
    #[getter]
    fn probe_ttl(&self) -> u8 {
        self.x().probe_ttl
    }

    /// The probe's size.
    #[getter]
    fn probe_size(&self) -> u16 {
        self.x().probe_size
    }

    /// The probe's IP-ID; the model does not keep it, so `None`.
    #[getter]
    fn probe_ipid(&self) -> Option<u16> {
        None
    }

    /// The reply's TTL, if recorded.
    #[getter]
    fn reply_ttl(&self) -> Option<u8> {
        let x = self.x();
        x.flags
            .contains(TraceReplyFlags::REPLY_TTL)
            .then_some(x.reply_ttl)
    }

    /// The reply's TOS.
    #[getter]
    fn reply_tos(&self) -> u8 {
        self.x().reply_tos
    }

    /// The reply's size, if recorded.
    #[getter]
    fn reply_size(&self) -> Option<u16> {
        let x = self.x();
        (x.reply_size != 0).then_some(x.reply_size)
    }

    /// The reply's IP-ID (IPv4 only).
    #[getter]
    fn reply_ipid(&self) -> Option<u16> {
        let x = self.x();
        x.addr.is_ipv4().then_some(x.reply_ipid)
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

    /// Next-hop MTU of a packet-too-big reply.
    #[getter]
    fn icmp_nhmtu(&self) -> Option<u16> {
        let x = self.x();
        x.is_icmp_ptb().then_some(x.nhmtu)
    }

    /// TTL of the quoted probe, when the reply quotes one.
    #[getter]
    fn icmp_q_ttl(&self) -> Option<u8> {
        let x = self.x();
        x.is_icmp_quoting().then_some(x.icmp_q_ttl)
    }

    /// TOS of the quoted probe, when the reply quotes one.
    #[getter]
    fn icmp_q_tos(&self) -> Option<u8> {
        let x = self.x();
        x.is_icmp_quoting().then_some(x.icmp_q_tos)
    }

    /// IP length of the quoted probe, when the reply quotes one.
    #[getter]
    fn icmp_q_ipl(&self) -> Option<u16> {
        let x = self.x();
        x.is_icmp_quoting().then_some(x.icmp_q_ipl)
    }

    /// IP-ID of the quoted probe; the model does not keep it, so `None`.
    #[getter]
    fn icmp_q_ipid(&self) -> Option<u16> {
        None
    }

    /// TCP flags of a TCP reply.
    #[getter]
    fn tcp_flags(&self) -> Option<u8> {
        let x = self.x();
        x.is_tcp().then_some(x.tcp_flags)
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

    /// Whether the reply is an ICMP error quoting the probe.
    fn is_icmp_q(&self) -> bool {
        self.x().is_icmp_quoting()
    }

    /// Whether the reply is an ICMP port unreachable.
    fn is_icmp_unreach_port(&self) -> bool {
        let x = self.x();
        x.is_icmp()
            && if x.addr.is_ipv6() {
                x.icmp_type == 1 && x.icmp_code == 4
            } else {
                x.icmp_type == 3 && x.icmp_code == 3
            }
    }

    /// Whether the reply is an ICMP echo reply.
    fn is_icmp_echo_reply(&self) -> bool {
        let x = self.x();
        x.is_icmp() && x.icmp_type == if x.addr.is_ipv6() { 129 } else { 0 }
    }

    /// Whether the reply is an ICMP time exceeded.
    fn is_icmp_ttl_exp(&self) -> bool {
        self.x().is_icmp_ttl_exp()
    }

    /// Whether the reply is an ICMP packet too big.
    fn is_icmp_ptb(&self) -> bool {
        self.x().is_icmp_ptb()
    }

    fn __str__(&self) -> String {
        hop_line(self.x())
    }
}

/// Path MTU discovery results of a traceroute.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperTracePmtud {
    r: Arc<Trace>,
}

impl ScamperTracePmtud {
    fn p(&self) -> Option<&vantage_model::TracePmtud> {
        self.r.pmtud.as_ref()
    }
}

#[pymethods]
impl ScamperTracePmtud {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The path MTU found.
    #[getter]
    fn path_mtu(&self) -> u16 {
        self.p().map_or(0, |p| p.path_mtu)
    }

    /// MTU of the outgoing interface.
    #[getter]
    fn if_mtu(&self) -> u16 {
        self.p().map_or(0, |p| p.if_mtu)
    }

    /// MTU to the first hop (the interface MTU unless it differs).
    #[getter]
    fn out_mtu(&self) -> u16 {
        self.p()
            .map_or(0, |p| if p.out_mtu != 0 { p.out_mtu } else { p.if_mtu })
    }

    /// The notes of where the path MTU dropped.
    fn notes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let n = self.p().map_or(0, |p| p.notes.len());
        let items: Vec<ScamperTracePmtudNote> = (0..n)
            .map(|i| ScamperTracePmtudNote {
                r: Arc::clone(&self.r),
                i,
            })
            .collect();
        pyo3::types::PyList::new(py, items)?
            .try_iter()
            .map(Bound::into_any)
    }
}

/// One PMTUD note.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperTracePmtudNote {
    r: Arc<Trace>,
    i: usize,
}

impl ScamperTracePmtudNote {
    fn n(&self) -> Option<&vantage_model::PmtudNote> {
        self.r.pmtud.as_ref().and_then(|p| p.notes.get(self.i))
    }
}

#[pymethods]
impl ScamperTracePmtudNote {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The kind of note (`ptb`, `ptb-bad`, `silence`).
    #[getter]
    fn type_str(&self) -> String {
        self.n().map(|n| n.kind.to_string()).unwrap_or_default()
    }

    /// The next-hop MTU inferred.
    #[getter]
    fn nhmtu(&self) -> u16 {
        self.n().map_or(0, |n| n.nhmtu)
    }

    /// The TTL of the related reply's probe, if any.
    #[getter]
    fn distance(&self) -> Option<u8> {
        let h = self.n()?.hop?;
        self.r
            .pmtud
            .as_ref()
            .and_then(|p| p.hops.get(usize::from(h)))
            .map(|h| h.probe_ttl)
    }

    /// The related reply, if any.
    fn hop(&self) -> Option<ScamperTraceHop> {
        let h = usize::from(self.n()?.hop?);
        let p = self.r.pmtud.as_ref()?;
        (h < p.hops.len()).then(|| ScamperTraceHop {
            r: Arc::clone(&self.r),
            set: HopSet::Pmtud,
            i: h,
        })
    }
}
