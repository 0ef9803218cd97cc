//! `ScamperHttp`, `ScamperUdpprobe`, `ScamperSniff`, `ScamperNeighbourdisc`,
//! and the classes of record types Vantage cannot decode yet.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use vantage_model::{
    Http, HttpBuf, HttpBufType, HttpType, Neighbourdisc, Sniff, Udpprobe, UdpprobeProbe,
    UdpprobeReply,
};

use crate::addr::ScamperAddr;
use crate::conv::{self, EnumClass};
use crate::error::not_constructible;
use crate::httphdr::{header_block, header_fields, joined, status_code};
use crate::result::result_class;

static HTTP_STOP: EnumClass = EnumClass::new("ScamperHttpStop");
static HTTP_ECH: EnumClass = EnumClass::new("ScamperHttpEchStatus");
static UDPPROBE_STOP: EnumClass = EnumClass::new("ScamperUdpprobeStop");
static SNIFF_STOP: EnumClass = EnumClass::new("ScamperSniffStop");

fn iter_of<'py, T: pyo3::IntoPyObject<'py>>(
    py: Python<'py>,
    items: Vec<T>,
) -> PyResult<Bound<'py, PyAny>> {
    PyList::new(py, items)?.try_iter().map(Bound::into_any)
}

result_class! {
    /// An HTTP(S) fetch.
    ScamperHttp(Http) = Http;
    {
        /// Why it stopped (`ScamperHttpStop`).
        #[getter]
        fn stop_reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            HTTP_STOP.member(py, i64::from(self.r.stop_reason.code()))
        }

        /// Why it stopped, as scamper names it (`done`, `noconn`, ...).
        #[getter]
        fn stop_reason_str(&self) -> String {
            self.r.stop_reason.to_string()
        }

        /// The source address.
        #[getter]
        fn src(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.src)?.map(Bound::unbind))
        }

        /// The server address.
        #[getter]
        fn dst(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.dst)?.map(Bound::unbind))
        }

        /// Source port.
        #[getter]
        fn sport(&self) -> u16 {
            self.r.sport
        }

        /// Destination port.
        #[getter]
        fn dport(&self) -> u16 {
            self.r.dport
        }

        /// The time limit.
        #[getter]
        fn maxtime<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.maxtime)
        }

        /// TCP handshake round-trip time.
        #[getter]
        fn hsrtt<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.hsrtt)
        }

        /// The URL fetched.
        #[getter]
        fn url(&self) -> Option<String> {
            crate::httphdr::url(&self.r)
        }

        /// The response status code, if a response header arrived.
        #[getter]
        fn status_code(&self) -> Option<u16> {
            status_code(&header_block(&self.r, false)?)
        }

        /// The response body, if any.
        #[getter]
        fn response<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
            joined(&self.r, false, HttpBufType::Data).map(|b| PyBytes::new(py, &b))
        }

        /// The raw response header block.
        #[getter]
        fn response_hdr(&self) -> Option<String> {
            header_block(&self.r, false)
        }

        /// The response headers, names lower-cased.
        #[getter]
        fn response_hdrs<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
            header_dict(py, header_block(&self.r, false))
        }

        /// The raw request header block.
        #[getter]
        fn transmit_hdr(&self) -> Option<String> {
            header_block(&self.r, true)
        }

        /// The request headers, names lower-cased.
        #[getter]
        fn transmit_hdrs<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
            header_dict(py, header_block(&self.r, true))
        }

        /// Number of recorded buffers.
        #[getter]
        fn buf_count(&self) -> usize {
            self.r.bufs.len()
        }

        /// The ECH config list used.
        #[getter]
        fn ech_config_list<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
            self.r.ech_config_list.as_deref().map(|b| PyBytes::new(py, b))
        }

        /// The ECH retry config the server sent.
        #[getter]
        fn ech_retry_config<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
            self.r.ech_retry_config.as_deref().map(|b| PyBytes::new(py, b))
        }

        /// The TLS version (0x0303 TLS 1.2, 0x0304 TLS 1.3), if a TLS session was
        /// recorded (Vantage extension, not in warts).
        #[getter]
        fn tls_version(&self) -> Option<u16> {
            self.r.tls.as_ref().map(|t| t.version)
        }

        /// The TLS cipher suite number (Vantage extension, not in warts).
        #[getter]
        fn tls_cipher(&self) -> Option<u16> {
            self.r.tls.as_ref().map(|t| t.cipher)
        }

        /// The ALPN protocol the server picked (Vantage extension, not in warts).
        #[getter]
        fn tls_alpn<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
            self.r
                .tls
                .as_ref()
                .and_then(|t| t.alpn.as_deref())
                .map(|b| PyBytes::new(py, b))
        }

        /// The certificate chain as the server sent it, DER, leaf first (Vantage
        /// extension, not in warts).
        #[getter]
        fn tls_certs<'py>(&self, py: Python<'py>) -> Vec<Bound<'py, PyBytes>> {
            self.r
                .tls
                .iter()
                .flat_map(|t| &t.certs)
                .map(|c| PyBytes::new(py, c))
                .collect()
        }

        /// Why the certificate chain did not verify; `None` when it verified or no TLS
        /// session was recorded (Vantage extension, not in warts).
        #[getter]
        fn tls_verify_error(&self) -> Option<&str> {
            self.r.tls.as_ref().and_then(|t| t.verify_error.as_deref())
        }

        /// The ECH outcome (`ScamperHttpEchStatus`).
        #[getter]
        fn ech_status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            HTTP_ECH.member(py, i64::from(self.r.ech_status))
        }

        /// The outer SNI used with ECH.
        #[getter]
        fn ech_outer_sni(&self) -> Option<&str> {
            self.r.ech_outer_sni.as_deref()
        }

        /// The value of response header `name` (any case), or `None`.
        fn response_hdr_byname(&self, name: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
            hdr_byname(header_block(&self.r, false), name)
        }

        /// The value of request header `name` (any case), or `None`.
        fn transmit_hdr_byname(&self, name: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
            hdr_byname(header_block(&self.r, true), name)
        }

        /// Buffer `i`, or `None`.
        fn buf(&self, i: usize) -> Option<ScamperHttpBuf> {
            (i < self.r.bufs.len()).then(|| ScamperHttpBuf { r: Arc::clone(&self.r), i })
        }

        /// Every buffer, in order.
        fn bufs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            iter_of(py, (0..self.r.bufs.len()).map(|i| ScamperHttpBuf { r: Arc::clone(&self.r), i }).collect())
        }

        fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            self.bufs(py)
        }

        /// Whether the fetch was HTTPS.
        fn is_https(&self) -> bool {
            self.r.kind == HttpType::Https
        }
    }
}

