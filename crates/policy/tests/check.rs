//! Every rule, allowed and refused, for every command type, with commands built by the
//! command parser.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use vantage_command::{Command, CommandError, Context};
use vantage_policy::{PacketFacts, Policy, Transport, Violation};

fn ctx() -> Context {
    Context::new(4242)
}

fn cmd(line: &str) -> Command {
    Command::parse(line, &ctx()).unwrap_or_else(|e| panic!("{line}: {e}"))
}

fn policy(toml: &str) -> Policy {
    Policy::from_toml(toml, "test", None).unwrap_or_else(|e| panic!("{e}"))
}

/// Everything allowed except what a test narrows.
const OPEN: &str = r#"
[measurements]
types = ["ping", "trace", "tracelb", "dealias", "host", "http", "udpprobe", "sniff"]
[options]
spoof = true
record_route = true
timestamp = true
"#;

fn open_with(extra: &str) -> Policy {
    // Later tables may not repeat earlier ones, so tests add only sections OPEN lacks or
    // replace OPEN entirely.
    policy(&format!("{OPEN}\n{extra}"))
}

fn refused(p: &Policy, line: &str) -> String {
    match p.check(&cmd(line)) {
        Ok(()) => panic!("{line}: allowed, expected a refusal"),
        Err(v) => v.to_string(),
    }
}

fn allowed(p: &Policy, line: &str) {
    if let Err(v) = p.check(&cmd(line)) {
        panic!("{line}: refused: {v}");
    }
}

#[test]
fn default_policy_denies_special_purpose_space() {
    let p = Policy::default();
    assert_eq!(
        refused(&p, "ping 10.0.0.1"),
        "policy: destination 10.0.0.1 is in denied prefix 10.0.0.0/8 (destinations.deny default: \
         private-use, RFC 1918; list it in destinations.allow to permit it)"
    );
    for (addr, block) in [
        ("127.0.0.1", "127.0.0.0/8"),
        ("172.20.1.1", "172.16.0.0/12"),
        ("192.168.1.1", "192.168.0.0/16"),
        ("100.64.1.1", "100.64.0.0/10"),
        ("169.254.1.1", "169.254.0.0/16"),
        ("0.1.2.3", "0.0.0.0/8"),
        ("224.0.0.1", "224.0.0.0/4"),
        ("239.255.255.250", "224.0.0.0/4"),
        ("240.0.0.1", "240.0.0.0/4"),
        ("255.255.255.255", "255.255.255.255/32"),
        ("192.0.2.1", "192.0.2.0/24"),
        ("198.51.100.1", "198.51.100.0/24"),
        ("203.0.113.1", "203.0.113.0/24"),
        ("198.19.0.1", "198.18.0.0/15"),
        ("192.0.0.8", "192.0.0.0/24"),
        ("::1", "::1/128"),
        ("::", "::/128"),
        ("::2", "::/3"),
        ("::ffff:10.0.0.1", "::ffff:0.0.0.0/96"),
        ("64:ff9b::a00:1", "64:ff9b::/96"),
        ("fd00::1", "fc00::/7"),
        ("fe80::1", "fe80::/10"),
        ("ff02::1", "ff00::/8"),
        ("2001:db8::1", "2001:db8::/32"),
        ("3fff::1", "3fff::/20"),
        ("2001:2::1", "2001:2::/48"),
        ("100::1", "100::/64"),
        ("5f00::1", "4000::/2"),
    ] {
        let a: IpAddr = addr.parse().unwrap();
        match p.check_destination(a) {
            Err(Violation::DefaultDenied { prefix, .. }) => {
                assert_eq!(prefix.to_string(), block, "{addr}");
            }
            other => panic!("{addr}: {other:?}"),
        }
        assert!(
            refused(&p, &format!("ping {addr}")).contains(block),
            "{addr}"
        );
    }
    allowed(&p, "ping 8.8.8.8");
    allowed(&p, "ping 2a00:1450:4001::1");
}

