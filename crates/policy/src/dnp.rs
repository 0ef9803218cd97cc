//! The do-not-probe list: a file of prefixes that a vantage point never sends to, reloadable
//! while the probe runs.
//!
//! Format: one prefix per line (`192.0.2.0/24`, `2001:db8::/32`, or a bare address for one
//! host); `#` starts a comment, to the end of the line; blank lines are ignored. Prefixes may
//! nest or repeat; the most specific one holding an address is the one reported.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use sha2::{Digest, Sha256};

use crate::prefix::{Prefix, PrefixError};
use crate::table::PrefixTable;

/// Why a do-not-probe list could not be read. A reload that fails keeps the previous list.
#[derive(Debug, thiserror::Error)]
pub enum DnpError {
    /// The file could not be read.
    #[error("cannot read do-not-probe list {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// A line is not a prefix.
    #[error("do-not-probe list {path} line {line}: {reason}{more}")]
    Parse {
        /// The file (`<text>` when parsed from memory).
        path: PathBuf,
        /// The first bad line, counting from 1.
        line: usize,
        /// What is wrong with it.
        reason: PrefixError,
        /// How many more bad lines follow, as text ("" or " (and 3 more bad lines)").
        more: String,
    },
    /// The list has more lines than can be numbered.
    #[error("do-not-probe list {path} is too long (more than 4294967295 lines)")]
    TooLong {
        /// The file.
        path: PathBuf,
    },
}

/// Where an address matched a do-not-probe list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnpMatch {
    /// The most specific listed prefix holding the address.
    pub prefix: Prefix,
    /// The line it is on, counting from 1.
    pub line: u32,
}

/// One parsed, immutable do-not-probe list.
#[derive(Debug, Clone, Default)]
pub struct DnpList {
    entries: Vec<(Prefix, u32)>,
    table: PrefixTable,
    sha256: String,
}

impl DnpList {
    /// Parses the text of a list. `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<DnpList, DnpError> {
        let mut entries = Vec::new();
        let mut first_error = None;
        let mut bad = 0usize;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split_once('#').map_or(raw, |(l, _)| l).trim();
            if line.is_empty() {
                continue;
            }
            let Ok(number) = u32::try_from(i + 1) else {
                return Err(DnpError::TooLong {
                    path: path.to_owned(),
                });
            };
            match line.parse::<Prefix>() {
                Ok(p) => entries.push((p, number)),
                Err(reason) => {
                    bad += 1;
                    first_error.get_or_insert((i + 1, reason));
                }
            }
        }
        if let Some((line, reason)) = first_error {
            let more = match bad - 1 {
                0 => String::new(),
                1 => " (and 1 more bad line)".to_owned(),
                n => format!(" (and {n} more bad lines)"),
            };
            return Err(DnpError::Parse {
                path: path.to_owned(),
                line,
                reason,
                more,
            });
        }
        Ok(DnpList::from_entries(entries))
    }

    /// Reads and parses a list file.
    pub fn read(path: &Path) -> Result<DnpList, DnpError> {
        let text = std::fs::read_to_string(path).map_err(|source| DnpError::Read {
            path: path.to_owned(),
            source,
        })?;
        DnpList::parse(&text, path)
    }

    fn from_entries(entries: Vec<(Prefix, u32)>) -> DnpList {
        let table =
            PrefixTable::build(entries.iter().enumerate().map(|(i, (p, _))| (*p, i as u32)));
        // The hash covers the set of prefixes, whatever their order, comments or repeats.
        let mut sorted: Vec<Prefix> = entries.iter().map(|(p, _)| *p).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut h = Sha256::new();
        let mut line = String::new();
        for p in &sorted {
            line.clear();
            let _ = writeln!(line, "{p}");
            h.update(line.as_bytes());
        }
        let sha256 = hex(&h.finalize());
        DnpList {
            entries,
            table,
            sha256,
        }
    }

    /// The most specific listed prefix holding `addr`, if any.
    pub fn lookup(&self, addr: IpAddr) -> Option<DnpMatch> {
        let i = self.table.lookup(addr)?;
        let (prefix, line) = *self.entries.get(i as usize)?;
        Some(DnpMatch { prefix, line })
    }

    /// How many prefixes the list holds (repeats included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// SHA-256 (hex) of the list's distinct prefixes, one per line in sorted order: the same
    /// set gives the same hash whatever the file's order, comments or repeats.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// The list as text that parses back to the same set: one prefix per line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (p, _) in &self.entries {
            let _ = writeln!(out, "{p}");
        }
        out
    }
}

/// A shared handle on the current do-not-probe list of a file. Lookups take a snapshot;
/// [`DoNotProbe::reload`] swaps a new list in atomically, or keeps the old one when the file
/// is bad.
#[derive(Debug)]
pub struct DoNotProbe {
    path: PathBuf,
    current: RwLock<Arc<DnpList>>,
}

impl DoNotProbe {
    /// Reads the list at `path`.
    pub fn open(path: impl Into<PathBuf>) -> Result<DoNotProbe, DnpError> {
        let path = path.into();
        let list = DnpList::read(&path)?;
        Ok(DoNotProbe {
            path,
            current: RwLock::new(Arc::new(list)),
        })
    }

    /// A handle holding `list`, reloadable from `path`.
    pub fn with_list(path: impl Into<PathBuf>, list: DnpList) -> DoNotProbe {
        DoNotProbe {
            path: path.into(),
            current: RwLock::new(Arc::new(list)),
        }
    }

