//! `dealias`: probe definitions, each method's target/definition shapes, options and defaults,
//! and the cases of the reference's `unit_cmd_dealias` table as described in `commands.md`
//! §14.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::Duration;

use vantage_command::{
    Command, CommandError, Context, DealiasMethod, DealiasSpec, ProbeMethod, Setting,
};

fn ctx() -> Context {
    Context::new(0x0001_1234)
}

fn dealias(opts: &str) -> Result<DealiasSpec, CommandError> {
    match Command::parse(&format!("dealias {opts}"), &ctx())? {
        Command::Dealias(d) => Ok(d),
        other => panic!("not a dealias: {other:?}"),
    }
}

fn ok(opts: &str) -> DealiasSpec {
    let spec = dealias(opts).unwrap_or_else(|e| panic!("{opts:?} rejected: {e}"));
    let text = spec.to_command_string();
    match Command::parse(&text, &ctx()) {
        Ok(Command::Dealias(again)) => assert_eq!(again, spec, "{opts:?} -> {text:?}"),
        other => panic!("{opts:?} -> {text:?} -> {other:?}"),
    }
    spec
}

fn err(opts: &str) -> String {
    match dealias(opts) {
        Ok(spec) => panic!("{opts:?} accepted: {spec:?}"),
        Err(e) => e.to_string(),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn mercator_defaults_and_def() {
    let DealiasMethod::Mercator(m) = ok("192.0.2.1").method else {
        panic!()
    };
    assert_eq!(m.attempts, 3);
    assert_eq!(m.wait_timeout, ms(5000));
    assert_eq!(m.def.dst, ip("192.0.2.1"));
    assert_eq!(m.def.method, ProbeMethod::Udp);
    assert_eq!(m.def.ttl, 255);
    assert_eq!(m.def.dport, 33435);
    assert_eq!(m.def.sport, Setting::Default(0x9234));
    assert_eq!(m.def.size, 30);
    assert_eq!(ok("192.0.2.1").to_command_string(), "dealias 192.0.2.1");
    let DealiasMethod::Mercator(m) =
        ok("-m mercator -q 2 -w 3 -p '-t 30 -d 1000' 192.0.2.1").method
    else {
        panic!()
    };
    assert_eq!(
        (m.attempts, m.wait_timeout, m.def.ttl, m.def.dport),
        (2, ms(3000), 30, 1000)
    );
    assert_eq!(ok("-p '-P udp' 2001:db8::1").user_id, 0);
    assert!(err("-q 4 192.0.2.1").starts_with("-q failed"));
    assert!(err("-p '-P icmp-echo' 192.0.2.1").starts_with("-p failed"));
    assert!(err("-p '-i 192.0.2.1' 192.0.2.1").starts_with("-p failed"));
    assert!(err("-p '' -p '' 192.0.2.1").starts_with("-p failed"));
    assert_eq!(err(""), "expected address to dealias");
    assert!(err("192.0.2.1 192.0.2.2").contains("exactly one"));
    assert_eq!(err("bogus"), "invalid destination address");
    assert_eq!(err("-W 5 192.0.2.1"), "-W failed: not used by mercator");
    assert_eq!(err("-O inseq 192.0.2.1"), "-O failed: not used by mercator");
}

#[test]
fn probedef_options() {
    let def = |p: &str| match dealias(&format!("-p '{p}' 192.0.2.1")) {
        Ok(d) => match d.method {
            DealiasMethod::Mercator(m) => Ok(m.def),
            _ => panic!(),
        },
        Err(e) => Err(e.to_string()),
    };
    let d = def("-d 53 -F 4000 -M 1280 -s 100 -t 5").unwrap();
    assert_eq!(
        (d.dport, d.sport, d.mtu, d.size, d.ttl),
        (53, Setting::Given(4000), Some(1280), 100, 5)
    );
    assert!(def("-d 0").is_err());
    assert!(def("-d 65536").is_err());
    assert!(def("-F 0").is_err());
    assert!(
        def("-M 99")
            .unwrap_err()
            .contains("mtu must be within 100 - 65535")
    );
    assert!(def("-s 27").is_err());
    assert!(def("-s 29").unwrap_err().contains("at least 30"));
    assert!(def("-t 0").is_err());
    assert!(def("-t 256").is_err());
    assert!(def("-c 5").unwrap_err().contains("only to icmp-echo"));
    assert!(def("-P bogus").is_err());
    assert_eq!(
        def("-d 1 -d 2").unwrap_err(),
        "-p failed: repeated probedef option -d"
    );
    assert!(def("-t 5 192.0.2.1").unwrap_err().contains("unexpected"));
    assert!(def("-x").unwrap_err().contains("unknown option -x"));
    assert!(def("-i bogus").is_err());
}

#[test]
fn sizes_per_method_and_family() {
    let radar = |p: &str, dst: &str| match dealias(&format!("-m radargun -p '{p}' {dst} {dst}")) {
        Ok(d) => match d.method {
            DealiasMethod::Radargun(r) => Ok(r.defs[0].size),
            _ => panic!(),
        },
        Err(e) => Err(e.to_string()),
    };
    assert_eq!(radar("-P udp", "192.0.2.1"), Ok(30));
    assert_eq!(radar("-P icmp-echo", "192.0.2.1"), Ok(30));
    assert_eq!(radar("-P tcp-ack", "192.0.2.1"), Ok(40));
    assert_eq!(radar("-P tcp-syn-sport", "2001:db8::1"), Ok(60));
    assert_eq!(radar("-P udp", "2001:db8::1"), Ok(50));
    // Too small for the method.
    assert!(radar("-P tcp-ack -s 39", "192.0.2.1").is_err());
    assert!(radar("-P icmp-echo -s 29", "192.0.2.1").is_err());
    assert!(radar("-P udp -s 49", "2001:db8::1").is_err());
    assert!(radar("-P tcp-ack-sport -s 59", "2001:db8::1").is_err());
    assert_eq!(
        radar("-P udp -s 28", "192.0.2.1").map(|_| ()).unwrap_err(),
        "-p failed: probedef size must be at least 30 for udp over IPv4"
    );
}

#[test]
fn ally_shapes() {
    // Two addresses, default def applied to both.
    let DealiasMethod::Ally(a) = ok("-m ally 192.0.2.1 192.0.2.2").method else {
        panic!()
    };
    assert_eq!(
        (a.defs[0].dst, a.defs[1].dst),
        (ip("192.0.2.1"), ip("192.0.2.2"))
    );
    assert_eq!(
        (a.attempts, a.wait_probe, a.wait_timeout, a.fudge),
        (5, ms(150), ms(5000), 200)
    );
    assert!(!a.inseq && !a.nobs);
    // One TTL-limited UDP def + two addresses.
    let DealiasMethod::Ally(a) = ok("-m ally -p '-P udp -t 3' 192.0.2.1 192.0.2.2").method else {
        panic!()
    };
    assert_eq!((a.defs[0].ttl, a.defs[1].ttl), (3, 3));
    // Two defs with -i and no addresses.
    let DealiasMethod::Ally(a) =
        ok("-m ally -p '-P icmp-echo -i 192.0.2.1' -p '-P tcp-ack -i 192.0.2.2 -d 80'").method
    else {
        panic!()
    };
    assert_eq!(a.defs[1].dport, 80);
    assert_eq!(a.defs[0].sport, Setting::Default(0x9234));
    // Two defs and two addresses: one each.
    let DealiasMethod::Ally(a) = ok("-m ally -p '-t 3' -p '-t 4' 192.0.2.1 192.0.2.2").method
    else {
        panic!()
    };
    assert_eq!((a.defs[0].ttl, a.defs[1].dst), (3, ip("192.0.2.2")));
    // Inconsistent shapes.
    assert!(err("-m ally 192.0.2.1").contains("ally needs"));
    assert!(err("-m ally 192.0.2.1 192.0.2.2 192.0.2.3").contains("ally needs"));
    assert!(err("-m ally -p '-i 192.0.2.1' -p '-P udp'").starts_with("-p failed"));
    assert!(err("-m ally -p '-i 192.0.2.1' 192.0.2.1 192.0.2.2").starts_with("-p failed"));
    assert!(err("-m ally -p '-i 192.0.2.1'").contains("ally needs"));
    assert!(err("-m ally 192.0.2.1 2001:db8::1").contains("IPv4 or all IPv6"));
    // ICMP defs with ports are invalid.
    assert!(err("-m ally -p '-P icmp-echo -d 80' 192.0.2.1 192.0.2.2").starts_with("-p failed"));
    assert!(err("-m ally -p '-P icmp-echo -F 80' 192.0.2.1 192.0.2.2").starts_with("-p failed"));
    assert!(ok("-m ally -p '-P icmp-echo -c 1234' 192.0.2.1 192.0.2.2").user_id == 0);
}

#[test]
fn ally_options() {
    let ally = |o: &str| match dealias(&format!("-m ally {o} 192.0.2.1 192.0.2.2")) {
        Ok(d) => match d.method {
            DealiasMethod::Ally(a) => Ok(a),
            _ => panic!(),
        },
        Err(e) => Err(e.to_string()),
    };
    let a = ally("-O inseq").unwrap();
    assert!(a.inseq);
    assert_eq!(a.fudge, 0);
    assert_eq!(ally("-f 10").unwrap().fudge, 10);
    assert_eq!(ally("-f 65535").unwrap().fudge, 65535);
    assert!(ally("-f 0").unwrap_err().starts_with("-f failed"));
    assert_eq!(
        ally("-O inseq -f 10").unwrap_err(),
        "-f failed: cannot be used with -O inseq"
    );
    assert!(ally("-O nobs").unwrap().nobs);
    assert!(ally("-O shuffle").unwrap_err().starts_with("-O failed"));
    assert!(ally("-O bogus").unwrap_err().starts_with("-O failed"));
    assert_eq!(ally("-q 500").unwrap().attempts, 500);
    assert!(ally("-q 501").unwrap_err().starts_with("-q failed"));
    assert!(ally("-q 0").unwrap_err().starts_with("-q failed"));
    assert_eq!(ally("-w 255").unwrap().wait_timeout, ms(255_000));
    assert!(ally("-w 256").unwrap_err().starts_with("-w failed"));
    assert!(ally("-w 1.5").unwrap_err().starts_with("-w failed"));
    assert!(
        ally("-r 5")
            .unwrap_err()
            .starts_with("-r failed: not used by ally")
    );
    assert!(ally("-o 5").unwrap_err().starts_with("-o failed"));
    assert!(ally("-x 192.0.2.9").unwrap_err().starts_with("-x failed"));
    assert!(ally("-S 0:0:1").unwrap_err().starts_with("-S failed"));
    assert!(ally("-@ 1").unwrap_err().starts_with("-@ failed"));
    // -W: milliseconds by default, 1 ms granularity, with s and ms suffixes.
    assert_eq!(ally("-W 250").unwrap().wait_probe, ms(250));
    assert_eq!(ally("-W 1s").unwrap().wait_probe, ms(1000));
    assert_eq!(ally("-W 1.5s").unwrap().wait_probe, ms(1500));
    assert_eq!(ally("-W 20ms").unwrap().wait_probe, ms(20));
    assert_eq!(ally("-W 65535").unwrap().wait_probe, ms(65535));
    assert!(ally("-W 65536").unwrap_err().starts_with("-W failed"));
    assert!(ally("-W 0").unwrap_err().starts_with("-W failed"));
    assert!(ally("-W 1.5").unwrap_err().starts_with("-W failed"));
    assert!(ally("-W 1500us").unwrap_err().starts_with("-W failed"));
    // Last value wins: dealias does not check repeats.
    assert_eq!(ally("-W 10 -W 20").unwrap().wait_probe, ms(20));
    // IPv6 forces nobs.
    let DealiasMethod::Ally(a) = ok("-m ally 2001:db8::1 2001:db8::2").method else {
        panic!()
    };
    assert!(a.nobs);
}

#[test]
fn speedtrap_style_ally() {
    let DealiasMethod::Ally(a) = ok("-m ally -W 1000 -q 30 -p '-P icmp-echo -s 1300 -M 1280' \
                                     2001:db8::1 2001:db8::2")
    .method
    else {
        panic!()
    };
    assert_eq!(
        (a.defs[0].mtu, a.defs[0].size, a.attempts),
        (Some(1280), 1300, 30)
    );
    assert!(a.nobs);
}

#[test]
fn radargun_shapes() {
    let r = |o: &str| match dealias(&format!("-m radargun {o}")) {
        Ok(d) => match d.method {
            DealiasMethod::Radargun(r) => Ok(r),
            _ => panic!(),
        },
        Err(e) => Err(e.to_string()),
    };
    // One def x three addresses.
    let g = r("-p '-P icmp-echo' 192.0.2.1 192.0.2.2 192.0.2.3").unwrap();
    assert_eq!(g.defs.len(), 3);
    assert_eq!(
        (g.rounds, g.wait_probe, g.wait_timeout),
        (30, ms(150), ms(5000))
    );
    assert_eq!(g.wait_round, ms(450));
    // Two defs x three addresses, definition-major.
    let g = r("-p '-P udp' -p '-P icmp-echo' 192.0.2.1 192.0.2.2 192.0.2.3").unwrap();
    assert_eq!(g.defs.len(), 6);
    assert_eq!(
        (g.defs[2].dst, g.defs[3].method),
        (ip("192.0.2.3"), ProbeMethod::IcmpEcho)
    );
    assert_eq!(g.wait_round, ms(900));
    // Three defs with -i.
    let g = r("-p '-i 192.0.2.1' -p '-i 192.0.2.2' -p '-i 192.0.2.3 -P tcp-ack'").unwrap();
    assert_eq!(g.defs.len(), 3);
    // Two defs with one address.
    assert_eq!(r("-p '-t 1' -p '-t 2' 192.0.2.1").unwrap().defs.len(), 2);
    // No def, two addresses.
    assert_eq!(r("192.0.2.1 192.0.2.2").unwrap().defs.len(), 2);
    // IPv6.
    assert_eq!(
        r("-p '-P icmp-echo' 2001:db8::1 2001:db8::2").unwrap().defs[0].size,
        50
    );
    // Bad shapes.
    assert!(r("192.0.2.1").unwrap_err().contains("radargun needs"));
    assert!(
        r("-p '-i 192.0.2.1'")
            .unwrap_err()
            .contains("radargun needs")
    );
    assert!(
        r("-p '-i 192.0.2.1' -p '-t 3'")
            .unwrap_err()
            .starts_with("-p failed")
    );
    assert!(
        r("-p '-i 192.0.2.1' -p '-i 192.0.2.2' 192.0.2.3")
            .unwrap_err()
            .starts_with("-p failed")
    );
    assert!(
        r("-p '-i 192.0.2.1' -p '-i 2001:db8::1'")
            .unwrap_err()
            .contains("IPv4 or all IPv6")
    );
    assert!(
        r("-p '-P bogus' 192.0.2.1 192.0.2.2")
            .unwrap_err()
            .starts_with("-p failed")
    );
    // Options.
    let g = r("-q 10 -W 50 -r 2s -w 2 -O shuffle 192.0.2.1 192.0.2.2").unwrap();
    assert_eq!(
        (g.rounds, g.wait_probe, g.wait_round, g.wait_timeout),
        (10, ms(50), ms(2000), ms(2000))
    );
    assert!(g.shuffle);
    assert_eq!(
        r("-r 180s 192.0.2.1 192.0.2.2").unwrap().wait_round,
        ms(180_000)
    );
    assert!(
        r("-r 181s 192.0.2.1 192.0.2.2")
            .unwrap_err()
            .starts_with("-r failed")
    );
    assert!(
        r("-r 0 192.0.2.1 192.0.2.2")
            .unwrap_err()
            .starts_with("-r failed")
    );
    assert!(
        r("-O nobs 192.0.2.1 192.0.2.2")
            .unwrap_err()
            .starts_with("-O failed")
    );
    assert!(
        r("-f 3 192.0.2.1 192.0.2.2")
            .unwrap_err()
            .starts_with("-f failed")
    );
}

#[test]
fn lightweight_fingerprint_radargun() {
    let DealiasMethod::Radargun(g) = ok(
        "-m radargun -q 1 -W 100 -p '-P udp -t 1' -p '-P icmp-echo' \
                                         -p '-P tcp-ack -d 80' 192.0.2.1",
    )
    .method
    else {
        panic!()
    };
    assert_eq!(g.defs.len(), 3);
    assert_eq!((g.rounds, g.wait_round), (1, ms(300)));
}

#[test]
fn prefixscan() {
    let p = |o: &str| match dealias(&format!("-m prefixscan {o}")) {
        Ok(d) => match d.method {
            DealiasMethod::Prefixscan(p) => Ok(p),
            _ => panic!(),
        },
        Err(e) => Err(e.to_string()),
    };
    let s = p("-p '-P icmp-echo' 192.0.2.1 198.51.100.0/30").unwrap();
    assert_eq!(
        (s.a, s.b, s.prefix_len),
        (ip("192.0.2.1"), ip("198.51.100.0"), 30)
    );
    assert_eq!(
        (s.attempts, s.replyc, s.wait_probe, s.wait_timeout, s.fudge),
        (2, 5, ms(1000), ms(5000), 200)
    );
    let s = p("-p '-P icmp-echo' -x 198.51.100.2 -x 198.51.100.3 -o 3 -O inseq -O nobs -q 4 -W 200 -w 2 192.0.2.1 198.51.100.0/24")
        .unwrap();
    assert_eq!(
        (s.exclude.len(), s.replyc, s.fudge, s.attempts),
        (2, 3, 0, 4)
    );
    assert!(s.inseq && s.nobs);
    assert_eq!(p("-f 5 -p '' 192.0.2.1 198.51.100.0/31").unwrap().fudge, 5);
    assert!(p("-p '' 2001:db8::1 2001:db8:1::/120").is_ok());
    // Without a def, with -i, with two defs.
    assert!(
        p("192.0.2.1 198.51.100.0/30")
            .unwrap_err()
            .starts_with("-p failed")
    );
    assert!(
        p("-p '-i 192.0.2.1' 192.0.2.1 198.51.100.0/30")
            .unwrap_err()
            .starts_with("-p failed")
    );
    assert!(
        p("-p '' -p '' 192.0.2.1 198.51.100.0/30")
            .unwrap_err()
            .starts_with("-p failed")
    );
    // Bad targets.
    assert!(
        p("-p '' 192.0.2.1 198.51.100.0/23")
            .unwrap_err()
            .contains("24 - 31")
    );
    assert!(p("-p '' 192.0.2.1 198.51.100.0/32").is_err());
    assert!(p("-p '' 192.0.2.1 198.51.100.0").is_err());
    assert!(p("-p '' 192.0.2.1").is_err());
    assert!(p("-p '' 192.0.2.1 2001:db8::/120").is_err());
    assert!(
        p("-p '' -x 2001:db8::1 192.0.2.1 198.51.100.0/30")
            .unwrap_err()
            .starts_with("-x failed")
    );
    assert!(
        p("-p '' -o 2 192.0.2.1 198.51.100.0/30")
            .unwrap_err()
            .starts_with("-o failed")
    );
    assert!(
        p("-p '' -o 256 192.0.2.1 198.51.100.0/30")
            .unwrap_err()
            .starts_with("-o failed")
    );
    assert!(
        p("-p '' -O shuffle 192.0.2.1 198.51.100.0/30")
            .unwrap_err()
            .starts_with("-O failed")
    );
    // The do-not-probe view covers the whole prefix except exclusions.
    let d = ok("-m prefixscan -p '' -x 198.51.100.1 192.0.2.1 198.51.100.0/30");
    assert_eq!(
        d.probed_addresses(),
        vec![
            ip("192.0.2.1"),
            ip("198.51.100.0"),
            ip("198.51.100.2"),
            ip("198.51.100.3")
        ]
    );
}

#[test]
fn bump() {
    let b = |o: &str| match dealias(&format!("-m bump {o}")) {
        Ok(d) => match d.method {
            DealiasMethod::Bump(b) => Ok(b),
            _ => panic!(),
        },
        Err(e) => Err(e.to_string()),
    };
    let x = b("-p '-i 192.0.2.1 -P icmp-echo' -p '-i 192.0.2.2 -P icmp-echo'").unwrap();
    assert_eq!((x.attempts, x.bump_limit, x.wait_probe), (3, 30, ms(1000)));
    let x = b("-f 50 -q 2 -W 500 -p '-i 192.0.2.1' -p '-i 192.0.2.2'").unwrap();
    assert_eq!((x.attempts, x.bump_limit, x.wait_probe), (2, 50, ms(500)));
    assert!(b("-p '-i 192.0.2.1'").unwrap_err().contains("exactly two"));
    assert!(
        b("-p '-i 192.0.2.1' -p '-i 192.0.2.2' -p '-i 192.0.2.3'")
            .unwrap_err()
            .contains("exactly two")
    );
    assert!(
        b("-p '-i 192.0.2.1' -p '-P udp'")
            .unwrap_err()
            .contains("IPv4 -i")
    );
    assert!(
        b("-p '-i 2001:db8::1' -p '-i 2001:db8::2'")
            .unwrap_err()
            .contains("IPv4 -i")
    );
    assert!(
        b("-p '-i 192.0.2.1' -p '-i 192.0.2.2' 192.0.2.3")
            .unwrap_err()
            .contains("no addresses")
    );
    assert_eq!(
        b("-w 2 -p '-i 192.0.2.1' -p '-i 192.0.2.2'").unwrap_err(),
        "-w failed: not used by bump"
    );
}

#[test]
fn midarest_waits() {
    let m = |o: &str| match dealias(&format!("-m midarest {o}")) {
        Ok(d) => match d.method {
            DealiasMethod::Midarest(m) => Ok(m),
            _ => panic!(),
        },
        Err(e) => Err(e.to_string()),
    };
    let two = "-p '-P icmp-echo' -p '-P tcp-ack'";
    // Defaults: 10 s rounds split across every probe of a round.
    let x = m(&format!("{two} 192.0.2.1")).unwrap();
    assert_eq!(
        (x.rounds, x.wait_timeout, x.wait_round, x.wait_probe),
        (30, ms(1000), ms(10_000), ms(5000))
    );
    assert_eq!(x.defs[0].ttl, 64);
    let x = m(&format!("{two} 192.0.2.1 192.0.2.2")).unwrap();
    assert_eq!((x.probes_per_round(), x.wait_probe), (4, ms(2500)));
    // -r alone: probes spread across it.
    assert_eq!(
        m(&format!("-r 1000 {two} 192.0.2.1")).unwrap().wait_probe,
        ms(500)
    );
    // -W alone: the round is W x probes.
    let x = m(&format!("-W 100 {two} 192.0.2.1 192.0.2.2")).unwrap();
    assert_eq!((x.wait_round, x.wait_probe), (ms(400), ms(100)));
    // Both: W x probes must fit in r.
    let x = m(&format!("-W 100 -r 400 {two} 192.0.2.1 192.0.2.2")).unwrap();
    assert_eq!((x.wait_round, x.wait_probe), (ms(400), ms(100)));
    assert!(
        m(&format!("-W 101 -r 400 {two} 192.0.2.1 192.0.2.2"))
            .unwrap_err()
            .starts_with("-W failed")
    );
    // A long -W whose round exceeds what -r may express still round-trips.
    let x = m(&format!("-W 65s {two} -p '' 192.0.2.1")).unwrap();
    assert_eq!(x.wait_round, ms(195_000));
    ok(&format!("-m midarest -W 65s {two} -p '' 192.0.2.1"));
    ok(&format!("-m midarest -r 7 {two} -p '' 192.0.2.1"));
    ok(&format!("-m midarest -r 7 -W 1 {two} -p '' 192.0.2.1"));
    // Shapes.
    assert!(m("-p '' 192.0.2.1").unwrap_err().contains("two or more"));
    assert!(m(two).unwrap_err().starts_with("expected"));
    assert!(
        m(&format!("{two} 2001:db8::1"))
            .unwrap_err()
            .contains("IPv4")
    );
    assert!(
        m("-p '-i 192.0.2.1' -p '' 192.0.2.2")
            .unwrap_err()
            .starts_with("-p failed")
    );
    assert!(
        m(&format!("-O shuffle -q 5 -w 3 {two} 192.0.2.1"))
            .unwrap()
            .shuffle
    );
}

#[test]
fn midardisc_schedules() {
    let d = |o: &str| match dealias(&format!(
        "-m midardisc -p '-i 192.0.2.1' -p '-i 192.0.2.2' -p '-i 192.0.2.3' {o}"
    )) {
        Ok(d) => match d.method {
            DealiasMethod::Midardisc(m) => Ok(m),
            _ => panic!(),
        },
        Err(e) => Err(e.to_string()),
    };
    let x = d("-S 0:0:1 -S 10:1:3 -S 20.5:2:3 -@ 1700000000.25").unwrap();
    assert_eq!(x.schedule.len(), 3);
    assert_eq!(x.schedule[2].offset, ms(20_500));
    assert_eq!(x.start_at, Some(Duration::from_millis(1_700_000_000_250)));
    assert_eq!((x.wait_timeout, x.defs[0].ttl), (ms(1000), 64));
    assert!(d("-S 0:0:1 -S 10:1:3 -w 3").is_ok());
    // Equal start times, decreasing begin or end, out-of-range indexes, too few rounds.
    assert!(d("-S 0:0:1 -S 0:1:2").unwrap_err().starts_with("-S failed"));
    assert!(d("-S 0:1:2 -S 5:0:2").unwrap_err().starts_with("-S failed"));
    assert!(d("-S 0:1:2 -S 5:1:1").unwrap_err().starts_with("-S failed"));
    assert!(d("-S 0:3:3 -S 5:3:3").unwrap_err().starts_with("-S failed"));
    assert!(d("-S 0:2:1 -S 5:2:3").unwrap_err().starts_with("-S failed"));
    assert!(d("-S 0:0:4 -S 5:1:4").unwrap_err().starts_with("-S failed"));
    assert!(d("-S 0:0:1").unwrap_err().starts_with("-S failed"));
    assert!(d("").unwrap_err().starts_with("-S failed"));
    assert!(d("-S 0:0 -S 1:0:1").unwrap_err().starts_with("-S failed"));
    assert!(d("-S x:0:1 -S 1:0:1").unwrap_err().starts_with("-S failed"));
    assert!(
        d("-S 0:0:1 -S 1:0:1 192.0.2.9")
            .unwrap_err()
            .contains("no addresses")
    );
    assert!(
        d("-S 0:0:1 -S 1:0:1 -q 3")
            .unwrap_err()
            .starts_with("-q failed")
    );
    assert!(
        d("-@ -1 -S 0:0:1 -S 1:0:1")
            .unwrap_err()
            .starts_with("-@ failed")
    );
    assert!(err("-m midardisc -p '-i 192.0.2.1' -p '' -S 0:0:1 -S 1:0:1").starts_with("-p failed"));
    ok("-m midardisc -p '-i 192.0.2.1' -p '-i 192.0.2.2' -S 0:0:1 -S 1.5:1:2 -@ 12.5");
}

#[test]
fn syntax_and_misc() {
    assert_eq!(
        err("-m bogus 192.0.2.1"),
        "-m failed: method must be mercator, ally, radargun, prefixscan, bump, midarest or midardisc"
    );
    assert_eq!(err("-Z 192.0.2.1"), "could not parse dealias command");
    assert_eq!(
        err("-p 'unterminated 192.0.2.1"),
        "could not parse dealias command"
    );
    assert_eq!(ok("-U 5 192.0.2.1").user_id, 5);
    assert!(err("-U -1 192.0.2.1").starts_with("-U failed"));
    assert_eq!(ok("-m ALLY 192.0.2.1 192.0.2.2").method.name(), "ally");
}
