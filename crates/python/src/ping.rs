//! `ScamperPing` and its replies.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use vantage_model::{Ping, PingFlags, PingMethod, PingReply, PingReplyFlags};

use crate::addr::ScamperAddr;
use crate::conv::{self, EnumClass};
use crate::result::{child_class, result_class};

static PING_STOP: EnumClass = EnumClass::new("ScamperPingStop");

/// Indices of the first reply of each probe that got one, in probe order.
fn first_replies(p: &Ping) -> Vec<usize> {
    let mut first = std::collections::BTreeMap::new();
    for (i, r) in p.replies.iter().enumerate() {
        first.entry(r.probe_id).or_insert(i);
    }
    first.into_values().collect()
}

/// The smallest (or largest) RTT over replies from the target, without allocating.
fn extreme_rtt(p: &Ping, max: bool) -> Option<Duration> {
    let mut best: Option<Duration> = None;
    for r in &p.replies {
        if p.is_from_target(r) {
            best = Some(match best {
                None => r.rtt,
                Some(b) if max => b.max(r.rtt),
                Some(b) => b.min(r.rtt),
            });
        }
    }
    best
}

result_class! {
    /// A ping measurement.
    ScamperPing(Ping) = Ping;
    {
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

        /// The first-hop router probes were sent through, if chosen.
        #[getter]
        fn rtr(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.rtr)?.map(Bound::unbind))
        }

        /// Why the ping stopped (`ScamperPingStop`).
        #[getter]
        fn stop_reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            PING_STOP.member(py, i64::from(self.r.stop_reason.code()))
        }

        /// Why the ping stopped, as scamper names it (`done`, `error`, ...).
        #[getter]
        fn stop_reason_str(&self) -> String {
            self.r.stop_reason.to_string()
        }

        /// Probes requested.
        #[getter]
        fn attempts(&self) -> u16 {
            self.r.attempts
        }

        /// Probe size in bytes.
        #[getter]
        fn probe_size(&self) -> u16 {
            self.r.probe_size
        }

        /// The probe payload or pattern, `None` if none was given.
        #[getter]
        fn payload<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
            (!self.r.data.is_empty()).then(|| PyBytes::new(py, &self.r.data))
        }

        /// Probe IP TTL.
        #[getter]
        fn probe_ttl(&self) -> u8 {
            self.r.ttl
        }

        /// Probe IP TOS.
        #[getter]
        fn probe_tos(&self) -> u8 {
            self.r.tos
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

        /// The chosen ICMP checksum of ICMP probes, else `None`.
        #[getter]
        fn probe_icmp_sum(&self) -> Option<u16> {
            (self.r.method.is_icmp() && self.r.flags.contains(PingFlags::ICMPSUM))
                .then_some(self.r.icmp_csum)
        }

        /// TCP sequence number of TCP probes, else `None`.
        #[getter]
        fn probe_tcp_seq(&self) -> Option<u32> {
            self.r.method.is_tcp().then_some(self.r.tcp_seq)
        }

        /// TCP acknowledgment number of TCP probes, else `None`.
        #[getter]
        fn probe_tcp_ack(&self) -> Option<u32> {
            self.r.method.is_tcp().then_some(self.r.tcp_ack)
        }

        /// TCP MSS option of the probes; the model does not keep it, so `None`.
        #[getter]
        fn probe_tcp_mss(&self) -> Option<u16> {
            None
        }

        /// Prespecified IP timestamp addresses (`-T tsprespec=`), or `None`.
        #[getter]
        fn probe_tsaddrs(&self, py: Python<'_>) -> PyResult<Option<Vec<Py<ScamperAddr>>>> {
            if self.r.tsps.is_empty() {
                return Ok(None);
            }
            Ok(Some(conv::addr_list(py, &self.r.tsps)?.into_iter().map(Bound::unbind).collect()))
        }

        /// Stop after this many replies (0: no limit).
        #[getter]
        fn stop_count(&self) -> u16 {
            self.r.stop_count
        }

        /// The pseudo path MTU of the probes (`-M`), 0 if none.
        #[getter]
        fn reply_pmtu(&self) -> u16 {
            self.r.pmtu
        }

        /// Probes sent.
        #[getter]
        fn probe_count(&self) -> u16 {
            self.r.probes_sent
        }

        /// Time between probes.
        #[getter]
        fn wait_probe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.wait_probe)
        }

        /// How long to wait for a reply after the last probe.
        #[getter]
        fn wait_timeout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.wait_timeout)
        }

        /// Probes with at least one reply from the destination.
        #[getter]
        fn nreplies(&self) -> u32 {
            self.r.stats().nreplies
        }

        /// Duplicate replies from the destination.
        #[getter]
        fn ndups(&self) -> u32 {
            self.r.stats().ndups
        }

        /// Probes without a reply from the destination.
        #[getter]
        fn nloss(&self) -> u32 {
            self.r.stats().nloss
        }

        /// Replies that were not from the destination (errors).
        #[getter]
        fn nerrs(&self) -> u32 {
            self.r.stats().nerrs
        }

        /// Smallest RTT of a reply from the destination, `None` without one.
        #[getter]
        fn min_rtt<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            extreme_rtt(&self.r, false).map(|d| conv::delta(py, d)).transpose()
        }

        /// Largest RTT of a reply from the destination, `None` without one.
        #[getter]
        fn max_rtt<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            extreme_rtt(&self.r, true).map(|d| conv::delta(py, d)).transpose()
        }

        /// Mean RTT of replies from the destination, `None` without one.
        #[getter]
        fn avg_rtt<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            self.r.stats().avg_rtt.map(|d| conv::delta(py, d)).transpose()
        }

        /// Standard deviation of the RTTs, `None` without replies.
        #[getter]
        fn stddev_rtt<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            self.r.stats().stddev_rtt.map(|d| conv::delta(py, d)).transpose()
        }

        /// scamper's text rendering of the ping.
        fn to_text(&self) -> String {
            crate::text::ping(&self.r)
        }

        fn __str__(&self) -> String {
            crate::text::ping(&self.r)
        }

        /// Whether probes were ICMP.
        fn is_icmp(&self) -> bool {
            self.r.method.is_icmp()
        }

        /// Whether probes were ICMP timestamp requests.
        fn is_icmp_time(&self) -> bool {
            self.r.method == PingMethod::IcmpTime
        }

        /// Whether probes were TCP.
        fn is_tcp(&self) -> bool {
            self.r.method.is_tcp()
        }

        /// Whether probes were TCP ACKs with a varying source port.
        fn is_tcp_ack_sport(&self) -> bool {
            self.r.method == PingMethod::TcpAckSport
        }

        /// Whether probes were UDP.
        fn is_udp(&self) -> bool {
            self.r.method.is_udp()
        }

        /// Whether the source port varied per probe.
        fn is_vary_sport(&self) -> bool {
            self.r.method.varies_sport()
        }

        /// Whether the destination port varied per probe.
        fn is_vary_dport(&self) -> bool {
            self.r.method.varies_dport()
        }

        /// The first reply to probe `i` (0-based), or `None`.
        fn reply(&self, i: i64) -> Option<ScamperPingReply> {
            let id = u16::try_from(i).ok()?;
            let idx = self.r.replies.iter().position(|r| r.probe_id == id)?;
            Some(ScamperPingReply { r: Arc::clone(&self.r), i: idx })
        }

        /// The first reply of each probe that got one, in probe order.
        fn replies(&self) -> ScamperPingReplyIter {
            ScamperPingReplyIter { r: Arc::clone(&self.r), idx: first_replies(&self.r), pos: 0.into() }
        }

        fn __iter__(&self) -> ScamperPingReplyIter {
            self.replies()
        }
    }
}

