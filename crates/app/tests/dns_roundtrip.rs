//! Property tests: what the query builder writes, the decoder reads back; records encoded
//! from model data decode to the same model data.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use vantage_app::dns::{DnsRequest, Edns, Question, build_query, decode_response, rtype};
use vantage_model::{Addr, DnsRrData, DnsSoa};

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?"
}

fn name() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 1..5).prop_map(|l| l.join("."))
}

fn qtype() -> impl Strategy<Value = u16> {
    prop_oneof![
        prop::sample::select(vec![
            1u16, 2, 5, 6, 15, 16, 28, 33, 43, 48, 64, 65, 255, 257
        ]),
        (1u16..=65535).prop_filter("not OPT or a meta type", |t| *t != 41
            && !(249..=254).contains(t)),
    ]
}

proptest! {
    #[test]
    fn query_round_trips(
        id: u16,
        name in name(),
        qtype in qtype(),
        qclass in prop::sample::select(vec![1u16, 3, 4, 254]),
        rd: bool,
        edns in prop::option::of((512u16..=65535, any::<bool>(), any::<bool>(), prop::option::of((any::<u32>(), 0u8..=32)))),
    ) {
        let mut req = DnsRequest::new("192.0.2.53".parse().unwrap(), &name, qtype);
        req.qclass = qclass;
        req.recursion_desired = rd;
        req.edns = edns.map(|(udp_size, dnssec_ok, nsid, ecs)| Edns {
            udp_size,
            dnssec_ok,
            nsid,
            client_subnet: ecs.map(|(a, l)| (Ipv4Addr::from(a).into(), l)),
        });
        let bytes = build_query(&req, id).unwrap();
        let r = decode_response(&bytes);
        prop_assert_eq!(r.error, None);
        let h = r.header.unwrap();
        prop_assert_eq!(h.id, id);
        prop_assert!(!h.is_response());
        prop_assert_eq!(h.flags & 0x0100 != 0, rd);
        let want_name = if qtype == rtype::PTR { req.wire_name() } else { name.clone() };
        prop_assert_eq!(r.questions, vec![Question { name: want_name, qtype, qclass }]);
        match req.edns {
            None => prop_assert!(r.additionals.is_empty()),
            Some(e) => {
                let opt = &r.additionals[0];
                prop_assert_eq!(opt.rr.rtype, rtype::OPT);
                prop_assert_eq!(opt.rr.class, e.udp_size);
                prop_assert_eq!(opt.rr.ttl & 0x8000 != 0, e.dnssec_ok);
                let Some(DnsRrData::Opt(opts)) = &opt.rr.data else { panic!("no OPT data") };
                prop_assert_eq!(opts.iter().any(|(c, d)| *c == 3 && d.is_empty()), e.nsid);
                if let Some((_, len)) = e.client_subnet {
                    let ecs = opts.iter().find(|(c, _)| *c == 8).unwrap();
                    prop_assert_eq!(ecs.1[2], len);
                    prop_assert_eq!(ecs.1.len(), 4 + usize::from(len).div_ceil(8));
                }
            }
        }
    }
}

/// Encodes a name without compression.
fn enc_name(out: &mut Vec<u8>, name: &str) {
    for l in name.split('.').filter(|l| !l.is_empty()) {
        out.push(l.len() as u8);
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
}

/// RDATA for model data (class IN), the encoder's side of the round trip.
fn enc_rdata(d: &DnsRrData) -> (u16, Vec<u8>) {
    let mut r = Vec::new();
    let t = match d {
        DnsRrData::Addr(Addr::V4(a)) => {
            r.extend_from_slice(&a.octets());
            rtype::A
        }
        DnsRrData::Addr(Addr::V6(a)) => {
            r.extend_from_slice(&a.octets());
            rtype::AAAA
        }
        DnsRrData::Name(n) => {
            enc_name(&mut r, n);
            rtype::NS
        }
        DnsRrData::Mx {
            preference,
            exchange,
        } => {
            r.extend_from_slice(&preference.to_be_bytes());
            enc_name(&mut r, exchange);
            rtype::MX
        }
        DnsRrData::Txt(strs) => {
            for s in strs {
                r.push(s.len() as u8);
                r.extend_from_slice(s);
            }
            rtype::TXT
        }
        DnsRrData::Soa(s) => {
            enc_name(&mut r, &s.mname);
            enc_name(&mut r, &s.rname);
            for v in [s.serial, s.refresh, s.retry, s.expire, s.minimum] {
                r.extend_from_slice(&v.to_be_bytes());
            }
            rtype::SOA
        }
        DnsRrData::Svcb {
            priority,
            target,
            params,
        } => {
            r.extend_from_slice(&priority.to_be_bytes());
            enc_name(&mut r, target.as_deref().unwrap_or(""));
            for (k, v) in params {
                r.extend_from_slice(&k.to_be_bytes());
                r.extend_from_slice(&(v.len() as u16).to_be_bytes());
                r.extend_from_slice(v);
            }
            rtype::SVCB
        }
        _ => unreachable!(),
    };
    (t, r)
}

fn rr_data() -> impl Strategy<Value = DnsRrData> {
    prop_oneof![
        any::<u32>().prop_map(|a| DnsRrData::Addr(Addr::V4(Ipv4Addr::from(a)))),
        any::<u128>().prop_map(|a| DnsRrData::Addr(Addr::V6(Ipv6Addr::from(a)))),
        name().prop_map(DnsRrData::Name),
        (any::<u16>(), name()).prop_map(|(preference, exchange)| DnsRrData::Mx {
            preference,
            exchange
        }),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..4)
            .prop_map(DnsRrData::Txt),
        (name(), name(), any::<[u32; 5]>()).prop_map(|(mname, rname, n)| DnsRrData::Soa(DnsSoa {
            mname,
            rname,
            serial: n[0],
            refresh: n[1],
            retry: n[2],
            expire: n[3],
            minimum: n[4],
        })),
        (
            any::<u16>(),
            name(),
            prop::collection::vec(
                (any::<u16>(), prop::collection::vec(any::<u8>(), 0..10)),
                0..3
            )
        )
            .prop_map(|(priority, t, params)| DnsRrData::Svcb {
                priority,
                target: Some(t),
                params
            }),
    ]
}

proptest! {
    #[test]
    fn records_round_trip(id: u16, owner in name(), ttl: u32, records in prop::collection::vec(rr_data(), 0..6)) {
        let mut msg = Vec::new();
        msg.extend_from_slice(&id.to_be_bytes());
        msg.extend_from_slice(&[0x84, 0x00, 0, 0]);
        msg.extend_from_slice(&(records.len() as u16).to_be_bytes());
        msg.extend_from_slice(&[0, 0, 0, 0]);
        for d in &records {
            let (t, rdata) = enc_rdata(d);
            enc_name(&mut msg, &owner);
            msg.extend_from_slice(&t.to_be_bytes());
            msg.extend_from_slice(&1u16.to_be_bytes());
            msg.extend_from_slice(&ttl.to_be_bytes());
            msg.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            msg.extend_from_slice(&rdata);
        }
        let r = decode_response(&msg);
        prop_assert_eq!(r.answers.len(), records.len());
        for (got, want) in r.answers.iter().zip(&records) {
            prop_assert_eq!(got.rr.name.as_deref(), Some(owner.as_str()));
            prop_assert_eq!(got.rr.ttl, ttl);
            prop_assert_eq!(got.rr.data.as_ref(), Some(want));
        }
    }
}
