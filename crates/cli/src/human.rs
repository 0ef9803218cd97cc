//! Human-readable output of one-off measurements, in the manner of ping(8) and
//! traceroute(8).

use std::fmt::Write as _;
use std::time::Duration;

use vantage_command::{PingSpec, TraceSpec, TracelbSpec};
use vantage_model::{Ping, PingReply, Record, Trace, TraceFlags, TraceHop, TraceStop, Tracelb};

/// Milliseconds with three decimals.
fn ms(d: Duration) -> String {
    let us = d.as_micros();
    format!("{}.{:03}", us / 1000, us % 1000)
}

/// The line printed before a ping starts.
pub fn ping_header(spec: &PingSpec) -> String {
    let probes = if spec.attempts == 1 {
        "probe"
    } else {
        "probes"
    };
    format!(
        "PING {}: {} bytes, {}, {} {probes}",
        spec.dst,
        spec.probe_size,
        spec.method.as_str(),
        spec.attempts
    )
}

/// The line printed before a traceroute starts.
pub fn trace_header(spec: &TraceSpec) -> String {
    let max = if spec.max_ttl == 0 {
        "255 hops max".to_owned()
    } else {
        format!("{} hops max", spec.max_ttl)
    };
    let size = spec
        .compute_probe_size()
        .map_or_else(String::new, |s| format!(", {s} byte packets"));
    format!(
        "traceroute to {}, {max}{size}, {}",
        spec.dst,
        spec.method.as_str()
    )
}

/// The line printed before an MDA traceroute starts.
pub fn tracelb_header(spec: &TracelbSpec) -> String {
    format!(
        "tracelb to {}, {}, {}% confidence, at most {} probes",
        spec.dst,
        spec.method.as_str(),
        spec.confidence.percent(),
        spec.max_probes
    )
}

/// The TTL at which node `i` of `t` was first seen (the first hop for nodes no
/// link leads to).
fn tracelb_node_hop(t: &Tracelb, i: u16) -> u8 {
    t.links
        .iter()
        .filter(|l| l.to == Some(i))
        .filter_map(|l| l.probesets.last())
        .flatten()
        .map(|p| p.ttl)
        .min()
        .unwrap_or(t.firsthop)
}

/// An MDA traceroute result: the interfaces hop by hop, then every link.
pub fn tracelb_report(t: &Tracelb) -> String {
    let name = |i: Option<u16>| {
        i.and_then(|i| t.nodes.get(usize::from(i)))
            .and_then(|n| n.addr)
            .map_or_else(|| "*".to_owned(), |a| a.to_string())
    };
    let mut by_hop: std::collections::BTreeMap<u8, Vec<String>> = std::collections::BTreeMap::new();
    for i in 0..t.nodes.len() {
        let Ok(i) = u16::try_from(i) else { break };
        by_hop
            .entry(tracelb_node_hop(t, i))
            .or_default()
            .push(name(Some(i)));
    }
    let mut out = String::new();
    for (hop, addrs) in &by_hop {
        let _ = writeln!(out, "{hop:2}  {}", addrs.join(" "));
    }
    let _ = writeln!(out, "links:");
    for l in &t.links {
        let span = if l.probesets.len() > 1 {
            format!(" ({} hops)", l.probesets.len())
        } else {
            String::new()
        };
        let _ = writeln!(out, "  {} -> {}{span}", name(Some(l.from)), name(l.to));
    }
    let _ = writeln!(
        out,
        "{} nodes, {} links, {} probes sent",
        t.nodes.len(),
        t.links.len(),
        t.probes_sent
    );
    out
}

/// What kind of answer a ping reply is, for the per-reply line.
fn ping_reply_kind(r: &PingReply) -> String {
    if r.is_icmp_echo_reply() {
        return String::new();
    }
    if r.is_icmp_tsreply() {
        return " timestamp reply".to_owned();
    }
    if r.is_icmp_unreach_port() {
        return " port unreachable".to_owned();
    }
    if r.is_tcp() {
        return format!(" tcp {}", tcp_flags(r.tcp_flags));
    }
    if r.is_udp() {
        return " udp".to_owned();
    }
    if r.is_icmp_ttl_exp() {
        return " time to live exceeded".to_owned();
    }
    if r.is_icmp() {
        return format!(" icmp type {} code {}", r.icmp_type, r.icmp_code);
    }
    String::new()
}

