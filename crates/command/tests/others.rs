//! `host`, `http`, `udpprobe` and `sniff`: every option valid and invalid, and the cases of
//! the reference's unit tables as described in `commands.md` §14.

#![allow(clippy::unwrap_used)]

use std::net::IpAddr;
use std::time::Duration;

use vantage_command::{
    ClientSubnet, Command, CommandError, CommandKind, Context, HostSpec, HttpSpec, QueryClass,
    QueryType, Setting, SniffSpec, UdpprobeSpec,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn ctx() -> Context {
    Context::new(0x0001_1234).with_nameserver(Some(ip("192.0.2.53")))
}

/// Parses `<word> <opts>`, checks the canonical round trip, returns the command.
fn parse(word: &str, opts: &str) -> Result<Command, String> {
    let cmd = Command::parse(&format!("{word} {opts}"), &ctx()).map_err(|e| e.to_string())?;
    let text = cmd.to_command_string();
    assert_eq!(
        Command::parse(&text, &ctx()).as_ref(),
        Ok(&cmd),
        "{word} {opts} -> {text}"
    );
    Ok(cmd)
}

fn host(opts: &str) -> Result<HostSpec, String> {
    parse("host", opts).map(|c| match c {
        Command::Host(h) => h,
        _ => panic!(),
    })
}

fn http(opts: &str) -> Result<HttpSpec, String> {
    parse("http", opts).map(|c| match c {
        Command::Http(h) => h,
        _ => panic!(),
    })
}

fn udpprobe(opts: &str) -> Result<UdpprobeSpec, String> {
    parse("udpprobe", opts).map(|c| match c {
        Command::Udpprobe(u) => u,
        _ => panic!(),
    })
}

fn sniff(opts: &str) -> Result<SniffSpec, String> {
    parse("sniff", opts).map(|c| match c {
        Command::Sniff(s) => s,
        _ => panic!(),
    })
}

#[test]
fn host_defaults_and_types() {
    let h = host("www.example.com").unwrap();
    assert_eq!(h.qname, "www.example.com");
    assert_eq!(h.qtype, QueryType::A);
    assert_eq!(h.qclass, QueryClass::In);
    assert!(!h.no_recurse && !h.tcp && !h.nsid);
    assert_eq!((h.retries, h.user_id, h.wait), (0, 0, ms(5000)));
    assert_eq!(h.server, Setting::Default(ip("192.0.2.53")));
    assert_eq!(h.subnet, None);
    assert_eq!(h.to_command_string(), "host www.example.com");
    for t in QueryType::ALL {
        if t == QueryType::Ptr {
            continue;
        }
        assert_eq!(
            host(&format!("-t {} example.com", t.as_str().to_lowercase()))
                .unwrap()
                .qtype,
            t
        );
    }
    assert_eq!(QueryType::Https.code(), 65);
    assert!(
        host("-t IXFR example.com")
            .unwrap_err()
            .starts_with("-t failed")
    );
    assert_eq!(
        host("-t A -t A example.com").unwrap_err(),
        "repeated option -t"
    );
}

#[test]
fn host_ptr_and_names() {
    let h = host("192.0.2.1").unwrap();
    assert_eq!((h.qtype, h.qname.as_str()), (QueryType::Ptr, "192.0.2.1"));
    assert_eq!(host("-t ptr 2001:db8::1").unwrap().qtype, QueryType::Ptr);
    assert_eq!(host("-t TXT 192.0.2.1").unwrap().qtype, QueryType::Txt);
    for t in ["A", "AAAA", "MX", "NS", "SOA", "SVCB", "HTTPS"] {
        assert!(
            host(&format!("-t {t} 192.0.2.1"))
                .unwrap_err()
                .starts_with("-t failed"),
            "{t}"
        );
    }
    assert_eq!(
        host("-t PTR example.com").unwrap_err(),
        "-t failed: PTR needs an IP address to look up"
    );
    assert!(host("-t PTR 1.2.0.192.in-addr.arpa").is_err());
    // One trailing dot is stripped; `..` is malformed.
    assert_eq!(host("example.com.").unwrap().qname, "example.com");
    assert!(host("example..com").unwrap_err().contains("invalid name"));
    assert!(host("example.com..").unwrap_err().contains("invalid name"));
    assert!(host(".example.com").is_err());
    assert_eq!(host("-t NS .").unwrap().qname, ".");
    assert_eq!(host("").unwrap_err(), "expected name to look up");
    assert!(host("a b").unwrap_err().contains("invalid name"));
}

#[test]
fn host_options() {
    assert_eq!(
        host("-c CH version.bind").unwrap().qclass,
        QueryClass::Chaos
    );
    assert_eq!(
        host("-c chaos -t TXT version.bind").unwrap().qclass,
        QueryClass::Chaos
    );
    assert_eq!(host("-c in example.com").unwrap().qclass, QueryClass::In);
    assert!(
        host("-c HS example.com")
            .unwrap_err()
            .starts_with("-c failed")
    );
    assert!(host("-r example.com").unwrap().no_recurse);
    assert_eq!(host("-R 3 example.com").unwrap().retries, 3);
    assert!(
        host("-R 4 example.com")
            .unwrap_err()
            .starts_with("-R failed")
    );
    assert_eq!(
        host("-s 198.51.100.53 example.com").unwrap().server,
        Setting::Given(ip("198.51.100.53"))
    );
    assert_eq!(
        host("-s 2001:db8::53 example.com").unwrap().server.get(),
        ip("2001:db8::53")
    );
    assert_eq!(
        host("-s ns.example example.com").unwrap_err(),
        "-s failed: server must be an IP address"
    );
    assert!(host("-T example.com").unwrap().tcp);
    assert_eq!(
        host("-T -R 1 example.com").unwrap_err(),
        "-R failed: retries cannot be used with -T"
    );
    assert_eq!(host("-T -R 0 example.com").unwrap().retries, 0);
    assert_eq!(host("-U 7 example.com").unwrap().user_id, 7);
    assert!(host("-O nsid example.com").unwrap().nsid);
    let h = host("-O subnet=192.0.2.0/24 -O nsid example.com").unwrap();
    assert_eq!(
        h.subnet,
        Some(ClientSubnet {
            addr: ip("192.0.2.0"),
            len: 24
        })
    );
    assert_eq!(
        host("-O subnet=2001:db8::/48 example.com")
            .unwrap()
            .subnet
            .unwrap()
            .len,
        48
    );
    assert_eq!(
        host("-O subnet=192.0.2.7 example.com")
            .unwrap()
            .subnet
            .unwrap()
            .len,
        32
    );
    assert!(
        host("-O subnet=192.0.2.0/33 example.com")
            .unwrap_err()
            .starts_with("-O failed")
    );
    assert!(
        host("-O subnet=x example.com")
            .unwrap_err()
            .starts_with("-O failed")
    );
    assert!(
        host("-O ecs=192.0.2.0/24 example.com")
            .unwrap_err()
            .starts_with("-O failed")
    );
    // -W: seconds by default, 1 ms granularity, 1..5 s.
    assert_eq!(host("-W 2 example.com").unwrap().wait, ms(2000));
    assert_eq!(host("-W 1.5 example.com").unwrap().wait, ms(1500));
    assert_eq!(host("-W 2500ms example.com").unwrap().wait, ms(2500));
    assert_eq!(host("-W 1.001 example.com").unwrap().wait, ms(1001));
    assert!(
        host("-W 1.0001 example.com")
            .unwrap_err()
            .starts_with("-W failed")
    );
    assert!(
        host("-W 0.5 example.com")
            .unwrap_err()
            .starts_with("-W failed")
    );
    assert!(
        host("-W 6 example.com")
            .unwrap_err()
            .starts_with("-W failed")
    );
    assert!(
        host("-W 1. example.com")
            .unwrap_err()
            .starts_with("-W failed")
    );
}

#[test]
fn host_vantage_extensions() {
    // Query types scamper refuses but a DNS measurement needs.
    for (name, code) in [
        ("CNAME", 5),
        ("srv", 33),
        ("CAA", 257),
        ("DS", 43),
        ("DNSKEY", 48),
        ("ANY", 255),
    ] {
        let h = host(&format!("-t {name} example.com")).unwrap();
        assert_eq!(h.qtype.code(), code, "{name}");
    }
    assert_eq!(
        host("-t ANY 192.0.2.1").unwrap_err(),
        "-t failed: ANY needs a name, not an IP address"
    );
    assert!(
        host("-t AXFR example.com")
            .unwrap_err()
            .starts_with("-t failed")
    );
    // EDNS knobs.
    let h = host("-O do -O bufsize=1232 example.com").unwrap();
    assert!(h.dnssec_ok);
    assert_eq!(h.bufsize, Some(1232));
    assert_eq!(host("example.com").unwrap().bufsize, None);
    assert_eq!(
        host("-O bufsize=511 example.com").unwrap_err(),
        "-O failed: bufsize must be 512..65535, not '511'"
    );
    assert!(
        host("-O bufsize=65536 example.com")
            .unwrap_err()
            .starts_with("-O failed: bufsize")
    );
    assert_eq!(
        host("-O dnssec example.com").unwrap_err(),
        "-O failed: unknown option 'dnssec' (known: nsid, subnet=<prefix>, bufsize=<n>, do)"
    );
}

#[test]
fn host_nameserver_and_policy() {
    let bare = Context::new(1);
    assert_eq!(
        Command::parse("host example.com", &bare)
            .unwrap_err()
            .to_string(),
        "-s failed: no nameserver configured: give one with -s"
    );
    assert!(Command::parse("host -s 192.0.2.53 example.com", &bare).is_ok());
    // The configured nameserver is exempt from the do-not-probe list; an explicit one is not.
    let block_all = |_: IpAddr| true;
    assert!(Command::parse_checked("host example.com", &ctx(), &block_all).is_ok());
    assert_eq!(
        Command::parse_checked("host -s 192.0.2.53 example.com", &ctx(), &block_all),
        Err(CommandError::DoNotProbe)
    );
}

/// The cases `commands.md` §14 lists for the reference's host table.
#[test]
fn host_section_14_cases() {
    assert_eq!(host("example.com").unwrap().qtype, QueryType::A);
    assert_eq!(host("-t AAAA example.com").unwrap().qtype, QueryType::Aaaa);
    let h = host("-t NS -R 2 example.com").unwrap();
    assert_eq!((h.qtype, h.retries), (QueryType::Ns, 2));
    let h = host("-T -t TXT example.com").unwrap();
    assert!(h.tcp && h.qtype == QueryType::Txt);
    assert_eq!(host("-t SOA example.com").unwrap().qtype, QueryType::Soa);
    let h = host("-r -t AAAA example.com").unwrap();
    assert!(h.no_recurse && h.qtype == QueryType::Aaaa);
    assert!(host("-O nsid -s 192.0.2.53 example.com").unwrap().nsid);
    assert!(host("-O nsid -s 2001:db8::53 example.com").unwrap().nsid);
    assert!(host("a..b").is_err());
}

#[test]
fn http_urls() {
    let h = http("-u http://www.example.com 192.0.2.1").unwrap();
    assert!(!h.url.https);
    assert_eq!(
        (h.url.host.as_str(), h.url.port, h.url.path.as_str()),
        ("www.example.com", 80, "/")
    );
    assert_eq!(
        (h.dst, h.max_time, h.user_id),
        (ip("192.0.2.1"), ms(60_000), 0)
    );
    assert!(h.headers.is_empty() && !h.insecure && !h.grease && h.ech_config_list.is_none());
    assert_eq!(
        h.to_command_string(),
        "http -u http://www.example.com/ 192.0.2.1"
    );
    let h = http("-u HTTPS://example.com:8443/a/b?c=d 2001:db8::1").unwrap();
    assert!(h.url.https);
    assert_eq!((h.url.port, h.url.path.as_str()), (8443, "/a/b?c=d"));
    assert_eq!(
        http("-u https://example.com/x 192.0.2.1").unwrap().url.port,
        443
    );
    assert_eq!(
        http("-u https://example.com:443/x 192.0.2.1")
            .unwrap()
            .url
            .port,
        443
    );
    assert_eq!(
        http("-u 'http://example.com:81/p q' 192.0.2.1")
            .unwrap_err()
            .get(..9),
        Some("-u failed")
    );
    assert_eq!(
        http("-u \"http://example.com/\" 192.0.2.1")
            .unwrap()
            .url
            .path,
        "/"
    );
    for bad in [
        "ftp://example.com/",
        "http//example.com/",
        "http://",
        "http:///path",
        "http://exa_mple.com/",
        "http://example.com:/",
        "http://example.com:0/",
        "http://example.com:65536/",
        "http://example.com:8x/",
        "http://example.com\\path",
        "http://example.com/a\\b",
        "http://example.com?x",
        "http://user@example.com/",
    ] {
        assert!(
            http(&format!("-u {bad} 192.0.2.1"))
                .unwrap_err()
                .starts_with("-u failed"),
            "{bad}"
        );
    }
    assert_eq!(http("192.0.2.1").unwrap_err(), "http needs a URL (-u)");
    assert_eq!(
        http("-u http://a").unwrap_err(),
        "expected address to connect to"
    );
    assert_eq!(
        http("-u http://a example.com").unwrap_err(),
        "invalid destination address"
    );
    // https needs TLS on the prober.
    let no_tls = Context::new(1).with_tls(false);
    assert!(Command::parse("http -u https://a 192.0.2.1", &no_tls).is_err());
    assert!(Command::parse("http -u http://a 192.0.2.1", &no_tls).is_ok());
}

#[test]
fn http_headers_and_options() {
    let h = http("-H 'Accept: */*' -H 'X-A:b' -H 'X-B:   spaced value ' -u http://a 192.0.2.1")
        .unwrap();
    let pairs: Vec<(&str, &str)> = h
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [("Accept", "*/*"), ("X-A", "b"), ("X-B", "spaced value ")]
    );
    for bad in [
        "Host: example.com",
        "host:x",
        "NoColon",
        "Empty:",
        "Empty:   ",
        "Space : x",
        ": x",
        "X: \u{7f}",
    ] {
        assert!(
            http(&format!("-H '{bad}' -u http://a 192.0.2.1"))
                .unwrap_err()
                .starts_with("-H failed"),
            "{bad}"
        );
    }
    let many = (0..255).fold(String::new(), |s, i| s + &format!("-H 'X-{i}: v' "));
    assert_eq!(
        http(&format!("{many} -u http://a 192.0.2.1"))
            .unwrap()
            .headers
            .len(),
        255
    );
    assert!(
        http(&format!("{many} -H 'X: v' -u http://a 192.0.2.1"))
            .unwrap_err()
            .starts_with("-H failed")
    );
    assert!(http("-O insecure -u https://a 192.0.2.1").unwrap().insecure);
    assert!(http("-O grease -u https://a 192.0.2.1").unwrap().grease);
    let h = http("-O ecl=AAEC -u https://a 192.0.2.1").unwrap();
    assert_eq!(h.ech_config_list, Some(vec![0, 1, 2]));
    assert!(
        http("-O ecl=AAEC -u http://a 192.0.2.1")
            .unwrap_err()
            .starts_with("-O failed")
    );
    assert!(
        http("-O ecl=AAEC -O grease -u https://a 192.0.2.1")
            .unwrap_err()
            .starts_with("-O failed")
    );
    assert!(
        http("-O ecl=!! -u https://a 192.0.2.1")
            .unwrap_err()
            .starts_with("-O failed")
    );
    assert!(
        http("-O ecl= -u https://a 192.0.2.1")
            .unwrap_err()
            .starts_with("-O failed")
    );
    assert!(
        http("-O h3 -u https://a 192.0.2.1")
            .unwrap_err()
            .starts_with("-O failed")
    );
    // -m: seconds, fractions allowed, 1..60.
    assert_eq!(
        http("-m 1.5 -u http://a 192.0.2.1").unwrap().max_time,
        ms(1500)
    );
    assert_eq!(
        http("-m 10 -u http://a 192.0.2.1").unwrap().max_time,
        ms(10_000)
    );
    assert!(
        http("-m 0.5 -u http://a 192.0.2.1")
            .unwrap_err()
            .starts_with("-m failed")
    );
    assert!(
        http("-m 61 -u http://a 192.0.2.1")
            .unwrap_err()
            .starts_with("-m failed")
    );
    assert_eq!(http("-U 9 -u http://a 192.0.2.1").unwrap().user_id, 9);
    // No repeat check: the last -u wins.
    assert_eq!(
        http("-u http://a -u http://b 192.0.2.1").unwrap().url.host,
        "b"
    );
}

