//! `vantage wartsdump`: every field of every record, one per line.
//!
//! Our own layout (sc_wartsdump's carries similar information): a header line
//! per record naming its type, file and byte offset, then `name: value`
//! lines indented by nesting level. Times are UTC with microseconds,
//! durations in seconds, flag words as hex with their names, payloads as hex.

use std::fmt::{self, Display, Write as _};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use vantage_model::{
    Addr, Cycle, Dealias, DealiasMethod, DnsRr, DnsRrData, Host, Http, IcmpExt, List,
    Neighbourdisc, Ping, PingReply, Record, Sniff, Timestamp, Trace, TraceHop, Tracelb, Udpprobe,
};
use vantage_warts::types::record_type_name;

use crate::input::{Problems, for_each_record, is_broken_pipe};
use crate::time::utc;

/// Arguments of `vantage wartsdump`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Warts files, plain or compressed; `-` or none reads standard input.
    pub files: Vec<PathBuf>,
}

/// Runs the subcommand.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let stdout = io::stdout();
    let mut d = Dump {
        w: BufWriter::with_capacity(64 * 1024, stdout.lock()),
        ind: 0,
    };
    let mut problems = Problems::new("wartsdump");
    let res = for_each_record(&args.files, None, &mut problems, |name, at, rec| {
        record(&mut d, name, at, &rec)?;
        Ok(())
    })
    .and_then(|()| d.w.flush().map_err(anyhow::Error::from));
    match res {
        Ok(()) => Ok(problems.exit_code()),
        Err(e) if is_broken_pipe(&e) => Ok(problems.exit_code()),
        Err(e) => Err(e.context("writing to standard output")),
    }
}

struct Dump<W> {
    w: W,
    ind: usize,
}

impl<W: Write> Dump<W> {
    fn line(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        for _ in 0..self.ind {
            self.w.write_all(b"  ")?;
        }
        self.w.write_fmt(args)?;
        self.w.write_all(b"\n")
    }

    fn nest(&mut self, f: impl FnOnce(&mut Self) -> io::Result<()>) -> io::Result<()> {
        self.ind += 1;
        let r = f(self);
        self.ind -= 1;
        r
    }
}

macro_rules! l {
    ($d:expr, $($t:tt)*) => { $d.line(format_args!($($t)*))? };
}

struct Ts(Timestamp);

impl Display for Ts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            f.write_str("-")
        } else {
            f.write_str(&utc(self.0.sec, self.0.usec))
        }
    }
}

/// Whole seconds since the epoch, as UTC date and time.
struct TsSec(u32);

impl Display for TsSec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match jiff::Timestamp::from_second(i64::from(self.0)) {
            Ok(t) => write!(f, "{} UTC", t.strftime("%Y-%m-%d %H:%M:%S")),
            Err(_) => write!(f, "{}", self.0),
        }
    }
}

struct Secs(Duration);

impl Display for Secs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0.as_secs(), self.0.subsec_micros())
    }
}

struct Opt<'a, T>(Option<&'a T>);

impl<T: Display> Display for Opt<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => v.fmt(f),
            None => f.write_str("-"),
        }
    }
}

fn opt<T>(v: Option<&T>) -> Opt<'_, T> {
    Opt(v)
}

fn hex(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() * 2);
    for b in data {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `0x... (name name)` for a flag word.
fn flags<'n>(bits: u64, names: impl Iterator<Item = &'n str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        format!("{bits:#x}")
    } else {
        format!("{bits:#x} ({})", names.join(" "))
    }
}

fn text(s: &str) -> String {
    format!("{s:?}")
}

