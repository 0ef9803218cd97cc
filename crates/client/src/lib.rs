//! The Rust client library over the mux and a probe's control socket.