#[test]
fn udpprobe_options() {
    // A real SNMPv2c get-request for sysDescr.0 with community "public".
    let snmp = "302602010104067075626c6963a019020400000001020100020100300b300906052b060102010500";
    let u = udpprobe(&format!("-d 161 -p {snmp} 192.0.2.1")).unwrap();
    assert_eq!((u.dport, u.payload.len(), u.payload[0]), (161, 40, 0x30));
    assert_eq!((u.probe_count, u.stop_count, u.sport), (1, 1, 0x9234));
    assert_eq!((u.wait_timeout, u.wait_probe), (ms(2000), ms(1000)));
    assert!(!u.exit_first && u.src.is_none());
    assert_eq!(
        u.to_command_string(),
        format!("udpprobe -d 161 -p {snmp} 192.0.2.1")
    );
    let u = udpprobe("-c 3 -o 2 -d 53 -p 00 192.0.2.1").unwrap();
    assert_eq!((u.probe_count, u.stop_count, u.sport), (3, 2, 0));
    assert!(
        udpprobe("-c 2 -o 3 -d 53 -p 00 192.0.2.1")
            .unwrap_err()
            .starts_with("-o failed")
    );
    assert!(
        udpprobe("-o 2 -d 53 -p 00 192.0.2.1")
            .unwrap_err()
            .starts_with("-o failed")
    );
    assert!(
        udpprobe("-c 21 -d 53 -p 00 192.0.2.1")
            .unwrap_err()
            .starts_with("-c failed")
    );
    assert!(
        udpprobe("-c 0 -d 53 -p 00 192.0.2.1")
            .unwrap_err()
            .starts_with("-c failed")
    );
    assert!(
        udpprobe("-d 0 -p 00 192.0.2.1")
            .unwrap_err()
            .starts_with("-d failed")
    );
    assert_eq!(
        udpprobe("-p 00 192.0.2.1").unwrap_err(),
        "udpprobe needs a destination port (-d)"
    );
    assert_eq!(
        udpprobe("-d 53 192.0.2.1").unwrap_err(),
        "udpprobe needs a payload (-p)"
    );
    assert!(
        udpprobe("-d 53 -p 0 192.0.2.1")
            .unwrap_err()
            .starts_with("-p failed")
    );
    assert!(
        udpprobe("-d 53 -p '' 192.0.2.1")
            .unwrap_err()
            .starts_with("-p failed")
    );
    assert!(udpprobe(&format!("-d 53 -p {} 192.0.2.1", "00".repeat(1400))).is_ok());
    assert!(udpprobe(&format!("-d 53 -p {} 192.0.2.1", "00".repeat(1401))).is_err());
    assert!(
        udpprobe("-d 53 -p 00 -O exitfirst 192.0.2.1")
            .unwrap()
            .exit_first
    );
    assert!(
        udpprobe("-d 53 -p 00 -O other 192.0.2.1")
            .unwrap_err()
            .starts_with("-O failed")
    );
    assert_eq!(
        udpprobe("-d 53 -p 00 -S 192.0.2.2 192.0.2.1").unwrap().src,
        Some(ip("192.0.2.2"))
    );
    assert!(
        udpprobe("-d 53 -p 00 -S ::1 192.0.2.1")
            .unwrap_err()
            .starts_with("-S failed")
    );
    assert_eq!(udpprobe("-d 53 -p 00 -U 3 192.0.2.1").unwrap().user_id, 3);
    // -w / -W: seconds by default, 0.5..5.
    assert_eq!(
        udpprobe("-d 53 -p 00 -w 0.5 192.0.2.1")
            .unwrap()
            .wait_timeout,
        ms(500)
    );
    assert_eq!(
        udpprobe("-d 53 -p 00 -w 5s 192.0.2.1")
            .unwrap()
            .wait_timeout,
        ms(5000)
    );
    assert_eq!(
        udpprobe("-d 53 -p 00 -w 750ms 192.0.2.1")
            .unwrap()
            .wait_timeout,
        ms(750)
    );
    assert!(
        udpprobe("-d 53 -p 00 -w 0.4 192.0.2.1")
            .unwrap_err()
            .starts_with("-w failed")
    );
    assert!(
        udpprobe("-d 53 -p 00 -w 6 192.0.2.1")
            .unwrap_err()
            .starts_with("-w failed")
    );
    assert!(
        udpprobe("-d 53 -p 00 -w 5001ms 192.0.2.1")
            .unwrap_err()
            .starts_with("-w failed")
    );
    assert_eq!(
        udpprobe("-d 53 -p 00 -W 2.5 192.0.2.1").unwrap().wait_probe,
        ms(2500)
    );
    assert!(
        udpprobe("-d 53 -p 00 -W 0.1 192.0.2.1")
            .unwrap_err()
            .starts_with("-W failed")
    );
    assert_eq!(
        udpprobe("-d 53 -d 54 -p 00 192.0.2.1").unwrap_err(),
        "repeated option -d"
    );
    assert_eq!(
        udpprobe("-d 53 -p 00").unwrap_err(),
        "expected address to probe"
    );
    assert_eq!(
        udpprobe("-d 53 -p 00 x").unwrap_err(),
        "invalid destination address"
    );
}

