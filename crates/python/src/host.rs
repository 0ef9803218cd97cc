//! `ScamperHost` (DNS) and its resource records.

use std::sync::Arc;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyString, PyTuple};
use vantage_model::{CLASS_CH, CLASS_IN, DnsRr, DnsRrData, DnsSoa, Host, HostQuery, RR_TYPES};

use crate::addr::ScamperAddr;
use crate::conv::{self, EnumClass};
use crate::error::not_constructible;
use crate::result::result_class;

static HOST_STOP: EnumClass = EnumClass::new("ScamperHostStop");

/// The name of an RR type, or `TYPE<n>`.
pub(crate) fn type_name(t: u16) -> String {
    RR_TYPES
        .iter()
        .find(|(c, _)| *c == t)
        .map_or_else(|| format!("TYPE{t}"), |(_, n)| (*n).to_owned())
}

/// The name of a DNS class, or `CLASS<n>`.
pub(crate) fn class_name(c: u16) -> String {
    match c {
        CLASS_IN => "IN".to_owned(),
        CLASS_CH => "CH".to_owned(),
        4 => "HS".to_owned(),
        _ => format!("CLASS{c}"),
    }
}

/// The mnemonic of a response code, as scamper spells it.
fn rcode_name(r: u16) -> String {
    let n = match r {
        0 => "NoError",
        1 => "FormErr",
        2 => "ServFail",
        3 => "NXDomain",
        4 => "NotImp",
        5 => "Refused",
        6 => "YXDomain",
        7 => "YXRRSet",
        8 => "NXRRSet",
        9 => "NotAuth",
        10 => "NotZone",
        16 => "BADVERS",
        _ => return format!("RCODE{r}"),
    };
    n.to_owned()
}

/// The OPT record of a query's additional section, if any.
fn opt_of(q: &HostQuery) -> Option<&DnsRr> {
    q.ar.iter().find(|r| r.rtype == 41)
}

