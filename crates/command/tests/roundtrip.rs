//! Property tests: any accepted command line, written back canonically, parses to an equal
//! command, and the canonical text is a fixed point. Lines are built from option soups of
//! plausible and implausible values so that both acceptance and every rejection path run.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use vantage_command::{Command, Context};

fn target() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "192.0.2.1",
        "2001:db8::1",
        "198.51.100.77",
        "::ffff:192.0.2.1",
    ])
    .prop_map(str::to_owned)
}

fn num(lo: i64, hi: i64) -> impl Strategy<Value = String> {
    prop_oneof![
        (lo..=hi).prop_map(|n| n.to_string()),
        (lo..=hi).prop_map(|n| format!("0{n:o}")),
        prop::sample::select(vec![lo - 1, hi + 1, 0, -1]).prop_map(|n| n.to_string()),
    ]
}

fn time() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..30).prop_map(|n| n.to_string()),
        (0u32..30, 0u32..1000).prop_map(|(a, b)| format!("{a}.{b}")),
        (0u32..3000).prop_map(|n| format!("{n}ms")),
        (0u32..3).prop_map(|n| format!("{n}s")),
        (0u32..3_000_000).prop_map(|n| format!("{n}us")),
        Just("1.".to_owned()),
        Just("1.5000000".to_owned()),
    ]
}

fn hex(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<u8>(), 0..max)
        .prop_map(|b| b.iter().fold(String::new(), |s, x| s + &format!("{x:02x}")))
}

fn addr() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["192.0.2.9", "2001:db8::9", "bogus", "10.0.0.1"])
        .prop_map(str::to_owned)
}

fn ping_opt() -> impl Strategy<Value = String> {
    prop_oneof![
        num(0, 4_294_967_295).prop_map(|v| format!("-A {v}")),
        num(0, 2000).prop_map(|v| format!("-b {v}")),
        hex(12).prop_map(|v| format!("-B '{v}'")),
        num(1, 65535).prop_map(|v| format!("-c {v}")),
        num(0, 65535).prop_map(|v| format!("-C {v}")),
        num(0, 65535).prop_map(|v| format!("-d {v}")),
        num(0, 65535).prop_map(|v| format!("-F {v}")),
        time().prop_map(|v| format!("-i {v}")),
        num(1, 255).prop_map(|v| format!("-m {v}")),
        num(0, 2000).prop_map(|v| format!("-M {v}")),
        num(0, 65535).prop_map(|v| format!("-o {v}")),
        prop::sample::select(vec![
            "dl", "dltx", "mss=1460", "nosrc", "raw", "sockrx", "spoof", "tbt", "x"
        ])
        .prop_map(|v| format!("-O {v}")),
        hex(17).prop_map(|v| format!("-p '{v}'")),
        prop::sample::select(vec![
            "icmp-echo",
            "icmp-time",
            "tcp-syn",
            "tcp-ack",
            "tcp-ack-sport",
            "tcp-synack",
            "tcp-rst",
            "tcp-syn-sport",
            "udp",
            "udp-dport",
            "udp-sport"
        ])
        .prop_map(|v| format!("-P {v}")),
        addr().prop_map(|v| format!("-r {v}")),
        Just("-R".to_owned()),
        num(0, 2000).prop_map(|v| format!("-s {v}")),
        addr().prop_map(|v| format!("-S {v}")),
        prop::sample::select(vec![
            "tsonly",
            "tsandaddr",
            "tsprespec=192.0.2.3",
            "tsprespec=1.1.1.1,2.2.2.2"
        ])
        .prop_map(|v| format!("-T {v}")),
        num(0, 4_294_967_295).prop_map(|v| format!("-U {v}")),
        time().prop_map(|v| format!("-W {v}")),
        num(0, 20).prop_map(|v| format!("-y {v}")),
        num(0, 255).prop_map(|v| format!("-z {v}")),
    ]
}

