//! The services of the emulated Internet, as generated files: the DNS zone and `nsd`
//! configurations of both nameservers, the `nginx` configuration and pages of the web
//! server, the TLS certificates (made with `openssl` at `up` time), and the
//! `resolv.conf` every node gets. Pure text here, except [`make_certificates`];
//! [`crate::persistent`] writes the files and starts the programs.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use crate::internet::{InternetOptions, addr};
use crate::netns::{self, NetnsError};

/// Serial number written into the zone's SOA record.
const SERIAL: u32 = 2_026_112_701;

/// The zone both nameservers serve (`$ORIGIN` is the zone): SOA, NS ns1 and ns2 with
/// glue, MX, TXT, and A/AAAA records for every host and VP (VPs under `vp.`, by short
/// name).
pub fn zone_file(prefix: &str, options: &InternetOptions) -> String {
    let zone = &options.zone;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "; Vantage testbed `{prefix}`: zone {zone} (served by ns1 and ns2)"
    );
    let _ = writeln!(s, "$ORIGIN {zone}.\n$TTL 300");
    let _ = writeln!(
        s,
        "@ IN SOA ns1.{zone}. hostmaster.{zone}. {SERIAL} 3600 900 604800 300"
    );
    s.push_str("@ IN NS ns1\n@ IN NS ns2\n@ IN MX 10 mail\n");
    let _ = writeln!(s, "@ IN TXT \"vantage testbed {prefix}\"");
    s.push_str("@ IN TXT \"v=spf1 -all\"\n");
    let mut host = |name: &str, v4: Ipv4Addr, v6: Ipv6Addr| {
        let _ = writeln!(s, "{name} IN A {v4}\n{name} IN AAAA {v6}");
    };
    host("@", addr::WEB_V4, addr::WEB_V6);
    host("www", addr::WEB_V4, addr::WEB_V6);
    host("mail", addr::WEB_V4, addr::WEB_V6);
    host("ns1", addr::NS1_V4, addr::NS1_V6);
    host("ns2", addr::NS2_V4, addr::NS2_V6);
    host("ctrl", addr::CTRL_V4, addr::CTRL_V6);
    host("target", addr::TARGET_V4, addr::TARGET_V6);
    host("udp", addr::UDP_V4, addr::UDP_V6);
    host("dark", addr::DARK_V4, addr::DARK_V6);
    for (i, v) in options.vps.iter().enumerate() {
        let n = (i + 1) as u8;
        host(
            &format!("{}.vp", v.shortname),
            addr::vp_v4(n),
            addr::vp_v6(n),
        );
    }
    s.push_str("www IN TXT \"served by nginx\"\n");
    s
}

/// The `nsd.conf` of nameserver `node` (listening on `v4` and `v6`), with every path
/// inside `dir` (its own directory in the state directory) and `logs`.
pub fn nsd_conf(
    dir: &Path,
    logs: &Path,
    node: &str,
    v4: Ipv4Addr,
    v6: Ipv6Addr,
    zone: &str,
) -> String {
    let d = dir.display();
    let l = logs.display();
    format!(
        "# Vantage testbed nameserver {node}\n\
         server:\n  ip-address: {v4}\n  ip-address: {v6}\n  port: 53\n  server-count: 1\n\
         \x20 username: \"\"\n  chroot: \"\"\n  database: \"\"\n\
         \x20 zonelistfile: \"{d}/zone.list\"\n  xfrdfile: \"{d}/xfrd.state\"\n\
         \x20 xfrdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  logfile: \"{l}/nsd-{node}.log\"\n\
         \x20 zonesdir: \"{d}\"\n  identity: \"{node}.{zone}\"\n\
         \x20 nsid: \"ascii_{node}\"\n  version: \"vantage-testbed nsd\"\n  hide-version: no\n\
         \x20 verbosity: 1\n\
         remote-control:\n  control-enable: no\n\
         zone:\n  name: {zone}\n  zonefile: zone\n"
    )
}

/// The `nginx.conf` of the web server: HTTP/1.1 on port 80, TLS with HTTP/2 and
/// HTTP/1.1 (ALPN) on 443, IPv4 and IPv6; pages under `dir/www`.
pub fn nginx_conf(dir: &Path, logs: &Path, tls: &Path, zone: &str) -> String {
    let d = dir.display();
    let l = logs.display();
    let t = tls.display();
    let (v4, v6) = (addr::WEB_V4, addr::WEB_V6);
    format!(
        "# Vantage testbed web server\n\
         daemon off;\nmaster_process on;\nworker_processes 1;\n\
         pid {d}/nginx.pid;\nerror_log {l}/nginx-error.log notice;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         \x20 access_log {l}/nginx-access.log;\n\
         \x20 client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n\
         \x20 fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n\
         \x20 scgi_temp_path {d}/tmp/scgi;\n\
         \x20 default_type text/plain;\n\
         \x20 server {{\n\
         \x20   listen {v4}:80;\n    listen [{v6}]:80;\n\
         \x20   listen {v4}:443 ssl http2;\n    listen [{v6}]:443 ssl http2;\n\
         \x20   server_name www.{zone} {zone};\n\
         \x20   ssl_certificate {t}/web.pem;\n    ssl_certificate_key {t}/web.key;\n\
         \x20   ssl_protocols TLSv1.2 TLSv1.3;\n\
         \x20   root {d}/www;\n\
         \x20   location / {{ add_header X-Vantage-Testbed web; }}\n\
         \x20   location = /big {{ }}\n\
         \x20 }}\n\
         }}\n"
    )
}