#[test]
fn allow_lifts_default_deny_only_when_named() {
    let p = policy(
        "[destinations]\nallow = [\"0.0.0.0/0\", \"::/0\", \"10.1.0.0/16\", \"fd00::/8\", \"::1\"]\n",
    );
    assert!(p.check_destination("10.1.2.3".parse().unwrap()).is_ok());
    assert!(p.check_destination("fd00::1".parse().unwrap()).is_ok());
    assert!(p.check_destination("::1".parse().unwrap()).is_ok());
    // Covered by 0.0.0.0/0 only, which names no special block.
    assert!(matches!(
        p.check_destination("10.2.0.1".parse().unwrap()),
        Err(Violation::DefaultDenied { .. })
    ));
    assert!(matches!(
        p.check_destination("fc00::1".parse().unwrap()),
        Err(Violation::DefaultDenied { .. })
    ));
    assert!(matches!(
        p.check_destination("::2".parse().unwrap()),
        Err(Violation::DefaultDenied { .. })
    ));
    // An allow entry wider than the block does not lift it.
    let wide = policy("[destinations]\nallow = [\"8.0.0.0/5\", \"::/3\"]\n");
    assert!(wide.check_destination("9.1.1.1".parse().unwrap()).is_ok());
    assert!(matches!(
        wide.check_destination("10.0.0.1".parse().unwrap()),
        Err(Violation::DefaultDenied { .. })
    ));
    assert!(matches!(
        wide.check_destination("::1".parse().unwrap()),
        Err(Violation::DefaultDenied { .. })
    ));
}

#[test]
fn testbed_style_policy() {
    let p = policy(
        "[destinations]\nallow = [\"10.0.0.0/8\", \"fd00::/8\"]\ndeny = [\"10.9.0.0/16\"]\n",
    );
    allowed(&p, "ping 10.0.3.2");
    allowed(&p, "trace fd00:0:3::2");
    assert_eq!(
        refused(&p, "ping 8.8.8.8"),
        "policy: destination 8.8.8.8 is not in any prefix of destinations.allow"
    );
    assert_eq!(
        refused(&p, "ping 10.9.1.1"),
        "policy: destination 10.9.1.1 is in denied prefix 10.9.0.0/16 (destinations.deny)"
    );
    assert!(refused(&p, "ping 192.168.0.1").contains("destinations.allow"));
    let v = p.check(&cmd("ping 10.9.1.1")).unwrap_err();
    assert_eq!(v.rule(), "destinations.deny");
}

#[test]
fn measurement_types() {
    let p = Policy::default();
    for (line, kind) in [
        ("http -u http://example.com/ 8.8.8.8", "http"),
        ("udpprobe -d 161 -p 3000 8.8.8.8", "udpprobe"),
        ("sniff -S 8.8.8.8 icmp[icmpid] == 7", "sniff"),
    ] {
        assert_eq!(
            refused(&p, line),
            format!("policy: measurement type {kind} not allowed (measurements.types)")
        );
    }
    let only_trace = policy("[measurements]\ntypes = [\"trace\"]\n");
    assert_eq!(
        refused(&only_trace, "ping 8.8.8.8"),
        "policy: measurement type ping not allowed (measurements.types)"
    );
    allowed(&only_trace, "trace 8.8.8.8");
    let open = open_with("");
    allowed(&open, "http -u http://example.com/ 8.8.8.8");
    allowed(&open, "udpprobe -d 161 -p 3000 8.8.8.8");
    allowed(&open, "sniff -S 10.0.0.1 icmp[icmpid] == 7");
}

