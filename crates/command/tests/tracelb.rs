//! `tracelb`: every option valid and invalid, and the cases of the reference's
//! `unit_cmd_tracelb` table as described in `commands.md` §14 (defaults and each option's
//! effect).

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use vantage_command::{
    Command, CommandError, Confidence, Context, Setting, TracelbMethod, TracelbSpec,
};

fn ctx() -> Context {
    Context::new(0x0001_1234)
}

fn tracelb(opts: &str) -> Result<TracelbSpec, CommandError> {
    match Command::parse(&format!("tracelb {opts}"), &ctx())? {
        Command::Tracelb(t) => Ok(t),
        other => panic!("not a tracelb: {other:?}"),
    }
}

fn ok(opts: &str) -> TracelbSpec {
    let spec = tracelb(opts).unwrap_or_else(|e| panic!("{opts:?} rejected: {e}"));
    let text = spec.to_command_string();
    match Command::parse(&text, &ctx()) {
        Ok(Command::Tracelb(again)) => assert_eq!(again, spec, "{opts:?} -> {text:?}"),
        other => panic!("{opts:?} -> {text:?} -> {other:?}"),
    }
    spec
}

fn err(opts: &str) -> String {
    match tracelb(opts) {
        Ok(spec) => panic!("{opts:?} accepted: {spec:?}"),
        Err(e) => e.to_string(),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn defaults() {
    let t = ok("192.0.2.1");
    assert_eq!(t.method, TracelbMethod::UdpDport);
    assert_eq!(t.confidence, Confidence::P95);
    assert_eq!(t.dport, 33435);
    assert_eq!(t.first_hop, 1);
    assert_eq!(t.gap_limit, 3);
    assert!(!t.ptr);
    assert_eq!(t.attempts, 2);
    assert_eq!(t.max_probes, 3000);
    assert_eq!(t.sport, Setting::Default(0x9234));
    assert_eq!(t.tos, 0);
    assert_eq!(t.user_id, 0);
    assert_eq!(t.wait_timeout, ms(5000));
    assert_eq!(t.wait_probe, ms(250));
    assert_eq!(t.probe_size, 44);
    assert_eq!(t.rtr, None);
    assert_eq!(t, TracelbSpec::new(t.dst, &ctx()));
    assert_eq!(t.to_command_string(), "tracelb 192.0.2.1");
    assert_eq!(ok("2001:db8::1").probe_size, 60);
}

#[test]
fn each_option() {
    assert_eq!(ok("-c 99 192.0.2.1").confidence, Confidence::P99);
    assert_eq!(ok("-c 95 192.0.2.1").confidence, Confidence::P95);
    assert_eq!(
        err("-c 97 192.0.2.1"),
        "-c failed: confidence must be 95 or 99"
    );

    assert_eq!(ok("-d 1 192.0.2.1").dport, 1);
    assert_eq!(ok("-d 65535 192.0.2.1").dport, 65535);
    assert!(err("-d 0 192.0.2.1").starts_with("-d failed"));
    assert!(err("-d 65536 192.0.2.1").starts_with("-d failed"));

    assert_eq!(ok("-f 254 192.0.2.1").first_hop, 254);
    assert_eq!(
        err("-f 255 192.0.2.1"),
        "-f failed: firsthop must be within 1 - 254"
    );
    assert!(err("-f 0 192.0.2.1").starts_with("-f failed"));

    assert_eq!(ok("-g 5 192.0.2.1").gap_limit, 5);
    assert!(err("-g 6 192.0.2.1").starts_with("-g failed"));
    assert!(err("-g 0 192.0.2.1").starts_with("-g failed"));

    assert!(ok("-O ptr 192.0.2.1").ptr);
    assert!(ok("-O ptr -O ptr 192.0.2.1").ptr);
    assert!(err("-O dl 192.0.2.1").starts_with("-O failed"));

    for m in TracelbMethod::ALL {
        let t = ok(&format!("-P {} 192.0.2.1", m.as_str().to_uppercase()));
        assert_eq!(t.method, m);
        assert_eq!(t.probe_size, if m.is_tcp() { 40 } else { 44 });
    }
    assert!(err("-P udp 192.0.2.1").starts_with("-P failed"));
    assert!(err("-P tcp-sport 2001:db8::1").starts_with("-P failed"));
    assert!(err("-P tcp-ack-sport 2001:db8::1").starts_with("-P failed"));
    assert_eq!(ok("-P icmp-echo 2001:db8::1").probe_size, 60);

    assert_eq!(ok("-q 5 192.0.2.1").attempts, 5);
    assert!(err("-q 6 192.0.2.1").starts_with("-q failed"));
    assert!(err("-q 0 192.0.2.1").starts_with("-q failed"));

    assert_eq!(ok("-Q 50 192.0.2.1").max_probes, 50);
    assert_eq!(ok("-Q 65535 192.0.2.1").max_probes, 65535);
    assert!(err("-Q 49 192.0.2.1").starts_with("-Q failed"));

    assert!(ok("-r 192.0.2.254 192.0.2.1").rtr.is_some());
    assert!(err("-r ::1 192.0.2.1").starts_with("-r failed"));

    assert_eq!(ok("-s 1 192.0.2.1").sport, Setting::Given(1));
    assert!(err("-s 0 192.0.2.1").starts_with("-s failed"));

    assert_eq!(ok("-t 255 192.0.2.1").tos, 255);
    assert!(err("-t 256 192.0.2.1").starts_with("-t failed"));
    assert_eq!(err("-t 0x10 192.0.2.1"), "could not parse tracelb command");

    assert_eq!(ok("-U 99 192.0.2.1").user_id, 99);

    assert_eq!(ok("-w 10 192.0.2.1").wait_timeout, ms(10_000));
    assert!(err("-w 11 192.0.2.1").starts_with("-w failed"));
    assert!(err("-w 2.5 192.0.2.1").starts_with("-w failed"));

    assert_eq!(ok("-W 15 192.0.2.1").wait_probe, ms(150));
    assert_eq!(ok("-W 200 192.0.2.1").wait_probe, ms(2000));
    assert_eq!(ok("-W 500ms 192.0.2.1").wait_probe, ms(500));
    assert!(err("-W 14 192.0.2.1").starts_with("-W failed"));
    assert!(err("-W 201 192.0.2.1").starts_with("-W failed"));
    assert!(err("-W 155ms 192.0.2.1").starts_with("-W failed"));
}

#[test]
fn repeats_targets_and_syntax() {
    assert_eq!(err("-q 1 -q 2 192.0.2.1"), "repeated option -q");
    assert_eq!(err(""), "expected address to tracelb");
    assert_eq!(err("192.0.2.1 192.0.2.2"), "invalid destination address");
    assert_eq!(
        err("-S 192.0.2.2 192.0.2.1"),
        "could not parse tracelb command"
    );
}

#[test]
fn canonical_form() {
    let t = ok("-P ICMP-ECHO -c 99 -W 30 -w 2 -s 010 -O ptr 192.0.2.1");
    assert_eq!(
        t.to_command_string(),
        "tracelb -c 99 -O ptr -P icmp-echo -s 8 -w 2 -W 30 192.0.2.1"
    );
}
