//! HTTP(S) fetches.

use std::sync::Arc;
use std::time::Duration;

use crate::macros::{code_enum, flag_set};
use crate::{Addr, Cycle, List, Timestamp};

code_enum! {
    /// Why an HTTP measurement stopped.
    pub enum HttpStop: u8 {
        /// No reason recorded.
        None = 0 => "none",
        /// Halted by the user.
        Halted = 1 => "halted",
        /// No connection could be made.
        NoConn = 2 => "noconn",
        /// The response was complete.
        Done = 3 => "done",
        /// An error.
        Error = 4 => "error",
        /// The time limit was reached.
        Timeout = 5 => "timeout",
        /// The certificate was not trusted.
        Insecure = 6 => "insecure",
    }
}

code_enum! {
    /// HTTP or HTTPS.
    pub enum HttpType: u8 {
        /// HTTPS (default port 443).
        Https = 0 => "https",
        /// HTTP (default port 80).
        Http = 1 => "http",
    }
}

impl HttpType {
    /// The default destination port, if the type is known.
    #[must_use]
    pub const fn default_port(self) -> Option<u16> {
        match self {
            Self::Https => Some(443),
            Self::Http => Some(80),
            Self::Other(_) => None,
        }
    }
}

flag_set! {
    /// Options of an HTTP measurement.
    pub struct HttpFlags(u32) {
        /// Accept any certificate.
        const INSECURE = 0x01 => "insecure";
        /// Send a GREASE ECH extension.
        const GREASE = 0x02 => "grease";
    }
}

code_enum! {
    /// What a recorded buffer holds.
    pub enum HttpBufType: u8 {
        /// Body data.
        Data = 0 => "data",
        /// Header block.
        Header = 1 => "hdr",
        /// TLS record bytes.
        Tls = 2 => "tls",
    }
}

/// One chunk of bytes sent or received.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HttpBuf {
    /// True if we sent it, false if we received it.
    pub tx: bool,
    /// What it holds (7 bits in warts).
    pub kind: HttpBufType,
    /// When (zero if not recorded).
    pub ts: Timestamp,
    /// The bytes (at most 65535).
    pub data: Vec<u8>,
}

/// The TLS session of an HTTPS fetch (Vantage extension: warts does not store it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct HttpTls {
    /// Protocol version: 0x0303 TLS 1.2, 0x0304 TLS 1.3.
    pub version: u16,
    /// The cipher suite number (IANA registry).
    pub cipher: u16,
    /// The ALPN protocol the server picked.
    pub alpn: Option<Vec<u8>>,
    /// The certificate chain as the server sent it (DER, leaf first).
    pub certs: Vec<Vec<u8>>,
    /// Why the chain did not verify against the trust roots and the URL's host; `None`
    /// when it verified.
    pub verify_error: Option<String>,
}

/// An HTTP(S) fetch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Http {
    /// The list this measurement belongs to.
    pub list: Option<Arc<List>>,
    /// The cycle this measurement belongs to.
    pub cycle: Option<Arc<Cycle>>,
    /// A user-chosen id, 0 if none.
    pub user_id: u32,
    /// The source address.
    pub src: Option<Addr>,
    /// The server address.
    pub dst: Option<Addr>,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// When it started (zero if not recorded).
    pub start: Timestamp,
    /// Why it stopped.
    pub stop_reason: HttpStop,
    /// HTTP or HTTPS.
    pub kind: HttpType,
    /// The Host header value.
    pub host: String,
    /// The path requested.
    pub file: String,
    /// Extra request headers (at most 255).
    pub headers: Vec<String>,
    /// TCP handshake round-trip time (zero if none).
    pub hsrtt: Duration,
    /// Options.
    pub flags: HttpFlags,
    /// Time limit (zero if none), microsecond precision.
    pub maxtime: Duration,
    /// The prober's error text.
    pub errmsg: Option<String>,
    /// ECH outcome code (0 = none).
    pub ech_status: u8,
    /// The outer SNI used with ECH.
    pub ech_outer_sni: Option<String>,
    /// The bytes exchanged, in order.
    pub bufs: Vec<HttpBuf>,
    /// The ECH config list used.
    pub ech_config_list: Option<Vec<u8>>,
    /// The ECH retry config the server sent.
    pub ech_retry_config: Option<Vec<u8>>,
    /// The TLS session, recorded whether or not the certificate verified (HTTPS that got
    /// as far as a handshake; Vantage extension, not in warts).
    pub tls: Option<HttpTls>,
}

impl Http {
    /// Clears what warts cannot store (the TLS session): the record as it reads back from
    /// a warts file.
    pub fn clear_extensions(&mut self) {
        self.tls = None;
    }
}