#[test]
fn ping_rules() {
    let p = open_with(
        "[measurements.ping]\nmethods = [\"icmp-echo\", \"udp\", \"udp-dport\", \"tcp-ack\"]\n\
         [ports]\ntcp = [80, 443]\nudp = [\"33434-33534\"]\n[payload]\nmax_bytes = 1000\n",
    );
    allowed(&p, "ping 8.8.8.8");
    assert_eq!(
        refused(&p, "ping -P tcp-syn 8.8.8.8"),
        "policy: method tcp-syn of ping not allowed (measurements.ping.methods)"
    );
    assert_eq!(
        refused(&p, "ping -P tcp-ack -d 22 8.8.8.8"),
        "policy: port 22 not in ports.tcp"
    );
    allowed(&p, "ping -P tcp-ack -d 443 8.8.8.8");
    allowed(&p, "ping -P udp 8.8.8.8");
    assert_eq!(
        refused(&p, "ping -P udp -d 53 8.8.8.8"),
        "policy: port 53 not in ports.udp"
    );
    allowed(&p, "ping -P udp-dport -c 100 8.8.8.8");
    assert_eq!(
        refused(&p, "ping -P udp-dport -c 101 8.8.8.8"),
        "policy: port 33535 not in ports.udp (the command uses ports 33435-33535)"
    );
    assert_eq!(
        refused(&p, "ping -b 1200 8.8.8.8"),
        "policy: payload of 1200 bytes above payload.max_bytes 1000"
    );
    assert_eq!(
        refused(&p, "ping -s 1100 8.8.8.8"),
        "policy: payload of 1072 bytes above payload.max_bytes 1000"
    );
    allowed(&p, "ping -b 1000 8.8.8.8");

    let strict = policy("[options]\nmax_ttl = 64\n");
    allowed(&strict, "ping -m 64 8.8.8.8");
    assert_eq!(
        refused(&strict, "ping -m 255 8.8.8.8"),
        "policy: ttl 255 above max_ttl 64 (options.max_ttl)"
    );
    assert_eq!(
        refused(&strict, "ping -O spoof -S 1.2.3.4 8.8.8.8"),
        "policy: spoofed source not allowed (options.spoof)"
    );
    assert_eq!(
        refused(&strict, "ping -R 8.8.8.8"),
        "policy: IP record-route option not allowed (options.record_route)"
    );
    assert_eq!(
        refused(&strict, "ping -T tsonly 8.8.8.8"),
        "policy: IP timestamp option not allowed (options.timestamp)"
    );
    let open = open_with("");
    allowed(&open, "ping -O spoof -S 1.2.3.4 8.8.8.8");
    allowed(&open, "ping -R 8.8.8.8");
    allowed(&open, "ping -T tsprespec=8.8.4.4 8.8.8.8");
}

#[test]
fn trace_rules() {
    let p = policy(
        "[measurements.trace]\nmethods = [\"udp-paris\", \"udp\", \"tcp\", \"icmp-paris\"]\n\
         [options]\nmax_ttl = 64\n[ports]\ntcp = [80]\nudp = [\"33435-33600\"]\n\
         [payload]\nmax_bytes = 100\n",
    );
    assert_eq!(
        refused(&p, "trace 8.8.8.8"),
        "policy: ttl 255 above max_ttl 64 (options.max_ttl; trace without -m may reach ttl 255, give -m)"
    );
    allowed(&p, "trace -m 64 8.8.8.8");
    assert_eq!(
        refused(&p, "trace -m 65 8.8.8.8"),
        "policy: ttl 65 above max_ttl 64 (options.max_ttl)"
    );
    assert_eq!(
        refused(&p, "trace -m 30 -P tcp-ack 8.8.8.8"),
        "policy: method tcp-ack of trace not allowed (measurements.trace.methods)"
    );
    assert_eq!(
        refused(&p, "trace -m 30 -P tcp 8.8.8.8"),
        "policy: port 33435 not in ports.tcp"
    );
    allowed(&p, "trace -m 30 -P tcp -d 80 8.8.8.8");
    allowed(&p, "trace -m 30 -P icmp-paris 8.8.8.8");
    // Classic UDP: one port per probe, 30 hops x 2 attempts.
    allowed(&p, "trace -m 30 -P udp 8.8.8.8");
    assert_eq!(
        refused(&p, "trace -m 30 -q 3 -P udp -d 33512 8.8.8.8"),
        "policy: port 33601 not in ports.udp (the command uses ports 33512-33601)"
    );
    allowed(&p, "trace -m 30 -p 00112233 8.8.8.8");
    // Classic UDP ports count up past 65535 and wrap to 0, which the default list leaves out.
    assert_eq!(
        refused(&Policy::default(), "trace -m 30 -P udp -d 65500 8.8.8.8"),
        "policy: port 0 not in ports.udp (the command uses ports 0-23)"
    );
    let long = format!("trace -m 30 -p {} 8.8.8.8", "ab".repeat(101));
    assert_eq!(
        refused(&p, &long),
        "policy: payload of 101 bytes above payload.max_bytes 100"
    );
    assert_eq!(
        refused(&p, "trace -m 30 10.0.0.1")
            .split(" (")
            .next()
            .unwrap(),
        "policy: destination 10.0.0.1 is in denied prefix 10.0.0.0/8"
    );
}

