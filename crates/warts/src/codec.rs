//! Record-level dispatch: one body to one [`Record`] and back.

use vantage_model::{RawRecord, Record};

use crate::error::DecodeError;
use crate::prim::{Dec, FileState, Tables};
use crate::types;
use crate::{dealias, host, http, lists, neighbourdisc, ping, sniff, trace, tracelb, udpprobe};

static EMPTY: FileState = FileState {
    lists: Vec::new(),
    cycles: Vec::new(),
    gids: Vec::new(),
};

/// Decodes one record body. Returns `None` for records that only update the
/// reader's file state (deprecated address records).
pub(crate) fn decode_record(
    kind: u16,
    body: &[u8],
    st: &mut FileState,
    t: &mut Tables,
) -> Result<Option<Record>, DecodeError> {
    Ok(Some(match kind {
        types::LIST => Record::List(lists::decode_list(&mut Dec::new(body, t, &EMPTY), st)?),
        types::CYCLE_START => {
            Record::CycleStart(lists::decode_cycle(&mut Dec::new(body, t, &EMPTY), st)?)
        }
        types::CYCLE_DEF => {
            Record::CycleDef(lists::decode_cycle(&mut Dec::new(body, t, &EMPTY), st)?)
        }
        types::CYCLE_STOP => Record::CycleStop(lists::decode_cycle_stop(
            &mut Dec::new(body, t, &EMPTY),
            st,
        )?),
        types::ADDRESS => {
            lists::decode_address(&mut Dec::new(body, t, &EMPTY), st)?;
            return Ok(None);
        }
        types::PING => Record::Ping(ping::decode(&mut Dec::new(body, t, st))?),
        types::TRACE => Record::Trace(Box::new(trace::decode(&mut Dec::new(body, t, st))?)),
        types::TRACELB => Record::Tracelb(Box::new(tracelb::decode(&mut Dec::new(body, t, st))?)),
        types::DEALIAS => Record::Dealias(Box::new(dealias::decode(&mut Dec::new(body, t, st))?)),
        types::HOST => Record::Host(Box::new(host::decode(&mut Dec::new(body, t, st))?)),
        types::HTTP => Record::Http(Box::new(http::decode(&mut Dec::new(body, t, st))?)),
        types::UDPPROBE => {
            Record::Udpprobe(Box::new(udpprobe::decode(&mut Dec::new(body, t, st))?))
        }
        types::SNIFF => Record::Sniff(Box::new(sniff::decode(&mut Dec::new(body, t, st))?)),
        types::NEIGHBOURDISC => {
            Record::Neighbourdisc(Box::new(neighbourdisc::decode(&mut Dec::new(body, t, st))?))
        }
        _ => Record::Unsupported(RawRecord {
            kind,
            body: body.to_vec(),
        }),
    }))
}