/// Type codes named in an `rrtypes` argument (case-insensitive names).
fn parse_rrtypes(rrtypes: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<u16>>> {
    let Some(list) = rrtypes else {
        return Ok(None);
    };
    if list.is_none() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for item in list.try_iter()? {
        let item = item?;
        let s = item
            .cast::<PyString>()
            .map_err(|_| PyValueError::new_err("rrtypes must be a list of str"))?
            .to_cow()?
            .to_ascii_uppercase();
        let code = match s.as_str() {
            "A" | "AAAA" | "PTR" | "MX" | "NS" | "SOA" | "TXT" | "OPT" | "SVCB" | "HTTPS"
            | "CNAME" => RR_TYPES.iter().find(|(_, n)| *n == s).map(|(c, _)| *c),
            _ => None,
        };
        out.push(code.ok_or_else(|| PyValueError::new_err(format!("unknown rrtype {s}")))?);
    }
    Ok(Some(out))
}

#[derive(Clone, Copy)]
enum Section {
    An,
    Ns,
    Ar,
}

fn section(q: &HostQuery, s: Section) -> &[DnsRr] {
    match s {
        Section::An => &q.an,
        Section::Ns => &q.ns,
        Section::Ar => &q.ar,
    }
}

result_class! {
    /// A DNS measurement. Answer accessors refer to the first query attempt
    /// that received a response.
    ScamperHost(Host) = Host;
    {
        /// The source address.
        #[getter]
        fn src(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
            Ok(conv::addr_opt(py, self.r.src)?.map(Bound::unbind))
        }

        /// The raw bytes of the first response (Vantage extension; `None` for records
        /// read from warts).
        #[getter]
        fn response<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
            self.q()
                .and_then(|q| q.response.as_deref())
                .map(|b| PyBytes::new(py, b))
        }

        /// What was wrong with the first response (malformed, not a response, another
        /// question, cut short), if anything (Vantage extension, not in warts).
        #[getter]
        fn response_error(&self) -> Option<&str> {
            self.q().and_then(|q| q.error.as_deref())
        }

        /// The server queried.
        #[getter]
        fn dst(&self, py: Python<'_>) -> PyResult<Py<ScamperAddr>> {
            Ok(conv::addr(py, self.r.dst)?.unbind())
        }

        /// Per-attempt timeout.
        #[getter]
        fn wait_timeout<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            conv::delta(py, self.r.wait_timeout)
        }

        /// Why it stopped (`ScamperHostStop`).
        #[getter]
        fn stop_reason<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            HOST_STOP.member(py, i64::from(self.r.stop_reason.code()))
        }

        /// Why it stopped, as scamper names it.
        #[getter]
        fn stop_reason_str(&self) -> String {
            self.r.stop_reason.to_string()
        }

        /// The query type code.
        #[getter]
        fn qtype_num(&self) -> u16 {
            self.r.qtype
        }

        /// The query type name (`A`, `AAAA`, ...).
        #[getter]
        fn qtype(&self) -> String {
            type_name(self.r.qtype)
        }

        /// The query class name (`IN`, `CH`).
        #[getter]
        fn qclass(&self) -> String {
            class_name(self.r.qclass)
        }

        /// The query name.
        #[getter]
        fn qname(&self) -> Option<&str> {
            self.r.qname.as_deref()
        }

        /// Extra query types of an MQTYPE query; the model keeps none, so empty.
        #[getter]
        fn mqtypes(&self) -> Vec<String> {
            Vec::new()
        }

        /// The EDNS client subnet sent, if any.
        #[getter]
        fn ecs(&self) -> Option<&str> {
            self.r.ecs.as_deref()
        }

        /// The response code number.
        #[getter]
        fn rcode_num(&self) -> Option<u8> {
            self.query().map(|q| q.rcode_num())
        }

        /// The response code mnemonic (`NoError`, `NXDomain`, ...).
        #[getter]
        fn rcode(&self) -> Option<String> {
            self.query().map(|q| q.rcode())
        }

        /// The response code with the OPT record's extended bits.
        #[getter]
        fn extended_rcode_num(&self) -> Option<u16> {
            self.query().map(|q| q.extended_rcode_num())
        }

        /// The extended response code mnemonic.
        #[getter]
        fn extended_rcode(&self) -> Option<String> {
            self.query().map(|q| q.extended_rcode())
        }

        /// When the answered query was sent.
        #[getter]
        fn tx<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            self.query().map(|q| q.tx(py)).transpose()
        }

        /// When its response arrived.
        #[getter]
        fn rx<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            Ok(self.query().map(|q| q.rx(py)).transpose()?.flatten())
        }

        /// Time from query to response.
        #[getter]
        fn rtt<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            Ok(self.query().map(|q| q.rtt(py)).transpose()?.flatten())
        }

        /// The responder's EDNS UDP payload size, if it sent an OPT record.
        #[getter]
        fn udpsize(&self) -> Option<u16> {
            self.query().and_then(|q| q.udpsize())
        }

        /// The responder's EDNS version, if it sent an OPT record.
        #[getter]
        fn edns_version(&self) -> Option<u8> {
            self.query().and_then(|q| q.edns_version())
        }

        /// The responder's EDNS DO bit, if it sent an OPT record.
        #[getter]
        fn edns_do(&self) -> Option<bool> {
            self.query().and_then(|q| q.edns_do())
        }

        /// Records in the answer section.
        #[getter]
        fn ancount(&self) -> usize {
            self.query().map_or(0, |q| q.ancount())
        }

        /// Records in the authority section.
        #[getter]
        fn nscount(&self) -> usize {
            self.query().map_or(0, |q| q.nscount())
        }

        /// Records in the additional section.
        #[getter]
        fn arcount(&self) -> usize {
            self.query().map_or(0, |q| q.arcount())
        }

        /// The answer records, optionally only class-IN records of the named types.
        #[pyo3(signature = (rrtypes = None))]
        fn ans<'py>(&self, py: Python<'py>, rrtypes: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
            self.rrs(py, Section::An, rrtypes)
        }

        /// The authority records, optionally filtered by type.
        #[pyo3(signature = (rrtypes = None))]
        fn nss<'py>(&self, py: Python<'py>, rrtypes: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
            self.rrs(py, Section::Ns, rrtypes)
        }

        /// The additional records, optionally filtered by type (the reference
        /// ignores the filter here; Vantage honours it).
        #[pyo3(signature = (rrtypes = None))]
        fn ars<'py>(&self, py: Python<'py>, rrtypes: Option<&Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
            self.rrs(py, Section::Ar, rrtypes)
        }

        /// Answer record `i`, or `None`.
        fn an(&self, i: usize) -> Option<ScamperHostRR> {
            self.query()?.an(i)
        }

        /// Authority record `i`, or `None`.
        fn ns(&self, i: usize) -> Option<ScamperHostRR> {
            self.query()?.ns(i)
        }

        /// Additional record `i`, or `None`.
        fn ar(&self, i: usize) -> Option<ScamperHostRR> {
            self.query()?.ar(i)
        }

        /// The distinct addresses of A and AAAA answers.
        fn ans_addrs(&self, py: Python<'_>) -> PyResult<Vec<Py<ScamperAddr>>> {
            let mut out = Vec::new();
            for rr in self.answers() {
                if let Some(DnsRrData::Addr(a)) = &rr.data
                    && rr.class == CLASS_IN
                    && !out.contains(a)
                {
                    out.push(*a);
                }
            }
            Ok(conv::addr_list(py, &out)?.into_iter().map(Bound::unbind).collect())
        }

        /// The distinct name-server names of NS answers.
        fn ans_nses(&self) -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for rr in self.answers() {
                if let (2, Some(DnsRrData::Name(n))) = (rr.rtype, &rr.data)
                    && !out.contains(n)
                {
                    out.push(n.clone());
                }
            }
            out
        }

        /// The names of PTR answers.
        fn ans_ptrs(&self) -> Vec<String> {
            self.answers()
                .filter(|rr| rr.rtype == 12)
                .filter_map(|rr| match &rr.data {
                    Some(DnsRrData::Name(n)) => Some(n.clone()),
                    _ => None,
                })
                .collect()
        }

        /// The TXT answers.
        fn ans_txts(&self) -> Vec<ScamperHostTXT> {
            self.answers()
                .filter_map(|rr| match &rr.data {
                    Some(DnsRrData::Txt(t)) => Some(ScamperHostTXT { t: t.clone() }),
                    _ => None,
                })
                .collect()
        }

        /// The MX answers.
        fn ans_mxes(&self) -> Vec<ScamperHostMX> {
            self.answers()
                .filter_map(|rr| match &rr.data {
                    Some(DnsRrData::Mx { preference, exchange }) => Some(ScamperHostMX {
                        pref: *preference,
                        exch: exchange.clone(),
                    }),
                    _ => None,
                })
                .collect()
        }
    }
}