fn trace_opt() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["95", "99", "90"]).prop_map(|v| format!("-c {v}")),
        num(1, 65535).prop_map(|v| format!("-d {v}")),
        num(1, 40).prop_map(|v| format!("-f {v}")),
        num(1, 255).prop_map(|v| format!("-g {v}")),
        num(1, 2).prop_map(|v| format!("-G {v}")),
        time().prop_map(|v| format!("-H {v}")),
        num(0, 255).prop_map(|v| format!("-l {v}")),
        num(0, 40).prop_map(|v| format!("-m {v}")),
        Just("-M".to_owned()),
        num(1, 8).prop_map(|v| format!("-N {v}")),
        num(0, 8190).prop_map(|v| format!("-o {v}")),
        prop::sample::select(vec![
            "back",
            "const-payload",
            "dl",
            "dtree-noback",
            "ptr",
            "raw",
            "x"
        ])
        .prop_map(|v| format!("-O {v}")),
        hex(8).prop_map(|v| format!("-p '{v}'")),
        prop::sample::select(vec![
            "UDP-paris",
            "UDP",
            "ICMP",
            "ICMP-paris",
            "TCP",
            "TCP-ack"
        ])
        .prop_map(|v| format!("-P {v}")),
        num(1, 20).prop_map(|v| format!("-q {v}")),
        Just("-Q".to_owned()),
        addr().prop_map(|v| format!("-r {v}")),
        num(0, 65535).prop_map(|v| format!("-s {v}")),
        addr().prop_map(|v| format!("-S {v}")),
        num(0, 255).prop_map(|v| format!("-t {v}")),
        Just("-T".to_owned()),
        num(0, 4_294_967_295).prop_map(|v| format!("-U {v}")),
        time().prop_map(|v| format!("-w {v}")),
        time().prop_map(|v| format!("-W {v}")),
        num(0, 20).prop_map(|v| format!("-y {v}")),
        addr().prop_map(|v| format!("-z {v}")),
        "[a-z ]{0,6}".prop_map(|v| format!("-Z '{v}'")),
    ]
}

fn tracelb_opt() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["95", "99", "90"]).prop_map(|v| format!("-c {v}")),
        num(1, 65535).prop_map(|v| format!("-d {v}")),
        num(1, 254).prop_map(|v| format!("-f {v}")),
        num(1, 5).prop_map(|v| format!("-g {v}")),
        Just("-O ptr".to_owned()),
        prop::sample::select(vec![
            "udp-dport",
            "icmp-echo",
            "udp-sport",
            "tcp-sport",
            "tcp-ack-sport"
        ])
        .prop_map(|v| format!("-P {v}")),
        num(1, 5).prop_map(|v| format!("-q {v}")),
        num(50, 65535).prop_map(|v| format!("-Q {v}")),
        addr().prop_map(|v| format!("-r {v}")),
        num(1, 65535).prop_map(|v| format!("-s {v}")),
        num(0, 255).prop_map(|v| format!("-t {v}")),
        num(0, 4_294_967_295).prop_map(|v| format!("-U {v}")),
        time().prop_map(|v| format!("-w {v}")),
        time().prop_map(|v| format!("-W {v}")),
    ]
}

fn probedef() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        num(0, 65535).prop_map(|v| format!("-c {v}")),
        num(1, 65535).prop_map(|v| format!("-d {v}")),
        num(1, 65535).prop_map(|v| format!("-F {v}")),
        prop::sample::select(vec!["192.0.2.1", "192.0.2.2", "2001:db8::1"])
            .prop_map(|v| format!("-i {v}")),
        num(100, 1500).prop_map(|v| format!("-M {v}")),
        prop::sample::select(vec![
            "udp",
            "udp-dport",
            "tcp-ack",
            "tcp-ack-sport",
            "tcp-syn-sport",
            "icmp-echo"
        ])
        .prop_map(|v| format!("-P {v}")),
        num(28, 80).prop_map(|v| format!("-s {v}")),
        num(1, 255).prop_map(|v| format!("-t {v}")),
    ];
    prop::collection::vec(part, 0..3).prop_map(|p| format!("-p '{}'", p.join(" ")))
}