fn record<W: Write>(d: &mut Dump<W>, file: &str, at: u64, rec: &Record) -> io::Result<()> {
    let kind = match rec {
        Record::Unsupported(raw) => record_type_name(raw.kind),
        r => r.type_name(),
    };
    l!(d, "{kind} record at byte offset {at} of {file}");
    d.nest(|d| match rec {
        Record::List(x) => list(d, x),
        Record::CycleStart(c) | Record::CycleDef(c) | Record::CycleStop(c) => cycle(d, c),
        Record::Ping(x) => ping(d, x),
        Record::Trace(x) => trace(d, x),
        Record::Tracelb(x) => tracelb(d, x),
        Record::Dealias(x) => dealias(d, x),
        Record::Host(x) => host(d, x),
        Record::Http(x) => http(d, x),
        Record::Udpprobe(x) => udpprobe(d, x),
        Record::Sniff(x) => sniff(d, x),
        Record::Neighbourdisc(x) => neighbourdisc(d, x),
        Record::Unsupported(raw) => {
            l!(d, "type code: {}", raw.kind);
            l!(d, "body ({} bytes): {}", raw.body.len(), hex(&raw.body));
            Ok(())
        }
    })?;
    d.w.write_all(b"\n")
}

fn list<W: Write>(d: &mut Dump<W>, x: &List) -> io::Result<()> {
    l!(d, "id: {}", x.id);
    l!(d, "name: {}", text(&x.name));
    l!(d, "descr: {}", opt(x.descr.as_deref().map(text).as_ref()));
    l!(
        d,
        "monitor: {}",
        opt(x.monitor.as_deref().map(text).as_ref())
    );
    Ok(())
}

fn cycle<W: Write>(d: &mut Dump<W>, c: &Cycle) -> io::Result<()> {
    l!(d, "list: {} (id {})", text(&c.list.name), c.list.id);
    l!(d, "cycle id: {}", c.id);
    l!(d, "start time: {}", TsSec(c.start_time));
    match c.stop_time {
        Some(t) => l!(d, "stop time: {}", TsSec(t)),
        None => l!(d, "stop time: -"),
    }
    l!(
        d,
        "hostname: {}",
        opt(c.hostname.as_deref().map(text).as_ref())
    );
    Ok(())
}

/// The list, cycle and user id every measurement carries.
fn common<W: Write>(
    d: &mut Dump<W>,
    list: Option<&std::sync::Arc<List>>,
    cycle: Option<&std::sync::Arc<Cycle>>,
    user_id: u32,
) -> io::Result<()> {
    match list {
        Some(li) => l!(d, "list: {} (id {})", text(&li.name), li.id),
        None => l!(d, "list: -"),
    }
    match cycle {
        Some(c) => l!(d, "cycle: {} (started {})", c.id, TsSec(c.start_time)),
        None => l!(d, "cycle: -"),
    }
    l!(d, "user id: {user_id}");
    Ok(())
}

fn errmsg<W: Write>(d: &mut Dump<W>, e: Option<&String>) -> io::Result<()> {
    if let Some(e) = e {
        l!(d, "errmsg: {}", text(e));
    }
    Ok(())
}

