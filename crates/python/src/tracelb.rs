//! `ScamperTracelb` (MDA traceroute): nodes, links, probe sets, probes, replies.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};
use vantage_model::{Tracelb, TracelbLink, TracelbProbe, TracelbReply, TracelbReplyFlags};

use crate::addr::ScamperAddr;
use crate::conv::{self, EnumClass};
use crate::error::not_constructible;
use crate::icmpext::{ScamperIcmpExts, exts_of};
use crate::result::result_class;

static TRACELB_METHOD: EnumClass = EnumClass::new("ScamperTracelbMethod");

fn iter_of<'py, T: pyo3::IntoPyObject<'py>>(
    py: Python<'py>,
    items: Vec<T>,
) -> PyResult<Bound<'py, PyAny>> {
    PyList::new(py, items)?.try_iter().map(Bound::into_any)
}

result_class! {
    /// An MDA traceroute: every load-balanced path towards one destination.
    ScamperTracelb(Tracelb) = Tracelb;
    {
        /// How probes were sent (`ScamperTracelbMethod`).
        #[getter]
        fn method<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            TRACELB_METHOD.member(py, i64::from(self.r.method.code()))
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

        /// Number of nodes (interfaces, including unresponsive hops).
        #[getter]
        fn node_count(&self) -> usize {
            self.r.nodes.len()
        }

        /// Number of links.
        #[getter]
        fn link_count(&self) -> usize {
            self.r.links.len()
        }

        /// Attempts per probe.
        #[getter]
        fn attempts(&self) -> u8 {
            self.r.attempts
        }

        /// Consecutive unresponsive hops before giving up.
        #[getter]
        fn gaplimit(&self) -> u8 {
            self.r.gaplimit
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

        /// Time between probes.
        #[getter]
        fn wait_probe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.wait_probe)
        }

        /// Reply timeout.
        #[getter]
        fn wait_timeout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.wait_timeout)
        }

        /// Confidence level (95 or 99).
        #[getter]
        fn confidence(&self) -> u8 {
            self.r.confidence
        }

        /// Probes sent.
        #[getter]
        fn probe_count(&self) -> u32 {
            self.r.probes_sent
        }

        /// Probe size in bytes.
        #[getter]
        fn probe_size(&self) -> u16 {
            self.r.probe_size
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

        /// ICMP id of ICMP probes, else `None`.
        #[getter]
        fn probe_icmp_id(&self) -> Option<u16> {
            self.r.method.is_icmp().then_some(self.r.sport)
        }

        /// Node `i`, or `None`.
        fn node(&self, i: usize) -> Option<ScamperTracelbNode> {
            (i < self.r.nodes.len()).then(|| ScamperTracelbNode { r: Arc::clone(&self.r), i })
        }

        /// Every node.
        fn nodes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            let v: Vec<_> = (0..self.r.nodes.len())
                .map(|i| ScamperTracelbNode { r: Arc::clone(&self.r), i })
                .collect();
            iter_of(py, v)
        }

        /// Link `i`, or `None`.
        fn link(&self, i: usize) -> Option<ScamperTracelbLink> {
            (i < self.r.links.len()).then(|| ScamperTracelbLink { r: Arc::clone(&self.r), l: i })
        }

        /// Every link.
        fn links<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            let v: Vec<_> = (0..self.r.links.len())
                .map(|l| ScamperTracelbLink { r: Arc::clone(&self.r), l })
                .collect();
            iter_of(py, v)
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

        /// scamper's text rendering.
        fn to_text(&self) -> String {
            crate::text::tracelb(&self.r)
        }

        fn __str__(&self) -> String {
            crate::text::tracelb(&self.r)
        }
    }
}

/// An interface found by the MDA traceroute.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperTracelbNode {
    r: Arc<Tracelb>,
    i: usize,
}

impl ScamperTracelbNode {
    fn link_indices(&self) -> Vec<usize> {
        self.r
            .links
            .iter()
            .enumerate()
            .filter(|(_, l)| usize::from(l.from) == self.i)
            .map(|(k, _)| k)
            .collect()
    }
}

#[pymethods]
impl ScamperTracelbNode {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The node's address (`None` for an unresponsive hop).
    #[getter]
    fn src(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
        Ok(conv::addr_opt(py, self.r.nodes[self.i].addr)?.map(Bound::unbind))
    }

    /// The reverse-DNS name, if looked up.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.r.nodes[self.i].name.as_deref()
    }

    /// The quoted TTL seen in replies from this node, if consistent.
    #[getter]
    fn icmp_q_ttl(&self) -> Option<u8> {
        self.r.nodes[self.i].q_ttl
    }

    /// Number of links leaving this node.
    #[getter]
    fn link_count(&self) -> usize {
        self.link_indices().len()
    }

    /// Link `i` leaving this node, or `None`.
    fn link(&self, i: usize) -> Option<ScamperTracelbLink> {
        let l = *self.link_indices().get(i)?;
        Some(ScamperTracelbLink {
            r: Arc::clone(&self.r),
            l,
        })
    }

    /// The links leaving this node.
    fn links<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: Vec<_> = self
            .link_indices()
            .into_iter()
            .map(|l| ScamperTracelbLink {
                r: Arc::clone(&self.r),
                l,
            })
            .collect();
        iter_of(py, v)
    }

    fn __str__(&self) -> String {
        self.r.nodes[self.i]
            .addr
            .map_or_else(|| "*".to_owned(), |a| a.to_string())
    }
}

/// A link between two nodes, with one probe set per hop it spans.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperTracelbLink {
    r: Arc<Tracelb>,
    l: usize,
}