#[test]
fn sniff_options() {
    let s = sniff("-S 192.0.2.1 icmp[icmpid] == 1234").unwrap();
    assert_eq!(
        (s.src, s.icmp_id, s.limit_packets, s.limit_time, s.user_id),
        (ip("192.0.2.1"), 1234, 100, ms(60_000), 0)
    );
    assert_eq!(
        s.to_command_string(),
        "sniff -S 192.0.2.1 icmp[icmpid] == 1234"
    );
    assert!(s.probed_addresses().is_empty());
    assert_eq!(
        sniff("-S 192.0.2.1 -G 120 ICMP[ICMPID] == 0")
            .unwrap()
            .limit_time,
        ms(120_000)
    );
    assert_eq!(
        sniff("-S 192.0.2.1 -c 5000 icmp[icmpid] == 65535")
            .unwrap()
            .limit_packets,
        5000
    );
    assert!(
        sniff("-S 192.0.2.1 -c 5001 icmp[icmpid] == 1")
            .unwrap_err()
            .starts_with("-c failed")
    );
    assert!(
        sniff("-S 192.0.2.1 -c 0 icmp[icmpid] == 1")
            .unwrap_err()
            .starts_with("-c failed")
    );
    assert!(
        sniff("-S 192.0.2.1 -G 1201 icmp[icmpid] == 1")
            .unwrap_err()
            .starts_with("-G failed")
    );
    assert!(
        sniff("-S 192.0.2.1 -G 1.5 icmp[icmpid] == 1")
            .unwrap_err()
            .starts_with("-G failed")
    );
    assert_eq!(
        sniff("-S 192.0.2.1 -G 2000ms icmp[icmpid] == 1")
            .unwrap()
            .limit_time,
        ms(2000)
    );
    assert!(
        sniff("-S x icmp[icmpid] == 1")
            .unwrap_err()
            .starts_with("-S failed")
    );
    assert_eq!(
        sniff("-S 2001:db8::1 -U 4 icmp[icmpid] == 1")
            .unwrap()
            .user_id,
        4
    );
    assert!(sniff("icmp[icmpid] == 1").unwrap_err().contains("-S"));
    assert_eq!(
        sniff("-S 192.0.2.1").unwrap_err(),
        "expected expression to sniff"
    );
    for bad in [
        "icmp[icmpid]==1",
        "icmp[icmpid] ==  1",
        "icmp[icmpid] == 65536",
        "icmp[icmpid] == -1",
        "icmp[icmpid] == 1 x",
        "tcp port 80",
    ] {
        assert!(
            sniff(&format!("-S 192.0.2.1 {bad}"))
                .unwrap_err()
                .starts_with("expression"),
            "{bad}"
        );
    }
    // sniff does not check repeats.
    assert_eq!(
        sniff("-c 5 -c 6 -S 192.0.2.1 icmp[icmpid] == 1")
            .unwrap()
            .limit_packets,
        6
    );
}

#[test]
fn unsupported_and_unknown_commands() {
    for word in ["neighbourdisc", "tbit", "sting", "owamp"] {
        assert_eq!(
            Command::parse(&format!("{word} 192.0.2.1"), &ctx())
                .unwrap_err()
                .to_string(),
            format!("{word} not supported yet")
        );
    }
    assert_eq!(
        Command::parse("traceroute 192.0.2.1", &ctx()).unwrap_err(),
        CommandError::UnknownCommand
    );
    assert_eq!(
        Command::parse("", &ctx()).unwrap_err(),
        CommandError::UnknownCommand
    );
    for k in CommandKind::ALL {
        assert_eq!(CommandKind::from_word(&k.as_str().to_uppercase()), Some(k));
    }
    let c = Command::parse("udpprobe -d 53 -p 00 192.0.2.1", &ctx()).unwrap();
    assert_eq!(c.kind(), CommandKind::Udpprobe);
}
