//! The VP metadata file (remote-protocol.md §6.3): what the controller announces
//! about each VP, keyed by monitor name.
//!
//! One record per line: `<monitorname> <attribute> <value>`, separated by
//! whitespace; the value is the rest of the line and may contain spaces. Empty
//! lines and lines starting with `#` are ignored. Attribute names are
//! case-insensitive: `asn4 asn6 cc st place latlong shortname iata tag`. `tag`
//! may repeat; for other attributes a later line replaces an earlier one.
//! Unknown attributes are ignored (and reported as [`Warning`]s). A line with
//! fewer than three fields makes the whole file invalid: the controller keeps its
//! previous metadata.

use std::collections::BTreeMap;
use std::fmt;
use thiserror::Error;

/// Why a metadata file was refused. Each variant names the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A line with fewer than three fields.
    #[error("metadata line {line}: {}; each line must be `<monitorname> <attribute> <value>`", match key {
        Some(k) => format!("monitor {monitor:?} attribute {k:?} has no value"),
        None => format!("monitor {monitor:?} has no attribute and value"),
    })]
    TooFewFields {
        /// 1-based line number.
        line: usize,
        /// The first field.
        monitor: String,
        /// The attribute, if present.
        key: Option<String>,
    },
    /// A line that is not valid UTF-8.
    #[error("metadata line {line} is not valid UTF-8")]
    NotUtf8 {
        /// 1-based line number.
        line: usize,
    },
}

/// Something odd in an otherwise valid metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Warning {
    /// 1-based line number.
    pub line: usize,
    /// The attribute (or monitor name) concerned.
    pub key: String,
    /// What is odd.
    pub kind: WarningKind,
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WarningKind {
    /// An attribute name that is not known; the line is ignored.
    UnknownAttribute,
    /// A non-repeatable attribute given again for the same monitor; the later
    /// value wins.
    Repeated,
    /// A monitor name that no VP can announce (`[A-Za-z0-9.-]`, 1–254
    /// characters), so the record can never match.
    UnusableMonitorName,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            WarningKind::UnknownAttribute => "unknown attribute, line ignored",
            WarningKind::Repeated => "attribute repeated for this monitor, the later value wins",
            WarningKind::UnusableMonitorName => {
                "monitor name can never match a VP (only letters, digits, '.' and '-')"
            }
        };
        write!(f, "metadata line {}: {:?}: {what}", self.line, self.key)
    }
}

/// The metadata of one VP.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct VpMeta {
    /// `asn4`
    pub asn4: Option<String>,
    /// `asn6`
    pub asn6: Option<String>,
    /// `cc`: country code.
    pub cc: Option<String>,
    /// `st`: state.
    pub st: Option<String>,
    /// `place`
    pub place: Option<String>,
    /// `latlong`
    pub latlong: Option<String>,
    /// `shortname`
    pub shortname: Option<String>,
    /// `iata`: nearest airport code.
    pub iata: Option<String>,
    /// `tag`s, in file order.
    pub tags: Vec<String>,
}

/// A parsed metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    vps: BTreeMap<String, VpMeta>,
    warnings: Vec<Warning>,
}

impl Metadata {
    /// Parses a whole file.
    pub fn parse(text: &[u8]) -> Result<Self, Error> {
        let mut md = Self::default();
        for (i, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line_no = i + 1;
            let line = std::str::from_utf8(raw).map_err(|_| Error::NotUtf8 { line: line_no })?;
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (monitor, rest) = split_field(line);
            let (key, value) = split_field(rest);
            let value = value.trim_end();
            if key.is_empty() || value.is_empty() {
                return Err(Error::TooFewFields {
                    line: line_no,
                    monitor: monitor.to_owned(),
                    key: (!key.is_empty()).then(|| key.to_owned()),
                });
            }
            let warn = |md: &mut Self, key: &str, kind| {
                md.warnings.push(Warning {
                    line: line_no,
                    key: key.to_owned(),
                    kind,
                });
            };
            if crate::remote::validate_monitor_name(monitor).is_err() {
                warn(&mut md, monitor, WarningKind::UnusableMonitorName);
            }
            let lkey = key.to_ascii_lowercase();
            let entry = md.vps.entry(monitor.to_owned()).or_default();
            let slot = match lkey.as_str() {
                "asn4" => &mut entry.asn4,
                "asn6" => &mut entry.asn6,
                "cc" => &mut entry.cc,
                "st" => &mut entry.st,
                "place" => &mut entry.place,
                "latlong" => &mut entry.latlong,
                "shortname" => &mut entry.shortname,
                "iata" => &mut entry.iata,
                "tag" => {
                    entry.tags.push(value.to_owned());
                    continue;
                }
                _ => {
                    if entry == &VpMeta::default() {
                        md.vps.remove(monitor);
                    }
                    warn(&mut md, key, WarningKind::UnknownAttribute);
                    continue;
                }
            };
            let repeated = slot.replace(value.to_owned()).is_some();
            if repeated {
                warn(&mut md, key, WarningKind::Repeated);
            }
        }
        Ok(md)
    }