impl ScamperTracelbLink {
    fn x(&self) -> &TracelbLink {
        &self.r.links[self.l]
    }
}

#[pymethods]
impl ScamperTracelbLink {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The near node.
    #[getter]
    fn near(&self) -> ScamperTracelbNode {
        ScamperTracelbNode {
            r: Arc::clone(&self.r),
            i: usize::from(self.x().from),
        }
    }

    /// The far node, or `None` for a link to nowhere.
    #[getter]
    fn far(&self) -> Option<ScamperTracelbNode> {
        self.x().to.map(|i| ScamperTracelbNode {
            r: Arc::clone(&self.r),
            i: usize::from(i),
        })
    }

    /// How many hops the link spans.
    #[getter]
    fn length(&self) -> usize {
        self.x().probesets.len()
    }

    /// The probe set of hop `i` of the link, or `None`.
    fn probeset(&self, i: usize) -> Option<ScamperTracelbProbeset> {
        (i < self.x().probesets.len()).then(|| ScamperTracelbProbeset {
            r: Arc::clone(&self.r),
            l: self.l,
            s: i,
        })
    }

    fn __str__(&self) -> String {
        crate::text::link_text(&self.r, self.x())
    }
}

/// The probes that crossed one hop of a link.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperTracelbProbeset {
    r: Arc<Tracelb>,
    l: usize,
    s: usize,
}

impl ScamperTracelbProbeset {
    fn x(&self) -> &[TracelbProbe] {
        &self.r.links[self.l].probesets[self.s]
    }

    fn probe_obj(&self, p: usize) -> ScamperTracelbProbe {
        ScamperTracelbProbe {
            r: Arc::clone(&self.r),
            l: self.l,
            s: self.s,
            p,
        }
    }
}

#[pymethods]
impl ScamperTracelbProbeset {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// Number of probes.
    #[getter]
    fn probe_count(&self) -> usize {
        self.x().len()
    }

    /// Probe `i`, or `None`.
    fn probe(&self, i: usize) -> Option<ScamperTracelbProbe> {
        (i < self.x().len()).then(|| self.probe_obj(i))
    }

    fn __len__(&self) -> usize {
        self.x().len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: Vec<_> = (0..self.x().len()).map(|p| self.probe_obj(p)).collect();
        iter_of(py, v)
    }
}

/// One MDA probe.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperTracelbProbe {
    r: Arc<Tracelb>,
    l: usize,
    s: usize,
    p: usize,
}

impl ScamperTracelbProbe {
    fn x(&self) -> &TracelbProbe {
        &self.r.links[self.l].probesets[self.s][self.p]
    }
}

#[pymethods]
impl ScamperTracelbProbe {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// When it was sent.
    #[getter]
    fn tx<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::datetime(py, self.x().tx)
    }

    /// The flow identifier.
    #[getter]
    fn flowid(&self) -> u16 {
        self.x().flowid
    }

    /// The probe's TTL.
    #[getter]
    fn ttl(&self) -> u8 {
        self.x().ttl
    }

    /// Which attempt for this flow and TTL, 1-based.
    #[getter]
    fn attempt(&self) -> u16 {
        u16::from(self.x().attempt) + 1
    }

    /// Number of replies.
    #[getter]
    fn reply_count(&self) -> usize {
        self.x().replies.len()
    }

    /// Reply `i`, or `None`.
    fn reply(&self, i: usize) -> Option<ScamperTracelbReply> {
        (i < self.x().replies.len()).then(|| ScamperTracelbReply {
            r: Arc::clone(&self.r),
            l: self.l,
            s: self.s,
            p: self.p,
            i,
        })
    }
}

/// One reply to an MDA probe.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperTracelbReply {
    r: Arc<Tracelb>,
    l: usize,
    s: usize,
    p: usize,
    i: usize,
}

impl ScamperTracelbReply {
    fn x(&self) -> &TracelbReply {
        &self.r.links[self.l].probesets[self.s][self.p].replies[self.i]
    }
}

#[pymethods]
impl ScamperTracelbReply {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The replying address.
    #[getter]
    fn src(&self, py: Python<'_>) -> PyResult<Py<ScamperAddr>> {
        Ok(conv::addr(py, self.x().from)?.unbind())
    }

    /// When the reply arrived.
    #[getter]
    fn rx<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::datetime(py, self.x().rx)
    }

    /// The reply's IP-ID (IPv4).
    #[getter]
    fn ipid(&self) -> Option<u16> {
        let x = self.x();
        x.from.is_ipv4().then_some(x.ipid)
    }

    /// The reply's TTL, if recorded.
    #[getter]
    fn ttl(&self) -> Option<u8> {
        let x = self.x();
        x.flags
            .contains(TracelbReplyFlags::REPLY_TTL)
            .then_some(x.ttl)
    }

    /// ICMP type of an ICMP reply.
    #[getter]
    fn icmp_type(&self) -> Option<u8> {
        let x = self.x();
        (!x.is_tcp()).then_some(x.icmp_type)
    }

    /// ICMP code of an ICMP reply.
    #[getter]
    fn icmp_code(&self) -> Option<u8> {
        let x = self.x();
        (!x.is_tcp()).then_some(x.icmp_code)
    }

    /// TTL of the quoted probe (ICMP replies).
    #[getter]
    fn icmp_q_ttl(&self) -> Option<u8> {
        let x = self.x();
        (!x.is_tcp()).then_some(x.icmp_q_ttl)
    }

    /// TOS of the quoted probe (ICMP replies).
    #[getter]
    fn icmp_q_tos(&self) -> Option<u8> {
        let x = self.x();
        (!x.is_tcp()).then_some(x.icmp_q_tos)
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
}
