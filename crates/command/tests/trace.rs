//! `trace`: every option valid and invalid, the probe-size model, and the cases of the
//! reference's `unit_cmd_trace` table as described in `commands.md` §14.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::Duration;

use vantage_command::{
    Command, CommandError, Confidence, Context, GapAction, Setting, TraceMethod, TraceSpec,
};

const PID: u32 = 0x0001_1234;

fn ctx() -> Context {
    Context::new(PID)
}

fn trace(opts: &str) -> Result<TraceSpec, CommandError> {
    match Command::parse(&format!("trace {opts}"), &ctx())? {
        Command::Trace(t) => Ok(t),
        other => panic!("not a trace: {other:?}"),
    }
}

fn ok(opts: &str) -> TraceSpec {
    let spec = trace(opts).unwrap_or_else(|e| panic!("{opts:?} rejected: {e}"));
    let text = spec.to_command_string();
    match Command::parse(&text, &ctx()) {
        Ok(Command::Trace(again)) => assert_eq!(again, spec, "{opts:?} -> {text:?}"),
        other => panic!("{opts:?} -> {text:?} -> {other:?}"),
    }
    spec
}

fn err(opts: &str) -> String {
    match trace(opts) {
        Ok(spec) => panic!("{opts:?} accepted: {spec:?}"),
        Err(e) => e.to_string(),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const V4: &str = "192.0.2.1";
const V6: &str = "2001:db8::1";

#[test]
fn defaults() {
    let t = ok(V4);
    assert_eq!(t.method, TraceMethod::UdpParis);
    assert_eq!(t.confidence, None);
    assert_eq!(t.dport, Setting::Default(33435));
    assert_eq!(t.sport, Setting::Default(0x9234));
    assert_eq!(t.first_hop, 1);
    assert_eq!(t.gap_limit, 5);
    assert_eq!(t.gap_action, GapAction::Stop);
    assert_eq!(t.hold_time, Duration::ZERO);
    assert_eq!(t.loops, 1);
    assert_eq!(t.max_ttl, 0);
    assert!(!t.pmtud);
    assert_eq!(t.squeries, 1);
    assert_eq!(t.offset, 0);
    assert!(t.payload.is_empty());
    assert_eq!(t.attempts, 2);
    assert!(!t.all_attempts);
    assert_eq!(t.tos, 0);
    assert!(!t.ttl_expired_not_reached);
    assert_eq!(t.user_id, 0);
    assert_eq!(t.wait_timeout, ms(5000));
    assert_eq!(t.wait_probe, Duration::ZERO);
    assert_eq!(t.stream, 0);
    assert!(t.gss.is_empty() && t.lss.is_none() && !t.doubletree());
    assert_eq!(t.probe_size, 44);
    assert_eq!(t, TraceSpec::new(t.dst, &ctx()));
    assert_eq!(t.to_command_string(), "trace 192.0.2.1");
    assert_eq!(ok(V6).probe_size, 60);
}

#[test]
fn probe_sizes() {
    assert_eq!(ok("-P tcp 192.0.2.1").probe_size, 40);
    assert_eq!(ok("-P tcp-ack 192.0.2.1").probe_size, 40);
    assert_eq!(ok("-p 0011 192.0.2.1").probe_size, 30);
    assert_eq!(ok("-P icmp -p 00112233 192.0.2.1").probe_size, 32);
    assert_eq!(ok("-P tcp 2001:db8::1").probe_size, 60);
    assert_eq!(ok("-p 0011 2001:db8::1").probe_size, 50);
    assert_eq!(ok("-o 8 2001:db8::1").probe_size, 52);
    assert_eq!(ok("-o 8 -p 0011 2001:db8::1").probe_size, 54);
}

#[test]
fn opt_c_confidence() {
    assert_eq!(ok("-c 95 192.0.2.1").confidence, Some(Confidence::P95));
    assert_eq!(ok("-c 99 192.0.2.1").confidence, Some(Confidence::P99));
    assert_eq!(
        err("-c 90 192.0.2.1"),
        "-c failed: confidence must be 95 or 99"
    );
    assert!(err("-c 0 192.0.2.1").starts_with("-c failed"));
    assert_eq!(
        err("-c 95 -Q 192.0.2.1"),
        "-c failed: cannot be used with -Q"
    );
}

#[test]
fn opt_d_dport() {
    assert_eq!(ok("-d 53 192.0.2.1").dport, Setting::Given(53));
    assert_eq!(ok("-d 0x35 192.0.2.1").dport, Setting::Given(53));
    assert_eq!(ok("-d 65535 192.0.2.1").dport, Setting::Given(65535));
    // Trace's string-typed numbers ignore trailing text, like the reference.
    assert_eq!(ok("-d 53abc 192.0.2.1").dport, Setting::Given(53));
    assert!(err("-d 0 192.0.2.1").starts_with("-d failed"));
    assert!(err("-d 65536 192.0.2.1").starts_with("-d failed"));
    assert!(err("-d abc 192.0.2.1").starts_with("-d failed"));
    // icmp-paris: -d is the checksum, by default the default sport.
    let t = ok("-P icmp-paris 192.0.2.1");
    assert!(t.icmp_csum_dport());
    assert_eq!(t.dport, Setting::Default(0x9234));
    assert_eq!(
        ok("-P icmp-paris -d 1234 192.0.2.1").dport,
        Setting::Given(1234)
    );
    assert!(!ok("-P icmp 192.0.2.1").icmp_csum_dport());
}

#[test]
fn opt_f_firsthop() {
    assert_eq!(ok("-f 3 192.0.2.1").first_hop, 3);
    assert_eq!(ok("-f 255 192.0.2.1").first_hop, 255);
    assert_eq!(
        err("-f 0 192.0.2.1"),
        "-f failed: firsthop must be within 1 - 255"
    );
    assert!(err("-f 256 192.0.2.1").starts_with("-f failed"));
    assert_eq!(ok("-f 5 -m 5 192.0.2.1").first_hop, 5);
    assert!(err("-f 6 -m 5 192.0.2.1").starts_with("-f failed"));
    assert_eq!(ok("-f 6 -m 0 192.0.2.1").max_ttl, 0);
}

#[test]
fn opt_g_gaplimit() {
    assert_eq!(ok("-g 1 192.0.2.1").gap_limit, 1);
    assert_eq!(ok("-g 255 192.0.2.1").gap_limit, 255);
    // The man page says 0 disables the gap limit; the code (which wins) rejects it.
    assert_eq!(
        err("-g 0 192.0.2.1"),
        "-g failed: gaplimit must be within 1 - 255"
    );
    assert!(err("-g 256 192.0.2.1").starts_with("-g failed"));
}

#[test]
fn opt_upper_g_gapaction() {
    assert_eq!(ok("-G 1 192.0.2.1").gap_action, GapAction::Stop);
    assert_eq!(ok("-G 2 192.0.2.1").gap_action, GapAction::LastDitch);
    assert!(err("-G 0 192.0.2.1").starts_with("-G failed"));
    assert!(err("-G 3 192.0.2.1").starts_with("-G failed"));
}

#[test]
fn opt_upper_h_hold_time() {
    assert_eq!(ok("-H 1 192.0.2.1").hold_time, ms(1000));
    assert_eq!(ok("-H 0.5 192.0.2.1").hold_time, ms(500));
    assert_eq!(ok("-H 250ms 192.0.2.1").hold_time, ms(250));
    assert_eq!(ok("-H 2 192.0.2.1").hold_time, ms(2000));
    assert_eq!(ok("-H 0 192.0.2.1").hold_time, Duration::ZERO);
    assert!(err("-H 2.000001 192.0.2.1").starts_with("-H failed"));
    assert!(err("-H 1. 192.0.2.1").starts_with("-H failed"));
}

#[test]
fn opt_l_loops() {
    assert_eq!(ok("-l 0 192.0.2.1").loops, 0);
    assert_eq!(ok("-l 255 192.0.2.1").loops, 255);
    assert!(err("-l 256 192.0.2.1").starts_with("-l failed"));
}

#[test]
fn opt_m_maxttl() {
    assert_eq!(ok("-m 30 192.0.2.1").max_ttl, 30);
    assert_eq!(ok("-m 0 192.0.2.1").max_ttl, 0);
    assert!(err("-m 256 192.0.2.1").starts_with("-m failed"));
}

#[test]
fn opt_upper_m_pmtud() {
    assert!(ok("-M 192.0.2.1").pmtud);
    assert!(ok("-M -P icmp-paris 192.0.2.1").pmtud);
    assert!(err("-M -f 2 192.0.2.1").starts_with("-M failed"));
    assert!(err("-M -z 192.0.2.9 192.0.2.1").starts_with("-M failed"));
    assert!(err("-M -Z lss 192.0.2.1").starts_with("-M failed"));
    assert!(err("-M -P tcp 192.0.2.1").starts_with("-M failed"));
    assert!(err("-M -P tcp-ack 192.0.2.1").starts_with("-M failed"));
}

#[test]
fn opt_upper_n_squeries() {
    assert_eq!(ok("-N 3 192.0.2.1").squeries, 3);
    assert_eq!(ok("-N 5 192.0.2.1").squeries, 5);
    assert!(err("-N 6 192.0.2.1").starts_with("-N failed"));
    assert_eq!(ok("-N 10 -g 10 192.0.2.1").squeries, 10);
    assert!(err("-N 0 192.0.2.1").starts_with("-N failed"));
    assert!(err("-N 2 -P tcp 192.0.2.1").starts_with("-N failed"));
}

#[test]
fn opt_o_offset() {
    assert_eq!(ok("-o 100 2001:db8::1").offset, 100);
    assert_eq!(ok("-o 8190 2001:db8::1").offset, 8190);
    assert!(err("-o 8191 2001:db8::1").starts_with("-o failed"));
    assert_eq!(
        err("-o 100 192.0.2.1"),
        "-o failed: fragment offset needs an IPv6 destination"
    );
    assert!(err("-o 0 192.0.2.1").starts_with("-o failed"));
}

#[test]
fn opt_upper_o_options() {
    let t = ok("-O const-payload -O dl -O ptr 192.0.2.1");
    assert!(t.options.const_payload && t.options.dl && t.options.ptr);
    assert!(
        ok("-O dtree-noback -z 192.0.2.9 192.0.2.1")
            .options
            .dtree_noback
    );
    assert!(ok("-O back -m 10 192.0.2.1").options.back);
    assert_eq!(err("-O back 192.0.2.1"), "-O failed: back needs -m");
    assert!(err("-O back -m 10 -Z x 192.0.2.1").starts_with("-O failed"));
    assert!(ok("-O raw -P tcp 192.0.2.1").options.raw);
    assert!(err("-O raw 192.0.2.1").starts_with("-O failed"));
    assert!(err("-O raw -P tcp 2001:db8::1").starts_with("-O failed"));
    assert!(err("-O nope 192.0.2.1").starts_with("-O failed"));
}

#[test]
fn opt_p_payload() {
    assert_eq!(ok("-p 00ff 192.0.2.1").payload, vec![0, 0xff]);
    assert!(err("-p 0ff 192.0.2.1").starts_with("-p failed"));
    assert!(err("-p gg 192.0.2.1").starts_with("-p failed"));
    assert!(err("-p '' 192.0.2.1").starts_with("-p failed"));
    assert_eq!(err("-p 00 -p 00 192.0.2.1"), "repeated option -p");
    assert!(err("-p 00 -P tcp 192.0.2.1").starts_with("-p failed"));
    ok(&format!("-p {} 192.0.2.1", "ab".repeat(65507)));
    assert!(err(&format!("-p {} 192.0.2.1", "ab".repeat(65508))).starts_with("-p failed"));
}

#[test]
fn opt_upper_p_method() {
    for m in TraceMethod::ALL {
        assert_eq!(ok(&format!("-P {} 192.0.2.1", m.as_str())).method, m);
    }
    for (name, m) in [
        ("UDP-paris", TraceMethod::UdpParis),
        ("UDP", TraceMethod::Udp),
        ("ICMP", TraceMethod::Icmp),
        ("ICMP-paris", TraceMethod::IcmpParis),
        ("TCP", TraceMethod::Tcp),
        ("TCP-ack", TraceMethod::TcpAck),
    ] {
        assert_eq!(ok(&format!("-P {name} 192.0.2.1")).method, m);
    }
    assert!(err("-P sctp 192.0.2.1").starts_with("-P failed"));
}

#[test]
fn opt_q_and_upper_q() {
    assert_eq!(ok("-q 1 192.0.2.1").attempts, 1);
    assert_eq!(ok("-q 20 192.0.2.1").attempts, 20);
    assert!(err("-q 0 192.0.2.1").starts_with("-q failed"));
    assert!(err("-q 21 192.0.2.1").starts_with("-q failed"));
    assert!(ok("-Q 192.0.2.1").all_attempts);
    assert!(ok("-Q -q 3 192.0.2.1").all_attempts);
}

#[test]
fn opt_r_and_upper_s_addresses() {
    assert!(ok("-r 192.0.2.254 192.0.2.1").rtr.is_some());
    assert!(err("-r 2001:db8::fe 192.0.2.1").starts_with("-r failed"));
    assert!(err("-r x 192.0.2.1").starts_with("-r failed"));
    assert!(ok("-S 2001:db8::2 2001:db8::1").src.is_some());
    assert!(err("-S 192.0.2.2 2001:db8::1").starts_with("-S failed"));
}

#[test]
fn opt_s_sport() {
    assert_eq!(ok("-s 0 192.0.2.1").sport, Setting::Given(0));
    assert_eq!(ok("-s 65535 192.0.2.1").sport, Setting::Given(65535));
    assert!(err("-s 65536 192.0.2.1").starts_with("-s failed"));
}

#[test]
fn opt_t_tos() {
    assert_eq!(ok("-t 255 192.0.2.1").tos, 255);
    assert_eq!(ok("-t 0x20 192.0.2.1").tos, 32);
    assert_eq!(ok("-t 45abc 192.0.2.1").tos, 45);
    assert!(err("-t 256 192.0.2.1").starts_with("-t failed"));
    assert!(err("-t -1 192.0.2.1").starts_with("-t failed"));
}

#[test]
fn opt_upper_t_and_u() {
    assert!(ok("-T 192.0.2.1").ttl_expired_not_reached);
    assert_eq!(ok("-U 7 192.0.2.1").user_id, 7);
    assert!(err("-U 4294967296 192.0.2.1").starts_with("-U failed"));
}

#[test]
fn opt_w_wait_timeout() {
    assert_eq!(ok("-w 1 192.0.2.1").wait_timeout, ms(1000));
    assert_eq!(ok("-w 10 192.0.2.1").wait_timeout, ms(10_000));
    assert_eq!(ok("-w 2000ms 192.0.2.1").wait_timeout, ms(2000));
    assert_eq!(ok("-w 3s 192.0.2.1").wait_timeout, ms(3000));
    assert_eq!(
        err("-w 11 192.0.2.1"),
        "-w failed: wait-timeout must be within 1s - 10s"
    );
    assert!(err("-w 0 192.0.2.1").starts_with("-w failed"));
    assert_eq!(
        err("-w 1.5 192.0.2.1"),
        "-w failed: wait-timeout must be whole seconds"
    );
}

#[test]
fn opt_upper_w_wait_probe() {
    // Default unit: 10 ms.
    assert_eq!(ok("-W 5 192.0.2.1").wait_probe, ms(50));
    assert_eq!(ok("-W 0 192.0.2.1").wait_probe, Duration::ZERO);
    assert_eq!(ok("-W 200 192.0.2.1").wait_probe, ms(2000));
    assert_eq!(ok("-W 1.0 192.0.2.1").wait_probe, ms(10));
    assert_eq!(
        err("-W 1.5 192.0.2.1"),
        "-W failed: wait-probe must be a multiple of 10ms"
    );
    assert!(err("-W 1.00000 192.0.2.1").starts_with("-W failed"));
    assert_eq!(ok("-W 20ms 192.0.2.1").wait_probe, ms(20));
    assert_eq!(ok("-W 1s 192.0.2.1").wait_probe, ms(1000));
    assert!(err("-W 5ms 192.0.2.1").starts_with("-W failed"));
    assert!(err("-W 201 192.0.2.1").starts_with("-W failed"));
    assert!(err("-W 3s 192.0.2.1").starts_with("-W failed"));
    assert_eq!(
        ok("-W 5 192.0.2.1").to_command_string(),
        "trace -W 5 192.0.2.1"
    );
}

#[test]
fn opt_y_stream() {
    assert_eq!(ok("-y 20 192.0.2.1").stream, 20);
    assert!(err("-y 21 192.0.2.1").starts_with("-y failed"));
}

#[test]
fn opt_z_and_upper_z_doubletree() {
    let t = ok("-z 192.0.2.9 -z 192.0.2.10 192.0.2.1");
    assert_eq!(t.gss.len(), 2);
    assert!(t.doubletree());
    let t = ok("-Z 'my set' 192.0.2.1");
    assert_eq!(t.lss.as_deref(), Some("my set"));
    assert!(t.doubletree());
    assert_eq!(t.to_command_string(), "trace -Z \"my set\" 192.0.2.1");
    assert_eq!(err("-Z a -Z b 192.0.2.1"), "repeated option -Z");
    assert!(err("-Z '' 192.0.2.1").starts_with("-Z failed"));
    assert!(err("-z x 192.0.2.1").starts_with("-z failed"));
    assert!(err("-z 2001:db8::9 192.0.2.1").starts_with("-z failed"));
}

#[test]
fn targets_and_syntax() {
    assert_eq!(err(""), "expected address to trace");
    assert_eq!(err("-q 1"), "expected address to trace");
    assert_eq!(err("1.2.3"), "invalid destination address");
    assert_eq!(err("192.0.2.1 x"), "invalid destination address");
    assert_eq!(err("-MX 192.0.2.1"), "could not parse trace command");
    assert_eq!(err("-q 3x 192.0.2.1"), "could not parse trace command");
    assert_eq!(err("-qM 3 192.0.2.1"), "could not parse trace command");
    let t = ok("-MQT 192.0.2.1");
    assert!(t.pmtud && t.all_attempts && t.ttl_expired_not_reached);
}

/// The cases `commands.md` §14 lists for the reference's trace table.
#[test]
fn spec_section_14_cases() {
    assert_eq!(ok("-c 95 192.0.2.1").confidence, Some(Confidence::P95));
    assert_eq!(ok("-c 99 192.0.2.1").confidence, Some(Confidence::P99));
    assert!(err("-c 98 192.0.2.1").starts_with("-c failed"));
    assert_eq!(ok("-d 1 192.0.2.1").dport.get(), 1);
    assert!(err("-f 0 192.0.2.1").starts_with("-f failed"));
    assert!(err("-g 0 192.0.2.1").starts_with("-g failed"));
    assert_eq!(ok("-G 2 192.0.2.1").gap_action, GapAction::LastDitch);
    assert_eq!(ok("-l 3 192.0.2.1").loops, 3);
    assert_eq!(ok("-m 16 192.0.2.1").max_ttl, 16);
    assert!(ok("-M 192.0.2.1").pmtud);
    assert!(err("-N 6 -g 5 192.0.2.1").starts_with("-N failed"));
    assert!(err("-o 8 192.0.2.1").starts_with("-o failed"));
    assert_eq!(ok("-o 8 2001:db8::1").offset, 8);
    assert_eq!(ok("-p 0102 192.0.2.1").payload, vec![1, 2]);
    assert_eq!(err("-p 01 -p 02 192.0.2.1"), "repeated option -p");
    assert_eq!(ok("-q 3 -Q 192.0.2.1").attempts, 3);
    assert!(ok("-r 192.0.2.254 192.0.2.1").rtr.is_some());
    assert_eq!(ok("-s 1234 192.0.2.1").sport.get(), 1234);
    assert!(ok("-S 192.0.2.2 192.0.2.1").src.is_some());
    assert_eq!(ok("-t 8 192.0.2.1").tos, 8);
    let t = ok("-P tcp -d 443 -f 2 -m 30 -q 1 -w 2 -W 10 -s 40000 -t 0x10 -O raw -U 5 192.0.2.1");
    assert_eq!(
        (t.method, t.dport.get(), t.first_hop, t.max_ttl, t.attempts),
        (TraceMethod::Tcp, 443, 2, 30, 1)
    );
    assert_eq!(
        (t.wait_timeout, t.wait_probe, t.sport.get()),
        (ms(2000), ms(100), 40000)
    );
    assert_eq!((t.tos, t.user_id, t.probe_size), (16, 5, 40));
    let t = ok("-w 3 -W 50 192.0.2.1");
    assert_eq!((t.wait_timeout, t.wait_probe), (ms(3000), ms(500)));
    assert_eq!(ok("-W 0 192.0.2.1").wait_probe, Duration::ZERO);
    let t = ok("-z 192.0.2.9 -z 192.0.2.9 192.0.2.1");
    assert_eq!(t.gss.len(), 2);
}

#[test]
fn canonical_form() {
    let t = ok("-Q -T -P ICMP-paris -d 0x10 -t 45abc -z 192.0.2.9 192.0.2.1");
    assert_eq!(
        t.to_command_string(),
        "trace -Q -T -d 16 -P icmp-paris -t 45 -z 192.0.2.9 192.0.2.1"
    );
    let t = ok("-H 0.25 -w 2 2001:db8::1");
    assert_eq!(t.to_command_string(), "trace -H 0.25 -w 2 2001:db8::1");
    let v: IpAddr = V6.parse().unwrap();
    assert_eq!(t.dst, v);
    assert_eq!(
        ok(V4).probed_addresses(),
        vec![V4.parse::<IpAddr>().unwrap()]
    );
}