fn extended_rcode(q: &HostQuery) -> u16 {
    let ext = opt_of(q).map_or(0, |o| (o.ttl >> 24) as u16);
    (ext << 4) | u16::from(q.rcode)
}

impl ScamperHost {
    fn qi(&self) -> Option<usize> {
        self.r.queries.iter().position(HostQuery::has_response)
    }

    fn q(&self) -> Option<&HostQuery> {
        self.qi().map(|i| &self.r.queries[i])
    }

    fn answers(&self) -> impl Iterator<Item = &DnsRr> {
        self.q().into_iter().flat_map(|q| q.an.iter())
    }

    /// The first query attempt that received a response.
    fn query(&self) -> Option<ScamperHostQuery> {
        self.qi().map(|q| ScamperHostQuery {
            r: Arc::clone(&self.r),
            q,
        })
    }

    fn rrs<'py>(
        &self,
        py: Python<'py>,
        s: Section,
        rrtypes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let types = parse_rrtypes(rrtypes)?;
        let mut out = Vec::new();
        if let Some(q) = self.qi() {
            for (i, rr) in section(&self.r.queries[q], s).iter().enumerate() {
                let keep = types.as_ref().is_none_or(|t| {
                    (rr.class == CLASS_IN || rr.rtype == 41) && t.contains(&rr.rtype)
                });
                if keep {
                    out.push(ScamperHostRR {
                        r: Arc::clone(&self.r),
                        q,
                        s,
                        i,
                    });
                }
            }
        }
        PyList::new(py, out)?.try_iter().map(Bound::into_any)
    }
}