    /// The metadata for a monitor name (exact, case-sensitive match).
    pub fn get(&self, monitor: &str) -> Option<&VpMeta> {
        self.vps.get(monitor)
    }

    /// Every monitor name and its metadata, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &VpMeta)> {
        self.vps.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of monitors with metadata.
    pub fn len(&self) -> usize {
        self.vps.len()
    }

    /// Whether no monitor has metadata.
    pub fn is_empty(&self) -> bool {
        self.vps.is_empty()
    }

    /// Oddities found while parsing (the file was still accepted).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }
}

/// Splits off the first whitespace-separated field; the rest starts at the next
/// non-whitespace character.
fn split_field(s: &str) -> (&str, &str) {
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (
            &s[..i],
            s[i..].trim_start_matches(|c: char| c.is_ascii_whitespace()),
        ),
        None => (s, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_spec_example_and_more() {
        let md = Metadata::parse(
            b"# VP metadata\n\
              \n\
              vp1.example asn4 64496\n\
              vp1.example cc nz\r\n\
              vp1.example   SHORTNAME\tvp1\n\
              vp1.example tag os:linux\n\
              vp1.example tag  two words  \n\
              vp1.example place Auckland, New Zealand\n\
              vp2 latlong -36.85,174.76\n",
        )
        .unwrap();
        let vp1 = md.get("vp1.example").unwrap();
        assert_eq!(vp1.asn4.as_deref(), Some("64496"));
        assert_eq!(vp1.cc.as_deref(), Some("nz"));
        assert_eq!(vp1.shortname.as_deref(), Some("vp1"));
        assert_eq!(vp1.tags, vec!["os:linux", "two words"]);
        assert_eq!(vp1.place.as_deref(), Some("Auckland, New Zealand"));
        assert_eq!(
            md.get("vp2").unwrap().latlong.as_deref(),
            Some("-36.85,174.76")
        );
        assert!(md.get("VP2").is_none(), "lookup is case-sensitive");
        assert_eq!(md.len(), 2);
        assert!(md.warnings().is_empty());
    }

    #[test]
    fn too_few_fields_names_line_and_key() {
        let e = Metadata::parse(b"vp1 cc nz\nvp1 cc\n").unwrap_err();
        assert_eq!(
            e,
            Error::TooFewFields {
                line: 2,
                monitor: "vp1".into(),
                key: Some("cc".into())
            }
        );
        assert_eq!(
            e.to_string(),
            "metadata line 2: monitor \"vp1\" attribute \"cc\" has no value; each line must be `<monitorname> <attribute> <value>`"
        );
        let e = Metadata::parse(b"\n\nvp1   \n").unwrap_err();
        assert_eq!(
            e,
            Error::TooFewFields {
                line: 3,
                monitor: "vp1".into(),
                key: None
            }
        );
        assert_eq!(
            Metadata::parse(b"vp1 cc \xff\n"),
            Err(Error::NotUtf8 { line: 1 })
        );
    }

    #[test]
    fn warnings_for_oddities() {
        let md = Metadata::parse(b"vp1 colour blue\nvp1 cc nz\nvp1 CC au\nvp_1 cc nz\n").unwrap();
        assert_eq!(md.get("vp1").unwrap().cc.as_deref(), Some("au"));
        let kinds: Vec<(usize, &str, WarningKind)> = md
            .warnings()
            .iter()
            .map(|w| (w.line, w.key.as_str(), w.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (1, "colour", WarningKind::UnknownAttribute),
                (3, "CC", WarningKind::Repeated),
                (4, "vp_1", WarningKind::UnusableMonitorName),
            ]
        );
        assert!(md.warnings()[0].to_string().contains("line 1"));
        let only_unknown = Metadata::parse(b"vp9 colour blue\n").unwrap();
        assert!(only_unknown.get("vp9").is_none());
    }

    proptest! {
        #[test]
        fn written_records_read_back(recs in proptest::collection::vec(
            ("[a-z0-9.-]{1,10}", proptest::sample::select(vec!["asn4", "cc", "st", "place", "latlong", "shortname", "iata", "asn6"]), "[!-~]([ -~]{0,10}[!-~])?"),
            0..20,
        )) {
            let mut text = String::new();
            let mut expected: BTreeMap<String, BTreeMap<&str, String>> = BTreeMap::new();
            for (m, k, v) in &recs {
                text += &[m.as_str(), k, v].join(" ");
                text.push('\n');
                expected.entry(m.clone()).or_default().insert(k, v.clone());
            }
            let md = Metadata::parse(text.as_bytes()).unwrap();
            prop_assert_eq!(md.len(), expected.len());
            for (m, kv) in expected {
                let got = md.get(&m).unwrap();
                for (k, v) in kv {
                    let field = match k {
                        "asn4" => &got.asn4, "asn6" => &got.asn6, "cc" => &got.cc, "st" => &got.st,
                        "place" => &got.place, "latlong" => &got.latlong, "shortname" => &got.shortname,
                        _ => &got.iata,
                    };
                    prop_assert_eq!(field.as_deref(), Some(v.as_str()));
                }
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Metadata::parse(&bytes);
        }
    }
}
