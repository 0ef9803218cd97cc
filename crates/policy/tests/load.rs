//! Loading policy files: errors that name line and key, defaults, the do-not-probe list,
//! hashing, publication and explanation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use proptest::prelude::*;
use vantage_command::{Command, Context};
use vantage_policy::{
    MeasurementType, Policy, PolicyConfig, PolicyError, PortRange, Prefix, Publication, Violation,
};

/// (line, column, key, message) of a syntax error.
fn syntax(text: &str) -> (usize, usize, Option<String>, String) {
    match PolicyConfig::from_toml(text, "file t.toml") {
        Err(PolicyError::Syntax {
            line,
            column,
            key,
            message,
            ..
        }) => (line, column, key, message),
        other => panic!("{text:?}: {other:?}"),
    }
}

#[test]
fn malformed_files_name_line_and_key() {
    let (line, _, key, msg) = syntax("# policy\n[rate]\npps = 100\nburst = 3\n");
    assert_eq!((line, key.as_deref()), (4, Some("rate.burst")));
    assert!(msg.starts_with("unknown field `burst`"), "{msg}");

    let (line, col, key, msg) = syntax("[rate]\n\npps = \"fast\"\n");
    assert_eq!((line, col, key.as_deref()), (3, 7, Some("rate.pps")));
    assert!(msg.contains("invalid type: string \"fast\""), "{msg}");

    let (line, _, key, msg) = syntax("[options]\nspoof = 1\n");
    assert_eq!((line, key.as_deref()), (2, Some("options.spoof")));
    assert!(msg.contains("expected a boolean"), "{msg}");

    let (line, _, key, msg) =
        syntax("[destinations]\ndeny = [\n  \"192.0.2.0/24\",\n  \"10.0.0.1/8\",\n]\n");
    assert_eq!((line, key.as_deref()), (4, Some("destinations.deny[1]")));
    assert!(msg.contains("did you mean 10.0.0.0/8?"), "{msg}");

    let (line, _, key, msg) = syntax("[destinations]\nallow = [\"2001:db8::/129\"]\n");
    assert_eq!((line, key.as_deref()), (2, Some("destinations.allow[0]")));
    assert!(msg.contains("bad prefix length"), "{msg}");

    let (line, col, key, msg) = syntax("[ports]\ntcp = [80, \"9000-8000\"]\n");
    assert_eq!((line, col, key.as_deref()), (2, 12, Some("ports.tcp[1]")));
    assert!(msg.starts_with("bad port range `9000-8000`"), "{msg}");

    let (_, _, key, _) = syntax("[ports]\nudp = [65536]\n");
    assert_eq!(key.as_deref(), Some("ports.udp[0]"));

    let (line, _, key, msg) = syntax("[measurements]\ntypes = [\"ping\", \"tbit\"]\n");
    assert_eq!((line, key.as_deref()), (2, Some("measurements.types[1]")));
    assert!(msg.contains("unknown variant `tbit`"), "{msg}");

    let (_, _, key, msg) = syntax("[measurements.trace]\nmethods = [\"udp\", \"paris\"]\n");
    assert_eq!(key.as_deref(), Some("measurements.trace.methods[1]"));
    assert!(
        msg.starts_with("unknown trace method `paris`, expected one of udp-paris"),
        "{msg}"
    );

    let (_, _, key, _) = syntax("[measurements.sniff]\nmethods = []\n");
    assert_eq!(key.as_deref(), Some("measurements.sniff"));

    let (_, _, key, msg) = syntax("[options]\nmax_ttl = 0\n");
    assert_eq!(key.as_deref(), Some("options.max_ttl"));
    assert_eq!(msg, "max_ttl must be within 1 - 255, not 0");

    let (_, _, key, msg) = syntax("[rate]\npps = 0\n");
    assert_eq!(key.as_deref(), Some("rate.pps"));
    assert_eq!(msg, "pps must be within 1 - 1000000, not 0");

    let (_, _, key, _) = syntax("[payload]\nmax_bytes = -1\n");
    assert_eq!(key.as_deref(), Some("payload.max_bytes"));

    let (line, _, key, _) = syntax("[measurments]\n");
    assert_eq!((line, key.as_deref()), (1, Some("measurments")));

    // Not TOML at all: the line is still named.
    let (line, _, _, _) = syntax("[rate]\npps = = 3\n");
    assert_eq!(line, 2);

    let e =
        PolicyConfig::from_toml("[rate]\npps = 0\n", "file /etc/vantage/policy.toml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "policy file /etc/vantage/policy.toml line 2, column 7, key rate.pps: pps must be within 1 - 1000000, not 0"
    );
}