/// The pages the web server serves: `index.html` and a 100 kB `big` file.
pub fn web_pages(prefix: &str) -> Vec<(&'static str, Vec<u8>)> {
    let index = format!(
        "<!doctype html>\n<title>Vantage testbed {prefix}</title>\n\
         <p>Hello from the Vantage testbed web server.</p>\n"
    );
    let big: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    vec![("index.html", index.into_bytes()), ("big", big)]
}

/// The `resolv.conf` every node gets (through `/etc/netns/NAMESPACE/`, which `ip netns
/// exec` mounts over `/etc`): both nameservers, the zone as search domain.
pub fn resolv_conf(zone: &str) -> String {
    format!(
        "# Vantage testbed: the zone's own nameservers (authoritative only)\n\
         nameserver {}\nnameserver {}\nnameserver {}\nsearch {zone}\noptions timeout:1 attempts:2\n",
        addr::NS1_V4,
        addr::NS2_V4,
        addr::NS1_V6
    )
}

/// Makes the testbed's TLS material in `dir` with `openssl`: a CA (`ca.pem`, `ca.key`),
/// the web server's certificate for `www.ZONE` and `ZONE` and its addresses (`web.pem`,
/// `web.key`), and the controller's for `ctrl.ZONE` and its addresses
/// (`controller.pem`, `controller.key`). Keys are ECDSA P-256, valid 30 days.
pub fn make_certificates(dir: &Path, zone: &str) -> Result<(), NetnsError> {
    let p = |name: &str| dir.join(name).display().to_string();
    let run = |args: &[&str]| -> Result<(), NetnsError> {
        netns::run_tool("openssl", "openssl", args, None).map(|_| ())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    let (ca_key, ca_pem) = (p("ca.key"), p("ca.pem"));
    let subj = format!("/CN=Vantage testbed CA ({zone})");
    args.extend([
        "-days", "30", "-subj", &subj, "-keyout", &ca_key, "-out", &ca_pem,
    ]);
    run(&args)?;
    let leaves = [
        (
            "web",
            format!("www.{zone}"),
            format!(
                "DNS:www.{zone},DNS:{zone},IP:{},IP:{}",
                addr::WEB_V4,
                addr::WEB_V6
            ),
        ),
        (
            "controller",
            format!("ctrl.{zone}"),
            format!("DNS:ctrl.{zone},IP:{},IP:{}", addr::CTRL_V4, addr::CTRL_V6),
        ),
    ];
    for (name, cn, san) in leaves {
        let (key, csr, pem, ext) = (
            p(&format!("{name}.key")),
            p(&format!("{name}.csr")),
            p(&format!("{name}.pem")),
            p(&format!("{name}.ext")),
        );
        let subj = format!("/CN={cn}");
        let mut args = vec!["req"];
        args.extend(ec);
        args.extend(["-subj", &subj, "-keyout", &key, "-out", &csr]);
        run(&args)?;
        std::fs::write(
            &ext,
            format!(
                "subjectAltName={san}\nbasicConstraints=CA:FALSE\n\
                 keyUsage=digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n"
            ),
        )
        .map_err(|source| NetnsError::Spawn {
            command: format!("write {ext}"),
            source,
        })?;
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-days",
            "30",
            "-extfile",
            &ext,
            "-out",
            &pem,
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_has_the_records_the_tests_ask_for() {
        let z = zone_file("p1", &InternetOptions::default());
        assert!(z.contains("$ORIGIN example.test."));
        assert!(z.contains("@ IN SOA ns1.example.test. hostmaster.example.test."));
        assert!(z.contains("@ IN NS ns1\n@ IN NS ns2\n"));
        assert!(z.contains("@ IN MX 10 mail\n"));
        assert!(z.contains("www IN A 10.4.4.2\nwww IN AAAA fd00:4:4::2\n"));
        assert!(z.contains("akl-nz.vp IN A 10.1.1.1\n"));
        assert!(z.contains("ns2 IN AAAA fd00:4:7::2\n"));
    }

    #[test]
    fn configs_point_into_the_state_directory() {
        let d = Path::new("/run/vantage-testbed/p1/nsd-ns1");
        let logs = Path::new("/run/vantage-testbed/p1/logs");
        let c = nsd_conf(d, logs, "ns1", addr::NS1_V4, addr::NS1_V6, "example.test");
        assert!(c.contains("ip-address: 10.4.2.2\n"));
        assert!(c.contains("ip-address: fd00:4:2::2\n"));
        assert!(c.contains("pidfile: \"/run/vantage-testbed/p1/nsd-ns1/nsd.pid\""));
        assert!(c.contains("identity: \"ns1.example.test\""));
        assert!(c.contains("zone:\n  name: example.test\n"));
        let n = nginx_conf(
            Path::new("/s/nginx"),
            logs,
            Path::new("/s/tls"),
            "example.test",
        );
        assert!(n.contains("listen [fd00:4:4::2]:443 ssl http2;"));
        assert!(n.contains("ssl_certificate /s/tls/web.pem;"));
        assert!(n.contains("daemon off;"));
        assert!(resolv_conf("example.test").contains("nameserver 10.4.2.2\n"));
    }
}
