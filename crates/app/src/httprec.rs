//! HTTP response recording without I/O: finding and parsing the header block, synthesising
//! header text for HTTP/2, and cutting bytes into model buffers.
//!
//! The async `http` measurement feeds what it sees into these functions; they never fail on
//! strange input, they describe it.

use vantage_model::{HttpBuf, HttpBufType, Timestamp};

/// The largest buffer the model (and warts) holds.
pub const MAX_BUF: usize = 65535;

/// A parsed response header block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// `1.0`, `1.1` (minor version of `HTTP/1.x`) or 2 for HTTP/2.
    pub version: HttpVersion,
    /// The status code.
    pub status: u16,
    /// The reason phrase (HTTP/1 only).
    pub reason: String,
    /// The headers in order, values as bytes lossily turned into text.
    pub headers: Vec<(String, String)>,
}

/// The HTTP version a response came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.0.
    Http10,
    /// HTTP/1.1.
    Http11,
    /// HTTP/2.
    Http2,
}

impl HttpVersion {
    /// `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
            Self::Http2 => "HTTP/2",
        }
    }
}

/// Where the header block of an HTTP/1 response ends: the index just past the first empty
/// line (`\r\n\r\n`, or a bare `\n\n` which some servers send), if it has arrived.
pub fn head_end(raw: &[u8]) -> Option<usize> {
    let crlf = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = raw.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Parses an HTTP/1 response header block (status line and headers).
pub fn parse_head(raw: &[u8]) -> Result<ResponseHead, String> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(format!(
                "the response header block is incomplete after {} bytes",
                raw.len()
            ));
        }
        Err(e) => return Err(format!("the response header block is malformed: {e}")),
    }
    let version = match resp.version {
        Some(0) => HttpVersion::Http10,
        _ => HttpVersion::Http11,
    };
    Ok(ResponseHead {
        version,
        status: resp.code.unwrap_or(0),
        reason: resp.reason.unwrap_or_default().to_owned(),
        headers: resp
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
    })
}