fn header_dict(py: Python<'_>, block: Option<String>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let Some(block) = block else {
        return Ok(None);
    };
    let d = PyDict::new(py);
    for (n, v) in header_fields(&block) {
        d.set_item(n.to_ascii_lowercase(), v)?;
    }
    Ok(Some(d))
}

fn hdr_byname(block: Option<String>, name: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let name: String = name
        .extract()
        .map_err(|_| PyValueError::new_err("header name must be a str"))?;
    Ok(block.and_then(|b| {
        header_fields(&b)
            .into_iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, v)| v)
    }))
}

/// One chunk of bytes an HTTP fetch sent or received.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHttpBuf {
    r: Arc<Http>,
    i: usize,
}

impl ScamperHttpBuf {
    fn x(&self) -> &HttpBuf {
        &self.r.bufs[self.i]
    }
}

#[pymethods]
impl ScamperHttpBuf {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// When (`None` if not recorded).
    #[getter]
    fn timestamp<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        conv::datetime_opt(py, self.x().ts)
    }

    /// `tx` or `rx`.
    #[getter]
    fn dir_str(&self) -> &'static str {
        if self.x().tx { "tx" } else { "rx" }
    }

    /// `data`, `hdr` or `tls`.
    #[getter]
    fn type_str(&self) -> String {
        self.x().kind.to_string()
    }

    /// The bytes.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.x().data)
    }

    /// Whether we sent it.
    fn is_tx(&self) -> bool {
        self.x().tx
    }

    /// Whether we received it.
    fn is_rx(&self) -> bool {
        !self.x().tx
    }

    /// Whether it holds TLS record bytes.
    fn is_tls(&self) -> bool {
        self.x().kind == HttpBufType::Tls
    }

    /// Whether it holds a header block.
    fn is_hdr(&self) -> bool {
        self.x().kind == HttpBufType::Header
    }

    /// Whether it holds body data.
    fn is_data(&self) -> bool {
        self.x().kind == HttpBufType::Data
    }
}