/// One query attempt of a DNS measurement, with its response. `ScamperHost`'s
/// per-response properties are those of its first attempt that got a
/// response; as in the reference there is no public way to list the attempts.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHostQuery {
    r: Arc<Host>,
    q: usize,
}

impl ScamperHostQuery {
    fn x(&self) -> &HostQuery {
        &self.r.queries[self.q]
    }

    fn rr(&self, s: Section, i: usize) -> Option<ScamperHostRR> {
        (i < section(self.x(), s).len()).then(|| ScamperHostRR {
            r: Arc::clone(&self.r),
            q: self.q,
            s,
            i,
        })
    }
}

#[pymethods]
impl ScamperHostQuery {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// When the query was sent.
    #[getter]
    fn tx<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::datetime(py, self.x().tx)
    }

    /// When its response arrived (`None` without a response).
    #[getter]
    fn rx<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let q = self.x();
        q.has_response()
            .then(|| conv::datetime(py, q.rx))
            .transpose()
    }

    /// Time from query to response (`None` without a response).
    #[getter]
    fn rtt<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.x().rtt().map(|d| conv::delta(py, d)).transpose()
    }

    /// The response code number.
    #[getter]
    fn rcode_num(&self) -> u8 {
        self.x().rcode
    }

    /// The response code mnemonic (`NoError`, `NXDomain`, ...).
    #[getter]
    fn rcode(&self) -> String {
        rcode_name(u16::from(self.x().rcode))
    }

    /// The response code with the OPT record's extended bits.
    #[getter]
    fn extended_rcode_num(&self) -> u16 {
        extended_rcode(self.x())
    }

    /// The extended response code mnemonic.
    #[getter]
    fn extended_rcode(&self) -> String {
        rcode_name(extended_rcode(self.x()))
    }

    /// The response's header flags as warts packs them (AA 0x40, TC 0x20,
    /// RD 0x10, RA 0x08, Z 0x04, AD 0x02, CD 0x01).
    #[getter]
    fn flags(&self) -> u8 {
        self.x().flags.bits()
    }

    /// The DNS message id.
    #[getter]
    fn id(&self) -> u16 {
        self.x().id
    }

    /// The responder's EDNS UDP payload size, if it sent an OPT record.
    #[getter]
    fn udpsize(&self) -> Option<u16> {
        opt_of(self.x()).map(|o| o.class)
    }

    /// The responder's EDNS version, if it sent an OPT record.
    #[getter]
    fn edns_version(&self) -> Option<u8> {
        opt_of(self.x()).map(|o| ((o.ttl >> 16) & 0xff) as u8)
    }

    /// The responder's EDNS DO bit, if it sent an OPT record.
    #[getter]
    fn edns_do(&self) -> Option<bool> {
        opt_of(self.x()).map(|o| o.ttl & 0x8000 != 0)
    }

    /// Records in the answer section.
    #[getter]
    fn ancount(&self) -> usize {
        self.x().an.len()
    }

    /// Records in the authority section.
    #[getter]
    fn nscount(&self) -> usize {
        self.x().ns.len()
    }

    /// Records in the additional section.
    #[getter]
    fn arcount(&self) -> usize {
        self.x().ar.len()
    }

    /// Answer record `i`, or `None`.
    fn an(&self, i: usize) -> Option<ScamperHostRR> {
        self.rr(Section::An, i)
    }

    /// Authority record `i`, or `None`.
    fn ns(&self, i: usize) -> Option<ScamperHostRR> {
        self.rr(Section::Ns, i)
    }

    /// Additional record `i`, or `None`.
    fn ar(&self, i: usize) -> Option<ScamperHostRR> {
        self.rr(Section::Ar, i)
    }
}

