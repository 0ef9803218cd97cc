//! `http`: one HTTP(S) request to an IP address (spec `commands.md` §7).

use std::net::IpAddr;
use std::time::Duration;

use crate::context::Context;
use crate::emit::Line;
use crate::error::CommandError;
use crate::lex::{self, OptDef, Table};
use crate::value::{self, TimeUnit};

const OPTS: &[OptDef] = &[
    OptDef::str('H').repeatable(),
    OptDef::str('m'),
    OptDef::str('O').repeatable(),
    OptDef::str('u'),
    OptDef::num('U'),
];

/// http does not check repeats: the last value wins, `-H` and `-O` accumulate.
pub(crate) const TABLE: Table = Table {
    command: "http",
    opts: OPTS,
    check_repeats: false,
};

const MAX_HEADERS: usize = 255;

/// The URL of an `http` command (`-u`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpUrl {
    /// `https://` (else `http://`).
    pub https: bool,
    /// The host, used for the `Host` header and TLS SNI only: the connection goes to the
    /// command's destination address.
    pub host: String,
    /// The port (default 80, or 443 for https).
    pub port: u16,
    /// The path, at least `/`.
    pub path: String,
}

impl HttpUrl {
    /// Reads `http[s]://host[:port][/path]`. The scheme is case-insensitive; the host is one
    /// or more of `[A-Za-z0-9.-]`; an explicit port is 1..=65535; the path is empty (meaning
    /// `/`) or starts with `/` and has no whitespace, control characters or backslashes.
    pub fn parse(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return None;
        };
        let host_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
            .unwrap_or(rest.len());
        let host = &rest[..host_end];
        if host.is_empty() {
            return None;
        }
        let mut rest = &rest[host_end..];
        let mut port = if https { 443 } else { 80 };
        if let Some(p) = rest.strip_prefix(':') {
            let end = p.find('/').unwrap_or(p.len());
            let digits = &p[..end];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            port = digits.parse::<u16>().ok().filter(|p| *p != 0)?;
            rest = &p[end..];
        }
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        if rest.chars().any(|c| !c.is_ascii_graphic() || c == '\\') {
            return None;
        }
        Some(HttpUrl {
            https,
            host: host.to_owned(),
            port,
            path: if rest.is_empty() { "/" } else { rest }.to_owned(),
        })
    }
}

impl std::fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        let default = if self.https { 443 } else { 80 };
        write!(f, "{scheme}://{}", self.host)?;
        if self.port != default {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(&self.path)
    }
}

/// An extra request header (`-H 'Name: value'`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpHeader {
    /// The name (characters `!`..`~` except `:`).
    pub name: String,
    /// The value (printable, not empty, leading spaces removed).
    pub value: String,
}

impl HttpHeader {
    fn parse(s: &str) -> Option<Self> {
        let (name, value) = s.split_once(':')?;
        if name.is_empty() || !name.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return None;
        }
        let value = value.trim_start_matches(' ');
        if value.is_empty() || !value.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return None;
        }
        Some(HttpHeader {
            name: name.to_owned(),
            value: value.to_owned(),
        })
    }
}

/// A validated `http` command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpSpec {
    /// The address to connect to.
    pub dst: IpAddr,
    /// `-u`: the URL.
    pub url: HttpUrl,
    /// `-H`: extra request headers, in order (at most 255; never `Host`).
    pub headers: Vec<HttpHeader>,
    /// `-m`: the longest the whole exchange may take (1..=60 s, default 60 s).
    pub max_time: Duration,
    /// `-O insecure`: do not validate the server's certificate.
    pub insecure: bool,
    /// `-O grease`: send a GREASE ECH extension.
    pub grease: bool,
    /// `-O ecl=`: an ECHConfigList to encrypt the ClientHello with.
    pub ech_config_list: Option<Vec<u8>>,
    /// `-U`: user id recorded in the result.
    pub user_id: u32,
}

