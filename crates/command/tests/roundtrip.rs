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

fn line(word: &'static str, opt: BoxedStrategy<String>) -> impl Strategy<Value = String> {
    (prop::collection::vec(opt, 0..6), target())
        .prop_map(move |(opts, t)| format!("{word} {} {t}", opts.join(" ")))
}

fn check(line: &str, pid: u32) -> Result<bool, TestCaseError> {
    let ctx = Context::new(pid);
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
    fn arbitrary_text_never_panics(s in "\\PC{0,80}") {
        let _ = Command::parse(&s, &Context::new(1));
        let _ = Command::parse(&format!("ping {s}"), &Context::new(1));
        let _ = Command::parse(&format!("trace {s}"), &Context::new(1));
    }
}

/// The soups above must not be all rejections, or the round trip proves nothing.
#[test]
fn soups_are_often_accepted() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    for (word, strat) in [("ping", ping_opt().boxed()), ("trace", trace_opt().boxed())] {
        let s = line(word, strat);
        let mut accepted = 0;
        for _ in 0..1000 {
            let l = s.new_tree(&mut runner).unwrap().current();
            if Command::parse(&l, &Context::new(7)).is_ok() {
                accepted += 1;
            }
        }
        assert!(accepted > 100, "{word}: only {accepted} of 1000 accepted");
    }
}