/// One DNS resource record.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHostRR {
    r: Arc<Host>,
    q: usize,
    s: Section,
    i: usize,
}

impl ScamperHostRR {
    fn x(&self) -> &DnsRr {
        &section(&self.r.queries[self.q], self.s)[self.i]
    }

    fn name_of(&self, rtype: u16) -> Option<String> {
        let x = self.x();
        match (&x.data, x.class == CLASS_IN && x.rtype == rtype) {
            (Some(DnsRrData::Name(n)), true) => Some(n.clone()),
            _ => None,
        }
    }
}

fn txt_quoted(t: &[Vec<u8>]) -> String {
    t.iter()
        .map(|s| format!("\"{}\"", String::from_utf8_lossy(s)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn soa_text(s: &DnsSoa) -> String {
    format!(
        "{} {} {} {} {} {} {}",
        s.mname, s.rname, s.serial, s.refresh, s.retry, s.expire, s.minimum
    )
}

#[pymethods]
impl ScamperHostRR {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The class code.
    #[getter]
    fn rclass(&self) -> u16 {
        self.x().class
    }

    /// The type code.
    #[getter]
    fn rtype(&self) -> u16 {
        self.x().rtype
    }

    /// The TTL in seconds.
    #[getter]
    fn ttl(&self) -> u32 {
        self.x().ttl
    }

    /// The owner name.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.x().name.as_deref()
    }

    /// The raw RDATA (Vantage extension; empty for records read from warts).
    #[getter]
    fn rdata<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.x().rdata)
    }

    /// The RDATA in DNS presentation form (`10 0 443 www.example.`), for every type the
    /// decoder knows (Vantage extension, not in warts).
    #[getter]
    fn text(&self) -> Option<&str> {
        self.x().text.as_deref()
    }

    /// The address of an A or AAAA record.
    #[getter]
    fn addr(&self, py: Python<'_>) -> PyResult<Option<Py<ScamperAddr>>> {
        match &self.x().data {
            Some(DnsRrData::Addr(a)) => Ok(Some(conv::addr(py, *a)?.unbind())),
            _ => Ok(None),
        }
    }

    /// The target of an IN NS record.
    #[getter]
    fn ns(&self) -> Option<String> {
        self.name_of(2)
    }

    /// The target of an IN CNAME record.
    #[getter]
    fn cname(&self) -> Option<String> {
        self.name_of(5)
    }

    /// The target of an IN PTR record.
    #[getter]
    fn ptr(&self) -> Option<String> {
        self.name_of(12)
    }

    /// The data of an MX record.
    #[getter]
    fn mx(&self) -> Option<ScamperHostMX> {
        match &self.x().data {
            Some(DnsRrData::Mx {
                preference,
                exchange,
            }) => Some(ScamperHostMX {
                pref: *preference,
                exch: exchange.clone(),
            }),
            _ => None,
        }
    }

    /// The data of an SOA record.
    #[getter]
    fn soa(&self) -> Option<ScamperHostSOA> {
        match &self.x().data {
            Some(DnsRrData::Soa(s)) => Some(ScamperHostSOA { s: s.clone() }),
            _ => None,
        }
    }

    /// The strings of a TXT record.
    #[getter]
    fn txt(&self) -> Option<ScamperHostTXT> {
        match &self.x().data {
            Some(DnsRrData::Txt(t)) => Some(ScamperHostTXT { t: t.clone() }),
            _ => None,
        }
    }

    /// The options of an OPT record.
    #[getter]
    fn opt(&self) -> Option<ScamperHostOPT> {
        match &self.x().data {
            Some(DnsRrData::Opt(o)) => Some(ScamperHostOPT { o: o.clone() }),
            _ => None,
        }
    }

    /// The data of an SVCB record.
    #[getter]
    fn svcb(&self) -> Option<ScamperHostSVCB> {
        self.svcb_of(64)
    }

    /// The data of an HTTPS record.
    #[getter]
    fn https(&self) -> Option<ScamperHostSVCB> {
        self.svcb_of(65)
    }

    /// The UDP payload size of an OPT record.
    #[getter]
    fn udpsize(&self) -> Option<u16> {
        let x = self.x();
        (x.rtype == 41).then_some(x.class)
    }

    /// The EDNS version of an OPT record.
    #[getter]
    fn edns_version(&self) -> Option<u8> {
        let x = self.x();
        (x.rtype == 41).then_some(((x.ttl >> 16) & 0xff) as u8)
    }

    /// The DO bit of an OPT record.
    #[getter]
    fn edns_do(&self) -> Option<bool> {
        let x = self.x();
        (x.rtype == 41).then_some(x.ttl & 0x8000 != 0)
    }

    fn __str__(&self) -> String {
        let x = self.x();
        let data = match &x.data {
            Some(DnsRrData::Addr(a)) => a.to_string(),
            Some(DnsRrData::Name(n)) => n.clone(),
            Some(DnsRrData::Mx {
                preference,
                exchange,
            }) => format!("{preference} {exchange}"),
            Some(DnsRrData::Soa(s)) => soa_text(s),
            Some(DnsRrData::Txt(t)) => txt_quoted(t),
            _ => x
                .text
                .clone()
                .unwrap_or_else(|| "not implemented".to_owned()),
        };
        format!(
            "{} {} {} {} {}",
            x.name.as_deref().unwrap_or(""),
            x.ttl,
            class_name(x.class),
            type_name(x.rtype),
            data
        )
    }
}