/// Iterator over the first replies of a ping's probes.
#[pyclass(module = "vantage")]
pub struct ScamperPingReplyIter {
    r: Arc<Ping>,
    idx: Vec<usize>,
    pos: std::sync::atomic::AtomicUsize,
}

#[pymethods]
impl ScamperPingReplyIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self) -> Option<ScamperPingReply> {
        let pos = self.pos.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let i = *self.idx.get(pos)?;
        Some(ScamperPingReply {
            r: Arc::clone(&self.r),
            i,
        })
    }
}

child_class! {
    /// One reply to one ping probe.
    ScamperPingReply(Ping) { i }
}

impl ScamperPingReply {
    fn x(&self) -> &PingReply {
        &self.r.replies[self.i]
    }
}

/// `"<size> bytes from <addr>, seq=<n> ttl=<t> time=<ms> ms"`.
pub(crate) fn reply_line(r: &PingReply) -> String {
    let us = r.rtt.as_micros();
    let mut s = format!("{} bytes from {}, seq={}", r.reply_size, r.from, r.probe_id);
    if r.flags.contains(PingReplyFlags::REPLY_TTL) {
        let _ = write!(s, " ttl={}", r.reply_ttl);
    }
    let _ = write!(s, " time={}.{:03} ms", us / 1000, us % 1000);
    s
}

