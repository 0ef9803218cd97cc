//! scamper's text rendering (`sc_warts2text`, `to_text()`, `str(result)`) of
//! pings, traceroutes, MDA traceroutes and ally results.
//!
//! This lives here because the Python API is its only user so far; it belongs
//! in the warts crate beside the JSON writer once the CLI wants a `warts2text`.

use std::fmt::Write as _;
use std::time::Duration;

use vantage_model::{
    Dealias, DealiasMethod, Ping, PingReplyFlags, Trace, TraceHop, Tracelb, TracelbLink,
};

fn ms3(d: Duration) -> String {
    let us = d.as_micros();
    format!("{}.{:03}", us / 1000, us % 1000)
}

/// `HH:MM:SS.mmm` of milliseconds since midnight.
fn clock_ms(ms: u32) -> String {
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

/// The text rendering of a ping.
pub(crate) fn ping(p: &Ping) -> String {
    let mut o = String::new();
    match p.src {
        Some(src) => {
            let _ = writeln!(
                o,
                "ping from {src} to {}: {} byte packets",
                p.dst, p.probe_size
            );
        }
        None => {
            let _ = writeln!(o, "ping to {}: {} byte packets", p.dst, p.probe_size);
        }
    }
    for r in &p.replies {
        let _ = write!(
            o,
            "{} bytes from {}, seq={}",
            r.reply_size, r.from, r.probe_id
        );
        if r.is_tcp() {
            if r.tcp_flags & 0x12 == 0x12 {
                o.push_str(" tcp=open");
            } else if r.tcp_flags & 0x04 != 0 {
                o.push_str(" tcp=closed");
            }
        }
        if r.flags.contains(PingReplyFlags::REPLY_TTL) {
            let _ = write!(o, " ttl={}", r.reply_ttl);
        }
        let _ = write!(o, " time={} ms", ms3(r.rtt));
        if let Some(ts) = r.icmp_ts {
            let _ = write!(
                o,
                " tso={} tsr={} tst={}",
                clock_ms(ts.originate),
                clock_ms(ts.receive),
                clock_ms(ts.transmit)
            );
        }
        o.push('\n');
        if let Some(rr) = &r.rr {
            for (i, a) in rr.iter().enumerate() {
                let lead = if i == 0 { " RR: " } else { "     " };
                let _ = writeln!(o, "{lead}{a}");
            }
        }
        if let Some(ts) = &r.ip_ts {
            for (i, t) in ts.timestamps.iter().enumerate() {
                let lead = if i == 0 { " TS: " } else { "     " };
                match ts.addrs.get(i) {
                    Some(a) => {
                        let _ = writeln!(o, "{lead}{:<15} {t}", a.to_string());
                    }
                    None => {
                        let _ = writeln!(o, "{lead}{t}");
                    }
                }
            }
        }
    }
    let st = p.stats();
    let _ = writeln!(o, "--- {} ping statistics ---", p.dst);
    let sent = u32::from(p.probes_sent);
    let _ = write!(
        o,
        "{sent} packets transmitted, {} packets received",
        st.nreplies
    );
    if st.ndups > 0 {
        let _ = write!(o, ", +{} duplicates", st.ndups);
    }
    if st.nerrs > 0 {
        let _ = write!(o, ", +{} errors", st.nerrs);
    }
    if sent > 0 {
        let lost = sent.saturating_sub(st.nreplies);
        let _ = write!(o, ", {}% packet loss", lost * 100 / sent);
    }
    o.push('\n');
    if let (Some(min), Some(avg), Some(max), Some(sd)) =
        (st.min_rtt, st.avg_rtt, st.max_rtt, st.stddev_rtt)
    {
        let _ = writeln!(
            o,
            "round-trip min/avg/max/stddev = {}/{}/{}/{} ms",
            ms3(min),
            ms3(avg),
            ms3(max),
            ms3(sd)
        );
    }
    o
}

/// The text rendering of a record, for the record types scamper renders.
pub(crate) fn render(rec: &vantage_model::Record) -> Option<String> {
    match rec {
        vantage_model::Record::Ping(p) => Some(ping(p)),
        vantage_model::Record::Trace(t) => Some(trace(t)),
        vantage_model::Record::Tracelb(t) => Some(tracelb(t)),
        vantage_model::Record::Dealias(d) => Some(dealias(d)),
        _ => None,
    }
}

/// The annotation scamper prints after an RTT: TCP state, ICMP unreachable
/// codes other than "port unreachable", or the hop MTU with PMTUD.
fn hop_note(h: &TraceHop, mtu: Option<u16>) -> String {
    let mut s = String::new();
    if h.is_tcp() {
        if h.tcp_flags & 0x12 == 0x12 {
            s.push_str(" [open]");
        } else if h.tcp_flags & 0x04 != 0 {
            s.push_str(" [closed]");
        }
    } else if h.is_icmp() {
        let v6 = h.addr.is_ipv6();
        let unreach = if v6 {
            h.icmp_type == 1
        } else {
            h.icmp_type == 3
        };
        let port = if v6 { 4 } else { 3 };
        if unreach && h.icmp_code != port {
            let tag = match (v6, h.icmp_code) {
                (_, 0) => "!N".to_owned(),
                (false, 1) | (true, 3) => "!H".to_owned(),
                (false, 2) => "!P".to_owned(),
                (false, 4) => "!F".to_owned(),
                (false, 9 | 10 | 13) | (true, 1) => "!X".to_owned(),
                (_, c) => format!("!<{c}>"),
            };
            let _ = write!(s, " {tag}");
        }
    }
    if let Some(m) = mtu {
        let _ = write!(s, " [mtu: {m}]");
    }
    s
}

/// The MTU in force at TTL `ttl` of a PMTUD traceroute.
fn mtu_at(t: &Trace, ttl: u8) -> Option<u16> {
    let p = t.pmtud.as_ref()?;
    let mut mtu = if p.out_mtu != 0 { p.out_mtu } else { p.if_mtu };
    for n in &p.notes {
        let at = n
            .hop
            .and_then(|i| p.hops.get(usize::from(i)))
            .map(|h| h.probe_ttl);
        if at.is_some_and(|d| d <= ttl) && n.nhmtu != 0 {
            mtu = n.nhmtu;
        }
    }
    Some(mtu)
}

/// The text rendering of a traceroute.
pub(crate) fn trace(t: &Trace) -> String {
    let mut o = String::new();
    match t.src {
        Some(src) => {
            let _ = writeln!(o, "traceroute from {src} to {}", t.dst);
        }
        None => {
            let _ = writeln!(o, "traceroute to {}", t.dst);
        }
    }
    let n = t.hop_count.min(255) as u8;
    for ttl in 1..=n {
        let _ = write!(o, "{ttl:2}  ");
        let mut prev = None;
        let mtu = mtu_at(t, ttl);
        for h in t.hops.iter().filter(|h| h.probe_ttl == ttl) {
            if prev == Some(h.addr) {
                o.push_str("  ");
            } else {
                if prev.is_some() {
                    o.push_str("  ");
                }
                if let Some(name) = &h.name {
                    let _ = write!(o, "{name} ({})  ", h.addr);
                } else {
                    let _ = write!(o, "{}  ", h.addr);
                }
                prev = Some(h.addr);
            }
            let _ = write!(o, "{} ms{}", ms3(h.rtt), hop_note(h, mtu));
        }
        if prev.is_none() {
            o.push('*');
        }
        o.push('\n');
    }
    o
}

/// The text rendering of an MDA traceroute.
pub(crate) fn tracelb(t: &Tracelb) -> String {
    let mut o = String::new();
    let _ = write!(o, "tracelb ");
    if let Some(src) = t.src {
        let _ = write!(o, "from {src} ");
    }
    let _ = writeln!(
        o,
        "to {}, {} nodes, {} links, {} probes, {}%",
        t.dst,
        t.nodes.len(),
        t.links.len(),
        t.probes_sent,
        t.confidence
    );
    for i in 0..t.nodes.len() {
        for l in t.node_links(i as u16) {
            let _ = writeln!(o, "{}", link_text(t, l));
        }
    }
    o
}

/// `"near -> * -> far"`: one `*` per unresponsive hop in between.
pub(crate) fn link_text(t: &Tracelb, l: &TracelbLink) -> String {
    let name = |i: u16| {
        t.nodes
            .get(usize::from(i))
            .and_then(|n| n.addr)
            .map_or_else(|| "*".to_owned(), |a| a.to_string())
    };
    let mut s = name(l.from);
    for _ in 1..l.probesets.len() {
        s.push_str(" -> *");
    }
    s.push_str(" -> ");
    s.push_str(&l.to.map_or_else(|| "*".to_owned(), name));
    s
}

/// The text rendering of an alias resolution: one line for ally, as
/// scamper; nothing for the other methods.
pub(crate) fn dealias(d: &Dealias) -> String {
    if !matches!(d.method, DealiasMethod::Ally { .. }) {
        return String::new();
    }
    let addr = |i: usize| {
        d.probedefs
            .get(i)
            .and_then(|p| p.dst)
            .map_or_else(|| "*".to_owned(), |a| a.to_string())
    };
    let result = d.result.to_string().replace('-', " ");
    format!("{} {} {result}\n", addr(0), addr(1))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use vantage_model::Record;

    fn testdata() -> Option<PathBuf> {
        let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/warts");
        p.is_dir().then_some(p)
    }

    /// Every reference file renders byte for byte as sc_warts2text printed it.
    #[test]
    fn reference_files_render_like_sc_warts2text() {
        let Some(dir) = testdata() else {
            eprintln!("skipped: shared/testdata/warts not found");
            return;
        };
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let warts = ["", ".gz", ".bz2", ".xz"].iter().any(|z| {
                name.strip_suffix(z)
                    .is_some_and(|b| b.to_ascii_lowercase().ends_with(".warts"))
            });
            if !warts {
                continue;
            }
            let mut text = String::new();
            for rec in vantage_warts::open(&path).unwrap() {
                if let Some(t) = super::render(&rec.unwrap()) {
                    text.push_str(&t);
                }
            }
            let want = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
            assert_eq!(text, want, "{name}");
            checked += 1;
        }
        assert!(checked >= 12, "only {checked} files checked");
    }

    #[test]
    fn records_without_text_render_nothing() {
        let l = std::sync::Arc::new(vantage_model::List::new(1, "x"));
        assert_eq!(super::render(&Record::List(l)), None);
    }
}