fn dealias_opt() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(vec!["mercator", "ally", "radargun", "prefixscan", "bump", "midarest", "midardisc"])
            .prop_map(|v| format!("-m {v}")),
        4 => probedef(),
        1 => time().prop_map(|v| format!("-@ {v}")),
        1 => num(1, 65535).prop_map(|v| format!("-f {v}")),
        1 => num(3, 255).prop_map(|v| format!("-o {v}")),
        1 => prop::sample::select(vec!["inseq", "shuffle", "nobs"]).prop_map(|v| format!("-O {v}")),
        1 => num(1, 500).prop_map(|v| format!("-q {v}")),
        1 => time().prop_map(|v| format!("-r {v}")),
        2 => (0u32..4, 0u32..3, 0u32..4).prop_map(|(a, b, c)| format!("-S {a}:{b}:{c}")),
        1 => num(0, 10).prop_map(|v| format!("-U {v}")),
        1 => time().prop_map(|v| format!("-w {v}")),
        1 => time().prop_map(|v| format!("-W {v}")),
        1 => addr().prop_map(|v| format!("-x {v}")),
    ]
}

/// A probe definition without `-i`, usually valid for UDP.
fn plain_def() -> impl Strategy<Value = String> {
    (
        prop::option::of(num(1, 65535)),
        prop::option::of(num(1, 255)),
        prop::option::of(prop::sample::select(vec![
            "udp",
            "udp-dport",
            "tcp-ack",
            "icmp-echo",
        ])),
        prop::option::of(num(100, 1500)),
    )
        .prop_map(|(d, t, m, mtu)| {
            let mut p = Vec::new();
            if m != Some("icmp-echo")
                && let Some(d) = d
            {
                p.push(format!("-d {d}"));
            }
            if let Some(t) = t {
                p.push(format!("-t {t}"));
            }
            if let Some(m) = m {
                p.push(format!("-P {m}"));
            }
            if let Some(mtu) = mtu {
                p.push(format!("-M {mtu}"));
            }
            format!("-p '{}'", p.join(" "))
        })
}

fn timing() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            num(1, 30).prop_map(|v| format!("-q {v}")),
            num(1, 10).prop_map(|v| format!("-w {v}")),
            num(1, 2000).prop_map(|v| format!("-W {v}")),
            num(1, 5000).prop_map(|v| format!("-r {v}")),
        ],
        0..3,
    )
    .prop_map(|v| v.join(" "))
}

/// Lines shaped like each method wants, so that many are accepted.
fn dealias_shaped() -> impl Strategy<Value = String> {
    let defs = || prop::collection::vec(plain_def(), 2..4).prop_map(|d| d.join(" "));
    prop_oneof![
        (prop::option::of(plain_def()), num(1, 3))
            .prop_map(|(d, q)| format!("dealias -q {q} {} 192.0.2.1", d.unwrap_or_default())),
        (prop::option::of(plain_def()), timing(), prop::sample::select(vec!["", "-O inseq", "-O nobs", "-f 50"]))
            .prop_map(|(d, t, o)| format!("dealias -m ally {o} {t} {} 192.0.2.1 192.0.2.2", d.unwrap_or_default())),
        (defs(), timing(), prop::sample::select(vec!["", "-O shuffle"]))
            .prop_map(|(d, t, o)| format!("dealias -m radargun {o} {t} {d} 192.0.2.1 192.0.2.2")),
        (plain_def(), timing(), prop::sample::select(vec!["", "-O inseq", "-x 198.51.100.1", "-o 3"]))
            .prop_map(|(d, t, o)| format!("dealias -m prefixscan {o} {t} {d} 192.0.2.1 198.51.100.0/29")),
        (num(1, 100), timing())
            .prop_map(|(f, t)| format!("dealias -m bump -f {f} {t} -p '-i 192.0.2.1' -p '-i 192.0.2.2 -P icmp-echo'")),
        (defs(), timing(), prop::sample::select(vec!["", "-O shuffle"]))
            .prop_map(|(d, t, o)| format!("dealias -m midarest {o} {t} {d} 192.0.2.1 192.0.2.2")),
        (num(1, 5), prop::option::of(0u32..2_000_000_000))
            .prop_map(|(w, at)| {
                let at = at.map(|a| format!("-@ {a}.5")).unwrap_or_default();
                format!("dealias -m midardisc {at} -w {w} -p '-i 192.0.2.1' -p '-i 192.0.2.2 -t 9' -p '-i 192.0.2.3' -S 0:0:1 -S 1.5:1:3")
            }),
    ]
}

