//! The compiled policy: loading, destination lookup, hashing and publication.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vantage_command::DestinationCheck;

use crate::config::PolicyConfig;
use crate::dnp::{DoNotProbe, hex};
use crate::error::{PolicyError, Violation};
use crate::locate;
use crate::prefix::Prefix;
use crate::special::{Category, DEFAULT_DENY};
use crate::table::PrefixTable;

/// The format name carried by published policies and hashed with them.
pub const FORMAT: &str = "vantage-policy/1";

/// A vantage point's policy, ready to judge commands.
///
/// Built from a [`PolicyConfig`] (normally read from a TOML file with [`Policy::load`]); the
/// config is normalised, so equal policies compare, hash and print equally. The do-not-probe
/// list, when there is one, is shared and reloadable ([`Policy::do_not_probe`]).
#[derive(Clone)]
pub struct Policy {
    config: PolicyConfig,
    allow: PrefixTable,
    deny: PrefixTable,
    special: Arc<PrefixTable>,
    dnp: Option<Arc<DoNotProbe>>,
    hash: String,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("config", &self.config)
            .field(
                "do_not_probe",
                &self.dnp.as_ref().map(|d| d.path().to_owned()),
            )
            .field("sha256", &self.hash)
            .finish_non_exhaustive()
    }
}

impl Default for Policy {
    /// The documented default policy: what a vantage point without a policy file obeys.
    fn default() -> Self {
        Policy::from_config(PolicyConfig::default())
    }
}

impl PolicyConfig {
    /// Parses the text of a policy file. `origin` names the text in errors (`file
    /// /etc/vantage/policy.toml`). Errors give the line, column and dotted key.
    pub fn from_toml(text: &str, origin: &str) -> Result<PolicyConfig, PolicyError> {
        match toml::from_str::<PolicyConfig>(text) {
            Ok(mut c) => {
                c.normalize();
                Ok(c)
            }
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let (line, column) = locate::line_col(text, span.start);
                Err(PolicyError::Syntax {
                    origin: origin.to_owned(),
                    line,
                    column,
                    key: locate::key_at(text, &span),
                    message: e.message().trim_end().to_owned(),
                })
            }
        }
    }

    /// The config as a policy file (TOML) that parses back to an equal config.
    pub fn to_toml(&self) -> String {
        // Every field serialises to TOML (strings, integers, booleans, arrays, tables).
        toml::to_string(self).unwrap_or_default()
    }
}

impl Policy {
    /// Compiles a config (normalising it). Does no I/O: a `do_not_probe.file` in the config is
    /// not read; attach a list with [`Policy::with_do_not_probe`] or use [`Policy::load`].
    /// Values are taken as given: the TOML and JSON readers are what check their ranges.
    pub fn from_config(mut config: PolicyConfig) -> Policy {
        config.normalize();
        let index = |list: &[Prefix]| {
            PrefixTable::build(list.iter().enumerate().map(|(i, p)| (*p, i as u32)))
        };
        let allow = index(&config.destinations.allow);
        let deny = index(&config.destinations.deny);
        let special = Arc::new(PrefixTable::build(
            DEFAULT_DENY
                .iter()
                .enumerate()
                .map(|(i, b)| (b.prefix, i as u32)),
        ));
        let hash = hex(&Sha256::digest(canonical_bytes(&config)));
        Policy {
            config,
            allow,
            deny,
            special,
            dnp: None,
            hash,
        }
    }

    /// The same policy with `dnp` as its do-not-probe list.
    #[must_use]
    pub fn with_do_not_probe(mut self, dnp: Arc<DoNotProbe>) -> Policy {
        self.dnp = Some(dnp);
        self
    }

    /// Parses policy text and reads the do-not-probe list it names (relative paths are taken
    /// from `base`, or the current folder). `origin` names the text in errors.
    pub fn from_toml(text: &str, origin: &str, base: Option<&Path>) -> Result<Policy, PolicyError> {
        let config = PolicyConfig::from_toml(text, origin)?;
        let file = config.do_not_probe.file.clone();
        let mut policy = Policy::from_config(config);
        if let Some(file) = file {
            let path = match base {
                Some(b) if Path::new(&file).is_relative() => b.join(&file),
                _ => PathBuf::from(&file),
            };
            let dnp = DoNotProbe::open(path).map_err(|error| {
                let span = locate::value_span(text, &["do_not_probe", "file"]).unwrap_or(0..0);
                PolicyError::DoNotProbe {
                    origin: origin.to_owned(),
                    line: locate::line_col(text, span.start).0,
                    error: Box::new(error),
                }
            })?;
            policy.dnp = Some(Arc::new(dnp));
        }
        Ok(policy)
    }

