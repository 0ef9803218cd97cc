//! Errors that stop the controller from starting.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use thiserror::Error;

/// Why the controller could not start (or had to stop).
#[derive(Debug, Error)]
pub enum Error {
    /// A listening address could not be bound.
    #[error("cannot listen for VPs on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// The system error.
        source: io::Error,
    },
    /// No listening address was configured.
    #[error("no address to listen for VPs on; give at least one --listen ADDR:PORT")]
    NoListenAddress,
    /// Another process listens on the mux socket path.
    #[error("another process is already listening on the mux socket {}; stop it or choose another --mux path", path.display())]
    MuxInUse {
        /// The path.
        path: PathBuf,
    },
    /// The mux path exists and is not a socket; it is not removed.
    #[error("{} exists and is not a unix socket; refusing to replace it", path.display())]
    MuxPathNotSocket {
        /// The path.
        path: PathBuf,
    },
    /// Creating the mux socket failed.
    #[error("cannot create the mux socket {}: {source}", path.display())]
    Mux {
        /// The path.
        path: PathBuf,
        /// The system error.
        source: io::Error,
    },
    /// A file could not be read.
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        /// What the file is for.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The system error.
        source: io::Error,
    },
    /// The metadata file is invalid.
    #[error("VP metadata file {}: {source}", path.display())]
    Metadata {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        source: vantage_proto::meta::Error,
    },
    /// A TLS file is unusable.
    #[error("TLS {what} {}: {why}", path.display())]
    Tls {
        /// Which file.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// Installing a signal handler failed.
    #[error("cannot install the {signal} handler: {source}")]
    Signal {
        /// The signal.
        signal: &'static str,
        /// The system error.
        source: io::Error,
    },
    /// Building the async runtime failed.
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
}