result_class! {
    /// UDP probes with a chosen payload, and the replies.
    ScamperUdpprobe(Udpprobe) = Udpprobe;
    {
        /// Why it stopped (`ScamperUdpprobeStop`).
        #[getter]
        fn stop_reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            UDPPROBE_STOP.member(py, i64::from(self.r.stop_reason.code()))
        }

        /// Why it stopped, as scamper names it.
        #[getter]
        fn stop_reason_str(&self) -> String {
            self.r.stop_reason.to_string()
        }

        /// The source address.
        #[getter]
        fn src(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.src)?.map(Bound::unbind))
        }

        /// The destination.
        #[getter]
        fn dst(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.dst)?.map(Bound::unbind))
        }

        /// Source port (0 when each probe chose its own).
        #[getter]
        fn sport(&self) -> u16 {
            self.r.sport
        }

        /// Destination port.
        #[getter]
        fn dport(&self) -> u16 {
            self.r.dport
        }

        /// Probes requested.
        #[getter]
        fn attempts(&self) -> u8 {
            self.r.probe_count
        }

        /// Stop after replies to this many probes (0: no limit).
        #[getter]
        fn stop_count(&self) -> u8 {
            self.r.stop_count
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

        /// The payload sent.
        #[getter]
        fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
            PyBytes::new(py, &self.r.payload)
        }

        /// Probes sent.
        #[getter]
        fn probe_sent(&self) -> usize {
            self.r.probes.len()
        }

        /// Probe `i`, or `None`.
        fn probe(&self, i: usize) -> Option<ScamperUdpprobeProbe> {
            (i < self.r.probes.len()).then(|| ScamperUdpprobeProbe { r: Arc::clone(&self.r), p: i })
        }

        /// Every reply of every probe.
        fn replies<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            let mut v = Vec::new();
            for (p, probe) in self.r.probes.iter().enumerate() {
                for i in 0..probe.replies.len() {
                    v.push(ScamperUdpprobeReply { r: Arc::clone(&self.r), p, i });
                }
            }
            iter_of(py, v)
        }

        fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            iter_of(py, (0..self.r.probes.len()).map(|p| ScamperUdpprobeProbe { r: Arc::clone(&self.r), p }).collect())
        }
    }
}

/// One udpprobe probe.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperUdpprobeProbe {
    r: Arc<Udpprobe>,
    p: usize,
}

impl ScamperUdpprobeProbe {
    fn x(&self) -> &UdpprobeProbe {
        &self.r.probes[self.p]
    }
}

#[pymethods]
impl ScamperUdpprobeProbe {
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

    /// Its source port.
    #[getter]
    fn sport(&self) -> u16 {
        self.x().sport
    }

    /// Number of replies.
    #[getter]
    fn reply_count(&self) -> usize {
        self.x().replies.len()
    }

    /// Reply `i`, or `None`.
    fn reply(&self, i: usize) -> Option<ScamperUdpprobeReply> {
        (i < self.x().replies.len()).then(|| ScamperUdpprobeReply {
            r: Arc::clone(&self.r),
            p: self.p,
            i,
        })
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        iter_of(
            py,
            (0..self.x().replies.len())
                .map(|i| ScamperUdpprobeReply {
                    r: Arc::clone(&self.r),
                    p: self.p,
                    i,
                })
                .collect(),
        )
    }

    fn __len__(&self) -> usize {
        self.x().replies.len()
    }
}

/// One UDP reply.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperUdpprobeReply {
    r: Arc<Udpprobe>,
    p: usize,
    i: usize,
}

impl ScamperUdpprobeReply {
    fn x(&self) -> &UdpprobeReply {
        &self.r.probes[self.p].replies[self.i]
    }
}

#[pymethods]
impl ScamperUdpprobeReply {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// When it arrived.
    #[getter]
    fn rx<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        conv::datetime_opt(py, self.x().rx)
    }

    /// The UDP payload.
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.x().data)
    }

    /// The interface it arrived on.
    #[getter]
    fn ifname(&self) -> Option<&str> {
        self.x().ifname.as_deref()
    }

    /// Who sent it (Vantage extension; `None` for replies read from warts).
    #[getter]
    fn src(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
        Ok(conv::addr_opt(py, self.x().src)?.map(Bound::unbind))
    }

    /// The port it came from (Vantage extension; 0 for replies read from warts).
    #[getter]
    fn sport(&self) -> u16 {
        self.x().sport
    }
}