#[test]
fn tracelb_rules() {
    let p = policy(
        "[measurements.tracelb]\nmethods = [\"udp-dport\", \"tcp-sport\"]\n\
         [ports]\ntcp = [443]\nudp = [\"33435-33534\"]\n",
    );
    assert_eq!(
        refused(&p, "tracelb -P icmp-echo 8.8.8.8"),
        "policy: method icmp-echo of tracelb not allowed (measurements.tracelb.methods)"
    );
    // The default budget of 3000 probes may use 3000 flow ports.
    assert_eq!(
        refused(&p, "tracelb 8.8.8.8"),
        "policy: port 33535 not in ports.udp (the command uses ports 33435-36434)"
    );
    allowed(&p, "tracelb -Q 100 8.8.8.8");
    assert_eq!(
        refused(&p, "tracelb -P tcp-sport -d 80 8.8.8.8"),
        "policy: port 80 not in ports.tcp"
    );
    allowed(&p, "tracelb -P tcp-sport -d 443 8.8.8.8");
    let ttl = policy("[options]\nmax_ttl = 64\n");
    assert_eq!(
        refused(&ttl, "tracelb 8.8.8.8"),
        "policy: ttl 255 above max_ttl 64 (options.max_ttl; tracelb has no TTL limit and may reach ttl 255)"
    );
    assert!(refused(&Policy::default(), "tracelb fe80::1").contains("fe80::/10"));
}

