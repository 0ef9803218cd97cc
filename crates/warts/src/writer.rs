//! The warts writer.

use std::io::{self, Write};
use std::sync::Arc;

use vantage_model::{
    Cycle, Dealias, Host, Http, List, Neighbourdisc, Ping, Record, Sniff, Trace, Tracelb, Udpprobe,
};

use crate::error::WriteError;
use crate::prim::Enc;
use crate::types;
use crate::{dealias, host, http, lists, neighbourdisc, ping, sniff, trace, tracelb, udpprobe};

/// Writes records as warts, emitting list and cycle records on first use.
///
/// List and cycle ids are scoped to this writer (one output stream) and count
/// from 1. A measurement whose list (cycle) has not been written yet is preceded
/// by a list (cycle-definition) record. Lists and cycles are matched by value.
pub struct Writer<W> {
    out: W,
    enc: Enc,
    scratch: Enc,
    lists: Vec<(Arc<List>, u32)>,
    cycles: Vec<(Arc<Cycle>, u32)>,
    next_list: u32,
    next_cycle: u32,
}

impl<W: Write> Writer<W> {
    /// A writer to `out` (buffer it if it is a file or socket).
    pub fn new(out: W) -> Self {
        Self {
            out,
            enc: Enc::default(),
            scratch: Enc::default(),
            lists: Vec::new(),
            cycles: Vec::new(),
            next_list: 1,
            next_cycle: 1,
        }
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The underlying writer, mutably (writing to it directly corrupts the stream
    /// unless done between records).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn emit(out: &mut W, kind: u16, body: &[u8], record: &'static str) -> Result<(), WriteError> {
        let len = u32::try_from(body.len()).map_err(|_| WriteError::OutOfRange {
            record,
            field: "record length",
            value: body.len() as u64,
            max: u64::from(u32::MAX),
        })?;
        let mut h = [0u8; 8];
        h[0..2].copy_from_slice(&0x1205u16.to_be_bytes());
        h[2..4].copy_from_slice(&kind.to_be_bytes());
        h[4..8].copy_from_slice(&len.to_be_bytes());
        out.write_all(&h)?;
        out.write_all(body)?;
        Ok(())
    }

    fn list_id(&mut self, list: &Arc<List>) -> Result<u32, WriteError> {
        if let Some((_, id)) = self
            .lists
            .iter()
            .find(|(l, _)| Arc::ptr_eq(l, list) || l == list)
        {
            return Ok(*id);
        }
        let id = self.next_list;
        self.scratch.begin("list");
        lists::encode_list(&mut self.scratch, list, id)?;
        Self::emit(&mut self.out, types::LIST, &self.scratch.buf, "list")?;
        self.next_list += 1;
        self.lists.push((Arc::clone(list), id));
        Ok(id)
    }

    fn find_cycle(&self, cycle: &Cycle) -> Option<usize> {
        self.cycles.iter().position(|(c, _)| c.same_cycle(cycle))
    }

    fn new_cycle(&mut self, cycle: &Arc<Cycle>, kind: u16) -> Result<u32, WriteError> {
        let list = self.list_id(&cycle.list)?;
        let id = self.next_cycle;
        let name = types::record_type_name(kind);
        self.scratch.begin(name);
        lists::encode_cycle(&mut self.scratch, cycle, id, list)?;
        Self::emit(&mut self.out, kind, &self.scratch.buf, name)?;
        self.next_cycle += 1;
        self.cycles.push((Arc::clone(cycle), id));
        Ok(id)
    }

    fn cycle_id(&mut self, cycle: &Arc<Cycle>) -> Result<u32, WriteError> {
        match self.find_cycle(cycle) {
            Some(i) => Ok(self.cycles[i].1),
            None => self.new_cycle(cycle, types::CYCLE_DEF),
        }
    }

    fn ids(
        &mut self,
        list: Option<&Arc<List>>,
        cycle: Option<&Arc<Cycle>>,
    ) -> Result<(u32, u32), WriteError> {
        let l = match list {
            Some(l) => self.list_id(l)?,
            None => 0,
        };
        let c = match cycle {
            Some(c) => self.cycle_id(c)?,
            None => 0,
        };
        Ok((l, c))
    }

    /// Writes a list record unless this list was written already.
    pub fn write_list(&mut self, list: &Arc<List>) -> Result<(), WriteError> {
        self.list_id(list).map(drop)
    }

    /// Writes a cycle-start record (and its list if needed) unless this cycle
    /// was written already.
    pub fn write_cycle_start(&mut self, cycle: &Arc<Cycle>) -> Result<(), WriteError> {
        if self.find_cycle(cycle).is_none() {
            self.new_cycle(cycle, types::CYCLE_START)?;
        }
        Ok(())
    }

    /// Writes a cycle-definition record unless this cycle was written already.
    pub fn write_cycle_def(&mut self, cycle: &Arc<Cycle>) -> Result<(), WriteError> {
        self.cycle_id(cycle).map(drop)
    }

    /// Writes a cycle-stop record with `cycle.stop_time` and forgets the cycle
    /// (a later measurement in it gets a new cycle definition).
    pub fn write_cycle_stop(&mut self, cycle: &Arc<Cycle>) -> Result<(), WriteError> {
        let id = self.cycle_id(cycle)?;
        self.scratch.begin("cycle-stop");
        lists::encode_cycle_stop(&mut self.scratch, cycle, id);
        Self::emit(
            &mut self.out,
            types::CYCLE_STOP,
            &self.scratch.buf,
            "cycle-stop",
        )?;
        if let Some(i) = self.find_cycle(cycle) {
            self.cycles.remove(i);
        }
        Ok(())
    }

    /// Writes a ping record (after its list and cycle, if new).
    pub fn write_ping(&mut self, p: &Ping) -> Result<(), WriteError> {
        let (l, c) = self.ids(p.list.as_ref(), p.cycle.as_ref())?;
        self.enc.begin("ping");
        ping::encode(&mut self.enc, p, l, c)?;
        Self::emit(&mut self.out, types::PING, &self.enc.buf, "ping")
    }

    /// Writes a traceroute record (after its list and cycle, if new).
    pub fn write_trace(&mut self, t: &Trace) -> Result<(), WriteError> {
        let (l, c) = self.ids(t.list.as_ref(), t.cycle.as_ref())?;
        self.enc.begin("trace");
        trace::encode(&mut self.enc, t, l, c)?;
        Self::emit(&mut self.out, types::TRACE, &self.enc.buf, "trace")
    }

    /// Writes an MDA traceroute record (after its list and cycle, if new).
    pub fn write_tracelb(&mut self, x: &Tracelb) -> Result<(), WriteError> {
        let (l, c) = self.ids(x.list.as_ref(), x.cycle.as_ref())?;
        self.enc.begin("tracelb");
        tracelb::encode(&mut self.enc, x, l, c)?;
        Self::emit(&mut self.out, types::TRACELB, &self.enc.buf, "tracelb")
    }

    /// Writes an alias-resolution record (after its list and cycle, if new).
    pub fn write_dealias(&mut self, x: &Dealias) -> Result<(), WriteError> {
        let (l, c) = self.ids(x.list.as_ref(), x.cycle.as_ref())?;
        self.enc.begin("dealias");
        dealias::encode(&mut self.enc, x, l, c)?;
        Self::emit(&mut self.out, types::DEALIAS, &self.enc.buf, "dealias")
    }

    /// Writes a DNS record (after its list and cycle, if new).
    pub fn write_host(&mut self, x: &Host) -> Result<(), WriteError> {
        let (l, c) = self.ids(x.list.as_ref(), x.cycle.as_ref())?;
        self.enc.begin("host");
        host::encode(&mut self.enc, x, l, c)?;
        Self::emit(&mut self.out, types::HOST, &self.enc.buf, "host")
    }

    /// Writes an HTTP record (after its list and cycle, if new).
    pub fn write_http(&mut self, x: &Http) -> Result<(), WriteError> {
        let (l, c) = self.ids(x.list.as_ref(), x.cycle.as_ref())?;
        self.enc.begin("http");
        http::encode(&mut self.enc, x, l, c)?;
        Self::emit(&mut self.out, types::HTTP, &self.enc.buf, "http")
    }

    /// Writes a udpprobe record (after its list and cycle, if new).
    pub fn write_udpprobe(&mut self, x: &Udpprobe) -> Result<(), WriteError> {
        let (l, c) = self.ids(x.list.as_ref(), x.cycle.as_ref())?;
        self.enc.begin("udpprobe");
        udpprobe::encode(&mut self.enc, x, l, c)?;
        Self::emit(&mut self.out, types::UDPPROBE, &self.enc.buf, "udpprobe")
    }

    /// Writes a packet-capture record (after its list and cycle, if new).
    pub fn write_sniff(&mut self, x: &Sniff) -> Result<(), WriteError> {
        let (l, c) = self.ids(x.list.as_ref(), x.cycle.as_ref())?;
        self.enc.begin("sniff");
        sniff::encode(&mut self.enc, x, l, c)?;
        Self::emit(&mut self.out, types::SNIFF, &self.enc.buf, "sniff")
    }

    /// Writes a neighbour-discovery record (after its list and cycle, if new).
    pub fn write_neighbourdisc(&mut self, x: &Neighbourdisc) -> Result<(), WriteError> {
        let (l, c) = self.ids(x.list.as_ref(), x.cycle.as_ref())?;
        self.enc.begin("neighbourdisc");
        neighbourdisc::encode(&mut self.enc, x, l, c)?;
        Self::emit(
            &mut self.out,
            types::NEIGHBOURDISC,
            &self.enc.buf,
            "neighbourdisc",
        )
    }

    /// Writes any record.
    ///
    /// If an error occurs after a list or cycle record was emitted, those stay
    /// in the stream (they are valid on their own); the failed record is not
    /// written at all.
    pub fn write_record(&mut self, r: &Record) -> Result<(), WriteError> {
        match r {
            Record::List(l) => self.write_list(l),
            Record::CycleStart(c) => self.write_cycle_start(c),
            Record::CycleDef(c) => self.write_cycle_def(c),
            Record::CycleStop(c) => self.write_cycle_stop(c),
            Record::Ping(p) => self.write_ping(p),
            Record::Trace(t) => self.write_trace(t),
            Record::Tracelb(x) => self.write_tracelb(x),
            Record::Dealias(x) => self.write_dealias(x),
            Record::Host(x) => self.write_host(x),
            Record::Http(x) => self.write_http(x),
            Record::Udpprobe(x) => self.write_udpprobe(x),
            Record::Sniff(x) => self.write_sniff(x),
            Record::Neighbourdisc(x) => self.write_neighbourdisc(x),
            Record::Unsupported(raw) => Err(WriteError::Unsupported(
                types::record_type_name(raw.kind).to_owned(),
            )),
        }
    }
}