result_class! {
    /// A packet capture (ICMP packets with one ICMP id).
    ScamperSniff(Sniff) = Sniff;
    {
        /// Why it stopped (`ScamperSniffStop`).
        #[getter]
        fn stop_reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            SNIFF_STOP.member(py, i64::from(self.r.stop_reason.code()))
        }

        /// Why it stopped, as scamper names it (`limit-pktc`, ...).
        #[getter]
        fn stop_reason_str(&self) -> String {
            self.r.stop_reason.to_string()
        }

        /// The address whose interface was captured on.
        #[getter]
        fn src(&self, py: Python<'_>) -> PyResult<Py<ScamperAddr>> {
            Ok(conv::addr(py, self.r.src)?.unbind())
        }

        /// When it finished.
        #[getter]
        fn finish<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::datetime(py, self.r.finish)
        }

        /// The packet limit.
        #[getter]
        fn limit_pkt_count(&self) -> u32 {
            self.r.limit_pkt_count
        }

        /// The time limit.
        #[getter]
        fn limit_time<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.limit_time)
        }

        /// The ICMP id captured.
        #[getter]
        fn icmp_id(&self) -> u16 {
            self.r.icmp_id
        }

        /// Number of packets captured.
        #[getter]
        fn pkt_count(&self) -> usize {
            self.r.packets.len()
        }

        /// Packet `i`, or `None`.
        #[pyo3(signature = (i = 0))]
        fn pkt(&self, i: usize) -> Option<ScamperSniffPkt> {
            (i < self.r.packets.len()).then(|| ScamperSniffPkt { r: Arc::clone(&self.r), i })
        }

        fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            iter_of(py, (0..self.r.packets.len()).map(|i| ScamperSniffPkt { r: Arc::clone(&self.r), i }).collect())
        }

        fn __len__(&self) -> usize {
            self.r.packets.len()
        }
    }
}

/// One captured packet.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperSniffPkt {
    r: Arc<Sniff>,
    i: usize,
}

#[pymethods]
impl ScamperSniffPkt {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// When it was captured.
    #[getter]
    fn rx<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::datetime(py, self.r.packets[self.i].ts)
    }

    /// The packet bytes, from the IP header.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.r.packets[self.i].data)
    }
}

result_class! {
    /// A neighbour discovery (ARP or IPv6 neighbour solicitation).
    ScamperNeighbourdisc(Neighbourdisc) = Neighbourdisc;
    {
        /// The interface used.
        #[getter]
        fn ifname(&self) -> Option<&str> {
            self.r.ifname.as_deref()
        }

        /// `arp` or `nsol`.
        #[getter]
        fn method(&self) -> String {
            self.r.method.to_string()
        }

        /// Our IP address.
        #[getter]
        fn src_ip(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.src_ip)?.map(Bound::unbind))
        }

        /// Our MAC address.
        #[getter]
        fn src_mac(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.src_mac)?.map(Bound::unbind))
        }

        /// The IP address asked about.
        #[getter]
        fn dst_ip(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.dst_ip)?.map(Bound::unbind))
        }

        /// The MAC address found.
        #[getter]
        fn dst_mac(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.dst_mac)?.map(Bound::unbind))
        }

        /// Attempts.
        #[getter]
        fn attempts(&self) -> u16 {
            self.r.attempts
        }

        /// Requests sent.
        #[getter]
        fn probe_count(&self) -> usize {
            self.r.probes.len()
        }
    }
}

/// Declares the class of a record type Vantage cannot decode yet: it exists
/// for `isinstance` and `filter_types`, and cannot be instantiated.
macro_rules! undecoded_class {
    ($(#[$meta:meta])* $cls:ident) => {
        $(#[$meta])*
        #[pyclass(module = "vantage", frozen)]
        pub struct $cls;

        #[pymethods]
        impl $cls {
            #[new]
            #[pyo3(signature = (*_args, **_kwargs))]
            fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
                Err(not_constructible())
            }
        }
    };
}

undecoded_class! {
    /// A TCP behaviour inference (tbit) result. Vantage cannot decode tbit
    /// records yet: reading one raises `NotImplementedError`.
    ScamperTbit
}

undecoded_class! {
    /// A sting result. Vantage cannot decode sting records yet: reading one
    /// raises `NotImplementedError`.
    ScamperSting
}

undecoded_class! {
    /// A one-way active measurement (OWAMP) result. Vantage cannot decode
    /// owamp records yet: reading one raises `NotImplementedError`.
    ScamperOwamp
}