impl ScamperHostRR {
    fn svcb_of(&self, rtype: u16) -> Option<ScamperHostSVCB> {
        let x = self.x();
        match &x.data {
            Some(DnsRrData::Svcb {
                priority,
                target,
                params,
            }) if x.rtype == rtype => Some(ScamperHostSVCB {
                priority: *priority,
                target: target.clone(),
                params: params.clone(),
            }),
            _ => None,
        }
    }
}

/// The data of an MX record.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHostMX {
    pref: u16,
    exch: String,
}

#[pymethods]
impl ScamperHostMX {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The preference.
    #[getter]
    fn pref(&self) -> u16 {
        self.pref
    }

    /// The exchange host name.
    #[getter]
    fn exch(&self) -> &str {
        &self.exch
    }

    fn __str__(&self) -> String {
        format!("{} {}", self.pref, self.exch)
    }
}

/// The data of an SOA record.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHostSOA {
    s: DnsSoa,
}

#[pymethods]
impl ScamperHostSOA {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The primary name server.
    #[getter]
    fn mname(&self) -> &str {
        &self.s.mname
    }

    /// The responsible mailbox.
    #[getter]
    fn rname(&self) -> &str {
        &self.s.rname
    }

    /// The serial.
    #[getter]
    fn serial(&self) -> u32 {
        self.s.serial
    }

    /// The refresh interval, seconds.
    #[getter]
    fn refresh(&self) -> u32 {
        self.s.refresh
    }

    /// The retry interval, seconds.
    #[getter]
    fn retry(&self) -> u32 {
        self.s.retry
    }

    /// The expiry, seconds.
    #[getter]
    fn expire(&self) -> u32 {
        self.s.expire
    }

    /// The negative-caching TTL, seconds.
    #[getter]
    fn minimum(&self) -> u32 {
        self.s.minimum
    }

    fn __str__(&self) -> String {
        soa_text(&self.s)
    }
}

/// The strings of a TXT record (iterable over `str`).
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHostTXT {
    t: Vec<Vec<u8>>,
}

#[pymethods]
impl ScamperHostTXT {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// Number of strings.
    #[getter]
    fn strc(&self) -> usize {
        self.t.len()
    }

    /// String `i`, or `None`.
    fn str(&self, i: usize) -> Option<String> {
        self.t
            .get(i)
            .map(|s| String::from_utf8_lossy(s).into_owned())
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: Vec<String> = self
            .t
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        PyList::new(py, v)?.try_iter().map(Bound::into_any)
    }