fn dealias_line() -> impl Strategy<Value = String> {
    let targets = prop::collection::vec(
        prop::sample::select(vec![
            "192.0.2.1",
            "192.0.2.2",
            "192.0.2.3",
            "198.51.100.0/30",
            "2001:db8::1",
        ]),
        0..4,
    );
    let soup = (prop::collection::vec(dealias_opt(), 0..7), targets)
        .prop_map(|(o, t)| format!("dealias {} {}", o.join(" "), t.join(" ")));
    prop_oneof![soup, dealias_shaped()]
}

fn host_line() -> impl Strategy<Value = String> {
    let opt = prop_oneof![
        prop::sample::select(vec!["IN", "CH", "chaos", "HS"]).prop_map(|v| format!("-c {v}")),
        prop::sample::select(vec![
            "nsid",
            "subnet=192.0.2.0/24",
            "subnet=2001:db8::/40",
            "do",
            "bufsize=1232",
            "bufsize=100",
        ])
        .prop_map(|v| format!("-O {v}")),
        Just("-r".to_owned()),
        num(0, 3).prop_map(|v| format!("-R {v}")),
        addr().prop_map(|v| format!("-s {v}")),
        prop::sample::select(vec![
            "A", "aaaa", "PTR", "MX", "NS", "SOA", "TXT", "SVCB", "HTTPS", "cname", "SRV", "CAA",
            "DS", "DNSKEY", "ANY", "AXFR"
        ])
        .prop_map(|v| format!("-t {v}")),
        Just("-T".to_owned()),
        num(0, 10).prop_map(|v| format!("-U {v}")),
        time().prop_map(|v| format!("-W {v}")),
    ];
    let name = prop::sample::select(vec![
        "example.com",
        "example.com.",
        "a..b",
        "192.0.2.1",
        "2001:db8::1",
        ".",
    ]);
    (prop::collection::vec(opt, 0..5), name).prop_map(|(o, n)| format!("host {} {n}", o.join(" ")))
}

fn http_line() -> impl Strategy<Value = String> {
    let opt = prop_oneof![
        prop::sample::select(vec!["'Accept: */*'", "'X-Y:z'", "'Host: a'", "Bad"])
            .prop_map(|v| format!("-H {v}")),
        time().prop_map(|v| format!("-m {v}")),
        prop::sample::select(vec!["insecure", "grease", "ecl=AAEC", "ecl=x"])
            .prop_map(|v| format!("-O {v}")),
        prop::sample::select(vec![
            "http://a.example",
            "https://a.example:8443/x?y",
            "HTTP://b/",
            "ftp://c/"
        ])
        .prop_map(|v| format!("-u {v}")),
        num(0, 10).prop_map(|v| format!("-U {v}")),
    ];
    (prop::collection::vec(opt, 0..5), target())
        .prop_map(|(o, t)| format!("http {} {t}", o.join(" ")))
}

fn udpprobe_line() -> impl Strategy<Value = String> {
    let opt = prop_oneof![
        num(1, 20).prop_map(|v| format!("-c {v}")),
        num(1, 65535).prop_map(|v| format!("-d {v}")),
        num(1, 20).prop_map(|v| format!("-o {v}")),
        Just("-O exitfirst".to_owned()),
        hex(6).prop_map(|v| format!("-p '{v}'")),
        addr().prop_map(|v| format!("-S {v}")),
        num(0, 10).prop_map(|v| format!("-U {v}")),
        time().prop_map(|v| format!("-w {v}")),
        time().prop_map(|v| format!("-W {v}")),
    ];
    (prop::collection::vec(opt, 0..6), target())
        .prop_map(|(o, t)| format!("udpprobe -d 53 -p 00 {} {t}", o.join(" ")))
}

