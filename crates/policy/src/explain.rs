//! A plain-language description of a policy, for the people hosting a vantage point.

use std::fmt::Write as _;

use crate::methods::{MeasurementType, MethodName, Methods};
use crate::policy::Policy;
use crate::ports::PortRange;
use crate::prefix::Prefix;
use crate::special::{Category, DEFAULT_DENY};

fn methods<M: MethodName>(m: &Methods<M>) -> String {
    if m.0.is_empty() {
        "no methods, so none can run".to_owned()
    } else if m.0.len() == M::all().len() {
        format!("any method: {}", m.names())
    } else {
        format!("methods {}", m.names())
    }
}

fn list(prefixes: &[Prefix]) -> String {
    let v: Vec<String> = prefixes.iter().map(ToString::to_string).collect();
    v.join(", ")
}

fn port_list(ranges: &[PortRange]) -> String {
    if ranges.is_empty() {
        return "none".to_owned();
    }
    let v: Vec<String> = ranges.iter().map(ToString::to_string).collect();
    v.join(", ")
}

fn yes_no(b: bool) -> &'static str {
    if b { "allowed" } else { "never" }
}

impl Policy {
    /// Describes the policy in plain language, one rule after another, so that the host of a
    /// vantage point can read what it allows (`vantage policy explain FILE`).
    pub fn explain(&self) -> String {
        let cfg = self.config();
        let m = &cfg.measurements;
        let mut text = String::new();
        let w = &mut text;
        let _ = writeln!(w, "This vantage point may send:");
        if m.types.is_empty() {
            let _ = writeln!(
                w,
                "  nothing: no measurement type is allowed (measurements.types)."
            );
        }
        for t in &m.types {
            let detail = match t {
                MeasurementType::Ping => methods(&m.ping.methods),
                MeasurementType::Trace => methods(&m.trace.methods),
                MeasurementType::Tracelb => methods(&m.tracelb.methods),
                MeasurementType::Dealias => format!(
                    "{}; probes by {}",
                    methods(&m.dealias.methods),
                    methods(&m.dealias.probe_methods).replace("any method: ", "any of ")
                ),
                MeasurementType::Host => methods(&m.host.methods).replace("method", "transport"),
                MeasurementType::Http => methods(&m.http.methods),
                MeasurementType::Udpprobe => "to the UDP ports below".to_owned(),
                MeasurementType::Sniff => "listens only, sends nothing".to_owned(),
            };
            let _ = writeln!(w, "  - {} with {detail}", t.describe());
        }
        let off: Vec<&str> = MeasurementType::ALL
            .iter()
            .filter(|t| !m.types.contains(t))
            .map(|t| t.as_str())
            .collect();
        if !off.is_empty() {
            let _ = writeln!(w, "It never runs: {}.", off.join(", "));
        }

        let _ = writeln!(
            w,
            "Rate: at most {} packets per second in total, and at most {} measurements at a time.",
            cfg.rate.pps, cfg.rate.max_tasks
        );

        let dest = &cfg.destinations;
        if dest.allow.is_empty() {
            let _ = writeln!(w, "Destinations: none; destinations.allow is empty.");
        } else {
            let _ = writeln!(w, "Destinations: only addresses in {}.", list(&dest.allow));
        }
        let lifted = self.lifted_blocks();
        let _ = writeln!(
            w,
            "It never sends to special-purpose addresses unless destinations.allow names them:"
        );
        for cat in Category::ALL {
            let blocks: Vec<Prefix> = DEFAULT_DENY
                .iter()
                .filter(|b| b.category == cat)
                .map(|b| b.prefix)
                .collect();
            let _ = writeln!(w, "  - {} ({})", cat.describe(), list(&blocks));
        }
        if lifted.is_empty() {
            let _ = writeln!(w, "  and this policy names none of them.");
        } else {
            let names: Vec<String> = lifted
                .iter()
                .map(|(p, cat)| format!("{p} ({})", cat.describe()))
                .collect();
            let _ = writeln!(
                w,
                "  except these, which this policy allows: {}.",
                names.join(", ")
            );
        }
        if dest.deny.is_empty() {
            let _ = writeln!(
                w,
                "No further prefixes are denied (destinations.deny is empty)."
            );
        } else {
            let _ = writeln!(
                w,
                "It never sends to: {} (destinations.deny).",
                list(&dest.deny)
            );
        }
        match self.do_not_probe() {
            Some(dnp) => {
                let n = dnp.snapshot().len();
                let _ = writeln!(
                    w,
                    "It never sends to the {n} prefixes of the do-not-probe list {} (reloaded without restart).",
                    dnp.path().display()
                );
            }
            None => {
                let _ = writeln!(w, "There is no do-not-probe list.");
            }
        }

        let _ = writeln!(
            w,
            "Ports: TCP only to {}; UDP only to {}.",
            port_list(&cfg.ports.tcp),
            port_list(&cfg.ports.udp)
        );
        let _ = writeln!(
            w,
            "Payload: at most {} bytes after the ICMP, UDP or TCP header of a probe.",
            cfg.payload.max_bytes
        );
        let o = &cfg.options;
        let _ = writeln!(w, "TTL: at most {}.", o.max_ttl);
        if o.max_ttl < u8::MAX {
            if m.types.contains(&MeasurementType::Trace) {
                let _ = writeln!(
                    w,
                    "  so trace commands must give a maximum TTL (-m) of at most {};",
                    o.max_ttl
                );
            }
            if m.types.contains(&MeasurementType::Tracelb) {
                let _ = writeln!(
                    w,
                    "  and tracelb, which has no TTL limit, is always refused: raise max_ttl to 255 to run it."
                );
            }
        }
        let _ = writeln!(w, "Spoofed source addresses: {}.", yes_no(o.spoof));
        let _ = writeln!(w, "IP record-route option: {}.", yes_no(o.record_route));
        let _ = writeln!(w, "IP timestamp option: {}.", yes_no(o.timestamp));
        let _ = writeln!(w, "Policy sha256: {}", self.canonical_hash());
        text
    }
}
