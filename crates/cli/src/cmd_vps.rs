//! `vantage vps`: the VPs a controller lists on its mux, with all their
//! metadata and the hash of each VP's policy; `--policy NAME` prints one VP's
//! policy text. A thin layer over `vantage_client::MuxClient`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use vantage_client::{MuxClient, VpInfo};

/// Arguments of `vantage vps`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The controller's mux unix socket.
    #[arg(long, value_name = "PATH")]
    mux: PathBuf,
    /// One JSON object per VP (one per line) instead of a table.
    #[arg(long, conflicts_with = "policy")]
    json: bool,
    /// Print the policy text of this VP (monitor name, short name or id).
    #[arg(long, value_name = "NAME")]
    policy: Option<String>,
}

/// The JSON object of one VP: every attribute it was announced with.
fn vp_json(v: &VpInfo) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    m.insert("id".into(), v.id.0.into());
    let fields = [
        ("name", &v.name),
        ("arrival", &v.arrival),
        ("ipv4", &v.ipv4),
        ("ipv6", &v.ipv6),
        ("asn4", &v.asn4),
        ("asn6", &v.asn6),
        ("cc", &v.cc),
        ("st", &v.st),
        ("place", &v.place),
        ("latlong", &v.latlong),
        ("shortname", &v.shortname),
        ("iata", &v.iata),
        ("policy-hash", &v.policy_hash),
        ("policy", &v.policy),
    ];
    for (k, val) in fields {
        if let Some(val) = val {
            m.insert(k.into(), val.clone().into());
        }
    }
    m.insert("tags".into(), v.tags.clone().into());
    serde_json::Value::Object(m)
}

/// The table row of one VP.
fn vp_row(v: &VpInfo) -> String {
    let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".to_owned());
    let addr = v.ipv4.as_ref().or(v.ipv6.as_ref()).cloned();
    let mut extra = Vec::new();
    for (k, val) in [
        ("asn4", &v.asn4),
        ("asn6", &v.asn6),
        ("st", &v.st),
        ("place", &v.place),
        ("latlong", &v.latlong),
        ("shortname", &v.shortname),
        ("iata", &v.iata),
    ] {
        if let Some(val) = val {
            extra.push(format!("{k}={val}"));
        }
    }
    extra.extend(v.tags.iter().map(|t| format!("tag={t}")));
    format!(
        "{:<5} {:<28} {:<39} {:<3} {:<16} {}",
        v.id.0,
        dash(&v.name),
        dash(&addr),
        dash(&v.cc),
        v.policy_hash
            .as_deref()
            .map_or_else(|| "-".to_owned(), |h| h.chars().take(16).collect()),
        extra.join(" ")
    )
}

/// Lists the VPs (or prints one VP's policy).
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let client = MuxClient::connect(&args.mux)
        .with_context(|| format!("connecting to the mux {}", args.mux.display()))?;
    let mut vps = client.vps();
    vps.sort_by_key(|v| v.id.0);
    let mut out = std::io::stdout().lock();
    if let Some(name) = &args.policy {
        let vp = client
            .find_vp(name)
            .or_else(|| vps.iter().find(|v| v.id.0.to_string() == *name).cloned());
        let Some(vp) = vp else {
            eprintln!("vantage vps: no VP named {name:?} on this controller");
            return Ok(ExitCode::from(1));
        };
        let Some(text) = &vp.policy else {
            eprintln!(
                "vantage vps: VP {name:?} published no policy (it runs without one, or is not a Vantage probe)"
            );
            return Ok(ExitCode::from(1));
        };
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            writeln!(out)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        for v in &vps {
            writeln!(out, "{}", vp_json(v))?;
        }
    } else {
        writeln!(
            out,
            "{:<5} {:<28} {:<39} {:<3} {:<16} metadata",
            "id", "name", "address", "cc", "policy-hash"
        )?;
        for v in &vps {
            writeln!(out, "{}", vp_row(v))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vantage_client::VpId;

    #[test]
    fn json_and_row_carry_every_attribute() {
        let v = VpInfo {
            id: VpId(7),
            name: Some("vp1.example".into()),
            ipv4: Some("192.0.2.1".into()),
            cc: Some("nz".into()),
            tags: vec!["os:linux".into()],
            policy_hash: Some("ab".repeat(32)),
            policy: Some("[rate]\npps = 1\n".into()),
            ..VpInfo::default()
        };
        let j = vp_json(&v);
        assert_eq!(j["id"], 7);
        assert_eq!(j["name"], "vp1.example");
        assert_eq!(j["policy-hash"], "ab".repeat(32));
        assert_eq!(j["policy"], "[rate]\npps = 1\n");
        assert_eq!(j["tags"][0], "os:linux");
        assert!(j.get("asn4").is_none());
        let row = vp_row(&v);
        assert!(row.starts_with("7 "), "{row}");
        assert!(
            row.contains("abababababababab") && row.contains("tag=os:linux"),
            "{row}"
        );
    }
}
