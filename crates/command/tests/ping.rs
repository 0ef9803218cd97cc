//! `ping`: every option valid and invalid, the probe-size model, and the cases of the
//! reference's `unit_cmd_ping` table as described in `commands.md` §14.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::Duration;

use vantage_command::{
    Command, CommandError, Context, PingMethod, PingSpec, PingTimestamp, Setting,
};

const PID: u32 = 0x0001_1234;

fn ctx() -> Context {
    Context::new(PID)
}

fn ping(opts: &str) -> Result<PingSpec, CommandError> {
    match Command::parse(&format!("ping {opts}"), &ctx())? {
        Command::Ping(p) => Ok(p),
        other => panic!("not a ping: {other:?}"),
    }
}

fn ok(opts: &str) -> PingSpec {
    let spec = ping(opts).unwrap_or_else(|e| panic!("{opts:?} rejected: {e}"));
    // Every accepted command survives the canonical round trip.
    let text = spec.to_command_string();
    match Command::parse(&text, &ctx()) {
        Ok(Command::Ping(again)) => assert_eq!(again, spec, "{opts:?} -> {text:?}"),
        other => panic!("{opts:?} -> {text:?} -> {other:?}"),
    }
    spec
}

fn err(opts: &str) -> String {
    match ping(opts) {
        Ok(spec) => panic!("{opts:?} accepted: {spec:?}"),
        Err(e) => e.to_string(),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn defaults_v4() {
    let p = ok("192.0.2.1");
    assert_eq!(p.dst, "192.0.2.1".parse::<IpAddr>().unwrap());
    assert_eq!(p.method, PingMethod::IcmpEcho);
    assert_eq!(p.attempts, 4);
    assert_eq!(p.payload_size, 56);
    assert_eq!(p.probe_size, 84);
    assert_eq!(p.dport, 0);
    assert_eq!(p.sport, Setting::Default(0x1234));
    assert_eq!(p.wait_probe, ms(1000));
    assert_eq!(p.wait_timeout, ms(1000));
    assert_eq!(p.ttl, 64);
    assert_eq!(p.pmtu, 0);
    assert_eq!(p.stop_count, 0);
    assert_eq!(p.tos, 0);
    assert_eq!(p.stream, 0);
    assert_eq!(p.user_id, 0);
    assert_eq!(p.src, None);
    assert_eq!(p.rtr, None);
    assert_eq!(p.tcp_number, None);
    assert!(!p.record_route);
    assert_eq!(p, PingSpec::new(p.dst, &ctx()));
    assert_eq!(p.to_command_string(), "ping 192.0.2.1");
}

#[test]
fn defaults_v6() {
    let p = ok("2001:db8::1");
    assert_eq!(p.payload_size, 56);
    assert_eq!(p.probe_size, 104);
}

#[test]
fn default_sizes_per_method() {
    for (method, v4, v6, payload) in [
        ("icmp-echo", 84, 104, 56),
        ("tcp-syn", 40, 60, 0),
        ("tcp-ack", 40, 60, 0),
        ("tcp-ack-sport", 40, 60, 0),
        ("tcp-synack", 40, 60, 0),
        ("tcp-rst", 40, 60, 0),
        ("tcp-syn-sport", 40, 60, 0),
        ("udp", 40, 60, 12),
        ("udp-dport", 40, 60, 12),
        ("udp-sport", 40, 60, 12),
    ] {
        let p = ok(&format!("-P {method} 192.0.2.1"));
        assert_eq!((p.probe_size, p.payload_size), (v4, payload), "{method}");
        let p = ok(&format!("-P {method} 2001:db8::1"));
        assert_eq!((p.probe_size, p.payload_size), (v6, payload), "{method} v6");
    }
    let p = ok("-P icmp-time 192.0.2.1");
    assert_eq!((p.probe_size, p.payload_size), (84, 44));
}

#[test]
fn methods_parse_case_insensitively() {
    for m in PingMethod::ALL {
        let upper = m.as_str().to_ascii_uppercase();
        assert_eq!(ok(&format!("-P {upper} 192.0.2.1")).method, m);
    }
    assert_eq!(
        err("-P icmp 192.0.2.1"),
        "-P failed: method must be icmp-echo, icmp-time, tcp-syn, tcp-ack, tcp-ack-sport, \
         tcp-synack, tcp-rst, tcp-syn-sport, udp, udp-dport or udp-sport"
    );
    assert!(err("-P icmp-time 2001:db8::1").starts_with("-P failed"));
}

#[test]
fn opt_a_tcp_number() {
    assert_eq!(ok("-P tcp-ack -A 12345 192.0.2.1").tcp_number, Some(12345));
    assert_eq!(
        ok("-P tcp-syn -A 4294967295 192.0.2.1").tcp_number,
        Some(u32::MAX)
    );
    assert_eq!(ok("-P tcp-syn -A 0 192.0.2.1").tcp_number, Some(0));
    assert!(PingMethod::TcpSyn.tcp_number_is_seq());
    assert!(!PingMethod::TcpAck.tcp_number_is_seq());
    assert_eq!(
        err("-P tcp-ack -A 4294967296 192.0.2.1"),
        "-A failed: tcp number must be within 0 - 4294967295"
    );
    assert!(err("-A -1 192.0.2.1").starts_with("-A failed"));
    assert_eq!(err("-A x 192.0.2.1"), "could not parse ping command");
}

#[test]
fn opt_b_payload_size() {
    let p = ok("-b 100 192.0.2.1");
    assert_eq!((p.payload_size, p.probe_size), (100, 128));
    let p = ok("-b 0 192.0.2.1");
    assert_eq!((p.payload_size, p.probe_size), (0, 28));
    let p = ok("-b 0 2001:db8::1");
    assert_eq!((p.payload_size, p.probe_size), (0, 48));
    let p = ok("-b 65507 192.0.2.1");
    assert_eq!(p.probe_size, 65535);
    assert!(err("-b 65508 192.0.2.1").starts_with("-b failed"));
    assert_eq!(
        err("-b 65536 192.0.2.1"),
        "-b failed: payload size must be within 0 - 65535"
    );
    assert!(err("-b -1 192.0.2.1").starts_with("-b failed"));
}

#[test]
fn opt_upper_b_payload() {
    let p = ok("-B 0102030405 192.0.2.1");
    assert_eq!(p.payload, Some(vec![1, 2, 3, 4, 5]));
    assert_eq!((p.payload_size, p.probe_size), (5, 33));
    let p = ok("-B 0a0B -b 2 192.0.2.1");
    assert_eq!(p.payload, Some(vec![10, 11]));
    let p = ok("-P udp -B 00112233 2001:db8::1");
    assert_eq!((p.payload_size, p.probe_size), (4, 52));
    assert_eq!(ok("-B 0a0b -s 30 192.0.2.1").payload_size, 2);
    ok(&format!("-B {} 192.0.2.1", "ab".repeat(1000)));
    assert!(err(&format!("-B {} 192.0.2.1", "ab".repeat(1001))).starts_with("-B failed"));
    assert!(err("-B abc 192.0.2.1").starts_with("-B failed"));
    assert!(err("-B zz 192.0.2.1").starts_with("-B failed"));
    assert!(err("-B '' 192.0.2.1").starts_with("-B failed"));
    assert_eq!(err("-B 0a0b -B 0a0b 192.0.2.1"), "repeated option -B");
    assert!(err("-B 0a0b -b 3 192.0.2.1").starts_with("-b failed"));
    assert!(err("-B 0a0b -s 31 192.0.2.1").starts_with("-s failed"));
    assert!(err("-B 0a0b -p ff 192.0.2.1").starts_with("-p failed"));
}

#[test]
fn opt_c_attempts() {
    assert_eq!(ok("-c 1 192.0.2.1").attempts, 1);
    assert_eq!(ok("-c 65535 192.0.2.1").attempts, 65535);
    assert_eq!(ok("-c 010 192.0.2.1").attempts, 8);
    assert_eq!(
        err("-c 0 192.0.2.1"),
        "-c failed: attempts must be within 1 - 65535"
    );
    assert!(err("-c 65536 192.0.2.1").starts_with("-c failed"));
    assert!(err("-c 09 192.0.2.1").starts_with("-c failed"));
    assert_eq!(err("-c 0x10 192.0.2.1"), "could not parse ping command");
    assert_eq!(err("-c3 192.0.2.1"), "could not parse ping command");
    assert_eq!(err("-c 3 -c 3 192.0.2.1"), "repeated option -c");
}

#[test]
fn opt_upper_c_icmp_sum() {
    assert_eq!(ok("-C 1234 192.0.2.1").icmp_sum, Some(1234));
    assert_eq!(ok("-C 0xffff 192.0.2.1").icmp_sum, Some(0xffff));
    assert_eq!(ok("-C 0 -P icmp-time 192.0.2.1").icmp_sum, Some(0));
    assert_eq!(ok("-C 0x1234 2001:db8::1").icmp_sum, Some(0x1234));
    assert!(err("-C 65536 192.0.2.1").starts_with("-C failed"));
    assert!(err("-C 12x 192.0.2.1").starts_with("-C failed"));
    assert!(err("-C -1 192.0.2.1").starts_with("-C failed"));
    assert_eq!(
        err("-C 1 -P udp 192.0.2.1"),
        "-C failed: needs an ICMP method"
    );
    assert_eq!(
        err("-C 1 -b 1 192.0.2.1"),
        "-C failed: needs a payload of at least 2 bytes"
    );
    assert!(ok("-C 1 -b 2 192.0.2.1").icmp_sum.is_some());
    assert!(err("-C 1 -s 29 192.0.2.1").starts_with("-C failed"));
}

#[test]
fn opt_d_dport() {
    assert_eq!(ok("-P udp 192.0.2.1").dport, 33435);
    assert_eq!(ok("-P tcp-syn -d 80 192.0.2.1").dport, 80);
    assert_eq!(ok("-d 5 192.0.2.1").dport, 5);
    assert_eq!(ok("-d 0 -P udp 192.0.2.1").dport, 0);
    assert!(err("-d 65536 192.0.2.1").starts_with("-d failed"));
    assert_eq!(ok("-P udp-dport -c 100 -d 65436 192.0.2.1").dport, 65436);
    assert!(err("-P udp-dport -c 100 -d 65437 192.0.2.1").starts_with("-d failed"));
    assert!(err("-P udp-dport -c 40000 192.0.2.1").starts_with("-d failed"));
}

#[test]
fn opt_upper_f_sport() {
    assert_eq!(ok("-F 5000 192.0.2.1").sport, Setting::Given(5000));
    assert_eq!(ok("-F 0 -P udp 192.0.2.1").sport, Setting::Given(0));
    assert_eq!(ok("-P udp 192.0.2.1").sport, Setting::Default(0x9234));
    assert_eq!(ok("-P tcp-syn 192.0.2.1").sport, Setting::Default(0x9234));
    // *-sport methods lower the default so that the ports do not wrap.
    assert_eq!(ok("-P udp-sport 192.0.2.1").sport, Setting::Default(0x9234));
    assert_eq!(
        ok("-P udp-sport -c 30000 192.0.2.1").sport,
        Setting::Default(35536)
    );
    assert_eq!(
        ok("-P tcp-ack-sport -c 65535 192.0.2.1").sport,
        Setting::Default(1)
    );
    assert_eq!(
        ok("-P tcp-syn-sport -c 10 -F 65526 192.0.2.1").sport,
        Setting::Given(65526)
    );
    assert!(err("-P tcp-syn-sport -c 10 -F 65527 192.0.2.1").starts_with("-F failed"));
    assert!(err("-F 65536 192.0.2.1").starts_with("-F failed"));
    // The context decides the default.
    let other = Command::parse("ping 192.0.2.1", &Context::new(0xabcd_0001)).unwrap();
    let Command::Ping(p) = other else { panic!() };
    assert_eq!(p.sport, Setting::Default(1));
}

#[test]
fn opt_i_wait_probe() {
    assert_eq!(ok("-i 2 192.0.2.1").wait_probe, ms(2000));
    assert_eq!(ok("-i 2s 192.0.2.1").wait_probe, ms(2000));
    assert_eq!(ok("-i 0.5 192.0.2.1").wait_probe, ms(500));
    assert_eq!(ok("-i 1.5 192.0.2.1").wait_probe, ms(1500));
    assert_eq!(ok("-i 1.500000 192.0.2.1").wait_probe, ms(1500));
    assert_eq!(ok("-i 250ms 192.0.2.1").wait_probe, ms(250));
    assert_eq!(ok("-i 1000us 192.0.2.1").wait_probe, ms(1));
    assert_eq!(ok("-i 0.001 192.0.2.1").wait_probe, ms(1));
    assert_eq!(ok("-i 20 192.0.2.1").wait_probe, ms(20_000));
    assert_eq!(ok("-i '3' 192.0.2.1").wait_probe, ms(3000));
    assert_eq!(
        err("-i 21 192.0.2.1"),
        "-i failed: wait-probe must be within 1ms - 20s"
    );
    assert!(err("-i 20.000001 192.0.2.1").starts_with("-i failed"));
    assert!(err("-i 0 192.0.2.1").starts_with("-i failed"));
    assert!(err("-i 999us 192.0.2.1").starts_with("-i failed"));
    assert!(err("-i 1.5000000 192.0.2.1").starts_with("-i failed"));
    assert!(err("-i 1. 192.0.2.1").starts_with("-i failed"));
    assert!(err("-i -1 192.0.2.1").starts_with("-i failed"));
    assert!(err("-i 1x 192.0.2.1").starts_with("-i failed"));
    assert!(err("-i 1.5us 192.0.2.1").starts_with("-i failed"));
}

#[test]
fn opt_upper_w_wait_timeout_and_inheritance() {
    assert_eq!(ok("-W 5 192.0.2.1").wait_timeout, ms(5000));
    assert_eq!(ok("-W 5s 192.0.2.1").wait_timeout, ms(5000));
    assert_eq!(ok("-W 0.25 192.0.2.1").wait_timeout, ms(250));
    assert_eq!(ok("-W 255 192.0.2.1").wait_timeout, ms(255_000));
    assert!(err("-W 256 192.0.2.1").starts_with("-W failed"));
    assert!(err("-W 0 192.0.2.1").starts_with("-W failed"));
    assert!(err("-W 1. 192.0.2.1").starts_with("-W failed"));
    // -W defaults to -i when -i is longer than one second.
    assert_eq!(ok("-i 3 192.0.2.1").wait_timeout, ms(3000));
    assert_eq!(ok("-i 0.5 192.0.2.1").wait_timeout, ms(1000));
    assert_eq!(ok("-i 3 -W 2 192.0.2.1").wait_timeout, ms(2000));
    assert_eq!(
        ok("-i 3 -W 3 192.0.2.1").to_command_string(),
        "ping -i 3 192.0.2.1"
    );
    assert_eq!(
        ok("-i 3 -W 1 192.0.2.1").to_command_string(),
        "ping -i 3 -W 1 192.0.2.1"
    );
}

#[test]
fn opt_m_ttl() {
    assert_eq!(ok("-m 1 192.0.2.1").ttl, 1);
    assert_eq!(ok("-m 255 192.0.2.1").ttl, 255);
    assert_eq!(
        err("-m 0 192.0.2.1"),
        "-m failed: ttl must be within 1 - 255"
    );
    assert!(err("-m 256 192.0.2.1").starts_with("-m failed"));
}

#[test]
fn opt_upper_m_pmtu() {
    assert_eq!(ok("-M 1280 192.0.2.1").pmtu, 1280);
    assert_eq!(ok("-M 0 192.0.2.1").pmtu, 0);
    assert!(err("-M 65536 192.0.2.1").starts_with("-M failed"));
    assert_eq!(
        err("-M 1280 -O sockrx 192.0.2.1"),
        "-M failed: cannot be used with -O sockrx"
    );
}

#[test]
fn opt_o_stop_count() {
    assert_eq!(ok("-o 2 192.0.2.1").stop_count, 2);
    assert_eq!(ok("-o 65535 192.0.2.1").stop_count, 65535);
    assert!(err("-o 65536 192.0.2.1").starts_with("-o failed"));
    assert!(err("-o -1 192.0.2.1").starts_with("-o failed"));
}

#[test]
fn opt_upper_o_options() {
    let p = ok("-O dl -O dltx -O sockrx 192.0.2.1");
    assert!(p.options.dl && p.options.dltx && p.options.sockrx);
    assert!(!p.options.raw);
    // dl twice is harmless: -O may repeat.
    assert!(ok("-O dl -O dl 192.0.2.1").options.dl);
    assert!(ok("-O DL 192.0.2.1").options.dl);
    assert!(err("-O bogus 192.0.2.1").starts_with("-O failed: unknown option 'bogus'"));
    // raw: IPv4 TCP only.
    assert!(ok("-O raw -P tcp-syn 192.0.2.1").options.raw);
    assert!(err("-O raw 192.0.2.1").starts_with("-O failed"));
    assert!(err("-O raw -P tcp-syn 2001:db8::1").starts_with("-O failed"));
    // mss: SYN methods only; adds 4 bytes of TCP header.
    let p = ok("-O mss=1460 -P tcp-syn 192.0.2.1");
    assert_eq!((p.options.mss, p.probe_size), (Some(1460), 44));
    assert!(ok("-O mss=0 -P tcp-synack 192.0.2.1").options.mss.is_some());
    assert!(
        ok("-O mss=536 -P tcp-syn-sport 192.0.2.1")
            .options
            .mss
            .is_some()
    );
    assert!(err("-O mss=1460 -P tcp-ack 192.0.2.1").starts_with("-O failed"));
    assert!(err("-O mss=1460 192.0.2.1").starts_with("-O failed"));
    assert!(err("-O mss=65536 -P tcp-syn 192.0.2.1").starts_with("-O failed"));
    assert!(err("-O mss=x -P tcp-syn 192.0.2.1").starts_with("-O failed"));
    // spoof: needs -S; embeds the real source unless nosrc.
    let p = ok("-O spoof -S 198.51.100.1 192.0.2.1");
    assert!(p.options.spoof);
    assert_eq!(p.probe_size, 88);
    assert_eq!(
        ok("-O spoof -O nosrc -S 198.51.100.1 192.0.2.1").probe_size,
        84
    );
    assert_eq!(ok("-O spoof -S 2001:db8::2 2001:db8::1").probe_size, 120);
    assert_eq!(
        ok("-O spoof -P tcp-synack -S 198.51.100.1 192.0.2.1").probe_size,
        40
    );
    assert_eq!(
        ok("-O spoof -P tcp-rst -S 198.51.100.1 192.0.2.1").probe_size,
        40
    );
    assert_eq!(
        ok("-O spoof -P tcp-syn -S 198.51.100.1 192.0.2.1").probe_size,
        44
    );
    assert!(err("-O spoof 192.0.2.1").starts_with("-O failed"));
    // tbt: IPv6 only, needs -M below the probe size.
    let p = ok("-O tbt -M 1280 -s 1300 2001:db8::1");
    assert!(p.options.tbt);
    assert_eq!((p.probe_size, p.payload_size), (1300, 1252));
    assert!(err("-O tbt -M 1280 -s 1300 192.0.2.1").starts_with("-O failed"));
    assert!(err("-O tbt -s 1300 2001:db8::1").starts_with("-O failed"));
    assert!(err("-O tbt -M 1300 -s 1300 2001:db8::1").starts_with("-M failed"));
    assert!(err("-O tbt -M 1280 2001:db8::1").starts_with("-M failed"));
    assert!(err("-O tbt -O sockrx -M 1280 -s 1300 2001:db8::1").starts_with("-M failed"));
}

#[test]
fn opt_p_pattern() {
    assert_eq!(ok("-p ff 192.0.2.1").pattern, Some(vec![0xff]));
    assert_eq!(ok("-p abc 192.0.2.1").pattern, Some(vec![0x0a, 0xbc]));
    let p = ok(&format!("-p {} 192.0.2.1", "f".repeat(32)));
    assert_eq!(p.pattern.map(|v| v.len()), Some(16));
    assert!(err(&format!("-p {} 192.0.2.1", "f".repeat(33))).starts_with("-p failed"));
    assert!(err("-p xyz 192.0.2.1").starts_with("-p failed"));
    assert!(err("-p '' 192.0.2.1").starts_with("-p failed"));
    assert!(err("-p 0x12 192.0.2.1").starts_with("-p failed"));
}

#[test]
fn opt_r_router() {
    assert_eq!(
        ok("-r 192.0.2.254 192.0.2.1").rtr,
        Some("192.0.2.254".parse().unwrap())
    );
    assert!(ok("-r fe80::1 2001:db8::1").rtr.is_some());
    assert!(err("-r fe80::1 192.0.2.1").starts_with("-r failed"));
    assert!(err("-r router 192.0.2.1").starts_with("-r failed"));
}

#[test]
fn opt_upper_r_record_route() {
    let p = ok("-R 192.0.2.1");
    assert!(p.record_route);
    assert_eq!(p.probe_size, 124);
    assert_eq!(ok("-R -b 0 192.0.2.1").probe_size, 68);
    assert!(err("-R 2001:db8::1").starts_with("-R failed"));
    assert_eq!(err("-R -R 192.0.2.1"), "repeated option -R");
    assert_eq!(err("-RR 192.0.2.1"), "repeated option -R");
}

#[test]
fn opt_s_probe_size() {
    let p = ok("-s 100 192.0.2.1");
    assert_eq!((p.probe_size, p.payload_size), (100, 72));
    assert_eq!(ok("-s 28 192.0.2.1").payload_size, 0);
    assert_eq!(ok("-s 48 2001:db8::1").payload_size, 0);
    assert_eq!(ok("-s 100 -b 72 192.0.2.1").probe_size, 100);
    assert_eq!(ok("-s 40 -P tcp-syn 192.0.2.1").payload_size, 0);
    assert_eq!(
        err("-s 27 192.0.2.1"),
        "-s failed: probe size must be at least 28 bytes"
    );
    assert!(err("-s 47 2001:db8::1").starts_with("-s failed"));
    assert!(err("-s 100 -b 71 192.0.2.1").starts_with("-s failed"));
    assert!(err("-s 65536 192.0.2.1").starts_with("-s failed"));
    // The size written back is -b, which gives the same spec.
    assert_eq!(
        ok("-s 100 192.0.2.1").to_command_string(),
        "ping -b 72 192.0.2.1"
    );
}

#[test]
fn opt_upper_s_source() {
    assert!(ok("-S 192.0.2.2 192.0.2.1").src.is_some());
    assert!(ok("-S 2001:db8::2 2001:db8::1").src.is_some());
    assert_eq!(
        err("-S 2001:db8::2 192.0.2.1"),
        "-S failed: source address must be an IPv4 address like the destination"
    );
    assert!(err("-S 192.0.2.2 2001:db8::1").starts_with("-S failed"));
    assert!(err("-S host.example 192.0.2.1").starts_with("-S failed"));
}

#[test]
fn opt_upper_t_timestamps() {
    let p = ok("-T tsonly 192.0.2.1");
    assert_eq!(p.timestamp, Some(PingTimestamp::TsOnly));
    assert_eq!(p.probe_size, 124);
    assert_eq!(ok("-T tsandaddr 192.0.2.1").probe_size, 120);
    let p = ok("-T tsprespec=192.0.2.9,192.0.2.10 192.0.2.1");
    assert_eq!(
        p.timestamp,
        Some(PingTimestamp::Prespec(vec![
            "192.0.2.9".parse().unwrap(),
            "192.0.2.10".parse().unwrap()
        ]))
    );
    assert_eq!(p.probe_size, 84 + 20);
    assert_eq!(
        ok("-T tsprespec=1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4 192.0.2.1").probe_size,
        84 + 36
    );
    for bad in [
        "-T tsprespec=1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5 192.0.2.1",
        "-T tsprespec= 192.0.2.1",
        "-T tsprespec=2001:db8::1 192.0.2.1",
        "-T tsprespec=1.1.1.1, 192.0.2.1",
        "-T bogus 192.0.2.1",
    ] {
        assert!(err(bad).starts_with("-T failed"), "{bad}");
    }
    assert!(err("-T tsonly 2001:db8::1").starts_with("-T failed"));
    assert_eq!(
        err("-T tsonly -R 192.0.2.1"),
        "-T failed: cannot be used together with -R"
    );
}

#[test]
fn opt_upper_u_userid() {
    assert_eq!(ok("-U 4294967295 192.0.2.1").user_id, u32::MAX);
    assert!(err("-U 4294967296 192.0.2.1").starts_with("-U failed"));
    assert!(err("-U -1 192.0.2.1").starts_with("-U failed"));
}

#[test]
fn opt_y_stream() {
    assert_eq!(ok("-y 20 192.0.2.1").stream, 20);
    assert!(err("-y 21 192.0.2.1").starts_with("-y failed"));
}

#[test]
fn opt_z_tos() {
    assert_eq!(ok("-z 255 192.0.2.1").tos, 255);
    assert_eq!(ok("-z 0x10 192.0.2.1").tos, 16);
    assert_eq!(ok("-z 010 192.0.2.1").tos, 8);
    assert!(err("-z 256 192.0.2.1").starts_with("-z failed"));
    assert!(err("-z 45abc 192.0.2.1").starts_with("-z failed"));
    assert!(err("-z x 192.0.2.1").starts_with("-z failed"));
}

#[test]
fn targets() {
    assert_eq!(err(""), "expected address to ping");
    assert_eq!(err("-c 1"), "expected address to ping");
    assert_eq!(err("example.com"), "invalid destination address");
    assert_eq!(err("192.0.2.1 192.0.2.2"), "invalid destination address");
    assert_eq!(err("192.0.2.256"), "invalid destination address");
    assert_eq!(
        ok("  192.0.2.1  ").dst,
        "192.0.2.1".parse::<IpAddr>().unwrap()
    );
    // A bare command word is not a command.
    assert_eq!(
        Command::parse("ping", &ctx()).unwrap_err().to_string(),
        "could not determine command type"
    );
    assert!(Command::parse("PING 192.0.2.1", &ctx()).is_ok());
    assert!(Command::parse("ping\t192.0.2.1", &ctx()).is_ok());
}

#[test]
fn syntax_errors() {
    for bad in [
        "-x 192.0.2.1",
        "-c",
        "-c 1 -",
        "-Rc1 192.0.2.1",
        "-cR 1 192.0.2.1",
        "-S '192.0.2.1 192.0.2.1",
    ] {
        assert_eq!(err(bad), "could not parse ping command", "{bad}");
    }
}

/// The cases `commands.md` §14 lists for the reference's ping table.
#[test]
fn spec_section_14_cases() {
    // -A with tcp-ack / tcp-syn.
    assert_eq!(ok("-P tcp-ack -A 5 192.0.2.1").tcp_number, Some(5));
    assert_eq!(ok("-P tcp-syn -A 5 192.0.2.1").tcp_number, Some(5));
    // -B hex payload versus -s.
    assert_eq!(ok("-B 01020304 -s 32 192.0.2.1").probe_size, 32);
    assert!(err("-B 01020304 -s 33 192.0.2.1").starts_with("-s failed"));
    // Repeated -B.
    assert_eq!(err("-B 01 -B 02 192.0.2.1"), "repeated option -B");
    // Combined ICMP options on IPv6.
    let p = ok("-C 0x1234 -p abcd -c 3 -i 0.5 2001:db8::1");
    assert_eq!(
        (p.icmp_sum, p.attempts, p.probe_size),
        (Some(0x1234), 3, 104)
    );
    assert!(err("-R -C 1 2001:db8::1").starts_with("-R failed"));
    // -i / -W with and without s, fractions, bounds.
    assert_eq!(ok("-i 1s -W 2s 192.0.2.1").wait_timeout, ms(2000));
    assert_eq!(ok("-i 0.1 -W 0.2 192.0.2.1").wait_probe, ms(100));
    assert!(err("-i 21 192.0.2.1").starts_with("-i failed"));
    assert!(err("-i 21s 192.0.2.1").starts_with("-i failed"));
    // Wait-timeout inherits -i.
    assert_eq!(ok("-i 5 192.0.2.1").wait_timeout, ms(5000));
    // tbt / sockrx / dl / raw / spoof / mss combinations.
    assert!(ok("-O tbt -M 1280 -b 1400 2001:db8::1").options.tbt);
    assert!(ok("-O dl -O raw -P tcp-ack 192.0.2.1").options.raw);
    assert!(ok("-O spoof -O dl -S 192.0.2.7 192.0.2.1").options.spoof);
    assert!(
        ok("-O mss=1400 -O raw -P tcp-syn 192.0.2.1")
            .options
            .mss
            .is_some()
    );
    // -C rules.
    assert!(err("-C 1 -P tcp-syn 192.0.2.1").starts_with("-C failed"));
    assert!(err("-C 1 -b 0 192.0.2.1").starts_with("-C failed"));
    // -b 0 sizes.
    assert_eq!(ok("-b 0 192.0.2.1").probe_size, 28);
    assert_eq!(ok("-b 0 2001:db8::1").probe_size, 48);
    // UDP with -B.
    let p = ok("-P udp -B 00010203 192.0.2.1");
    assert_eq!((p.payload_size, p.probe_size), (4, 32));
    // -R size.
    assert_eq!(ok("-R 192.0.2.1").probe_size, 124);
    // `1.` and over-precise fractions.
    assert!(err("-i 1. 192.0.2.1").starts_with("-i failed"));
    assert!(err("-W 1. 192.0.2.1").starts_with("-W failed"));
    assert!(err("-i 1.5000000 192.0.2.1").starts_with("-i failed"));
    assert!(err("-W 0.0000001 192.0.2.1").starts_with("-W failed"));
}

#[test]
fn canonical_form() {
    let p = ok("-P UDP-SPORT -c 010 -F 1000 -z 0x10 -O dl -i 0.25 -T tsonly 192.0.2.1");
    assert_eq!(
        p.to_command_string(),
        "ping -c 8 -F 1000 -i 0.25 -O dl -P udp-sport -T tsonly -z 16 192.0.2.1"
    );
    assert_eq!(Command::Ping(p.clone()).to_string(), p.to_command_string());
}

#[test]
fn do_not_probe_hook() {
    let blocked = |a: IpAddr| a == "192.0.2.66".parse::<IpAddr>().unwrap();
    let e = Command::parse_checked("ping 192.0.2.66", &ctx(), &blocked).unwrap_err();
    assert_eq!(e, CommandError::DoNotProbe);
    assert_eq!(e.to_string(), "destination in do-not-probe list");
    assert!(Command::parse_checked("ping 192.0.2.1", &ctx(), &blocked).is_ok());
    assert!(Command::parse_checked("ping 192.0.2.66", &ctx(), &vantage_command::AllowAll).is_ok());
}