/// TCP flags as letters (`SA` for SYN-ACK, `RA` for RST-ACK).
pub fn tcp_flags(f: u8) -> String {
    const NAMES: [(u8, char); 8] = [
        (0x01, 'F'),
        (0x02, 'S'),
        (0x04, 'R'),
        (0x08, 'P'),
        (0x10, 'A'),
        (0x20, 'U'),
        (0x40, 'E'),
        (0x80, 'C'),
    ];
    let s: String = NAMES
        .iter()
        .filter(|(bit, _)| f & bit != 0)
        .map(|(_, c)| *c)
        .collect();
    if s.is_empty() { "none".to_owned() } else { s }
}

/// The line for reply `i` of a ping (`DUP!` when an earlier reply answered the same
/// probe).
pub fn ping_reply_line(p: &Ping, i: usize) -> String {
    let Some(r) = p.replies.get(i) else {
        return String::new();
    };
    let dup = if p.replies[..i].iter().any(|e| e.probe_id == r.probe_id) {
        " (DUP!)"
    } else {
        ""
    };
    if p.is_from_target(r) {
        format!(
            "{} bytes from {}: seq={} ttl={} time={} ms{}{dup}\n",
            r.reply_size,
            r.from,
            r.probe_id,
            r.reply_ttl,
            ms(r.rtt),
            ping_reply_kind(r)
        )
    } else {
        format!(
            "From {}: seq={}{}\n",
            r.from,
            r.probe_id,
            ping_reply_kind(r)
        )
    }
}

/// The whole human-readable report of a ping: a line per reply, then statistics.
#[cfg(test)]
pub fn ping_report(p: &Ping) -> String {
    let mut out: String = (0..p.replies.len())
        .map(|i| ping_reply_line(p, i))
        .collect();
    out.push_str(&ping_summary(p));
    out
}

/// The statistics that end a ping's report.
pub fn ping_summary(p: &Ping) -> String {
    let mut out = String::new();
    let st = p.stats();
    let _ = writeln!(out, "--- {} ping statistics ---", p.dst);
    let sent = u32::from(p.probes_sent);
    let loss = (sent.saturating_sub(st.nreplies) * 100)
        .checked_div(sent)
        .unwrap_or(0);
    let _ = write!(
        out,
        "{sent} packets transmitted, {} packets received, ",
        st.nreplies
    );
    if st.ndups > 0 {
        let _ = write!(out, "+{} duplicates, ", st.ndups);
    }
    if st.nerrs > 0 {
        let _ = write!(out, "+{} errors, ", st.nerrs);
    }
    let _ = writeln!(out, "{loss}% packet loss");
    if let (Some(min), Some(avg), Some(max), Some(sd)) =
        (st.min_rtt, st.avg_rtt, st.max_rtt, st.stddev_rtt)
    {
        let _ = writeln!(
            out,
            "round-trip min/avg/max/stddev = {}/{}/{}/{} ms",
            ms(min),
            ms(avg),
            ms(max),
            ms(sd)
        );
    }
    if let Some(e) = &p.errmsg {
        let _ = writeln!(out, "error: {e}");
    }
    out
}

/// traceroute's annotation for an ICMP unreachable (`!H`, `!N`, ...), empty for other
/// replies and for the port unreachable that marks the destination.
pub fn unreach_note(h: &TraceHop, ipv6: bool) -> String {
    if h.is_tcp() || h.is_udp() {
        return String::new();
    }
    let (ty, code) = (h.icmp_type, h.icmp_code);
    let unreach = if ipv6 { ty == 1 } else { ty == 3 };
    if !unreach {
        return String::new();
    }
    let note = if ipv6 {
        match code {
            0 => "!N",
            1 => "!X",
            2 => "!S",
            3 => "!H",
            4 => "",
            5 | 6 => "!X",
            _ => return format!(" !<{code}>"),
        }
    } else {
        match code {
            0 | 6 | 11 => "!N",
            1 | 7 | 12 => "!H",
            2 => "!P",
            3 => "",
            4 => "!F",
            5 => "!S",
            9 | 10 | 13 => "!X",
            14 => "!V",
            15 => "!C",
            _ => return format!(" !<{code}>"),
        }
    };
    if note.is_empty() {
        String::new()
    } else {
        format!(" {note}")
    }
}