#[pymethods]
impl ScamperPingReply {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        _args: &Bound<'_, pyo3::types::PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Err(crate::error::not_constructible())
    }

    /// The replying address.
    #[getter]
    fn src(&self, py: Python<'_>) -> PyResult<Py<ScamperAddr>> {
        Ok(conv::addr(py, self.x().from)?.unbind())
    }

    /// When the probe was sent, if recorded.
    #[getter]
    fn tx<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.x().tx.map(|t| conv::datetime(py, t)).transpose()
    }

    /// When the reply arrived (tx + rtt), if the transmit time is known.
    #[getter]
    fn rx<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.x().rx().map(|t| conv::datetime(py, t)).transpose()
    }

    /// Round-trip time.
    #[getter]
    fn rtt<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::delta(py, self.x().rtt)
    }

    /// Which probe this answers, 1-based.
    #[getter]
    fn attempt(&self) -> u32 {
        u32::from(self.x().probe_id) + 1
    }

    /// The probe's IP-ID, if recorded.
    #[getter]
    fn probe_ipid(&self) -> Option<u16> {
        let x = self.x();
        x.flags
            .contains(PingReplyFlags::PROBE_IPID)
            .then_some(x.probe_ipid)
    }

    /// The probe's source port, if recorded.
    #[getter]
    fn probe_sport(&self) -> Option<u16> {
        let x = self.x();
        (x.probe_sport != 0).then_some(x.probe_sport)
    }

    /// IP protocol of the reply.
    #[getter]
    fn reply_proto(&self) -> u8 {
        self.x().reply_proto
    }

    /// The reply's IP TTL, if recorded.
    #[getter]
    fn reply_ttl(&self) -> Option<u8> {
        let x = self.x();
        x.flags
            .contains(PingReplyFlags::REPLY_TTL)
            .then_some(x.reply_ttl)
    }

    /// The reply's IP TOS, if recorded.
    #[getter]
    fn reply_tos(&self) -> Option<u8> {
        let x = self.x();
        x.flags
            .contains(PingReplyFlags::REPLY_TOS)
            .then_some(x.reply_tos)
    }

    /// The reply's size in bytes.
    #[getter]
    fn reply_size(&self) -> u16 {
        self.x().reply_size
    }

    /// The reply's IP-ID (16-bit IPv4, 32-bit IPv6 fragment id), if recorded.
    #[getter]
    fn reply_ipid(&self) -> Option<u32> {
        let x = self.x();
        x.flags
            .contains(PingReplyFlags::REPLY_IPID)
            .then_some(x.reply_ipid)
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

    /// Originate timestamp of an ICMP timestamp reply (time since midnight UTC).
    #[getter]
    fn icmp_tso<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.x()
            .icmp_ts
            .map(|t| conv::delta_ms(py, t.originate))
            .transpose()
    }

    /// Receive timestamp of an ICMP timestamp reply.
    #[getter]
    fn icmp_tsr<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.x()
            .icmp_ts
            .map(|t| conv::delta_ms(py, t.receive))
            .transpose()
    }

    /// Transmit timestamp of an ICMP timestamp reply.
    #[getter]
    fn icmp_tst<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.x()
            .icmp_ts
            .map(|t| conv::delta_ms(py, t.transmit))
            .transpose()
    }

    /// TCP flags of a TCP reply.
    #[getter]
    fn tcp_flags(&self) -> Option<u8> {
        let x = self.x();
        x.is_tcp().then_some(x.tcp_flags)
    }

    /// TCP MSS of a TCP reply; the model does not keep it, so `None`.
    #[getter]
    fn tcp_mss(&self) -> Option<u16> {
        None
    }

    /// The interface the reply arrived on.
    #[getter]
    fn ifname(&self) -> Option<&str> {
        self.x().ifname.as_deref()
    }

    /// Record-route addresses, if the reply carried the option.
    #[getter]
    fn ip_rr(&self, py: Python<'_>) -> PyResult<Option<Vec<Py<ScamperAddr>>>> {
        match &self.x().rr {
            Some(rr) => Ok(Some(
                conv::addr_list(py, rr)?
                    .into_iter()
                    .map(Bound::unbind)
                    .collect(),
            )),
            None => Ok(None),
        }
    }

    /// The IP timestamp option, if the reply carried one.
    #[getter]
    fn ip_ts(&self) -> Option<ScamperPingReplyIPTS> {
        self.x().ip_ts.as_ref().map(|_| ScamperPingReplyIPTS {
            r: Arc::clone(&self.r),
            i: self.i,
        })
    }

    /// Whether the reply came from the destination (not an error).
    fn is_from_target(&self) -> bool {
        self.r.is_from_target(self.x())
    }

    /// Whether the reply is ICMP.
    fn is_icmp(&self) -> bool {
        self.x().is_icmp()
    }

    /// Whether the reply is TCP.
    fn is_tcp(&self) -> bool {
        self.x().is_tcp()
    }

    /// Whether the reply is UDP.
    fn is_udp(&self) -> bool {
        self.x().is_udp()
    }

    /// Whether the reply is an ICMP echo reply.
    fn is_icmp_echo_reply(&self) -> bool {
        self.x().is_icmp_echo_reply()
    }

    /// Whether the reply is an ICMP destination unreachable.
    fn is_icmp_unreach(&self) -> bool {
        let x = self.x();
        (x.reply_proto == 1 && x.icmp_type == 3) || (x.reply_proto == 58 && x.icmp_type == 1)
    }

    /// Whether the reply is an ICMP port unreachable.
    fn is_icmp_unreach_port(&self) -> bool {
        self.x().is_icmp_unreach_port()
    }

    /// Whether the reply is an ICMP time exceeded.
    fn is_icmp_ttl_exp(&self) -> bool {
        self.x().is_icmp_ttl_exp()
    }

    /// Whether the reply is an ICMP timestamp reply.
    fn is_icmp_tsreply(&self) -> bool {
        self.x().is_icmp_tsreply()
    }

    /// Whether the reply is an ICMP packet too big.
    fn is_icmp_ptb(&self) -> bool {
        self.x().is_icmp_ptb()
    }

    fn __str__(&self) -> String {
        reply_line(self.x())
    }
}

