//! The vantage point daemon: scheduler, pacer, policy, control socket and remote link.