/// The MPLS label stacks a hop reported, as ` [MPLS: L=16001 E=0 S=1 TTL=1]`.
fn mpls_note(h: &TraceHop) -> String {
    let mut out = String::new();
    for ext in h.icmp_exts.iter().filter(|e| e.is_mpls()) {
        let labels: Vec<String> = ext
            .mpls_labels()
            .map(|l| {
                format!(
                    "L={} E={} S={} TTL={}",
                    l.label,
                    l.exp,
                    u8::from(l.s),
                    l.ttl
                )
            })
            .collect();
        if !labels.is_empty() {
            let _ = write!(out, " [MPLS: {}]", labels.join(", "));
        }
    }
    out
}

/// TCP reply annotation for traceroute lines: the flags the destination answered with.
fn tcp_note(h: &TraceHop) -> String {
    if h.is_tcp() {
        format!(" [{}]", tcp_flags(h.tcp_flags))
    } else {
        String::new()
    }
}

/// The line for TTL `ttl` of a traceroute: each reply's address (printed when it
/// changes) and round-trip time, `*` for an attempt with no reply.
pub fn trace_line(t: &Trace, ttl: u8) -> String {
    let mut out = String::new();
    let ipv6 = t.dst.is_ipv6();
    let mut hops: Vec<&TraceHop> = t.hops.iter().filter(|h| h.probe_ttl == ttl).collect();
    hops.sort_by_key(|h| h.probe_id);
    let _ = write!(out, "{ttl:2} ");
    // Without -Q a hop gets no more attempts once one is answered.
    let all = t.flags.contains(TraceFlags::ALL_ATTEMPTS);
    let attempts = match hops.last() {
        Some(h) if !all => usize::from(h.probe_id) + 1,
        Some(h) => usize::from(t.attempts).max(usize::from(h.probe_id) + 1),
        None => usize::from(t.attempts),
    };
    let mut prev_addr = None;
    for a in 0..attempts {
        let answered: Vec<&&TraceHop> = hops
            .iter()
            .filter(|h| usize::from(h.probe_id) == a)
            .collect();
        if answered.is_empty() {
            out.push_str(" *");
            continue;
        }
        for h in answered {
            if prev_addr != Some(&h.addr) {
                let _ = write!(out, " {}", h.addr);
                prev_addr = Some(&h.addr);
            }
            let _ = write!(
                out,
                "  {} ms{}{}{}",
                ms(h.rtt),
                unreach_note(h, ipv6),
                tcp_note(h),
                mpls_note(h)
            );
        }
    }
    out.push('\n');
    out
}

/// The TTL of the last line of a finished traceroute.
fn last_ttl(t: &Trace) -> u8 {
    t.hop_count.min(255) as u8
}

/// The lines that end a traceroute's report: why it stopped.
pub fn trace_footer(t: &Trace) -> String {
    let mut out = String::new();
    let why = match t.stop_reason {
        TraceStop::Completed => "reached the destination".to_owned(),
        TraceStop::Unreach => format!("stopped: unreachable (code {})", t.stop_data),
        TraceStop::Icmp => format!("stopped: ICMP type {}", t.stop_data),
        TraceStop::Loop => "stopped: loop detected".to_owned(),
        TraceStop::Gaplimit => format!("stopped: {} hops in a row did not reply", t.gaplimit),
        TraceStop::Hoplimit => "stopped: hop limit reached".to_owned(),
        TraceStop::Halted => "halted".to_owned(),
        TraceStop::Error => "stopped by an error".to_owned(),
        other => format!("stopped: {other}"),
    };
    let _ = writeln!(out, "{why}, {} probes sent", t.probes_sent);
    if let Some(e) = &t.errmsg {
        let _ = writeln!(out, "error: {e}");
    }
    out
}

/// The whole human-readable report of a traceroute: one line per TTL, then how it ended.
#[cfg(test)]
pub fn trace_report(t: &Trace) -> String {
    let mut out: String = (t.firsthop..=last_ttl(t))
        .map(|ttl| trace_line(t, ttl))
        .collect();
    out.push_str(&trace_footer(t));
    out
}

/// Prints a measurement while it runs, from the snapshots `-y 1` gives, and finishes the
/// report with the final result: ping replies as they arrive; traceroute lines once the
/// trace has moved past their TTL (only when one hop is probed at a time, without `-Q`,
/// so a line cannot change after it is printed).
#[derive(Debug, Default)]
pub struct Live {
    replies_shown: usize,
    ttl_shown: u8,
}

