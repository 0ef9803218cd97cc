//! Fuzz bodies, shared by the fuzz targets in `fuzz/` and the corpus replay tests.

use std::path::Path;

use crate::config::PolicyConfig;
use crate::dnp::DnpList;
use crate::policy::Policy;

/// `policy_toml`: parse arbitrary text as a policy file. Must never panic; what parses must
/// print, hash, explain, and survive a TOML round trip unchanged.
pub fn policy_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = PolicyConfig::from_toml(text, "fuzz") else {
        return;
    };
    let again = PolicyConfig::from_toml(&config.to_toml(), "round trip");
    assert_eq!(
        again.ok().as_ref(),
        Some(&config),
        "TOML round trip changed the policy"
    );
    let policy = Policy::from_config(config);
    let _ = policy.explain();
    let _ = policy.to_json();
    assert_eq!(policy.canonical_hash().len(), 64);
}

/// `policy_dnp`: parse arbitrary text as a do-not-probe list. Must never panic; what parses
/// must print back to a list with the same prefixes.
pub fn policy_dnp(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(list) = DnpList::parse(&text, Path::new("fuzz")) else {
        return;
    };
    if let Some(first) = text.lines().find_map(|l| {
        let l = l.split_once('#').map_or(l, |(a, _)| a).trim();
        l.parse::<crate::prefix::Prefix>().ok()
    }) {
        assert!(
            list.lookup(first.addr()).is_some(),
            "listed prefix {first} not found"
        );
    }
    let again = DnpList::parse(&list.to_text(), Path::new("round trip"));
    assert_eq!(
        again.ok().map(|l| l.sha256().to_owned()).as_deref(),
        Some(list.sha256())
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    fn replay(target: &str, body: fn(&[u8])) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            body(&std::fs::read(&path).unwrap());
            n += 1;
        }
        assert!(n > 0, "empty corpus in {}", dir.display());
    }

    /// Replays every committed corpus file of the `policy_toml` fuzz target.
    #[test]
    fn replay_policy_toml_corpus() {
        replay("policy_toml", super::policy_toml);
    }

    /// Replays every committed corpus file of the `policy_dnp` fuzz target.
    #[test]
    fn replay_policy_dnp_corpus() {
        replay("policy_dnp", super::policy_dnp);
    }
}
