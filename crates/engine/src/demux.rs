//! The demultiplexer: which task owns which flow on the wire, and the
//! allocation of ICMP identifiers and source ports.
//!
//! A *flow key* is the part of a probe that a reply (or the quote inside an
//! ICMP error) carries back unchanged and that identifies the task:
//!
//! | probe protocol | flow key |
//! |---|---|
//! | ICMP echo / timestamp | (src, dst, ICMP, identifier) |
//! | UDP | (src, dst, UDP, source port, destination port) |
//! | TCP | (src, dst, TCP, source port, destination port) |
//!
//! Exactly one task owns a flow key at a time. A task claims a key when it
//! sends its first probe on it and releases it when it finishes. Inside a
//! flow, the owning task tells its probes apart by a per-probe
//! *discriminator* (ICMP sequence, UDP checksum, TCP sequence, IPv4 IP-ID, a
//! varying port, ...; see the crate documentation for the table per method).
//!
//! Identifiers and ports are allocated from rotating pools, so thousands of
//! tasks to the same destination get distinct flow keys and run in parallel.
//! When a user fixes an identifier or port explicitly and two running tasks
//! end up with the same flow key, only the colliding probes wait until the
//! key is free: other tasks, even to the same destination, are unaffected.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::timer::SlotRef;

/// The transport a flow key belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Proto {
    /// ICMP (v4) or ICMPv6 echo/timestamp probes: key field `a` is the identifier.
    Icmp,
    /// UDP: `a` source port, `b` destination port.
    Udp,
    /// TCP: `a` source port, `b` destination port.
    Tcp,
}

/// What a reply must carry to belong to a task (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FlowKey {
    /// Our address (the probe's source).
    pub src: IpAddr,
    /// The probe's destination.
    pub dst: IpAddr,
    /// Transport.
    pub proto: Proto,
    /// ICMP identifier or source port.
    pub a: u16,
    /// Destination port (0 for ICMP).
    pub b: u16,
}

impl FlowKey {
    /// An ICMP flow.
    pub fn icmp(src: IpAddr, dst: IpAddr, id: u16) -> Self {
        Self {
            src,
            dst,
            proto: Proto::Icmp,
            a: id,
            b: 0,
        }
    }

    /// A UDP flow.
    pub fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> Self {
        Self {
            src,
            dst,
            proto: Proto::Udp,
            a: sport,
            b: dport,
        }
    }

    /// A TCP flow.
    pub fn tcp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> Self {
        Self {
            src,
            dst,
            proto: Proto::Tcp,
            a: sport,
            b: dport,
        }
    }
}

/// Result of [`FlowTable::claim`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// The key is now (or already was) owned by the claimant.
    Owned,
    /// Another task owns the key; the claimant was queued and will be woken
    /// when the key is released.
    Busy,
}

/// Flow key → owning task, plus the tasks waiting for a busy key.
#[derive(Debug, Default)]
pub(crate) struct FlowTable {
    owners: HashMap<FlowKey, SlotRef>,
    waiters: HashMap<FlowKey, VecDeque<SlotRef>>,
}

impl FlowTable {
    /// Claims `key` for `slot`, or queues `slot` behind the current owner.
    pub fn claim(&mut self, key: FlowKey, slot: SlotRef) -> Claim {
        match self.owners.entry(key) {
            Entry::Vacant(v) => {
                v.insert(slot);
                Claim::Owned
            }
            Entry::Occupied(o) if *o.get() == slot => Claim::Owned,
            Entry::Occupied(_) => {
                let q = self.waiters.entry(key).or_default();
                if !q.contains(&slot) {
                    q.push_back(slot);
                }
                Claim::Busy
            }
        }
    }

    /// Whether `key` is owned by anyone.
    pub fn is_owned(&self, key: &FlowKey) -> bool {
        self.owners.contains_key(key)
    }

    /// The owner of `key`.
    pub fn owner(&self, key: &FlowKey) -> Option<SlotRef> {
        self.owners.get(key).copied()
    }

    /// Releases `key` if `slot` owns it, and hands the key to the first
    /// waiter, which is returned so the engine can wake it.
    pub fn release(&mut self, key: &FlowKey, slot: SlotRef) -> Option<SlotRef> {
        if self.owners.get(key) != Some(&slot) {
            return None;
        }
        self.owners.remove(key);
        let q = self.waiters.get_mut(key)?;
        let next = q.pop_front();
        if q.is_empty() {
            self.waiters.remove(key);
        }
        if let Some(n) = next {
            self.owners.insert(*key, n);
        }
        next
    }

    /// Removes `slot` from the waiting list of `key` (a waiting task that
    /// finished or was cancelled).
    pub fn forget_waiter(&mut self, key: &FlowKey, slot: SlotRef) {
        if let Some(q) = self.waiters.get_mut(key) {
            q.retain(|s| *s != slot);
            if q.is_empty() {
                self.waiters.remove(key);
            }
        }
    }

    /// Number of owned keys.
    pub fn len(&self) -> usize {
        self.owners.len()
    }
}

/// Rotating pools of ICMP identifiers and source ports.
///
/// Identifiers cycle through 1..=65535; source ports through the dynamic
/// range 32768..=65535 (what scamper's default source port also lies in).
/// A candidate whose flow key is owned by a running task is skipped.
#[derive(Debug)]
pub(crate) struct IdPool {
    next_icmp: u16,
    next_port: u16,
}