    /// The file this list is read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The list in force now. Holding the snapshot does not block reloads.
    pub fn snapshot(&self) -> Arc<DnpList> {
        // A poisoned lock only means a reader panicked; the Arc inside is still whole.
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Looks `addr` up in the list in force now.
    pub fn lookup(&self, addr: IpAddr) -> Option<DnpMatch> {
        self.snapshot().lookup(addr)
    }

    /// Reads the file again and, when it parses, puts the new list in force; returns how many
    /// prefixes it holds. On any error the previous list stays in force.
    pub fn reload(&self) -> Result<usize, DnpError> {
        let list = DnpList::read(&self.path)?;
        let n = list.len();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(list);
        Ok(n)
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list(text: &str) -> DnpList {
        DnpList::parse(text, Path::new("test.txt")).unwrap()
    }

    #[test]
    fn parse_with_comments_and_lookup() {
        let l = list(
            "# research opt-outs\n\n192.0.2.0/24   # a whole network\n  198.51.100.7\n2001:db8::/32\n192.0.2.128/25\n",
        );
        assert_eq!(l.len(), 4);
        let m = l.lookup("192.0.2.200".parse().unwrap()).unwrap();
        assert_eq!(
            (m.prefix.to_string(), m.line),
            ("192.0.2.128/25".to_owned(), 6)
        );
        let m = l.lookup("192.0.2.1".parse().unwrap()).unwrap();
        assert_eq!(
            (m.prefix.to_string(), m.line),
            ("192.0.2.0/24".to_owned(), 3)
        );
        assert_eq!(l.lookup("198.51.100.7".parse().unwrap()).unwrap().line, 4);
        assert!(l.lookup("198.51.100.8".parse().unwrap()).is_none());
        assert!(l.lookup("2001:db8:1::1".parse().unwrap()).is_some());
        assert!(l.lookup("2001:db9::1".parse().unwrap()).is_none());
    }

    #[test]
    fn errors_name_the_line() {
        let e = DnpList::parse(
            "10.0.0.0/8\n\n10.0.0.300\n10.1.0.0/33\n",
            Path::new("/etc/dnp"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "do-not-probe list /etc/dnp line 3: `10.0.0.300` is not an IP address or prefix \
             (write e.g. 192.0.2.0/24 or 2001:db8::/32) (and 1 more bad line)"
        );
        let e = DnpList::parse("10.0.0.1/8", Path::new("x")).unwrap_err();
        assert!(
            e.to_string().contains("line 1: `10.0.0.1/8` has bits set"),
            "{e}"
        );
    }

    #[test]
    fn hash_ignores_order_comments_and_repeats() {
        let a = list("10.0.0.0/8\n192.0.2.0/24\n");
        let b = list("# x\n192.0.2.0/24\n10.0.0.0/8 # y\n10.0.0.0/8\n");
        assert_eq!(a.sha256(), b.sha256());
        assert_ne!(a.sha256(), list("10.0.0.0/8\n").sha256());
        assert_eq!(a.sha256().len(), 64);
    }

    #[test]
    fn reload_swaps_or_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dnp.txt");
        std::fs::write(&path, "192.0.2.0/24\n").unwrap();
        let dnp = DoNotProbe::open(&path).unwrap();
        let old = dnp.snapshot();
        assert!(dnp.lookup("192.0.2.1".parse().unwrap()).is_some());

        std::fs::write(&path, "198.51.100.0/24\n").unwrap();
        assert_eq!(dnp.reload().unwrap(), 1);
        assert!(dnp.lookup("192.0.2.1".parse().unwrap()).is_none());
        assert!(dnp.lookup("198.51.100.1".parse().unwrap()).is_some());
        // A snapshot taken before the reload still answers from the old list.
        assert!(old.lookup("192.0.2.1".parse().unwrap()).is_some());

        std::fs::write(&path, "198.51.100.0/24\n203.0.113.0/24\nnot-a-prefix\n").unwrap();
        let e = dnp.reload().unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        assert!(dnp.lookup("198.51.100.1".parse().unwrap()).is_some());
        assert!(dnp.lookup("203.0.113.1".parse().unwrap()).is_none());

        std::fs::remove_file(&path).unwrap();
        assert!(matches!(dnp.reload(), Err(DnpError::Read { .. })));
        assert!(dnp.lookup("198.51.100.1".parse().unwrap()).is_some());
    }

    #[test]
    fn a_million_prefixes() {
        let mut text = String::new();
        for i in 0u32..1_000_000 {
            let _ = writeln!(
                text,
                "{}/32",
                std::net::Ipv4Addr::from_bits(i.wrapping_mul(2_654_435_761))
            );
        }
        let l = list(&text);
        assert_eq!(l.len(), 1_000_000);
        let hit = std::net::Ipv4Addr::from_bits(7u32.wrapping_mul(2_654_435_761));
        assert_eq!(l.lookup(hit.into()).unwrap().line, 8);
    }

    proptest! {
        #[test]
        fn text_round_trip(nets in proptest::collection::vec((any::<u32>(), 0u8..=32), 0..30)) {
            let mut text = String::new();
            for &(b, l) in &nets {
                let _ = writeln!(text, "{}", Prefix::v4(b.to_be_bytes(), l));
            }
            let a = list(&text);
            let b = list(&a.to_text());
            prop_assert_eq!(a.sha256(), b.sha256());
            prop_assert_eq!(a.len(), b.len());
        }
    }
}