impl HttpSpec {
    /// Parses the options and destination of an `http` command (the text after `http `).
    pub fn parse(rest: &str, ctx: &Context) -> Result<Self, CommandError> {
        let lexed = lex::lex(&TABLE, rest)?;
        let mut url = None;
        let mut headers = Vec::new();
        let mut max_time = Duration::from_secs(60);
        let (mut insecure, mut grease, mut ecl) = (false, false, None);
        let mut user_id = 0;
        for opt in &lexed.opts {
            let v = opt.value.as_deref().unwrap_or_default();
            match opt.letter {
                'H' => {
                    let h = HttpHeader::parse(v).ok_or_else(|| {
                        CommandError::option(
                            'H',
                            format!("header '{v}' must be 'Name: value' with a non-empty value"),
                        )
                    })?;
                    if h.name.eq_ignore_ascii_case("host") {
                        return Err(CommandError::option(
                            'H',
                            "a Host header comes from the URL and cannot be given",
                        ));
                    }
                    headers.push(h);
                    if headers.len() > MAX_HEADERS {
                        return Err(CommandError::option(
                            'H',
                            format!("at most {MAX_HEADERS} headers"),
                        ));
                    }
                }
                'm' => {
                    max_time = value::time_ranged(
                        'm',
                        Some(v),
                        TimeUnit::Seconds,
                        "max-time",
                        Duration::from_secs(1),
                        Duration::from_secs(60),
                    )?;
                }
                'O' => {
                    if v.eq_ignore_ascii_case("insecure") {
                        insecure = true;
                    } else if v.eq_ignore_ascii_case("grease") {
                        grease = true;
                    } else if let Some(b) = v
                        .get(..4)
                        .filter(|k| k.eq_ignore_ascii_case("ecl="))
                        .map(|_| &v[4..])
                    {
                        ecl =
                            Some(base64_decode(b).filter(|d| !d.is_empty()).ok_or_else(|| {
                                CommandError::option('O', "ecl= needs a base64 ECHConfigList")
                            })?);
                    } else {
                        return Err(CommandError::option(
                            'O',
                            format!("unknown option '{v}' (known: insecure, grease, ecl=<base64>)"),
                        ));
                    }
                }
                'u' => {
                    url = Some(HttpUrl::parse(v).ok_or_else(|| {
                        CommandError::option(
                            'u',
                            format!("URL '{v}' must be http[s]://host[:port][/path]"),
                        )
                    })?);
                }
                'U' => {
                    user_id = value::ranged(
                        'U',
                        Some(v),
                        "userid",
                        0,
                        u32::MAX.into(),
                        value::int_strict,
                    )? as u32;
                }
                _ => return Err(CommandError::syntax("http", "unhandled option")),
            }
        }
        let Some(url) = url else {
            return Err(CommandError::Invalid("http needs a URL (-u)".to_owned()));
        };
        if lexed.target.is_empty() {
            return Err(CommandError::MissingTarget {
                what: "address to connect to",
            });
        }
        let dst = value::ip(lexed.target).ok_or(CommandError::InvalidDestination)?;
        if url.https && !ctx.tls {
            return Err(CommandError::option(
                'u',
                "https is not available on this prober",
            ));
        }
        if ecl.is_some() {
            if !url.https {
                return Err(CommandError::option('O', "ecl= needs an https URL"));
            }
            if grease {
                return Err(CommandError::option('O', "ecl= cannot be used with grease"));
            }
        }
        Ok(HttpSpec {
            dst,
            url,
            headers,
            max_time,
            insecure,
            grease,
            ech_config_list: ecl,
            user_id,
        })
    }

    /// The canonical command line for this spec. It parses back to an equal spec.
    pub fn to_command_string(&self) -> String {
        let mut l = Line::new("http");
        for h in &self.headers {
            l.str('H', &format!("{}: {}", h.name, h.value));
        }
        l.time_unless(
            'm',
            self.max_time,
            Duration::from_secs(60),
            TimeUnit::Seconds,
        );
        if self.insecure {
            l.str('O', "insecure");
        }
        if self.grease {
            l.str('O', "grease");
        }
        if let Some(e) = &self.ech_config_list {
            l.str('O', &format!("ecl={}", base64_encode(e)));
        }
        l.str('u', &self.url.to_string());
        l.num_unless('U', self.user_id, 0);
        l.finish(&self.dst.to_string())
    }

    /// Every address this request connects to.
    pub fn probed_addresses(&self) -> Vec<IpAddr> {
        vec![self.dst]
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 with padding; `None` for anything else (including non-canonical trailing
/// bits, so that decoding and encoding agree).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for (i, quad) in b.chunks(4).enumerate() {
        let last = i + 1 == b.len() / 4;
        let pad = quad.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n: u32 = 0;
        for &c in &quad[..4 - pad] {
            let v = B64.iter().position(|x| *x == c)? as u32;
            n = n << 6 | v;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        if bytes[3 - pad..].iter().any(|x| *x != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for data in [
            &b""[..],
            b"f",
            b"fo",
            b"foo",
            b"foob",
            b"fooba",
            b"foobar",
            &[0, 255, 1],
        ] {
            let e = base64_encode(data);
            assert_eq!(base64_decode(&e).unwrap(), data, "{e}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm8="), Some(b"fo".to_vec()));
        for bad in ["Zm8", "Zm9=", "Z===", "Zm8=Zm8=", "Zm!v", "===="] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }
}
