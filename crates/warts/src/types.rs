//! Warts record type codes.

/// List definition.
pub const LIST: u16 = 0x0001;
/// Cycle start.
pub const CYCLE_START: u16 = 0x0002;
/// Cycle definition (a cycle started in another file).
pub const CYCLE_DEF: u16 = 0x0003;
/// Cycle stop.
pub const CYCLE_STOP: u16 = 0x0004;
/// Deprecated global address record.
pub const ADDRESS: u16 = 0x0005;
/// Traceroute.
pub const TRACE: u16 = 0x0006;
/// Ping.
pub const PING: u16 = 0x0007;
/// MDA traceroute.
pub const TRACELB: u16 = 0x0008;
/// Alias resolution.
pub const DEALIAS: u16 = 0x0009;
/// Neighbour discovery (ARP / NDP).
pub const NEIGHBOURDISC: u16 = 0x000a;
/// TCP behaviour inference.
pub const TBIT: u16 = 0x000b;
/// Sting.
pub const STING: u16 = 0x000c;
/// Packet capture.
pub const SNIFF: u16 = 0x000d;
/// DNS.
pub const HOST: u16 = 0x000e;
/// HTTP.
pub const HTTP: u16 = 0x000f;
/// UDP probes.
pub const UDPPROBE: u16 = 0x0010;
/// One-way active measurement (OWAMP).
pub const OWAMP: u16 = 0x0011;

/// The name of a record type as scamper's tools call it (`"unknown"` for others).
#[must_use]
pub const fn record_type_name(kind: u16) -> &'static str {
    match kind {
        LIST => "list",
        CYCLE_START => "cycle-start",
        CYCLE_DEF => "cycle-def",
        CYCLE_STOP => "cycle-stop",
        ADDRESS => "address",
        TRACE => "trace",
        PING => "ping",
        TRACELB => "tracelb",
        DEALIAS => "dealias",
        NEIGHBOURDISC => "neighbourdisc",
        TBIT => "tbit",
        STING => "sting",
        SNIFF => "sniff",
        HOST => "host",
        HTTP => "http",
        UDPPROBE => "udpprobe",
        OWAMP => "owamp",
        _ => "unknown",
    }
}