#[test]
fn missing_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("policy.toml");
    let e = Policy::load(&missing).unwrap_err();
    assert!(matches!(e, PolicyError::Read { .. }));
    assert!(e.to_string().starts_with("cannot read policy file "), "{e}");
    let p = Policy::load_optional(&missing).unwrap();
    assert_eq!(p.canonical_hash(), Policy::default().canonical_hash());

    std::fs::write(&missing, "# nothing declared: the defaults\n").unwrap();
    let p = Policy::load(&missing).unwrap();
    assert_eq!(p.config(), Policy::default().config());

    std::fs::write(&missing, "[rate]\npps = 'x'\n").unwrap();
    let e = Policy::load_optional(&missing).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
}

#[test]
fn documented_defaults() {
    let c = PolicyConfig::default();
    assert_eq!(
        c.measurements.types,
        [
            MeasurementType::Ping,
            MeasurementType::Trace,
            MeasurementType::Tracelb,
            MeasurementType::Dealias,
            MeasurementType::Host
        ]
    );
    assert_eq!((c.rate.pps, c.rate.max_tasks), (100, 100));
    assert_eq!(c.payload.max_bytes, 1400);
    assert_eq!(c.options.max_ttl, 255);
    assert!(!c.options.spoof && !c.options.record_route && !c.options.timestamp);
    assert_eq!(c.ports.tcp, [PortRange::new(1, 65535).unwrap()]);
    assert_eq!(c.destinations.allow.len(), 2);
    assert!(c.destinations.deny.is_empty());
    assert!(c.do_not_probe.file.is_none());
}

#[test]
fn do_not_probe_list_from_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dnp.txt"),
        "# opt-outs\n8.8.4.0/24\n\n1.1.1.1\n",
    )
    .unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        "[rate]\npps = 50\n\n[do_not_probe]\nfile = \"dnp.txt\"\n",
    )
    .unwrap();
    let p = Policy::load(&path).unwrap();
    let ctx = Context::new(1);
    let v = p
        .check(&Command::parse("ping 8.8.4.4", &ctx).unwrap())
        .unwrap_err();
    assert_eq!(v.rule(), "do_not_probe.file");
    let shown = v.to_string();
    assert!(
        shown.starts_with(
            "policy: destination 8.8.4.4 is in the do-not-probe list (prefix 8.8.4.0/24, line 2 of "
        ),
        "{shown}"
    );
    assert!(
        p.check(&Command::parse("ping 8.8.8.8", &ctx).unwrap())
            .is_ok()
    );

    // Reload: a good file replaces the list, a bad one keeps it.
    let dnp = p.do_not_probe().unwrap();
    std::fs::write(dir.path().join("dnp.txt"), "8.8.8.0/24\n").unwrap();
    assert_eq!(dnp.reload().unwrap(), 1);
    assert!(
        p.check(&Command::parse("ping 8.8.4.4", &ctx).unwrap())
            .is_ok()
    );
    assert!(
        p.check(&Command::parse("ping 8.8.8.8", &ctx).unwrap())
            .is_err()
    );
    std::fs::write(dir.path().join("dnp.txt"), "8.8.4.0/24\n8.8.8.0/33\n").unwrap();
    let e = dnp.reload().unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    assert!(
        p.check(&Command::parse("ping 8.8.8.8", &ctx).unwrap())
            .is_err()
    );
    assert!(
        p.check(&Command::parse("ping 8.8.4.4", &ctx).unwrap())
            .is_ok()
    );
    // Clones share the list.
    let clone = p.clone();
    std::fs::write(dir.path().join("dnp.txt"), "9.9.9.9\n").unwrap();
    dnp.reload().unwrap();
    assert!(
        clone
            .check(&Command::parse("ping 8.8.8.8", &ctx).unwrap())
            .is_ok()
    );
    assert!(
        p.explain()
            .contains("the 1 prefixes of the do-not-probe list")
    );

    // A policy whose list is missing or bad does not load, and says which key named it.
    std::fs::write(
        &path,
        "[rate]\npps = 50\n\n[do_not_probe]\nfile = \"nope.txt\"\n",
    )
    .unwrap();
    let e = Policy::load(&path).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.contains("line 5, key do_not_probe.file: cannot read do-not-probe list"),
        "{shown}"
    );
    std::fs::write(dir.path().join("bad.txt"), "1.2.3.4\nfoo\n").unwrap();
    std::fs::write(&path, "[do_not_probe]\nfile = \"bad.txt\"\n").unwrap();
    let shown = Policy::load(&path).unwrap_err().to_string();
    assert!(
        shown.contains("line 2, key do_not_probe.file: do-not-probe list"),
        "{shown}"
    );
    assert!(
        shown.contains("bad.txt line 2: `foo` is not an IP address"),
        "{shown}"
    );
}