/// A header block in HTTP/1 text form, for a response that had none on the wire (HTTP/2):
/// `HTTP/2 200\r\nname: value\r\n...\r\n`.
pub fn synth_response_head(
    status: u16,
    version: HttpVersion,
    headers: &[(String, Vec<u8>)],
) -> Vec<u8> {
    let mut out = format!("{} {status}\r\n", version.as_str()).into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A request header block in HTTP/1 text form (what HTTP/2 sent as HEADERS).
pub fn synth_request_head(
    method: &str,
    path: &str,
    version: HttpVersion,
    headers: &[(String, Vec<u8>)],
) -> Vec<u8> {
    let mut out = format!("{method} {path} {}\r\n", version.as_str()).into_bytes();
    for (n, v) in headers {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// Appends `data` to `bufs` as buffers of at most [`MAX_BUF`] bytes.
pub fn push_bufs(bufs: &mut Vec<HttpBuf>, tx: bool, kind: HttpBufType, ts: Timestamp, data: &[u8]) {
    for chunk in data.chunks(MAX_BUF) {
        bufs.push(HttpBuf {
            tx,
            kind,
            ts,
            data: chunk.to_vec(),
        });
    }
}

/// The response as the Python API shows it: status code, header block and body, from the
/// buffers of a finished measurement.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResponseView {
    /// Status code, when the header block parsed.
    pub status: Option<u16>,
    /// The received header block (bytes of the rx header buffers).
    pub head: Vec<u8>,
    /// The received body (bytes of the rx data buffers).
    pub body: Vec<u8>,
    /// The transmitted header block.
    pub request_head: Vec<u8>,
}

/// Collects the response of a finished measurement from its buffers.
pub fn view(bufs: &[HttpBuf]) -> ResponseView {
    let mut v = ResponseView::default();
    for b in bufs {
        match (b.tx, b.kind) {
            (false, HttpBufType::Header) => v.head.extend_from_slice(&b.data),
            (false, HttpBufType::Data) => v.body.extend_from_slice(&b.data),
            (true, HttpBufType::Header) => v.request_head.extend_from_slice(&b.data),
            _ => {}
        }
    }
    v.status = status_of(&v.head);
    v
}

/// The status code of a header block in HTTP/1 or synthesised HTTP/2 form.
pub fn status_of(head: &[u8]) -> Option<u16> {
    if let Ok(h) = parse_head(head) {
        return Some(h.status);
    }
    let line = head.split(|b| *b == b'\n').next()?;
    let text = std::str::from_utf8(line).ok()?;
    let mut words = text.split_whitespace();
    let proto = words.next()?;
    if !proto.starts_with("HTTP/") {
        return None;
    }
    words.next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_variants() {
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r\nbody"), Some(19));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\n\nbody"), Some(17));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\nA: b\r\n"), None);
        assert_eq!(head_end(b""), None);
    }

    #[test]
    fn parse_heads() {
        let h =
            parse_head(b"HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\nX: \xff\r\n\r\n").unwrap();
        assert_eq!(h.status, 404);
        assert_eq!(h.version, HttpVersion::Http10);
        assert_eq!(h.reason, "Not Found");
        assert_eq!(h.headers[0], ("Content-Length".into(), "3".into()));
        assert_eq!(h.headers[1].1, "\u{fffd}");
        assert!(
            parse_head(b"HTTP/1.1 200 OK\r\n")
                .unwrap_err()
                .contains("incomplete")
        );
        assert!(
            parse_head(b"garbage\r\n\r\n")
                .unwrap_err()
                .contains("malformed")
        );
    }

    #[test]
    fn synth_and_view() {
        let head = synth_response_head(
            200,
            HttpVersion::Http2,
            &[("server".into(), b"nginx".to_vec())],
        );
        assert_eq!(head, b"HTTP/2 200\r\nserver: nginx\r\n\r\n");
        let req = synth_request_head(
            "GET",
            "/x",
            HttpVersion::Http2,
            &[(":authority".into(), b"h".to_vec())],
        );
        assert_eq!(req, b"GET /x HTTP/2\r\n:authority: h\r\n\r\n");
        let mut bufs = Vec::new();
        let ts = Timestamp::new(1, 2);
        push_bufs(&mut bufs, true, HttpBufType::Header, ts, &req);
        push_bufs(&mut bufs, false, HttpBufType::Header, ts, &head);
        push_bufs(
            &mut bufs,
            false,
            HttpBufType::Data,
            ts,
            &vec![b'x'; MAX_BUF + 10],
        );
        assert_eq!(bufs.len(), 4);
        assert_eq!(bufs[3].data.len(), 10);
        let v = view(&bufs);
        assert_eq!(v.status, Some(200));
        assert_eq!(v.body.len(), MAX_BUF + 10);
        assert_eq!(v.request_head, req);
        assert_eq!(status_of(b"HTTP/1.1 301 Moved\r\n\r\n"), Some(301));
        assert_eq!(status_of(b"nonsense"), None);
    }

    proptest::proptest! {
        #[test]
        fn head_round_trips(
            status in 100u16..1000,
            headers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,30}"), 0..8),
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..50),
        ) {
            let hs: Vec<(String, Vec<u8>)> = headers
                .iter()
                .map(|(n, v)| (n.clone(), v.trim().as_bytes().to_vec()))
                .collect();
            let mut raw = synth_response_head(status, HttpVersion::Http11, &hs);
            let end = raw.len();
            raw.extend_from_slice(&body);
            proptest::prop_assert_eq!(head_end(&raw).map(|e| e <= end), Some(true));
            let h = parse_head(&raw[..end]).unwrap();
            proptest::prop_assert_eq!(h.status, status);
            proptest::prop_assert_eq!(h.version, HttpVersion::Http11);
            let got: Vec<(String, Vec<u8>)> =
                h.headers.iter().map(|(n, v)| (n.clone(), v.as_bytes().to_vec())).collect();
            proptest::prop_assert_eq!(got, hs);
            proptest::prop_assert_eq!(status_of(&raw), Some(status));
        }
    }
}