    /// Reads a policy file and the do-not-probe list it names. A missing or bad file is an
    /// error naming the file (and the line and key, for a bad one).
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_owned(),
            source,
        })?;
        let base = path.parent().filter(|p| !p.as_os_str().is_empty());
        Policy::from_toml(&text, &format!("file {}", path.display()), base)
    }

    /// Like [`Policy::load`], but a file that does not exist means the default policy: for a
    /// well-known location the host may leave empty. Any other problem is still an error.
    pub fn load_optional(path: &Path) -> Result<Policy, PolicyError> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Policy::default()),
            _ => Policy::load(path),
        }
    }

    /// The (normalised) configuration.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// The do-not-probe list, to reload it or look addresses up.
    pub fn do_not_probe(&self) -> Option<&Arc<DoNotProbe>> {
        self.dnp.as_ref()
    }

    /// The packet rate to run at: `requested` capped at `rate.pps`; a request of 0 (no
    /// preference) gets the ceiling.
    pub fn effective_pps(&self, requested: u32) -> u32 {
        let ceiling = self.config.rate.pps;
        if requested == 0 {
            ceiling
        } else {
            requested.min(ceiling)
        }
    }

    /// The number of concurrent measurements to allow: `requested` capped at
    /// `rate.max_tasks`; 0 (no preference) gets the ceiling.
    pub fn effective_max_tasks(&self, requested: u32) -> u32 {
        let ceiling = self.config.rate.max_tasks;
        if requested == 0 {
            ceiling
        } else {
            requested.min(ceiling)
        }
    }

    /// The TTL ceiling (`options.max_ttl`): the probe caps the socket TTL of measurements that
    /// do not choose one (host, http, udpprobe) to it.
    pub fn max_ttl(&self) -> u8 {
        self.config.options.max_ttl
    }

    /// Checks one destination against `destinations.deny`, `destinations.allow`, the
    /// built-in deny list and the do-not-probe list, in that order.
    pub fn check_destination(&self, addr: IpAddr) -> Result<(), Violation> {
        let dest = &self.config.destinations;
        if let Some(i) = self.deny.lookup(addr) {
            return Err(Violation::Denied {
                addr,
                prefix: dest.deny[i as usize],
            });
        }
        let Some(a) = self.allow.lookup(addr) else {
            return Err(Violation::NotAllowed { addr });
        };
        if let Some(s) = self.special.lookup(addr) {
            let block = &DEFAULT_DENY[s as usize];
            if !block.prefix.covers(&dest.allow[a as usize]) {
                return Err(Violation::DefaultDenied {
                    addr,
                    prefix: block.prefix,
                    name: block.name,
                    rfc: block.rfc,
                });
            }
        }
        if let Some(dnp) = &self.dnp
            && let Some(m) = dnp.lookup(addr)
        {
            return Err(Violation::DoNotProbe {
                addr,
                prefix: m.prefix,
                line: m.line,
                file: dnp.path().display().to_string(),
            });
        }
        Ok(())
    }

    /// The allow entries that lift part of the built-in deny list, each with the block it
    /// lifts.
    pub fn lifted_blocks(&self) -> Vec<(Prefix, Category)> {
        let mut out = Vec::new();
        for p in &self.config.destinations.allow {
            if let Some(s) = self.special.lookup(p.addr()) {
                let block = &DEFAULT_DENY[s as usize];
                if block.prefix.covers(p) {
                    out.push((*p, block.category));
                }
            }
        }
        out
    }

    /// The policy's identity: SHA-256 (hex) of its canonical JSON form (the normalised config
    /// plus the built-in deny list, see [`Policy::canonical_json`]). Key order, spacing,
    /// comments and list order in the file do not change it.
    pub fn canonical_hash(&self) -> &str {
        &self.hash
    }

    /// The canonical serialisation that [`Policy::canonical_hash`] hashes: compact JSON of
    /// `{"format", "policy", "default_deny"}` with fields in a fixed order and lists sorted.
    pub fn canonical_json(&self) -> String {
        String::from_utf8(canonical_bytes(&self.config)).unwrap_or_default()
    }

    /// What the probe sends to the controller: the canonical form, its hash, and a summary of
    /// the do-not-probe list in force (its prefixes stay on the vantage point).
    pub fn publication(&self) -> Publication {
        let dnp = self.dnp.as_ref().map(|d| {
            let list = d.snapshot();
            DnpSummary {
                entries: list.len() as u64,
                sha256: list.sha256().to_owned(),
            }
        });
        Publication {
            format: FORMAT.to_owned(),
            sha256: self.hash.clone(),
            policy: self.config.clone(),
            default_deny: published_blocks(),
            do_not_probe: dnp,
        }
    }

    /// [`Policy::publication`] as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.publication()).unwrap_or_default()
    }

    /// What a probe hands the controller to publish: the publication as JSON text and the
    /// policy's hash ([`Policy::to_json`], [`Policy::canonical_hash`]). The hash names the
    /// rules only; the do-not-probe list has its own hash inside the JSON.
    pub fn published(&self) -> (String, String) {
        (self.to_json(), self.hash.clone())
    }
}