impl Live {
    /// Text for what a snapshot adds.
    pub fn partial(&mut self, rec: &Record) -> String {
        match rec {
            Record::Ping(p) => self.ping_lines(p),
            Record::Trace(t) if t.squeries <= 1 && !t.flags.contains(TraceFlags::ALL_ATTEMPTS) => {
                let newest = t.hops.iter().map(|h| h.probe_ttl).max().unwrap_or(0);
                self.trace_lines(t, newest.saturating_sub(1))
            }
            _ => String::new(),
        }
    }

    /// The rest of the report, from the final result.
    pub fn finish(&mut self, rec: &Record) -> String {
        match rec {
            Record::Ping(p) => self.ping_lines(p) + &ping_summary(p),
            Record::Trace(t) => self.trace_lines(t, last_ttl(t)) + &trace_footer(t),
            Record::Tracelb(t) => tracelb_report(t),
            _ => String::new(),
        }
    }

    fn ping_lines(&mut self, p: &Ping) -> String {
        let out = (self.replies_shown..p.replies.len())
            .map(|i| ping_reply_line(p, i))
            .collect();
        self.replies_shown = self.replies_shown.max(p.replies.len());
        out
    }

    fn trace_lines(&mut self, t: &Trace, upto: u8) -> String {
        let from = self.ttl_shown.saturating_add(1).max(t.firsthop);
        if upto < from {
            return String::new();
        }
        self.ttl_shown = upto;
        (from..=upto).map(|ttl| trace_line(t, ttl)).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use vantage_model::{Addr, IcmpExt, Timestamp};

    fn hop(addr: &str, ttl: u8, id: u8, rtt_us: u64) -> TraceHop {
        let mut h = TraceHop::new(
            addr.parse::<Addr>().unwrap(),
            ttl,
            id,
            44,
            Duration::from_micros(rtt_us),
        );
        h.icmp_type = 11;
        h
    }

    #[test]
    fn trace_lines_show_stars_changes_and_annotations() {
        let mut t = Trace::new("10.0.6.2".parse().unwrap(), Timestamp::new(1, 0));
        t.attempts = 2;
        t.hop_count = 4;
        t.probes_sent = 7;
        t.stop_reason = TraceStop::Unreach;
        t.stop_data = 1;
        let mut h1 = hop("10.0.0.2", 1, 0, 1234);
        h1.icmp_exts.push(IcmpExt {
            class: 1,
            ctype: 1,
            data: vec![0x03, 0xe8, 0x01, 0x01],
        });
        let h2a = hop("10.0.1.2", 2, 0, 2000);
        let h2b = hop("10.0.1.3", 2, 1, 2500);
        let mut h4 = hop("10.0.6.2", 4, 1, 4000);
        h4.icmp_type = 3;
        h4.icmp_code = 1;
        t.hops = vec![h1, h2a, h2b, h4];
        let r = trace_report(&t);
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(
            lines[0],
            " 1  10.0.0.2  1.234 ms [MPLS: L=16000 E=0 S=1 TTL=1]"
        );
        assert_eq!(lines[1], " 2  10.0.1.2  2.000 ms 10.0.1.3  2.500 ms");
        assert_eq!(lines[2], " 3  * *");
        assert_eq!(lines[3], " 4  * 10.0.6.2  4.000 ms !H");
        assert_eq!(lines[4], "stopped: unreachable (code 1), 7 probes sent");
    }

    #[test]
    fn ping_report_counts_like_ping8() {
        let mut p = Ping::new("10.0.6.2".parse().unwrap(), Timestamp::new(1, 0));
        p.probes_sent = 3;
        let mut r0 = PingReply::new(0, p.dst, Duration::from_micros(500));
        r0.icmp_type = 0;
        r0.reply_proto = 1;
        r0.reply_ttl = 61;
        r0.reply_size = 84;
        let mut r2 = r0.clone();
        r2.probe_id = 2;
        r2.rtt = Duration::from_micros(1500);
        p.replies = vec![r0, r2];
        let r = ping_report(&p);
        assert!(
            r.starts_with("84 bytes from 10.0.6.2: seq=0 ttl=61 time=0.500 ms\n"),
            "{r}"
        );
        assert!(
            r.contains("3 packets transmitted, 2 packets received, 33% packet loss"),
            "{r}"
        );
        assert!(
            r.contains("round-trip min/avg/max/stddev = 0.500/1.000/1.500/0.500 ms"),
            "{r}"
        );
    }

    #[test]
    fn live_output_equals_the_report() {
        let mut t = Trace::new("10.0.6.2".parse().unwrap(), Timestamp::new(1, 0));
        t.hop_count = 3;
        t.probes_sent = 4;
        t.stop_reason = TraceStop::Completed;
        let all = vec![hop("10.0.0.2", 1, 0, 100), hop("10.0.6.2", 3, 0, 300)];
        let mut live = Live::default();
        let mut shown = String::new();
        let mut snap = t.clone();
        snap.hops = all[..1].to_vec();
        shown += &live.partial(&Record::Trace(Box::new(snap.clone())));
        assert_eq!(shown, "");
        snap.hops = all.clone();
        shown += &live.partial(&Record::Trace(Box::new(snap)));
        assert_eq!(shown, " 1  10.0.0.2  0.100 ms\n 2  * *\n");
        t.hops = all;
        shown += &live.finish(&Record::Trace(Box::new(t.clone())));
        assert_eq!(shown, trace_report(&t));

        let mut p = Ping::new("10.0.6.2".parse().unwrap(), Timestamp::new(1, 0));
        p.probes_sent = 2;
        p.replies = vec![PingReply::new(0, p.dst, Duration::from_micros(5))];
        let mut live = Live::default();
        let mut shown = live.partial(&Record::Ping(Box::new(p.clone())));
        p.replies
            .push(PingReply::new(1, p.dst, Duration::from_micros(7)));
        shown += &live.finish(&Record::Ping(Box::new(p.clone())));
        assert_eq!(shown, ping_report(&p));
    }

    #[test]
    fn flags_and_notes() {
        assert_eq!(tcp_flags(0x12), "SA");
        assert_eq!(tcp_flags(0x14), "RA");
        assert_eq!(tcp_flags(0), "none");
        let mut h = hop("fd00::1", 3, 0, 1);
        h.icmp_type = 1;
        h.icmp_code = 4;
        assert_eq!(unreach_note(&h, true), "");
        h.icmp_code = 0;
        assert_eq!(unreach_note(&h, true), " !N");
    }

    #[test]
    fn tracelb_report_lists_hops_then_links() {
        use vantage_model::{TracelbLink, TracelbNode, TracelbProbe};
        let probe = |ttl: u8| TracelbProbe {
            ttl,
            ..TracelbProbe::default()
        };
        let node = |a: &str| TracelbNode {
            addr: Some(a.parse::<std::net::IpAddr>().unwrap().into()),
            ..TracelbNode::default()
        };
        let mut t = Tracelb {
            list: None,
            cycle: None,
            user_id: 0,
            src: None,
            dst: "192.0.2.9".parse::<std::net::IpAddr>().unwrap().into(),
            rtr: None,
            start: Timestamp::default(),
            method: vantage_model::TracelbMethod::UdpDport,
            sport: 1,
            dport: 2,
            probe_size: 44,
            firsthop: 1,
            wait_timeout: Duration::from_secs(5),
            wait_probe: Duration::from_millis(250),
            attempts: 2,
            confidence: 95,
            tos: 0,
            gaplimit: 3,
            probes_sent: 23,
            max_probes: 3000,
            flags: vantage_model::TracelbFlags::empty(),
            errmsg: None,
            nodes: vec![node("10.0.0.1"), node("10.0.1.1"), node("10.0.2.1")],
            links: Vec::new(),
        };
        t.links = vec![
            TracelbLink {
                from: 0,
                to: Some(1),
                probesets: vec![vec![probe(2)]],
            },
            TracelbLink {
                from: 0,
                to: Some(2),
                probesets: vec![vec![probe(2)], vec![probe(3)]],
            },
            TracelbLink {
                from: 1,
                to: None,
                probesets: vec![vec![probe(3)], vec![probe(4)]],
            },
        ];
        assert_eq!(
            tracelb_report(&t),
            " 1  10.0.0.1\n 2  10.0.1.1\n 3  10.0.2.1\nlinks:\n  10.0.0.1 -> 10.0.1.1\n  \
             10.0.0.1 -> 10.0.2.1 (2 hops)\n  10.0.1.1 -> * (2 hops)\n3 nodes, 3 links, 23 \
             probes sent\n"
        );
    }
}