fn sniff_line() -> impl Strategy<Value = String> {
    let opt = prop_oneof![
        num(1, 5000).prop_map(|v| format!("-c {v}")),
        time().prop_map(|v| format!("-G {v}")),
        addr().prop_map(|v| format!("-S {v}")),
        num(0, 10).prop_map(|v| format!("-U {v}")),
    ];
    (prop::collection::vec(opt, 0..4), 0u32..70000)
        .prop_map(|(o, n)| format!("sniff {} icmp[icmpid] == {n}", o.join(" ")))
}

fn line(word: &'static str, opt: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    (prop::collection::vec(opt, 0..6), target())
        .prop_map(move |(opts, t)| format!("{word} {} {t}", opts.join(" ")))
}

fn check(line: &str, pid: u32) -> Result<bool, TestCaseError> {
    let ctx = Context::new(pid).with_nameserver(Some(
        "192.0.2.53"
            .parse()
            .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0])),
    ));
    let Ok(cmd) = Command::parse(line, &ctx) else {
        return Ok(false);
    };
    let text = cmd.to_command_string();
    let again = Command::parse(&text, &ctx);
    prop_assert_eq!(again.as_ref(), Ok(&cmd), "{} -> {}", line, text);
    let text2 = again.map(|c| c.to_command_string()).unwrap_or_default();
    prop_assert_eq!(&text2, &text);
    Ok(true)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn ping_round_trip(l in line("ping", ping_opt().boxed()), pid in any::<u32>()) {
        check(&l, pid)?;
    }

    #[test]
    fn trace_round_trip(l in line("trace", trace_opt().boxed()), pid in any::<u32>()) {
        check(&l, pid)?;
    }

    #[test]
    fn tracelb_round_trip(l in line("tracelb", tracelb_opt().boxed()), pid in any::<u32>()) {
        check(&l, pid)?;
    }

    #[test]
    fn dealias_round_trip(l in dealias_line(), pid in any::<u32>()) {
        check(&l, pid)?;
    }

    #[test]
    fn host_http_udpprobe_sniff_round_trip(
        h in host_line(), w in http_line(), u in udpprobe_line(), s in sniff_line(), pid in any::<u32>()
    ) {
        check(&h, pid)?;
        check(&w, pid)?;
        check(&u, pid)?;
        check(&s, pid)?;
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
        let _ = Command::parse(&s, &Context::new(1));
        let _ = Command::parse(&format!("ping {s}"), &Context::new(1));
        for word in ["trace", "tracelb", "dealias", "host", "http", "udpprobe", "sniff"] {
            let _ = Command::parse(&format!("{word} {s}"), &Context::new(1));
        }
    }
}

/// The soups above must not be all rejections, or the round trip proves nothing.
#[test]
fn soups_are_often_accepted() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let soups = [
        ("ping", line("ping", ping_opt().boxed()).boxed()),
        ("trace", line("trace", trace_opt().boxed()).boxed()),
        ("tracelb", line("tracelb", tracelb_opt().boxed()).boxed()),
        ("dealias", dealias_line().boxed()),
        ("host", host_line().boxed()),
        ("http", http_line().boxed()),
        ("udpprobe", udpprobe_line().boxed()),
        ("sniff", sniff_line().boxed()),
    ];
    let ctx = Context::new(7).with_nameserver(Some(std::net::IpAddr::from([192, 0, 2, 53])));
    for (word, s) in soups {
        let mut accepted = 0;
        for _ in 0..1000 {
            let l = s.new_tree(&mut runner).unwrap().current();
            if Command::parse(&l, &ctx).is_ok() {
                accepted += 1;
            }
        }
        eprintln!("{word}: {accepted} of 1000 soup lines accepted");
        assert!(accepted > 50, "{word}: only {accepted} of 1000 accepted");
    }
}