#[test]
fn dealias_rules() {
    let p = policy(
        "[measurements.dealias]\nmethods = [\"mercator\", \"ally\", \"radargun\", \"prefixscan\", \"midarest\"]\n\
         probe_methods = [\"udp\", \"icmp-echo\", \"tcp-ack\", \"udp-dport\"]\n\
         [options]\nmax_ttl = 64\n[ports]\ntcp = [80]\nudp = [\"33435-33500\"]\n[payload]\nmax_bytes = 100\n",
    );
    // Probe definitions default to ttl 255.
    assert_eq!(
        refused(&p, "dealias 8.8.8.8"),
        "policy: ttl 255 above max_ttl 64 (options.max_ttl)"
    );
    allowed(&p, "dealias -p '-t 64' 8.8.8.8");
    assert_eq!(
        refused(
            &p,
            "dealias -m bump -p '-i 8.8.8.8 -P icmp-echo -t 5' -p '-i 8.8.4.4 -P icmp-echo -t 5'"
        ),
        "policy: method bump of dealias not allowed (measurements.dealias.methods)"
    );
    assert_eq!(
        refused(
            &p,
            "dealias -m ally -p '-P tcp-syn-sport -t 9' 8.8.8.8 8.8.4.4"
        ),
        "policy: method tcp-syn-sport of dealias not allowed (measurements.dealias.probe_methods)"
    );
    allowed(&p, "dealias -m ally -p '-P icmp-echo -t 9' 8.8.8.8 8.8.4.4");
    // Every target is checked, not only the first.
    assert_eq!(
        refused(
            &p,
            "dealias -m ally -p '-P icmp-echo -t 9' 8.8.8.8 10.1.1.1"
        )
        .split(" (")
        .next()
        .unwrap(),
        "policy: destination 10.1.1.1 is in denied prefix 10.0.0.0/8"
    );
    assert!(
        refused(
            &p,
            "dealias -m radargun -p '-P icmp-echo -t 9' 8.8.8.8 8.8.4.4 192.168.0.1"
        )
        .contains("192.168.0.1")
    );
    assert!(
        refused(
            &p,
            "dealias -m midarest -p '-P icmp-echo -t 9' -p '-P udp -t 9' 8.8.8.8 127.0.0.1"
        )
        .contains("127.0.0.1")
    );
    assert!(
        refused(&p, "dealias -m ally -p '-P icmp-echo -t 9 -i 8.8.8.8' -p '-P icmp-echo -t 9 -i 169.254.0.1'")
            .contains("169.254.0.1")
    );
    // prefixscan probes every address of the scanned network.
    allowed(
        &p,
        "dealias -m prefixscan -p '-P icmp-echo -t 9' 8.8.8.8 1.1.1.0/30",
    );
    let deny = policy("[destinations]\ndeny = [\"1.1.1.2\"]\n[options]\nmax_ttl = 64\n");
    assert_eq!(
        refused(
            &deny,
            "dealias -m prefixscan -p '-P icmp-echo -t 9' 8.8.8.8 1.1.1.0/30"
        ),
        "policy: destination 1.1.1.2 is in denied prefix 1.1.1.2/32 (destinations.deny)"
    );
    assert_eq!(
        refused(&p, "dealias -p '-t 9 -d 53' 8.8.8.8"),
        "policy: port 53 not in ports.udp"
    );
    assert_eq!(
        refused(
            &p,
            "dealias -m ally -p '-P tcp-ack -t 9 -d 81' 8.8.8.8 8.8.4.4"
        ),
        "policy: port 81 not in ports.tcp"
    );
    allowed(
        &p,
        "dealias -m ally -p '-P tcp-ack -t 9 -d 80' 8.8.8.8 8.8.4.4",
    );
    // udp-dport: the port counts up with every probe (ally: 5 attempts).
    allowed(
        &p,
        "dealias -m ally -p '-P udp-dport -t 9 -d 33496' 8.8.8.8 8.8.4.4",
    );
    assert!(
        refused(
            &p,
            "dealias -m ally -p '-P udp-dport -t 9 -d 33497' 8.8.8.8 8.8.4.4"
        )
        .starts_with("policy: port 33501 not in ports.udp")
    );
    // Probe size 200 over IPv4 UDP: 200 - 28 = 172 bytes of payload.
    assert_eq!(
        refused(&p, "dealias -p '-t 9 -s 200' 8.8.8.8"),
        "policy: payload of 172 bytes above payload.max_bytes 100"
    );
    allowed(&p, "dealias -p '-t 9 -s 128' 8.8.8.8");
}

#[test]
fn host_rules() {
    let p = policy("[measurements.host]\nmethods = [\"udp\"]\n");
    allowed(&p, "host -s 8.8.8.8 example.com");
    assert_eq!(
        refused(&p, "host -T -s 8.8.8.8 example.com"),
        "policy: method tcp of host not allowed (measurements.host.methods)"
    );
    assert!(
        refused(&p, "host -s 10.0.0.53 example.com")
            .starts_with("policy: destination 10.0.0.53 is in denied prefix 10.0.0.0/8")
    );
    // The configured default nameserver is exempt from the destination rules.
    let local = Context::new(1).with_nameserver(Some("127.0.0.53".parse().unwrap()));
    let c = Command::parse("host example.com", &local).unwrap();
    assert!(p.check(&c).is_ok());
    let no53 = policy("[ports]\nudp = [\"1000-2000\"]\n");
    assert_eq!(
        no53.check(&c).unwrap_err().to_string(),
        "policy: port 53 not in ports.udp"
    );
}

#[test]
fn http_rules() {
    let p = open_with("[measurements.http]\nmethods = [\"https\"]\n[ports]\ntcp = [443]\n");
    allowed(&p, "http -u https://example.com/ 8.8.8.8");
    assert_eq!(
        refused(&p, "http -u http://example.com/ 8.8.8.8"),
        "policy: method http of http not allowed (measurements.http.methods)"
    );
    assert_eq!(
        refused(&p, "http -u https://example.com:8443/x 8.8.8.8"),
        "policy: port 8443 not in ports.tcp"
    );
    assert!(refused(&p, "http -u https://example.com/ 192.168.1.1").contains("192.168.0.0/16"));
}

