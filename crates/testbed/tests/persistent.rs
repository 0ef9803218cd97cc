//! Persistent testbeds end to end: `up` (with its helper process, services and hooks),
//! `status` and `down`, as `vantage testbed` will use them. They need root; without it
//! each test prints why it skips and passes.
//!
//! The helper process is this test binary itself, re-run with `--exact daemon_entry` and
//! the state directory in an environment variable. Every packet stays inside namespaces
//! these tests create; every test removes its testbeds, also when it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vantage_testbed::internet::addr;
use vantage_testbed::mpls::label_stack;
use vantage_testbed::persistent::{self, Hook, UpOptions};
use vantage_testbed::{CommandOutput, Error, is_root, netns, unique_prefix};
use vantage_wire::icmp_ext::MplsEntry;
use vantage_wire::{icmpv4, icmpv6};

const DAEMON_ENV: &str = "VANTAGE_TESTBED_TEST_DAEMON_STATE";
const UP_ENV: &str = "VANTAGE_TESTBED_TEST_UP_PREFIX";
const STEM: &str = "vp";

fn state_root() -> PathBuf {
    std::env::temp_dir().join("vantage-testbed-tests")
}

/// Not a test: the helper process's entry point, reached by re-running this binary.
#[test]
fn daemon_entry() {
    if let Some(state) = std::env::var_os(DAEMON_ENV) {
        let code = match vantage_testbed::daemon::daemon_main(Path::new(&state)) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("{e}");
                1
            }
        };
        std::process::exit(code);
    }
}

/// Not a test: runs `up` in a child process that another test kills midway.
#[test]
fn up_entry() {
    if let Some(prefix) = std::env::var_os(UP_ENV) {
        let prefix = prefix.to_string_lossy().into_owned();
        let result = persistent::up(&prefix, &options());
        eprintln!("up_entry: {result:?}");
        std::process::exit(0);
    }
}

fn daemon_command() -> Vec<OsString> {
    vec![
        "env".into(),
        format!("{DAEMON_ENV}={{state}}").into(),
        std::env::current_exe().unwrap().into_os_string(),
        "--exact".into(),
        "daemon_entry".into(),
        "--nocapture".into(),
        "--test-threads=1".into(),
    ]
}

/// Dummy controller and probe hooks: they print their command line and sleep.
fn dummy_hooks(options: &UpOptions) -> Vec<Hook> {
    let mut hooks = persistent::vantage_hooks("vantage", &options.internet);
    for h in &mut hooks {
        let mut argv = vec![
            "sh".to_owned(),
            "-c".to_owned(),
            "echo \"started: $0 $*\"; exec sleep 1000".to_owned(),
        ];
        argv.append(&mut h.argv);
        h.argv = argv;
    }
    hooks
}

fn options() -> UpOptions {
    let mut o = UpOptions::new(daemon_command());
    o.state_root = state_root();
    o.hooks = dummy_hooks(&o);
    o
}

fn root(test: &str) -> bool {
    if !is_root() {
        eprintln!("skipping {test}: building network namespaces needs root");
        return false;
    }
    // Testbeds of test processes that died before they could clean up.
    for prefix in persistent::list(&state_root()).unwrap() {
        let pid = prefix
            .strip_prefix(STEM)
            .and_then(|r| r.split_once('x'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new("/proc").join(pid.to_string()).exists()
        {
            let _ = persistent::down(&prefix, &state_root());
        }
    }
    vantage_testbed::down_stale(STEM).unwrap();
    true
}

/// Removes the testbed when dropped, also when the test fails.
struct Guard(String);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Err(e) = persistent::down(&self.0, &state_root()) {
            eprintln!("cleanup of {}: {e}", self.0);
        }
    }
}

fn up(prefix: &str) -> Guard {
    let guard = Guard(prefix.to_owned());
    persistent::up(prefix, &options()).unwrap();
    guard
}

fn exec(prefix: &str, node: &str, args: &[&str]) -> CommandOutput {
    let out = persistent::exec(prefix, node, args).unwrap();
    assert!(
        !out.stderr.contains("exec of"),
        "cannot run {args:?}: {}",
        out.stderr
    );
    out
}