/// Lowest source port the pool hands out.
pub(crate) const PORT_POOL_LOW: u16 = 0x8000;
/// How many candidates are tried before accepting a collision (which then
/// costs only a delay for the colliding probes).
const TRIES: u32 = 64;

impl IdPool {
    /// A pool whose first values derive from `seed`.
    pub fn new(seed: u64) -> Self {
        let icmp = (seed & 0xffff) as u16;
        let port = ((seed >> 16) & 0x7fff) as u16;
        Self {
            next_icmp: icmp.max(1),
            next_port: PORT_POOL_LOW | port,
        }
    }

    /// An ICMP identifier not in use towards `dst` from `src`.
    pub fn icmp_id(&mut self, flows: &FlowTable, src: IpAddr, dst: IpAddr) -> u16 {
        let first = self.next_icmp;
        let mut chosen = first;
        for _ in 0..TRIES {
            let id = self.next_icmp;
            self.next_icmp = if self.next_icmp == u16::MAX {
                1
            } else {
                self.next_icmp + 1
            };
            if !flows.is_owned(&FlowKey::icmp(src, dst, id)) {
                chosen = id;
                break;
            }
        }
        chosen
    }

    /// A block of `width` consecutive source ports (`width` ≥ 1) whose first
    /// port is not in use with `key_of(port)`.
    pub fn ports(&mut self, width: u16, key_of: impl Fn(u16) -> FlowKey, flows: &FlowTable) -> u16 {
        let width = width.max(1);
        let span = u32::from(u16::MAX) - u32::from(PORT_POOL_LOW) + 1; // 32768
        if u32::from(width) >= span {
            // the block cannot fit in the pool: take the top of the port space
            return (65536 - u32::from(width)).max(1) as u16;
        }
        let mut chosen = None;
        for _ in 0..TRIES {
            let mut p = self.next_port;
            if u32::from(p) + u32::from(width) - 1 > u32::from(u16::MAX) {
                p = PORT_POOL_LOW;
            }
            let next = u32::from(p) + u32::from(width);
            self.next_port = if next > u32::from(u16::MAX) {
                PORT_POOL_LOW
            } else {
                next as u16
            };
            if chosen.is_none() {
                chosen = Some(p);
            }
            if !flows.is_owned(&key_of(p)) {
                chosen = Some(p);
                break;
            }
        }
        chosen.unwrap_or(PORT_POOL_LOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn slot(i: u32) -> SlotRef {
        SlotRef {
            index: i,
            generation: 0,
        }
    }

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));

    #[test]
    fn claim_release_wakes_in_order() {
        let mut t = FlowTable::default();
        let k = FlowKey::icmp(A, B, 7);
        assert_eq!(t.claim(k, slot(1)), Claim::Owned);
        assert_eq!(t.claim(k, slot(1)), Claim::Owned);
        assert_eq!(t.claim(k, slot(2)), Claim::Busy);
        assert_eq!(t.claim(k, slot(3)), Claim::Busy);
        assert_eq!(t.claim(k, slot(2)), Claim::Busy);
        // a non-owner cannot release
        assert_eq!(t.release(&k, slot(3)), None);
        assert_eq!(t.release(&k, slot(1)), Some(slot(2)));
        assert_eq!(t.owner(&k), Some(slot(2)));
        t.forget_waiter(&k, slot(3));
        assert_eq!(t.release(&k, slot(2)), None);
        assert!(!t.is_owned(&k));
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn icmp_ids_skip_owned() {
        let mut t = FlowTable::default();
        let mut pool = IdPool::new(10);
        t.claim(FlowKey::icmp(A, B, 11), slot(1));
        assert_eq!(pool.icmp_id(&t, A, B), 10);
        assert_eq!(pool.icmp_id(&t, A, B), 12);
        // distinct across thousands of allocations
        let mut seen = std::collections::HashSet::new();
        for _ in 0..10_000 {
            assert!(seen.insert(pool.icmp_id(&t, A, B)));
        }
    }

    #[test]
    fn icmp_id_wraps_and_never_zero() {
        let t = FlowTable::default();
        let mut pool = IdPool::new(0xffff);
        assert_eq!(pool.icmp_id(&t, A, B), 0xffff);
        assert_eq!(pool.icmp_id(&t, A, B), 1);
    }

    #[test]
    fn port_blocks_fit_and_skip_owned() {
        let mut t = FlowTable::default();
        let mut pool = IdPool::new(0);
        let k = |p| FlowKey::udp(A, B, p, 33435);
        let p1 = pool.ports(4, k, &t);
        assert_eq!(p1, PORT_POOL_LOW);
        t.claim(k(p1 + 4), slot(1));
        let p2 = pool.ports(4, k, &t);
        assert_eq!(p2, p1 + 8);
        // a block never runs past 65535
        let mut pool = IdPool::new(0x7ffe << 16);
        let p = pool.ports(10, k, &t);
        assert!(u32::from(p) + 9 <= 65535);
        let wide = pool.ports(u16::MAX, k, &t);
        assert_eq!(wide, 1);
        assert_eq!(pool.ports(40_000, k, &t), 25_536);
    }
}