#[test]
fn udpprobe_rules() {
    let p = open_with("[ports]\nudp = [161]\n[payload]\nmax_bytes = 10\n");
    allowed(&p, "udpprobe -d 161 -p 30313233 8.8.8.8");
    assert_eq!(
        refused(&p, "udpprobe -d 162 -p 3031 8.8.8.8"),
        "policy: port 162 not in ports.udp"
    );
    assert_eq!(
        refused(
            &p,
            &format!("udpprobe -d 161 -p {} 8.8.8.8", "aa".repeat(11))
        ),
        "policy: payload of 11 bytes above payload.max_bytes 10"
    );
    assert!(refused(&p, "udpprobe -d 161 -p 3031 ff02::1").contains("ff00::/8"));
}

#[test]
fn sniff_needs_only_its_type() {
    let p = open_with("");
    allowed(&p, "sniff -S 192.168.0.1 icmp[icmpid] == 101");
}

#[test]
fn parse_checked_uses_the_policy() {
    let p = Policy::default();
    let e = Command::parse_checked("ping 10.0.0.1", &ctx(), &p).unwrap_err();
    assert!(matches!(e, CommandError::DoNotProbe));
    assert!(Command::parse_checked("ping 8.8.8.8", &ctx(), &p).is_ok());
}

#[test]
fn single_packets() {
    let p = policy("[options]\nmax_ttl = 30\n[ports]\nudp = [\"33435-33535\"]\n");
    let base = PacketFacts {
        dst: "8.8.8.8".parse().unwrap(),
        transport: Transport::Udp { dport: 33435 },
        ttl: 30,
        payload_len: 12,
        spoofed: false,
        record_route: false,
        timestamp: false,
    };
    assert!(p.check_packet(&base).is_ok());
    let with = |f: &dyn Fn(&mut PacketFacts)| {
        let mut x = base;
        f(&mut x);
        p.check_packet(&x).unwrap_err().rule()
    };
    assert_eq!(with(&|x| x.ttl = 31), "options.max_ttl");
    assert_eq!(
        with(&|x| x.transport = Transport::Udp { dport: 40000 }),
        "ports.udp"
    );
    assert_eq!(
        with(&|x| x.transport = Transport::Tcp { dport: 0 }),
        "ports.tcp"
    );
    assert_eq!(with(&|x| x.payload_len = 5000), "payload.max_bytes");
    assert_eq!(with(&|x| x.spoofed = true), "options.spoof");
    assert_eq!(with(&|x| x.record_route = true), "options.record_route");
    assert_eq!(with(&|x| x.timestamp = true), "options.timestamp");
    assert_eq!(
        with(&|x| x.dst = "127.0.0.1".parse().unwrap()),
        "destinations.deny"
    );
    let mut icmp = base;
    icmp.transport = Transport::Icmp;
    assert!(p.check_packet(&icmp).is_ok());
}

#[test]
fn rate_ceiling() {
    let p = policy("[rate]\npps = 250\nmax_tasks = 8\n");
    assert_eq!(p.effective_pps(10_000), 250);
    assert_eq!(p.effective_pps(20), 20);
    assert_eq!(p.effective_pps(0), 250);
    assert_eq!(p.effective_max_tasks(100), 8);
    assert_eq!(p.effective_max_tasks(3), 3);
    assert_eq!(p.effective_max_tasks(0), 8);
    assert_eq!(Policy::default().effective_pps(u32::MAX), 100);
}

#[test]
fn a_ping_faster_than_the_vp_rate_is_refused() {
    let p = open_with("[rate]\npps = 10\n");
    allowed(&p, "ping -i 0.1 8.8.8.8");
    allowed(&p, "ping 8.8.8.8");
    let e = refused(&p, "ping -i 0.05 8.8.8.8");
    assert_eq!(
        e,
        "policy: ping probing every 50 ms is 20 packets/s, above rate.pps 10 (rate.pps)"
    );
    let v = p.check(&cmd("ping -i 0.001 8.8.8.8")).unwrap_err();
    assert_eq!(v.rule(), "rate.pps");
}