fn rtts_ms(out: &CommandOutput) -> Vec<f64> {
    out.stdout
        .lines()
        .filter(|l| l.contains("bytes from"))
        .filter_map(|l| l.split("time=").nth(1))
        .filter_map(|t| t.split_whitespace().next())
        .map(|t| t.parse().unwrap())
        .collect()
}

fn ping(prefix: &str, node: &str, dst: IpAddr, extra: &[&str]) -> CommandOutput {
    let dst = dst.to_string();
    let mut args = vec!["ping", "-n"];
    if dst.contains(':') {
        args.push("-6");
    }
    args.extend(extra);
    args.push(&dst);
    exec(prefix, node, &args)
}

/// Processes (not zombies) whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rfind(')')
            .is_some_and(|i| stat[i + 1..].trim_start().starts_with('Z'));
        let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        if !zombie && cmd.contains(needle) {
            found.push(format!("{name}: {cmd}"));
        }
    }
    found
}

/// Asserts that nothing of testbed `prefix` is left (waiting a little for the helper,
/// which notices a removed state directory within a second).
fn assert_gone(prefix: &str) {
    let state = persistent::state_dir(&state_root(), prefix);
    assert!(
        netns::with_prefix(prefix).unwrap().is_empty(),
        "namespaces left"
    );
    assert!(!state.exists(), "state directory left");
    let etc = std::fs::read_dir("/etc/netns").map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{prefix}-"))
            })
            .count()
    });
    assert_eq!(etc, 0, "/etc/netns entries left");
    let needle = state.display().to_string();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_mentioning(&needle);
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "processes left: {left:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(persistent::status(prefix, &state_root()).unwrap().is_gone());
}

fn dig(prefix: &str, server: IpAddr, args: &[&str]) -> String {
    let at = format!("@{server}");
    let mut a = vec!["dig", "+short", "+time=3", "+tries=2", &at];
    a.extend(args);
    let out = exec(prefix, "vp_de", &a);
    assert!(out.success(), "dig {args:?} at {server}: {}", out.stderr);
    out.stdout
}

/// Captures ICMP time exceeded at vp_us while pinging the target with TTL 5 (the hop
/// that is the MPLS router), over IPv4 and IPv6; returns the IP packets.
fn capture_time_exceeded(prefix: &str) -> Vec<Vec<u8>> {
    let pcap = std::env::temp_dir().join(format!("{prefix}-mpls.pcap"));
    let mut tcpdump = Command::new("ip")
        .args(["netns", "exec", &format!("{prefix}-vp_us")])
        .args(["tcpdump", "-i", "to-gw_us", "-n", "-U", "-c", "2", "-w"])
        .arg(&pcap)
        .arg("icmp[0] == 11 or (icmp6 and ip6[40] == 3)")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump (Debian package tcpdump)");
    let mut err = BufReader::new(tcpdump.stderr.take().unwrap());
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("listening on") {
        line.clear();
    }
    assert!(line.contains("listening on"), "tcpdump did not start");
    ping(
        prefix,
        "vp_us",
        IpAddr::V4(addr::TARGET_V4),
        &["-c", "1", "-W", "2", "-t", "5"],
    );
    ping(
        prefix,
        "vp_us",
        IpAddr::V6(addr::TARGET_V6),
        &["-c", "1", "-W", "2", "-t", "5"],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while tcpdump.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = tcpdump.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = tcpdump.wait();
    let bytes = std::fs::read(&pcap).unwrap();
    let _ = std::fs::remove_file(&pcap);
    // pcap: 24-byte file header, then 16-byte record headers (little endian here).
    assert_eq!(&bytes[..4], &[0xd4, 0xc3, 0xb2, 0xa1], "pcap magic");
    let mut packets = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &bytes[at + 16..at + 16 + len];
        packets.push(frame[14..].to_vec()); // after the Ethernet header
        at += 16 + len;
    }
    packets
}