    fn __len__(&self) -> usize {
        self.t.len()
    }

    fn __str__(&self) -> String {
        txt_quoted(&self.t)
    }
}

/// The options of an OPT record (iterable over `ScamperHostOPTElem`).
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHostOPT {
    o: Vec<(u16, Vec<u8>)>,
}

#[pymethods]
impl ScamperHostOPT {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// Number of options.
    #[getter]
    fn elemc(&self) -> usize {
        self.o.len()
    }

    /// Option `i`, or `None`.
    fn elem(&self, i: usize) -> Option<ScamperHostOPTElem> {
        self.o.get(i).map(|(c, d)| ScamperHostOPTElem {
            code: *c,
            data: d.clone(),
        })
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: Vec<_> = self
            .o
            .iter()
            .map(|(c, d)| ScamperHostOPTElem {
                code: *c,
                data: d.clone(),
            })
            .collect();
        PyList::new(py, v)?.try_iter().map(Bound::into_any)
    }

    fn __len__(&self) -> usize {
        self.o.len()
    }
}

/// One EDNS option.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHostOPTElem {
    code: u16,
    data: Vec<u8>,
}

#[pymethods]
impl ScamperHostOPTElem {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The option code.
    #[getter]
    fn code_num(&self) -> u16 {
        self.code
    }

    /// The option name (`NSID`, `ECS`, ...), or the code as text.
    #[getter]
    fn code(&self) -> String {
        match self.code {
            3 => "NSID".to_owned(),
            8 => "ECS".to_owned(),
            10 => "COOKIE".to_owned(),
            12 => "PADDING".to_owned(),
            15 => "EDE".to_owned(),
            c => c.to_string(),
        }
    }

    /// The option data.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.data)
    }

    fn __len__(&self) -> usize {
        self.data.len()
    }
}

/// The data of an SVCB or HTTPS record (iterable over `ScamperHostSVCBParam`).
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHostSVCB {
    priority: u16,
    target: Option<String>,
    params: Vec<(u16, Vec<u8>)>,
}

#[pymethods]
impl ScamperHostSVCB {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The priority (0: alias form).
    #[getter]
    fn priority(&self) -> u16 {
        self.priority
    }

    /// The target name.
    #[getter]
    fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Number of service parameters.
    #[getter]
    fn paramc(&self) -> usize {
        self.params.len()
    }

    /// Service parameter `i`, or `None`.
    fn param(&self, i: usize) -> Option<ScamperHostSVCBParam> {
        self.params.get(i).map(|(k, v)| ScamperHostSVCBParam {
            key: *k,
            val: v.clone(),
        })
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v: Vec<_> = self
            .params
            .iter()
            .map(|(k, v)| ScamperHostSVCBParam {
                key: *k,
                val: v.clone(),
            })
            .collect();
        PyList::new(py, v)?.try_iter().map(Bound::into_any)
    }

    fn __len__(&self) -> usize {
        self.params.len()
    }
}

/// One SVCB service parameter.
#[pyclass(module = "vantage", frozen)]
pub struct ScamperHostSVCBParam {
    key: u16,
    val: Vec<u8>,
}

#[pymethods]
impl ScamperHostSVCBParam {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        Err(not_constructible())
    }

    /// The key code.
    #[getter]
    fn key_num(&self) -> u16 {
        self.key
    }

    /// The key name (`alpn`, `port`, ...), or `key<n>`.
    #[getter]
    fn key(&self) -> String {
        match self.key {
            0 => "mandatory".to_owned(),
            1 => "alpn".to_owned(),
            2 => "no-default-alpn".to_owned(),
            3 => "port".to_owned(),
            4 => "ipv4hint".to_owned(),
            5 => "ech".to_owned(),
            6 => "ipv6hint".to_owned(),
            k => format!("key{k}"),
        }
    }

    /// The value bytes.
    #[getter]
    fn val<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.val)
    }

    fn __len__(&self) -> usize {
        self.val.len()
    }
}