const FULL: &str = r#"
# A complete policy.
[measurements]
types = ["ping", "trace", "http", "sniff"]

[measurements.ping]
methods = ["udp", "icmp-echo"]

[measurements.http]
methods = ["https"]

[rate]
pps = 500
max_tasks = 20

[destinations]
allow = ["0.0.0.0/0", "::/0", "10.0.0.0/8"]
deny = ["203.0.113.0/24", "8.8.8.8"]

[ports]
tcp = [443, "8000-8080"]
udp = ["33434-33534", 53]

[payload]
max_bytes = 512

[options]
spoof = true
record_route = false
timestamp = true
max_ttl = 32
"#;

const FULL_REORDERED: &str = r#"
[options]
max_ttl = 32
timestamp = true
spoof = true

[ports]
udp = [53, "33434-33500", "33480-33534"]
tcp = ["8000-8080", 443, 443]

[payload]
max_bytes = 512

[destinations]
deny = ["8.8.8.8/32", "203.0.113.0/24"]
allow = ["10.0.0.0/8", "::/0", "0.0.0.0/0"]

[measurements.http]
methods = ["https", "HTTPS"]

[rate]
max_tasks = 20
pps = 500

[measurements]
types = ["sniff", "http", "trace", "ping", "ping"]
ping = { methods = ["icmp-echo", "udp"] }
"#;

#[test]
fn hash_ignores_order_spelling_and_comments() {
    let a = Policy::from_toml(FULL, "a", None).unwrap();
    let b = Policy::from_toml(FULL_REORDERED, "b", None).unwrap();
    assert_eq!(a.config(), b.config());
    assert_eq!(a.canonical_hash(), b.canonical_hash());
    assert_eq!(a.canonical_json(), b.canonical_json());
    assert_eq!(a.canonical_hash().len(), 64);
    // A different policy, a different hash.
    let c = Policy::from_toml(&FULL.replace("pps = 500", "pps = 501"), "c", None).unwrap();
    assert_ne!(a.canonical_hash(), c.canonical_hash());
    assert_ne!(a.canonical_hash(), Policy::default().canonical_hash());
    // The hash is pinned: changing the canonical form is a format change.
    assert_eq!(
        Policy::default().canonical_hash(),
        "7722ab6d5fcb6e494422d8ff37ac8976c3f82479d504bfb22ebef32231509e15"
    );
}