fn mpls_entries(ip: &[u8]) -> Vec<MplsEntry> {
    let ext = if ip[0] >> 4 == 4 {
        let hl = usize::from(ip[0] & 0xf) * 4;
        let icmp = icmpv4::Packet::new_checked(&ip[hl..]).unwrap();
        assert!(icmp.verify_checksum());
        let (_, ext) = icmp.quote_and_extensions();
        ext.map(|e| e.as_bytes().to_vec())
    } else {
        let icmp = icmpv6::Packet::new_checked(&ip[40..]).unwrap();
        let src: [u8; 16] = ip[8..24].try_into().unwrap();
        let dst: [u8; 16] = ip[24..40].try_into().unwrap();
        assert!(icmp.verify_checksum(src.into(), dst.into()));
        let (_, ext) = icmp.quote_and_extensions();
        ext.map(|e| e.as_bytes().to_vec())
    };
    let ext = ext.expect("time exceeded without RFC 4884 extensions");
    let ext = vantage_wire::icmp_ext::Extensions::new_checked(&ext).unwrap();
    assert!(ext.verify_checksum());
    ext.objects()
        .filter_map(Result::ok)
        .filter_map(|o| o.mpls_entries().map(Iterator::collect::<Vec<_>>))
        .flatten()
        .collect()
}