child_class! {
    /// The IP timestamp option of a ping reply: (address or `None`, timestamp) pairs.
    ScamperPingReplyIPTS(Ping) { i }
}

#[pymethods]
impl ScamperPingReplyIPTS {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(
        _args: &Bound<'_, pyo3::types::PyTuple>,
        _kwargs: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Err(crate::error::not_constructible())
    }

    fn __len__(&self) -> usize {
        self.ts().map_or(0, |t| t.timestamps.len())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let mut items = Vec::new();
        if let Some(t) = self.ts() {
            for (j, ms) in t.timestamps.iter().enumerate() {
                let a = conv::addr_opt(py, t.addrs.get(j).copied())?;
                items.push((a, conv::delta_ms(py, *ms)?));
            }
        }
        pyo3::types::PyList::new(py, items)?
            .try_iter()
            .map(Bound::into_any)
    }

    /// Whether the option carries addresses (not `tsonly`).
    fn has_addrs(&self) -> bool {
        self.ts().is_some_and(|t| !t.addrs.is_empty())
    }

    /// The addresses, or `None` for `tsonly`.
    fn addrs(&self, py: Python<'_>) -> PyResult<Option<Vec<Py<ScamperAddr>>>> {
        match self.ts() {
            Some(t) if !t.addrs.is_empty() => Ok(Some(
                conv::addr_list(py, &t.addrs)?
                    .into_iter()
                    .map(Bound::unbind)
                    .collect(),
            )),
            _ => Ok(None),
        }
    }

    /// The timestamps (time since midnight UTC).
    fn timestamps<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let Some(t) = self.ts() else {
            return Ok(Vec::new());
        };
        t.timestamps
            .iter()
            .map(|ms| conv::delta_ms(py, *ms))
            .collect()
    }
}

impl ScamperPingReplyIPTS {
    fn ts(&self) -> Option<&vantage_model::PingIpTimestamps> {
        self.r.replies[self.i].ip_ts.as_ref()
    }
}
