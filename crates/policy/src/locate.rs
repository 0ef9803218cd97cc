//! Turning a byte offset in a TOML text into a line, a column and the dotted key there.

use std::fmt::Write as _;
use std::ops::Range;

use toml::de::{DeTable, DeValue};

/// The line and column (both from 1, the column in characters) of byte `offset`.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let mut start = offset;
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// The dotted key path (`rate.pps`, `destinations.deny[1]`) whose key or value holds `span`.
pub(crate) fn key_at(text: &str, span: &Range<usize>) -> Option<String> {
    let root = DeTable::parse(text).ok()?;
    let mut path = Vec::new();
    find_in_table(root.get_ref(), span.start, &mut path).then(|| path.join("."))
}

/// The span of the value at the dotted `path` (tables only), if present.
pub(crate) fn value_span(text: &str, path: &[&str]) -> Option<Range<usize>> {
    let root = DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let (last, parents) = path.split_last()?;
    for name in parents {
        match table.get(*name)?.get_ref() {
            DeValue::Table(t) => table = t,
            _ => return None,
        }
    }
    Some(table.get(*last)?.span())
}

fn find_in_table(table: &DeTable<'_>, pos: usize, path: &mut Vec<String>) -> bool {
    for (key, value) in table {
        path.push(key.get_ref().to_string());
        if key.span().contains(&pos) {
            return true;
        }
        match value.get_ref() {
            // A table's own span is not reliable (headers, dotted keys): look inside.
            DeValue::Table(t) if find_in_table(t, pos, path) => return true,
            DeValue::Array(items) if value.span().contains(&pos) => {
                if let Some(i) = items.iter().position(|v| v.span().contains(&pos)) {
                    if let Some(last) = path.last_mut() {
                        let _ = write!(last, "[{i}]");
                    }
                    if let DeValue::Table(t) = items[i].get_ref() {
                        find_in_table(t, pos, path);
                    }
                }
                return true;
            }
            DeValue::Array(items) => {
                // Arrays of tables (`[[x]]`) have no contiguous span either.
                for (i, item) in items.iter().enumerate() {
                    if let DeValue::Table(t) = item.get_ref() {
                        let mark = path.len();
                        if let Some(last) = path.last_mut() {
                            let _ = write!(last, "[{i}]");
                        }
                        if find_in_table(t, pos, path) {
                            return true;
                        }
                        path.truncate(mark);
                        if let Some(last) = path.last_mut()
                            && let Some(cut) = last.rfind('[')
                        {
                            last.truncate(cut);
                        }
                    }
                }
            }
            _ if value.span().contains(&pos) => return true,
            _ => {}
        }
        path.pop();
    }
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 10), (2, 4));
        assert_eq!(line_col(t, 999), (3, 1));
    }

    #[test]
    fn keys() {
        let t = "[rate]\npps = 5\n\n[destinations]\ndeny = [\"10.0.0.0/8\",\n  \"x\"]\n[measurements.ping]\nmethods = []\n";
        let at = |needle: &str| {
            let i = t.find(needle).unwrap();
            key_at(t, &(i..i + 1))
        };
        assert_eq!(at("5").as_deref(), Some("rate.pps"));
        assert_eq!(at("pps").as_deref(), Some("rate.pps"));
        assert_eq!(at("\"x\"").as_deref(), Some("destinations.deny[1]"));
        assert_eq!(at("methods").as_deref(), Some("measurements.ping.methods"));
        let s = value_span(t, &["rate", "pps"]).unwrap();
        assert_eq!(&t[s], "5");
        assert!(value_span(t, &["rate", "nope"]).is_none());
    }
}