#[test]
fn up_serves_everything_and_down_removes_it() {
    if !root("up_serves_everything_and_down_removes_it") {
        return;
    }
    let prefix = unique_prefix(STEM);
    let guard = up(&prefix);
    let o = options();
    let status = persistent::status(&prefix, &state_root()).unwrap();
    assert!(status.is_up(), "{status}");
    assert_eq!(status.expected_nodes.len(), 25);

    // Every VP reaches the target, no faster than its access RTT plus the core's.
    for vp in &o.internet.vps {
        let floor = (vp.access_rtt + o.internet.core_rtt).as_secs_f64() * 1000.0;
        for dst in [IpAddr::V4(addr::TARGET_V4), IpAddr::V6(addr::TARGET_V6)] {
            let out = ping(&prefix, &vp.node, dst, &["-c", "2", "-i", "0.2", "-W", "3"]);
            let rtts = rtts_ms(&out);
            assert_eq!(rtts.len(), 2, "{} -> {dst}: {}", vp.node, out.stdout);
            assert!(
                rtts.iter().all(|&r| r >= floor),
                "{} -> {dst}: {rtts:?} < {floor}",
                vp.node
            );
        }
    }

    // DNS from both nameservers, both families.
    for server in [
        IpAddr::V4(addr::NS1_V4),
        IpAddr::V6(addr::NS1_V6),
        IpAddr::V4(addr::NS2_V4),
        IpAddr::V6(addr::NS2_V6),
    ] {
        assert!(
            dig(&prefix, server, &["example.test", "SOA"])
                .starts_with("ns1.example.test. hostmaster.example.test. ")
        );
        let ns = dig(&prefix, server, &["example.test", "NS"]);
        assert!(
            ns.contains("ns1.example.test.") && ns.contains("ns2.example.test."),
            "{ns}"
        );
        assert_eq!(
            dig(&prefix, server, &["www.example.test", "A"]).trim(),
            "10.4.4.2"
        );
        assert_eq!(
            dig(&prefix, server, &["www.example.test", "AAAA"]).trim(),
            "fd00:4:4::2"
        );
        assert_eq!(
            dig(&prefix, server, &["example.test", "MX"]).trim(),
            "10 mail.example.test."
        );
        assert!(dig(&prefix, server, &["example.test", "TXT"]).contains(&prefix));
        assert_eq!(
            dig(&prefix, server, &["version.bind", "CH", "TXT"]).trim(),
            "\"vantage-testbed nsd\""
        );
    }
    assert_eq!(
        dig(
            &prefix,
            IpAddr::V4(addr::NS2_V4),
            &["id.server", "CH", "TXT"]
        )
        .trim(),
        "\"ns2.example.test\""
    );
    // Names resolve inside nodes through the testbed's own nameservers.
    let out = exec(
        &prefix,
        "vp_nz",
        &["getent", "ahostsv4", "www.example.test"],
    );
    assert!(out.stdout.contains("10.4.4.2"), "{}", out.stdout);

    // HTTP/1.1, HTTPS with HTTP/2 and with HTTP/1.1, over both families.
    let ca = persistent::state_dir(&state_root(), &prefix).join("tls/ca.pem");
    let ca = ca.display().to_string();
    for family in ["-4", "-6"] {
        let out = exec(
            &prefix,
            "vp_jp",
            &[
                "curl",
                "-sS",
                family,
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{http_version}",
                "http://www.example.test/",
            ],
        );
        assert_eq!(out.stdout, "200 1.1", "{}", out.stderr);
        for (flag, version) in [("--http2", "2"), ("--http1.1", "1.1")] {
            let out = exec(
                &prefix,
                "vp_jp",
                &[
                    "curl",
                    "-sS",
                    family,
                    flag,
                    "--cacert",
                    &ca,
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code} %{http_version}",
                    "https://www.example.test/big",
                ],
            );
            assert_eq!(out.stdout, format!("200 {version}"), "{}", out.stderr);
        }
    }

    // The UDP echo service answers over both families.
    for dst in [IpAddr::V4(addr::UDP_V4), IpAddr::V6(addr::UDP_V6)] {
        let reply = netns::run_in(&format!("{prefix}-vp_br"), move || {
            let any: SocketAddr = if dst.is_ipv4() {
                "0.0.0.0:0".parse().unwrap()
            } else {
                "[::]:0".parse().unwrap()
            };
            let sock = UdpSocket::bind(any).unwrap();
            sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = [0u8; 64];
            for _ in 0..3 {
                sock.send_to(b"vantage echo test", SocketAddr::new(dst, 7))
                    .unwrap();
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    return Some((buf[..n].to_vec(), from.ip()));
                }
            }
            None
        })
        .unwrap();
        let (bytes, from) = reply.expect("no UDP echo");
        assert_eq!(bytes, b"vantage echo test");
        assert_eq!(from, dst);
    }

    // The unresponsive host answers nothing.
    for dst in [IpAddr::V4(addr::DARK_V4), IpAddr::V6(addr::DARK_V6)] {
        let out = ping(&prefix, "vp_us", dst, &["-c", "2", "-i", "0.2", "-W", "1"]);
        assert!(rtts_ms(&out).is_empty() && !out.success(), "{}", out.stdout);
    }

    // The MPLS router's time exceeded carries the label stack, IPv4 and IPv6.
    let packets = capture_time_exceeded(&prefix);
    assert_eq!(packets.len(), 2, "captured {} packets", packets.len());
    for p in &packets {
        assert_eq!(mpls_entries(p), label_stack(&o.internet.mpls_labels, 1));
    }

    // Metadata file and hooks.
    let state = persistent::state_dir(&state_root(), &prefix);
    let meta = std::fs::read_to_string(state.join("vp-metadata.txt")).unwrap();
    assert!(meta.contains("fra-de.vp.example.test place Frankfurt\n"));
    let log = std::fs::read_to_string(state.join("logs/hook-probe-akl-nz.log")).unwrap();
    assert!(
        log.contains(&format!(
            "vantage probe --remote {}:4001 --name akl-nz.vp.example.test --tls-ca ",
            addr::CTRL_V4
        )),
        "{log}"
    );
    let log = std::fs::read_to_string(state.join("logs/hook-controller.log")).unwrap();
    assert!(
        log.contains(&format!("--mux {}", state.join("mux").display())),
        "{log}"
    );

    // A second `up` of the same prefix is refused and leaves the first alone.
    let err = persistent::up(&prefix, &options()).unwrap_err();
    assert!(matches!(err, Error::Leftovers { .. }), "{err}");
    assert!(persistent::status(&prefix, &state_root()).unwrap().is_up());

    let report = persistent::down(&prefix, &state_root()).unwrap();
    assert_eq!(report.namespaces, 25);
    assert!(report.state_removed);
    assert_gone(&prefix);
    drop(guard);
}

