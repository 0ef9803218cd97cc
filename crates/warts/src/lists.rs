//! List (type 1), cycle (types 2, 3, 4) and deprecated address (type 5) records.

use std::sync::Arc;

use vantage_model::{Addr, AddrKind, Cycle, List};

use crate::error::{DecodeError, DecodeErrorKind as K};
use crate::prim::{DResult, Dec, EResult, Enc, FileState};

/// Stores `item` under 1-based file id `id`: the next id appends, an existing
/// id is replaced (concatenated files restart their ids), anything else fails.
fn store<T>(v: &mut Vec<T>, id: u32, item: T, at: usize, what: &'static str) -> DResult<()> {
    let next = v.len() as u64 + 1;
    if id == 0 || u64::from(id) > next {
        return Err(DecodeError::new(
            at,
            K::IdSequence {
                what,
                got: id,
                expected: next as u32,
            },
        ));
    }
    if u64::from(id) == next {
        v.push(item);
    } else {
        v[id as usize - 1] = item;
    }
    Ok(())
}

pub(crate) fn decode_list(d: &mut Dec<'_, '_>, st: &mut FileState) -> DResult<Arc<List>> {
    let at = d.pos;
    let wid = d.u32()?;
    let id = d.u32()?;
    let name = d.string()?;
    let mut l = List {
        id,
        name,
        descr: None,
        monitor: None,
    };
    let mut p = d.params()?;
    while let Some(f) = p.next_flag() {
        match f {
            1 => l.descr = Some(d.string()?),
            2 => l.monitor = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    let l = Arc::new(l);
    store(&mut st.lists, wid, Arc::clone(&l), at, "list")?;
    Ok(l)
}

pub(crate) fn decode_cycle(d: &mut Dec<'_, '_>, st: &mut FileState) -> DResult<Arc<Cycle>> {
    let at = d.pos;
    let wid = d.u32()?;
    let list_at = d.pos;
    let list_id = d.u32()?;
    let list = (list_id != 0)
        .then(|| st.lists.get(list_id as usize - 1))
        .flatten()
        .cloned()
        .ok_or(DecodeError::new(list_at, K::UnknownList(list_id)))?;
    let id = d.u32()?;
    let start_time = d.u32()?;
    let mut c = Cycle {
        list,
        id,
        start_time,
        stop_time: None,
        hostname: None,
    };
    let mut p = d.params()?;
    while let Some(f) = p.next_flag() {
        match f {
            1 => c.stop_time = Some(d.u32()?),
            2 => c.hostname = Some(d.string()?),
            _ => break,
        }
    }
    d.finish(&p)?;
    let c = Arc::new(c);
    store(&mut st.cycles, wid, Arc::clone(&c), at, "cycle")?;
    Ok(c)
}

pub(crate) fn decode_cycle_stop(d: &mut Dec<'_, '_>, st: &FileState) -> DResult<Arc<Cycle>> {
    let at = d.pos;
    let wid = d.u32()?;
    let cycle = (wid != 0)
        .then(|| st.cycles.get(wid as usize - 1))
        .flatten()
        .ok_or(DecodeError::new(at, K::UnknownCycle(wid)))?;
    let stop = d.u32()?;
    let p = d.params()?;
    d.finish(&p)?;
    let mut c = Cycle::clone(cycle);
    c.stop_time = Some(stop);
    Ok(Arc::new(c))
}

pub(crate) fn decode_address(d: &mut Dec<'_, '_>, st: &mut FileState) -> DResult<()> {
    let at = d.pos;
    let check = d.u8()?;
    let next = st.gids.len() as u64 + 1;
    if u64::from(check) != next % 255 {
        return Err(DecodeError::new(
            at,
            K::Invalid {
                field: "address record id",
                value: u64::from(check),
            },
        ));
    }
    let ty = d.u8()?;
    let kind = AddrKind::from_code(ty).ok_or(DecodeError::new(at + 1, K::BadAddrType(ty)))?;
    let len = d.remaining();
    let bytes = d.bytes(len)?;
    let a = Addr::from_bytes(kind, bytes).ok_or(DecodeError::new(
        at + 2,
        K::BadAddrLen {
            kind: ty,
            len: len.min(255) as u8,
        },
    ))?;
    st.gids.push(a);
    Ok(())
}

pub(crate) fn encode_list(e: &mut Enc, l: &List, wid: u32) -> EResult<()> {
    e.u32(wid);
    e.u32(l.id);
    e.string(&l.name);
    let mut p = e.params_begin(2);
    if let Some(s) = &l.descr {
        p.set(1);
        e.string(s);
    }
    if let Some(s) = &l.monitor {
        p.set(2);
        e.string(s);
    }
    e.params_end(p)
}

pub(crate) fn encode_cycle(e: &mut Enc, c: &Cycle, wid: u32, list_wid: u32) -> EResult<()> {
    e.u32(wid);
    e.u32(list_wid);
    e.u32(c.id);
    e.u32(c.start_time);
    let mut p = e.params_begin(2);
    if let Some(t) = c.stop_time {
        p.set(1);
        e.u32(t);
    }
    if let Some(h) = &c.hostname {
        p.set(2);
        e.string(h);
    }
    e.params_end(p)
}

pub(crate) fn encode_cycle_stop(e: &mut Enc, c: &Cycle, wid: u32) {
    e.u32(wid);
    e.u32(c.stop_time.unwrap_or(0));
    e.u8(0);
}
