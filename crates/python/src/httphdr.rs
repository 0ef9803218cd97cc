//! The request and response header blocks of an HTTP record, parsed from the
//! recorded bytes (untrusted: whatever the server sent).

use vantage_model::{Http, HttpBufType};

/// The concatenated bytes of the buffers sent (`tx`) or received of one kind,
/// or `None` if there are none.
pub(crate) fn joined(h: &Http, tx: bool, kind: HttpBufType) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut any = false;
    for b in h.bufs.iter().filter(|b| b.tx == tx && b.kind == kind) {
        out.extend_from_slice(&b.data);
        any = true;
    }
    any.then_some(out)
}

/// The header block text of a direction, up to and including the blank line.
pub(crate) fn header_block(h: &Http, tx: bool) -> Option<String> {
    let raw = joined(h, tx, HttpBufType::Header)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    Some(match text.find("\r\n\r\n") {
        Some(i) => text[..i + 4].to_owned(),
        None => text,
    })
}

/// (name, value) pairs of a header block; the status or request line is skipped,
/// and so are lines without a colon.
pub(crate) fn header_fields(block: &str) -> Vec<(String, String)> {
    block
        .split("\r\n")
        .skip(1)
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_owned(), v.trim().to_owned()))
        })
        .collect()
}

/// The status code of a response header block (`HTTP/1.1 200 OK`).
pub(crate) fn status_code(block: &str) -> Option<u16> {
    block.split_whitespace().nth(1)?.parse().ok()
}

/// The URL of the fetch: scheme, host, the port when not the default, path.
pub(crate) fn url(h: &Http) -> Option<String> {
    let scheme = h.kind.name()?;
    let port = match h.kind.default_port() {
        Some(p) if p == h.dport => String::new(),
        _ => format!(":{}", h.dport),
    };
    Some(format!("{scheme}://{}{port}{}", h.host, h.file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_status() {
        let block =
            "HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\nX-Odd:a:b\r\nno colon\r\n\r\n";
        assert_eq!(status_code(block), Some(404));
        assert_eq!(
            header_fields(block),
            [
                ("Content-Type".to_owned(), "text/html".to_owned()),
                ("X-Odd".to_owned(), "a:b".to_owned())
            ]
        );
        assert_eq!(status_code("garbage"), None);
        assert_eq!(status_code("HTTP/1.1 99999 x"), None);
    }
}