#[test]
fn two_testbeds_coexist() {
    if !root("two_testbeds_coexist") {
        return;
    }
    let (a, b) = (unique_prefix(STEM), unique_prefix(STEM));
    let ga = up(&a);
    let gb = up(&b);
    for p in [&a, &b] {
        assert!(persistent::status(p, &state_root()).unwrap().is_up());
        let out = ping(
            p,
            "vp_us",
            IpAddr::V6(addr::TARGET_V6),
            &["-c", "1", "-W", "3"],
        );
        assert!(out.success(), "{p}: {}", out.stdout);
        assert_eq!(
            dig(p, IpAddr::V4(addr::NS1_V4), &["example.test", "TXT"])
                .lines()
                .filter(|l| l.contains("vantage testbed"))
                .collect::<Vec<_>>(),
            vec![format!("\"vantage testbed {p}\"")]
        );
    }
    persistent::down(&a, &state_root()).unwrap();
    assert_gone(&a);
    // The other one is untouched.
    assert!(persistent::status(&b, &state_root()).unwrap().is_up());
    let out = ping(
        &b,
        "vp_de",
        IpAddr::V4(addr::TARGET_V4),
        &["-c", "1", "-W", "3"],
    );
    assert!(out.success());
    persistent::down(&b, &state_root()).unwrap();
    assert_gone(&b);
    drop((ga, gb));
}

#[test]
fn a_failure_midway_through_up_leaves_nothing() {
    if !root("a_failure_midway_through_up_leaves_nothing") {
        return;
    }
    // The helper exits at once: namespaces, certificates and configs exist by then.
    let prefix = unique_prefix(STEM);
    let _guard = Guard(prefix.clone());
    let mut o = options();
    o.daemon = vec!["false".into()];
    let err = persistent::up(&prefix, &o).unwrap_err();
    assert!(matches!(err, Error::Daemon(_)), "{err}");
    assert!(
        err.to_string().contains("ended before it was ready"),
        "{err}"
    );
    assert_gone(&prefix);

    // A hook that cannot run is refused before anything is made.
    let prefix = unique_prefix(STEM);
    let _guard2 = Guard(prefix.clone());
    let mut o = options();
    o.internet.vps.truncate(1);
    o.hooks.truncate(1);
    o.hooks.push(Hook {
        name: "missing".into(),
        node: "vp_nz".into(),
        argv: vec!["/nonexistent/vantage".into()],
    });
    let err = persistent::up(&prefix, &o).unwrap_err();
    assert!(matches!(err, Error::Hook { .. }), "{err}");
    assert_gone(&prefix);
}

#[test]
fn down_after_killed_processes_and_a_killed_up() {
    if !root("down_after_killed_processes_and_a_killed_up") {
        return;
    }
    // A demo whose helper and web server were killed: status says broken, down cleans.
    let prefix = unique_prefix(STEM);
    let guard = up(&prefix);
    let status = persistent::status(&prefix, &state_root()).unwrap();
    for p in status
        .processes
        .iter()
        .filter(|p| p.name == "daemon" || p.name == "nginx")
    {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p.pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        )
        .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while persistent::status(&prefix, &state_root()).unwrap().is_up() {
        assert!(Instant::now() < deadline, "status still says up");
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = persistent::status(&prefix, &state_root()).unwrap();
    assert!(status.to_string().contains("NOT running"), "{status}");
    persistent::down(&prefix, &state_root()).unwrap();
    assert_gone(&prefix);
    drop(guard);

    // An `up` killed midway (as soon as its first namespaces exist).
    let prefix = unique_prefix(STEM);
    let _guard = Guard(prefix.clone());
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "up_entry", "--nocapture", "--test-threads=1"])
        .env(UP_ENV, &prefix)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while netns::with_prefix(&prefix).unwrap().len() < 3 {
        assert!(Instant::now() < deadline, "up never started");
        assert!(child.try_wait().unwrap().is_none(), "up finished too soon");
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let status = persistent::status(&prefix, &state_root()).unwrap();
    assert!(!status.is_up() && !status.is_gone(), "{status}");
    persistent::down(&prefix, &state_root()).unwrap();
    assert_gone(&prefix);
}