fn icmpexts<W: Write>(d: &mut Dump<W>, exts: &[IcmpExt]) -> io::Result<()> {
    for e in exts {
        l!(
            d,
            "icmp extension: class {} type {} data {}",
            e.class,
            e.ctype,
            hex(&e.data)
        );
        for m in e.mpls_labels() {
            d.nest(|d| {
                l!(
                    d,
                    "mpls label {} exp {} s {} ttl {}",
                    m.label,
                    m.exp,
                    u8::from(m.s),
                    m.ttl
                );
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn ping<W: Write>(d: &mut Dump<W>, p: &Ping) -> io::Result<()> {
    common(d, p.list.as_ref(), p.cycle.as_ref(), p.user_id)?;
    l!(d, "src: {}", opt(p.src.as_ref()));
    l!(d, "dst: {}", p.dst);
    l!(d, "rtr: {}", opt(p.rtr.as_ref()));
    l!(d, "start: {}", Ts(p.start));
    l!(d, "method: {}", p.method);
    l!(d, "sport (icmp id): {}", p.sport);
    l!(d, "dport (first icmp seq): {}", p.dport);
    l!(
        d,
        "flags: {}",
        flags(u64::from(p.flags.bits()), p.flags.names())
    );
    l!(
        d,
        "attempts: {}, probe size: {}, ttl: {}, tos: {:#04x}",
        p.attempts,
        p.probe_size,
        p.ttl,
        p.tos
    );
    l!(
        d,
        "wait between probes: {}, timeout: {}",
        Secs(p.wait_probe),
        Secs(p.wait_timeout)
    );
    l!(d, "stop count: {}", p.stop_count);
    if !p.data.is_empty() {
        l!(d, "data ({} bytes): {}", p.data.len(), hex(&p.data));
    }
    if p.icmp_csum != 0 {
        l!(d, "icmp checksum: {:#06x}", p.icmp_csum);
    }
    if p.pmtu != 0 {
        l!(d, "pseudo mtu: {}", p.pmtu);
    }
    if p.tcp_seq != 0 || p.tcp_ack != 0 {
        l!(d, "tcp seq: {}, tcp ack: {}", p.tcp_seq, p.tcp_ack);
    }
    if !p.tsps.is_empty() {
        let a: Vec<String> = p.tsps.iter().map(ToString::to_string).collect();
        l!(d, "prespecified timestamp addresses: {}", a.join(" "));
    }
    errmsg(d, p.errmsg.as_ref())?;
    l!(
        d,
        "stop reason: {}, stop data: {}",
        p.stop_reason,
        p.stop_data
    );
    l!(
        d,
        "probes sent: {}, replies: {}",
        p.probes_sent,
        p.replies.len()
    );
    for (i, r) in p.replies.iter().enumerate() {
        l!(d, "reply {} to probe {} from {}", i + 1, r.probe_id, r.from);
        d.nest(|d| ping_reply(d, r))?;
    }
    Ok(())
}

fn ping_reply<W: Write>(d: &mut Dump<W>, r: &PingReply) -> io::Result<()> {
    l!(
        d,
        "rtt: {}, probe tx: {}",
        Secs(r.rtt),
        Ts(r.tx.unwrap_or_default())
    );
    l!(
        d,
        "flags: {}",
        flags(u64::from(r.flags.bits()), r.flags.names())
    );
    l!(
        d,
        "size: {}, ttl: {}, tos: {:#04x}, ipid: {:#x}",
        r.reply_size,
        r.reply_ttl,
        r.reply_tos,
        r.reply_ipid
    );
    l!(d, "protocol: {}", r.reply_proto);
    if r.is_icmp() {
        l!(d, "icmp type: {}, code: {}", r.icmp_type, r.icmp_code);
    }
    if r.is_tcp() {
        l!(d, "tcp flags: {:#04x}", r.tcp_flags);
    }
    if r.probe_ipid != 0 {
        l!(d, "probe ipid: {:#06x}", r.probe_ipid);
    }
    if r.probe_sport != 0 {
        l!(d, "probe sport: {}", r.probe_sport);
    }
    if r.nhmtu != 0 {
        l!(d, "next-hop mtu: {}", r.nhmtu);
    }
    if let Some(i) = &r.ifname {
        l!(d, "interface: {}", text(i));
    }
    if let Some(rr) = &r.rr {
        let a: Vec<String> = rr.iter().map(ToString::to_string).collect();
        l!(d, "record route: {}", a.join(" "));
    }
    if let Some(ts) = &r.ip_ts {
        for (i, t) in ts.timestamps.iter().enumerate() {
            l!(d, "ip timestamp: {} {}", t, opt(ts.addrs.get(i)));
        }
    }
    if let Some(t) = &r.icmp_ts {
        l!(
            d,
            "icmp timestamps: originate {} receive {} transmit {}",
            t.originate,
            t.receive,
            t.transmit
        );
    }
    Ok(())
}

fn trace<W: Write>(d: &mut Dump<W>, t: &Trace) -> io::Result<()> {
    common(d, t.list.as_ref(), t.cycle.as_ref(), t.user_id)?;
    l!(d, "src: {}", opt(t.src.as_ref()));
    l!(d, "dst: {}", t.dst);
    l!(d, "rtr: {}", opt(t.rtr.as_ref()));
    l!(d, "start: {}", Ts(t.start));
    l!(
        d,
        "method: {}, sport: {}, dport: {}",
        t.method,
        t.sport,
        t.dport
    );
    l!(
        d,
        "flags: {}",
        flags(u64::from(t.flags.bits()), t.flags.names())
    );
    l!(
        d,
        "attempts: {}, hoplimit: {}, firsthop: {}, probe size: {}, tos: {:#04x}",
        t.attempts,
        t.hoplimit,
        t.firsthop,
        t.probe_size,
        t.tos
    );
    l!(
        d,
        "wait timeout: {}, wait between probes: {}",
        Secs(t.wait_timeout),
        Secs(t.wait_probe)
    );
    l!(
        d,
        "loops: {}, loop action: {}, gaplimit: {}, gap action: {}",
        t.loops,
        t.loopaction,
        t.gaplimit,
        t.gapaction
    );
    l!(
        d,
        "confidence: {}, squeries: {}, fragment offset: {}",
        t.confidence,
        t.squeries,
        t.offset
    );
    errmsg(d, t.errmsg.as_ref())?;
    l!(
        d,
        "stop reason: {}, stop data: {}",
        t.stop_reason,
        t.stop_data
    );
    l!(
        d,
        "hop count: {}, stop hop: {}, probes sent: {}",
        t.hop_count,
        t.stop_hop,
        t.probes_sent
    );
    for h in &t.hops {
        trace_hop(d, h)?;
    }
    if let Some(pm) = &t.pmtud {
        l!(
            d,
            "pmtud version {}: if mtu {}, path mtu {}, out mtu {}",
            pm.version,
            pm.if_mtu,
            pm.path_mtu,
            pm.out_mtu
        );
        d.nest(|d| {
            for h in &pm.hops {
                trace_hop(d, h)?;
            }
            for n in &pm.notes {
                l!(
                    d,
                    "note: {} nhmtu {} reply {}",
                    n.kind,
                    n.nhmtu,
                    opt(n.hop.as_ref())
                );
            }
            Ok(())
        })?;
    }
    if let Some(ld) = &t.lastditch {
        l!(d, "last-ditch replies: {}", ld.len());
        d.nest(|d| ld.iter().try_for_each(|h| trace_hop(d, h)))?;
    }
    if let Some(dt) = &t.doubletree {
        l!(
            d,
            "doubletree: firsthop {}, lss stop {}, gss stop {}, lss name {}, flags {}",
            dt.firsthop,
            opt(dt.lss_stop.as_ref()),
            opt(dt.gss_stop.as_ref()),
            opt(dt.lss_name.as_ref()),
            flags(u64::from(dt.flags.bits()), dt.flags.names())
        );
    }
    Ok(())
}

fn trace_hop<W: Write>(d: &mut Dump<W>, h: &TraceHop) -> io::Result<()> {
    l!(
        d,
        "hop ttl {} attempt {} from {}",
        h.probe_ttl,
        u32::from(h.probe_id) + 1,
        h.addr
    );
    d.nest(|d| {
        if let Some(n) = &h.name {
            l!(d, "name: {}", text(n));
        }
        l!(
            d,
            "rtt: {}, probe tx: {}, probe size: {}",
            Secs(h.rtt),
            Ts(h.tx.unwrap_or_default()),
            h.probe_size
        );
        l!(
            d,
            "flags: {}",
            flags(u64::from(h.flags.bits()), h.flags.names())
        );
        l!(
            d,
            "reply ttl: {}, tos: {:#04x}, ipid: {:#06x}, size: {}",
            h.reply_ttl,
            h.reply_tos,
            h.reply_ipid,
            h.reply_size
        );
        if h.is_tcp() {
            l!(d, "tcp flags: {:#04x}", h.tcp_flags);
        } else if h.is_icmp() {
            l!(d, "icmp type: {}, code: {}", h.icmp_type, h.icmp_code);
            if h.is_icmp_quoting() {
                l!(
                    d,
                    "quoted ttl: {}, length: {}, tos: {:#04x}",
                    h.icmp_q_ttl,
                    h.icmp_q_ipl,
                    h.icmp_q_tos
                );
            }
            if h.nhmtu != 0 {
                l!(d, "next-hop mtu: {}", h.nhmtu);
            }
        }
        icmpexts(d, &h.icmp_exts)
    })
}

fn tracelb<W: Write>(d: &mut Dump<W>, t: &Tracelb) -> io::Result<()> {
    common(d, t.list.as_ref(), t.cycle.as_ref(), t.user_id)?;
    l!(d, "src: {}", opt(t.src.as_ref()));
    l!(d, "dst: {}", t.dst);
    l!(d, "rtr: {}", opt(t.rtr.as_ref()));
    l!(d, "start: {}", Ts(t.start));
    l!(
        d,
        "method: {}, sport: {}, dport: {}",
        t.method,
        t.sport,
        t.dport
    );
    l!(
        d,
        "probe size: {}, firsthop: {}, attempts: {}, confidence: {}, tos: {:#04x}, gaplimit: {}",
        t.probe_size,
        t.firsthop,
        t.attempts,
        t.confidence,
        t.tos,
        t.gaplimit
    );
    l!(
        d,
        "wait timeout: {}, wait between probes: {}",
        Secs(t.wait_timeout),
        Secs(t.wait_probe)
    );
    l!(
        d,
        "probes sent: {} of at most {}",
        t.probes_sent,
        t.max_probes
    );
    l!(
        d,
        "flags: {}",
        flags(u64::from(t.flags.bits()), t.flags.names())
    );
    errmsg(d, t.errmsg.as_ref())?;
    for (i, n) in t.nodes.iter().enumerate() {
        let name = n.name.as_deref().map(text);
        l!(
            d,
            "node {i}: {} name {} q_ttl {}",
            n.addr.map_or_else(|| "*".to_owned(), |a| a.to_string()),
            opt(name.as_ref()),
            opt(n.q_ttl.as_ref())
        );
    }
    for (i, link) in t.links.iter().enumerate() {
        l!(
            d,
            "link {i}: node {} -> node {}, {} hop(s)",
            link.from,
            opt(link.to.as_ref()),
            link.probesets.len()
        );
        d.nest(|d| {
            for (k, set) in link.probesets.iter().enumerate() {
                l!(d, "probe set {}", k + 1);
                d.nest(|d| {
                    for p in set {
                        l!(
                            d,
                            "probe flow {} ttl {} attempt {} tx {}",
                            p.flowid,
                            p.ttl,
                            p.attempt,
                            Ts(p.tx)
                        );
                        d.nest(|d| {
                            for r in &p.replies {
                                l!(
                                    d,
                                    "reply from {} rx {} ttl {} ipid {:#06x} flags {}",
                                    r.from,
                                    Ts(r.rx),
                                    r.ttl,
                                    r.ipid,
                                    flags(u64::from(r.flags.bits()), r.flags.names())
                                );
                                if r.is_tcp() {
                                    l!(d, "  tcp flags: {:#04x}", r.tcp_flags);
                                } else {
                                    l!(
                                        d,
                                        "  icmp type {} code {} quoted ttl {} tos {:#04x}",
                                        r.icmp_type,
                                        r.icmp_code,
                                        r.icmp_q_ttl,
                                        r.icmp_q_tos
                                    );
                                }
                                icmpexts(d, &r.icmp_exts)?;
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn dealias<W: Write>(d: &mut Dump<W>, x: &Dealias) -> io::Result<()> {
    common(d, x.list.as_ref(), x.cycle.as_ref(), x.user_id)?;
    l!(d, "start: {}", Ts(x.start));
    l!(
        d,
        "method: {}",
        x.method
            .name()
            .map_or_else(|| x.method.code().to_string(), str::to_owned)
    );
    d.nest(|d| {
        match &x.method {
            DealiasMethod::Mercator { attempts, wait_timeout } => {
                l!(d, "attempts: {attempts}, wait timeout: {}", Secs(*wait_timeout));
            }
            DealiasMethod::Ally { wait_probe, wait_timeout, attempts, fudge, flags: f } => {
                l!(d, "wait between probes: {}, wait timeout: {}, attempts: {attempts}, fudge: {fudge}, flags: {}", Secs(*wait_probe), Secs(*wait_timeout), flags(u64::from(f.bits()), f.names()));
            }
            DealiasMethod::Radargun { rounds, wait_probe, wait_round, wait_timeout, flags: f } => {
                l!(d, "rounds: {rounds}, wait between probes: {}, between rounds: {}, wait timeout: {}, flags: {}", Secs(*wait_probe), Secs(*wait_round), Secs(*wait_timeout), flags(u64::from(f.bits()), f.names()));
            }
            DealiasMethod::Prefixscan { a, b, ab, xs, prefix, attempts, fudge, wait_probe, wait_timeout, flags: f, replyc } => {
                l!(d, "a: {}, b: {}/{prefix}, alias found: {}", opt(a.as_ref()), opt(b.as_ref()), opt(ab.as_ref()));
                let xs: Vec<String> = xs.iter().map(Addr::to_string).collect();
                l!(d, "excluded: {}", xs.join(" "));
                l!(d, "attempts: {attempts}, replies required: {replyc}, fudge: {fudge}, wait between probes: {}, wait timeout: {}, flags: {}", Secs(*wait_probe), Secs(*wait_timeout), flags(u64::from(f.bits()), f.names()));
            }
            DealiasMethod::Bump { wait_probe, bump_limit, attempts } => {
                l!(d, "wait between probes: {}, bump limit: {bump_limit}, attempts: {attempts}", Secs(*wait_probe));
            }
            DealiasMethod::Midarest { rounds, wait_probe, wait_round, wait_timeout } => {
                l!(d, "rounds: {rounds}, wait between probes: {}, between rounds: {}, wait timeout: {}", Secs(*wait_probe), Secs(*wait_round), Secs(*wait_timeout));
            }
            DealiasMethod::Midardisc { wait_timeout, schedule, startat } => {
                l!(d, "wait timeout: {}, start at: {}", Secs(*wait_timeout), Ts(startat.unwrap_or_default()));
                for r in schedule {
                    l!(d, "round at +{}.{:06}s: probedefs {}..={}", r.start.sec, r.start.usec, r.begin, r.end);
                }
            }
            DealiasMethod::Other(c) => l!(d, "unknown method {c}: settings not decoded"),
        }
        Ok(())
    })?;
    l!(d, "result: {}", x.result);
    errmsg(d, x.errmsg.as_ref())?;
    for (i, p) in x.probedefs.iter().enumerate() {
        l!(
            d,
            "probedef {i}: {} {} -> {} ttl {} tos {:#04x} size {} mtu {} sport {} dport {} tcp flags {:#04x} icmp id {} icmp csum {:#06x}",
            p.method,
            opt(p.src.as_ref()),
            opt(p.dst.as_ref()),
            p.ttl,
            p.tos,
            p.size,
            p.mtu,
            p.sport,
            p.dport,
            p.tcp_flags,
            p.icmp_id,
            p.icmp_csum
        );
    }
    for p in &x.probes {
        l!(
            d,
            "probe probedef {} seq {} tx {} ipid {:#06x}",
            p.probedef,
            p.seq,
            Ts(p.tx),
            p.ipid
        );
        d.nest(|d| {
            for r in &p.replies {
                l!(d, "reply from {} rx {} ttl {} size {} ipid {:#x} proto {} icmp {}/{} quoted ttl {} tcp flags {:#04x} flags {}", r.src, Ts(r.rx), r.ttl, r.size, r.ipid, r.proto, r.icmp_type, r.icmp_code, r.icmp_q_ttl, r.tcp_flags, flags(u64::from(r.flags.bits()), r.flags.names()));
                icmpexts(d, &r.icmp_exts)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn rr<W: Write>(d: &mut Dump<W>, section: &str, r: &DnsRr) -> io::Result<()> {
    let data = match &r.data {
        None => String::new(),
        Some(DnsRrData::Addr(a)) => a.to_string(),
        Some(DnsRrData::Name(n)) => text(n),
        Some(DnsRrData::Soa(s)) => format!(
            "{} {} serial {} refresh {} retry {} expire {} minimum {}",
            text(&s.mname),
            text(&s.rname),
            s.serial,
            s.refresh,
            s.retry,
            s.expire,
            s.minimum
        ),
        Some(DnsRrData::Mx {
            preference,
            exchange,
        }) => format!("{preference} {}", text(exchange)),
        Some(DnsRrData::Txt(strs)) => strs
            .iter()
            .map(|s| format!("{:?}", String::from_utf8_lossy(s)))
            .collect::<Vec<_>>()
            .join(" "),
        Some(DnsRrData::Opt(opts)) => opts
            .iter()
            .map(|(c, v)| format!("{c}:{}", hex(v)))
            .collect::<Vec<_>>()
            .join(" "),
        Some(DnsRrData::Svcb {
            priority,
            target,
            params,
        }) => format!(
            "{priority} {} {}",
            opt(target.as_deref().map(text).as_ref()),
            params
                .iter()
                .map(|(k, v)| format!("{k}={}", hex(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    };
    l!(
        d,
        "{section}: {} class {} type {} ttl {} {}",
        opt(r.name.as_deref().map(text).as_ref()),
        r.class,
        r.rtype,
        r.ttl,
        data
    );
    Ok(())
}

fn host<W: Write>(d: &mut Dump<W>, h: &Host) -> io::Result<()> {
    common(d, h.list.as_ref(), h.cycle.as_ref(), h.user_id)?;
    l!(d, "src: {}", opt(h.src.as_ref()));
    l!(d, "dst: {}", h.dst);
    l!(d, "start: {}", Ts(h.start));
    l!(
        d,
        "flags: {}",
        flags(u64::from(h.flags.bits()), h.flags.names())
    );
    l!(
        d,
        "wait timeout: {}, retries: {}",
        Secs(h.wait_timeout),
        h.retries
    );
    l!(
        d,
        "query: {} class {} type {}",
        opt(h.qname.as_deref().map(text).as_ref()),
        h.qclass,
        h.qtype
    );
    l!(d, "ecs: {}", opt(h.ecs.as_ref()));
    errmsg(d, h.errmsg.as_ref())?;
    l!(d, "stop reason: {}", h.stop_reason);
    for (i, q) in h.queries.iter().enumerate() {
        l!(
            d,
            "query {}: id {} tx {} rx {}",
            i + 1,
            q.id,
            Ts(q.tx),
            Ts(q.rx)
        );
        d.nest(|d| {
            if q.has_response() {
                l!(
                    d,
                    "rcode: {}, flags: {}",
                    q.rcode,
                    flags(u64::from(q.flags.bits()), q.flags.names())
                );
            }
            for r in &q.an {
                rr(d, "answer", r)?;
            }
            for r in &q.ns {
                rr(d, "authority", r)?;
            }
            for r in &q.ar {
                rr(d, "additional", r)?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn http<W: Write>(d: &mut Dump<W>, h: &Http) -> io::Result<()> {
    common(d, h.list.as_ref(), h.cycle.as_ref(), h.user_id)?;
    l!(d, "src: {} port {}", opt(h.src.as_ref()), h.sport);
    l!(d, "dst: {} port {}", opt(h.dst.as_ref()), h.dport);
    l!(d, "start: {}", Ts(h.start));
    l!(d, "url: {}://{}{}", h.kind, h.host, h.file);
    for hd in &h.headers {
        l!(d, "header: {}", text(hd));
    }
    l!(
        d,
        "flags: {}",
        flags(u64::from(h.flags.bits()), h.flags.names())
    );
    l!(
        d,
        "handshake rtt: {}, max time: {}",
        Secs(h.hsrtt),
        Secs(h.maxtime)
    );
    if h.ech_status != 0 || h.ech_outer_sni.is_some() {
        l!(
            d,
            "ech status: {}, outer sni: {}",
            h.ech_status,
            opt(h.ech_outer_sni.as_ref())
        );
    }
    if let Some(c) = &h.ech_config_list {
        l!(d, "ech config list: {}", hex(c));
    }
    if let Some(c) = &h.ech_retry_config {
        l!(d, "ech retry config: {}", hex(c));
    }
    errmsg(d, h.errmsg.as_ref())?;
    l!(d, "stop reason: {}", h.stop_reason);
    for b in &h.bufs {
        let dir = if b.tx { "tx" } else { "rx" };
        l!(
            d,
            "{dir} {} at {}: {} bytes",
            b.kind,
            Ts(b.ts),
            b.data.len()
        );
        d.nest(|d| {
            if b.kind == vantage_model::HttpBufType::Header || b.data.len() <= 64 {
                for line in String::from_utf8_lossy(&b.data).lines() {
                    l!(d, "| {}", line.escape_debug());
                }
            } else {
                l!(d, "| {}...", hex(&b.data[..32]));
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn udpprobe<W: Write>(d: &mut Dump<W>, u: &Udpprobe) -> io::Result<()> {
    common(d, u.list.as_ref(), u.cycle.as_ref(), u.user_id)?;
    l!(d, "src: {} port {}", opt(u.src.as_ref()), u.sport);
    l!(d, "dst: {} port {}", opt(u.dst.as_ref()), u.dport);
    l!(d, "start: {}", Ts(u.start));
    l!(
        d,
        "wait timeout: {}, wait between probes: {}",
        Secs(u.wait_timeout),
        Secs(u.wait_probe)
    );
    l!(
        d,
        "flags: {}",
        flags(u64::from(u.flags.bits()), u.flags.names())
    );
    l!(
        d,
        "payload ({} bytes): {}",
        u.payload.len(),
        hex(&u.payload)
    );
    l!(
        d,
        "probes requested: {}, stop count: {}",
        u.probe_count,
        u.stop_count
    );
    errmsg(d, u.errmsg.as_ref())?;
    l!(d, "stop reason: {}", u.stop_reason);
    for (i, p) in u.probes.iter().enumerate() {
        l!(d, "probe {}: tx {} sport {}", i + 1, Ts(p.tx), p.sport);
        d.nest(|d| {
            for r in &p.replies {
                l!(
                    d,
                    "reply rx {} interface {} ({} bytes): {}",
                    Ts(r.rx),
                    opt(r.ifname.as_ref()),
                    r.data.len(),
                    hex(&r.data)
                );
            }
            Ok(())
        })?;
    }
    Ok(())
}

fn sniff<W: Write>(d: &mut Dump<W>, s: &Sniff) -> io::Result<()> {
    common(d, s.list.as_ref(), s.cycle.as_ref(), s.user_id)?;
    l!(d, "src: {}", s.src);
    l!(d, "start: {}, finish: {}", Ts(s.start), Ts(s.finish));
    l!(
        d,
        "limits: {} packets, {}",
        s.limit_pkt_count,
        Secs(s.limit_time)
    );
    l!(d, "icmp id: {}", s.icmp_id);
    errmsg(d, s.errmsg.as_ref())?;
    l!(d, "stop reason: {}", s.stop_reason);
    for (i, p) in s.packets.iter().enumerate() {
        l!(
            d,
            "packet {} at {} ({} bytes): {}",
            i + 1,
            Ts(p.ts),
            p.data.len(),
            hex(&p.data)
        );
    }
    Ok(())
}

fn neighbourdisc<W: Write>(d: &mut Dump<W>, n: &Neighbourdisc) -> io::Result<()> {
    common(d, n.list.as_ref(), n.cycle.as_ref(), n.user_id)?;
    l!(
        d,
        "interface: {}",
        opt(n.ifname.as_deref().map(text).as_ref())
    );
    l!(d, "start: {}", Ts(n.start));
    l!(d, "method: {}", n.method);
    l!(
        d,
        "src: {} ({})",
        opt(n.src_ip.as_ref()),
        opt(n.src_mac.as_ref())
    );
    l!(
        d,
        "dst: {} ({})",
        opt(n.dst_ip.as_ref()),
        opt(n.dst_mac.as_ref())
    );
    l!(
        d,
        "wait timeout: {}, attempts: {}, replies wanted: {}",
        Secs(n.wait_timeout),
        n.attempts,
        n.replyc
    );
    l!(
        d,
        "flags: {}",
        flags(u64::from(n.flags.bits()), n.flags.names())
    );
    errmsg(d, n.errmsg.as_ref())?;
    for (i, p) in n.probes.iter().enumerate() {
        l!(d, "probe {}: tx {}", i + 1, Ts(p.tx));
        d.nest(|d| {
            for r in &p.replies {
                l!(d, "reply rx {} mac {}", Ts(r.rx), r.mac);
            }
            Ok(())
        })?;
    }
    Ok(())
}