#[test]
fn publication_round_trip() {
    let a = Policy::from_toml(FULL, "a", None).unwrap();
    let json = a.to_json();
    let back = Publication::from_json(&json).unwrap();
    assert_eq!(back.sha256, a.canonical_hash());
    assert_eq!(back.to_policy().canonical_hash(), a.canonical_hash());
    assert_eq!(back.to_policy().config(), a.config());
    let tampered = json.replace("\"pps\":500", "\"pps\":5000");
    assert!(
        Publication::from_json(&tampered)
            .unwrap_err()
            .to_string()
            .contains("does not match")
    );
    assert!(Publication::from_json("{}").is_err());
    assert!(Publication::from_json(&json.replace("vantage-policy/1", "vantage-policy/9")).is_err());
}

#[test]
fn explain_mentions_every_rule() {
    let p = Policy::from_toml(FULL, "a", None).unwrap();
    let text = p.explain();
    for needle in [
        "ping (echo-style reachability and delay probes) with methods icmp-echo, udp",
        "trace (traceroute) with any method",
        "http (web requests, HTTP and HTTPS) with methods https",
        "sniff (capture",
        "It never runs: tracelb, dealias, host, udpprobe.",
        "at most 500 packets per second",
        "at most 20 measurements at a time",
        "only addresses in 0.0.0.0/0, 10.0.0.0/8, ::/0",
        "private networks (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7)",
        "loopback (127.0.0.0/8, ::1/128)",
        "multicast groups (224.0.0.0/4, ff00::/8)",
        "carrier-grade NAT space (100.64.0.0/10)",
        "reserved (unallocated) space (240.0.0.0/4",
        "except these, which this policy allows: 10.0.0.0/8 (private networks)",
        "It never sends to: 8.8.8.8/32, 203.0.113.0/24 (destinations.deny).",
        "There is no do-not-probe list.",
        "TCP only to 443, 8000-8080; UDP only to 53, 33434-33534.",
        "at most 512 bytes after the ICMP, UDP or TCP header",
        "TTL: at most 32.",
        "so trace commands must give a maximum TTL (-m) of at most 32;",
        "Spoofed source addresses: allowed.",
        "IP record-route option: never.",
        "IP timestamp option: allowed.",
        p.canonical_hash(),
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    let none = Policy::from_toml(
        "[measurements]\ntypes = []\n[destinations]\nallow = []\n",
        "n",
        None,
    )
    .unwrap()
    .explain();
    assert!(
        none.contains("nothing: no measurement type is allowed"),
        "{none}"
    );
    assert!(none.contains("Destinations: none"), "{none}");
    let dns = Policy::default().explain();
    assert!(
        dns.contains("host (DNS queries) with any transport: udp, tcp"),
        "{dns}"
    );
    assert!(dns.contains("and this policy names none of them."), "{dns}");
    assert!(!dns.contains("tracelb, which has no TTL limit"), "{dns}");
    let low = Policy::from_toml("[options]\nmax_ttl = 64\n", "l", None)
        .unwrap()
        .explain();
    assert!(
        low.contains("tracelb, which has no TTL limit, is always refused"),
        "{low}"
    );
}

#[test]
fn violations_name_their_rule() {
    let p = Policy::from_toml(FULL, "a", None).unwrap();
    let ctx = Context::new(1);
    for (line, rule) in [
        ("tracelb 1.1.1.1", "measurements.types"),
        ("ping -P tcp-syn 1.1.1.1", "measurements.ping.methods"),
        ("ping -m 33 1.1.1.1", "options.max_ttl"),
        ("ping -m 32 -R 1.1.1.1", "options.record_route"),
        ("ping -m 32 -b 600 1.1.1.1", "payload.max_bytes"),
        ("ping -m 32 -P udp -d 54 1.1.1.1", "ports.udp"),
        ("http -u https://a.example:444/ 1.1.1.1", "ports.tcp"),
        ("ping -m 32 8.8.8.8", "destinations.deny"),
        ("ping -m 32 192.168.1.1", "destinations.deny"),
    ] {
        let v: Violation = p.check(&Command::parse(line, &ctx).unwrap()).unwrap_err();
        assert_eq!(v.rule(), rule, "{line}: {v}");
        assert!(v.to_string().starts_with("policy: "), "{v}");
    }
    assert!(
        p.check(
            &Command::parse("ping -m 32 -O spoof -S 1.2.3.4 -T tsonly 10.1.1.1", &ctx).unwrap()
        )
        .is_ok()
    );
}

fn arb_config() -> impl Strategy<Value = PolicyConfig> {
    let prefix = (any::<u32>(), 0u8..=32).prop_map(|(b, l)| Prefix::v4(b.to_be_bytes(), l));
    let prefix6 = (any::<u128>(), 0u8..=128)
        .prop_map(|(b, l)| Prefix::v6(std::net::Ipv6Addr::from_bits(b).segments(), l));
    let range =
        (any::<u16>(), any::<u16>()).prop_map(|(a, b)| PortRange::new(a.min(b), a.max(b)).unwrap());
    (
        proptest::sample::subsequence(MeasurementType::ALL.to_vec(), 0..=8),
        (1u32..=1_000_000, 1u32..=1_000_000, 0u32..=65535, 1u8..=255),
        proptest::collection::vec(prefix.clone(), 0..5),
        proptest::collection::vec(prefix6, 0..5),
        proptest::collection::vec(range.clone(), 0..5),
        proptest::collection::vec(range, 0..5),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        proptest::option::of("[a-z/._-]{1,20}"),
        (
            proptest::sample::subsequence(vantage_command::PingMethod::ALL.to_vec(), 0..=11),
            proptest::sample::subsequence(vantage_command::TraceMethod::ALL.to_vec(), 0..=6),
        ),
    )
        .prop_map(
            |(types, (pps, tasks, bytes, ttl), v4, v6, tcp, udp, (s, rr, ts), file, (pm, tm))| {
                let mut c = PolicyConfig::default();
                c.measurements.types = types;
                c.measurements.ping.methods = vantage_policy::Methods(pm);
                c.measurements.trace.methods = vantage_policy::Methods(tm);
                c.rate.pps = pps;
                c.rate.max_tasks = tasks;
                c.payload.max_bytes = bytes;
                c.options.max_ttl = ttl;
                c.destinations.allow = v4.iter().chain(&v6).copied().collect();
                c.destinations.deny = v6.iter().chain(&v4).copied().collect();
                c.ports.tcp = tcp;
                c.ports.udp = udp;
                c.options.spoof = s;
                c.options.record_route = rr;
                c.options.timestamp = ts;
                c.do_not_probe.file = file;
                c
            },
        )
}

proptest! {
    #[test]
    fn toml_round_trip(config in arb_config()) {
        let mut expected = config.clone();
        expected.normalize();
        let text = config.to_toml();
        let back = PolicyConfig::from_toml(&text, "round trip").unwrap();
        prop_assert_eq!(&back, &expected);
        // And the same policy written in a shuffled order hashes the same.
        let mut shuffled = config;
        shuffled.destinations.allow.reverse();
        shuffled.ports.udp.reverse();
        shuffled.measurements.types.reverse();
        let (x, y) = (Policy::from_config(shuffled), Policy::from_config(expected.clone()));
        prop_assert_eq!(x.canonical_hash(), y.canonical_hash());
        let json = Policy::from_config(expected).to_json();
        prop_assert!(Publication::from_json(&json).is_ok());
    }
}

#[test]
fn example_in_the_docs_parses() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/policy.md"))
            .unwrap();
    let start = doc.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let example = &doc[start..end];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("do-not-probe.txt"), "192.0.2.0/24\n").unwrap();
    let p = Policy::from_toml(example, "docs/policy.md", Some(dir.path())).unwrap();
    assert!(p.do_not_probe().is_some());
}

#[test]
fn published_text_and_hash_verify_each_other() {
    let p = Policy::from_toml("[rate]\npps = 20\n", "text", None).unwrap();
    let (json, hash) = p.published();
    let back = Publication::from_json(&json).unwrap();
    assert_eq!(back.sha256, hash);
    assert_eq!(hash, p.canonical_hash());
    assert_eq!(back.to_policy().config().rate.pps, 20);
}
