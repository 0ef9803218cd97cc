//! Sans-IO measurement engines for Vantage: ping, traceroute and MDA
//! traceroute (tracelb) as state machines driven by time, replies and
//! timeouts.
//!
//! # What this crate is
//! One [`Engine`] holds every running measurement of a vantage point. It
//! never reads a clock and never touches a socket: the caller (the probe
//! daemon's I/O shell, or a test with a fake clock) passes time in and moves
//! packets in and out, in the style of `quinn-proto`:
//!
//! ```text
//! engine.start(task, spec, src, now, wall)          a ping or trace begins
//! engine.poll_transmit(now, &mut buf) -> Transmit   packets to send (paced)
//! engine.on_sent(probe, Ok(tx_time) | Err(e))       what the send did
//! engine.handle_packet(now, rx_time, &bytes)        a received packet
//! engine.handle_timeout(now)                        time passed
//! engine.poll_timeout() -> Instant                  when to call again
//! engine.poll_event() -> Event::Finished{result}    finished measurements
//! engine.cancel(task)                               halt: end with what it has
//! ```
//!
//! [`Engine::poll_transmit`] writes the whole IP packet (IPv4 or IPv6 header
//! included, for `IP_HDRINCL`/`IPV6_HDRINCL` sockets) into a buffer the caller
//! reuses, and returns its destination and a [`ProbeRef`] for `on_sent`.
//! Received packets go in as bytes with their IP header
//! ([`Engine::handle_packet`]) or, for Linux raw ICMPv6 sockets, as the bare
//! ICMPv6 message plus the addresses and hop limit
//! ([`Engine::handle_icmpv6`]).
//!
//! Times: `now` is a monotonic [`std::time::Instant`] used for scheduling;
//! wall-clock [`std::time::SystemTime`]s (start, kernel transmit and receive
//! timestamps) are only recorded in results and used for round-trip times.
//!
//! ## Pacing and scheduling
//! One token-bucket [`Pacer`] (default 100 packets/s, any rate up to
//! 10,000,000) gates every probe of every task; tasks with a probe due wait
//! in one FIFO, so the budget is shared fairly. Packets the caller sends on
//! its own (application-layer measurements) draw from the same budget through
//! [`Engine::take_token`]. Deadlines live in one binary
//! heap with lazy cancellation. A task costs a few hundred bytes plus its
//! probes and replies, so tens of thousands run in one small process.
//!
//! ## Matching replies to probes
//! A demultiplexer maps the *flow key* a reply carries back — for ICMP
//! errors, the one in the quote — to the task that owns it; the task then
//! finds the probe by a per-probe *discriminator* and checks every field it
//! can before accepting it: the reply is addressed to our source; a quote
//! names our source, the destination, the method's protocol and request type,
//! and carries the very transport checksum the probe had (ICMP and UDP);
//! echo, TCP and UDP replies come from the destination; TCP replies
//! acknowledge our sequence number or carry our acknowledgement number.
//!
//! | measurement / method | flow key | probe discriminator |
//! |---|---|---|
//! | ping icmp-echo, icmp-time | ICMP id | ICMP sequence − `-d` |
//! | ping udp, tcp-syn, tcp-ack, tcp-synack, tcp-rst | (sport, dport) | quoted IPv4 IP-ID (must be one we sent); IPv6 quotes and direct replies: the latest probe (as scamper) |
//! | ping udp-dport | (sport, dport + i) | the destination port |
//! | ping udp-sport, tcp-syn-sport, tcp-ack-sport | (sport + i, dport) | the source port |
//! | trace udp | (sport, dport + i) | the destination port |
//! | trace udp-paris | (sport, dport) | UDP checksum − 1 (`-O const-payload`: IPv4 IP-ID / IPv6 flow label − 1) |
//! | trace icmp, icmp-paris | ICMP id | ICMP sequence (icmp-paris: checksum held at `-d`) |
//! | trace tcp | (sport, dport) | TCP sequence − base (SYN-ACK/RST: acknowledgement − 1 − base) |
//! | trace tcp-ack | (sport, dport) | TCP sequence = acknowledgement − base (RST: its sequence − base) |
//! | tracelb udp-dport | (sport, dport + flow) | UDP checksum − 1 |
//! | tracelb udp-sport | (sport + flow, dport) | UDP checksum − 1 |
//! | tracelb icmp-echo | ICMP id (the flow is the ICMP checksum) | ICMP sequence |
//! | tracelb tcp-sport, tcp-ack-sport | (sport + flow, dport) | TCP sequence − base |
//!
//! Flow keys always include our source and the destination. Identifiers and
//! source ports not fixed by the user come from rotating pools that skip keys
//! in use, so thousands of concurrent tasks to the *same* destination get
//! distinct keys and run in parallel: there is no per-destination
//! serialisation. When a user fixes an id or port (`-F`, `-s`) and two running
//! tasks collide on a key, only the colliding task's probes wait until the
//! key is released (when its owner finishes).
//!
//! Garbage never panics the engine (every parser is `vantage-wire`'s, which
//! returns errors) and never matches a probe: packets whose checksum fails,
//! whose quote names another source, destination, protocol or port, or whose
//! discriminator names a probe never sent are counted as unmatched. A probe
//! records at most 64 replies, so a flood of duplicates cannot grow memory.
//!
//! ## Behaviour worth knowing
//! * Ping: probes `-i` apart, measured from the previous probe's actual
//!   transmission (the pacer can delay a probe, never bunch two); the ping
//!   ends `-W` after the last probe, or when `-o` probes got a reply.
//! * Trace: scamper's stop rules and order (see the `trace` module docs):
//!   completed, unreach (stop data = ICMP code), icmp (IPv6 packet too big),
//!   loop (non-adjacent repeat, `-l` of them), gaplimit (after last-ditch
//!   probes with `-G 2`), hoplimit, error (stop data = errno), halted. With
//!   `-N` > 1 the replies past the stopping TTL are kept and `stop_hop` says
//!   where it stopped.
//! * Tracelb: the Multipath Detection Algorithm, level by level, with the
//!   published stopping points for 95 % and 99 % confidence (see the
//!   `tracelb` module docs); `-r` and `-O ptr` are refused.
//! * `-y N` streams [`Event::Progress`] snapshots after every N replies.
//!
//! # What this crate is not
//! It opens no sockets and reads no clocks (that is `vantage-sys` and the
//! probe daemon), parses no command text (`vantage-command`) and encodes no
//! results (`vantage-warts`). It implements ping, traceroute and MDA traceroute; path-MTU
//! discovery, confidence probing, doubletree and ping's spoofing/too-big
//! tricks are refused with [`StartError::Unsupported`].
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod convert;
mod demux;
mod engine;
mod error;
mod pacer;
mod packet;
mod ping;
mod rng;
mod task;
mod timer;
mod trace;
mod tracelb;

#[doc(hidden)]
pub mod fuzzing;

pub use engine::{
    Engine, EngineConfig, EngineStats, Event, Handled, Measurement, MeasurementSpec, ProbeRef,
    TaskId, Transmit,
};
pub use error::{ConfigError, SendError, StartError};
pub use pacer::{MAX_RATE, Pacer};