impl DestinationCheck for Policy {
    fn is_blocked(&self, addr: IpAddr) -> bool {
        self.check_destination(addr).is_err()
    }
}

/// A policy as published by a probe (JSON through the controller's mux).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Publication {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`Policy::canonical_hash`].
    pub sha256: String,
    /// The normalised config.
    pub policy: PolicyConfig,
    /// The built-in deny list the probe applies.
    pub default_deny: Vec<PublishedBlock>,
    /// The do-not-probe list in force, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_probe: Option<DnpSummary>,
}

impl Publication {
    /// Reads a publication from JSON and checks that its hash matches its content.
    pub fn from_json(json: &str) -> Result<Publication, PolicyError> {
        let p: Publication =
            serde_json::from_str(json).map_err(|e| PolicyError::Publication(e.to_string()))?;
        if p.format != FORMAT {
            return Err(PolicyError::Publication(format!(
                "format {} is not {FORMAT}",
                p.format
            )));
        }
        let mut config = p.policy.clone();
        config.normalize();
        let canonical = serde_json::to_vec(&Canonical {
            format: FORMAT,
            policy: &config,
            default_deny: &p.default_deny,
        })
        .unwrap_or_default();
        let hash = hex(&Sha256::digest(canonical));
        if hash != p.sha256 {
            return Err(PolicyError::Publication(format!(
                "sha256 {} does not match the content ({hash})",
                p.sha256
            )));
        }
        Ok(p)
    }

    /// The policy, to check commands before sending them to this vantage point. It applies
    /// this build's built-in deny list and has no do-not-probe list.
    pub fn to_policy(&self) -> Policy {
        Policy::from_config(self.policy.clone())
    }
}

/// One block of the built-in deny list, as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishedBlock {
    /// The block.
    pub prefix: Prefix,
    /// Its category (`private`, `loopback`, ...).
    pub category: String,
    /// Its registry name.
    pub name: String,
    /// Its RFC.
    pub rfc: String,
}

/// What a publication says about the do-not-probe list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnpSummary {
    /// How many prefixes it holds.
    pub entries: u64,
    /// [`crate::DnpList::sha256`].
    pub sha256: String,
}

#[derive(Serialize)]
struct Canonical<'a> {
    format: &'static str,
    policy: &'a PolicyConfig,
    default_deny: &'a [PublishedBlock],
}

fn published_blocks() -> Vec<PublishedBlock> {
    DEFAULT_DENY
        .iter()
        .map(|b| PublishedBlock {
            prefix: b.prefix,
            category: serde_json::to_value(b.category)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            name: b.name.to_owned(),
            rfc: b.rfc.to_owned(),
        })
        .collect()
}

fn canonical_bytes(config: &PolicyConfig) -> Vec<u8> {
    serde_json::to_vec(&Canonical {
        format: FORMAT,
        policy: config,
        default_deny: &published_blocks(),
    })
    .unwrap_or_default()
}
