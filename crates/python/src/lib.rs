//! `vantage._native`: the compiled half of Vantage's Python module.
//!
//! What this crate is: PyO3 bindings that expose the result model
//! (`vantage-model`) to Python with the API of CAIDA's `scamper` module —
//! `ScamperAddr`, `ScamperFile` (warts, compressed warts, JSON and text
//! through `vantage-warts`), `ScamperList`/`ScamperCycle` and one class per
//! result type with every property the reference documents. Result objects
//! wrap an `Arc` of the model record; their properties convert on access
//! (addresses to `ScamperAddr`, times to aware UTC `datetime`s, durations to
//! `timedelta`s, codes to the `IntEnum`s of `vantage._enums`).
//!
//! The controller side (`ScamperCtrl`, `ScamperInst`, `ScamperVp`,
//! `ScamperTask`, `do_*`, `AsyncCtrl`) is written in Python
//! (`python/vantage/_ctrl.py`) over three small native handles in `ctrl`:
//! `_Hub` (the wakeup point: condition variable for blocking waits that
//! release the GIL, socketpair for asyncio), `_Mux` (a `vantage-client`
//! `MuxClient`) and `_Chan` (a `Channel`: submit, halt, done, drain events
//! as tuples with results already converted).
//!
//! What it is not: nothing here measures; the only sockets are the client
//! library's connections to a mux or a probe's control socket. The Python
//! package (`python/vantage`, `python/scamper`) re-exports these classes; users import those, never `_native` directly.
//!
//! Cargo features: `python` (default) is the module itself; without it only
//! the pure-Rust parts are built (text rendering, HTTP header parsing and the
//! fuzz entry point, for `fuzz/`). `mimalloc` (default) makes mimalloc the
//! allocator of the module's Rust code. `inspect` turns on PyO3's
//! introspection for `scripts/python-stubs.py`.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
// PyO3 methods take `&self` and return owned Python values by design.
#![allow(clippy::unused_self, clippy::trivially_copy_pass_by_ref)]

#[cfg(feature = "python")]
mod addr;
#[cfg(feature = "python")]
mod conv;
#[cfg(feature = "python")]
mod ctrl;
#[cfg(feature = "python")]
mod dealias;
#[cfg(feature = "python")]
mod error;
#[cfg(feature = "python")]
mod file;
#[cfg(feature = "python")]
mod host;
mod httphdr;
#[cfg(feature = "python")]
mod icmpext;
#[cfg(feature = "python")]
mod lists;
#[cfg(feature = "python")]
mod misc;
#[cfg(feature = "python")]
mod ping;
#[cfg(feature = "python")]
mod record;
#[cfg(feature = "python")]
mod result;
mod text;
#[cfg(feature = "python")]
mod trace;
#[cfg(feature = "python")]
mod tracelb;

#[doc(hidden)]
pub mod fuzzing;

#[cfg(feature = "python")]
use pyo3::prelude::*;

/// Records are decoded on one thread and freed on the Python thread. The
/// system allocator serialises such frees on its arena lock (futex waits in
/// profiles); mimalloc frees across threads without a lock.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The compiled module `vantage._native`.
#[cfg(feature = "python")]
#[pymodule]
mod _native {
    #[pymodule_export]
    use crate::addr::ScamperAddr;
    #[pymodule_export]
    use crate::ctrl::{Chan, Hub, Mux};
    #[pymodule_export]
    use crate::dealias::{
        ScamperDealias, ScamperDealiasMidardiscRound, ScamperDealiasProbe, ScamperDealiasProbedef,
        ScamperDealiasReply,
    };
    #[pymodule_export]
    use crate::file::ScamperFile;
    #[pymodule_export]
    use crate::host::{
        ScamperHost, ScamperHostMX, ScamperHostOPT, ScamperHostOPTElem, ScamperHostQuery,
        ScamperHostRR, ScamperHostSOA, ScamperHostSVCB, ScamperHostSVCBParam, ScamperHostTXT,
    };
    #[pymodule_export]
    use crate::icmpext::{ScamperIcmpExt, ScamperIcmpExts, ScamperIcmpMplsLabelStackEntry};
    #[pymodule_export]
    use crate::lists::{ScamperCycle, ScamperList};
    #[pymodule_export]
    use crate::misc::{
        ScamperHttp, ScamperHttpBuf, ScamperNeighbourdisc, ScamperOwamp, ScamperSniff,
        ScamperSniffPkt, ScamperSting, ScamperTbit, ScamperUdpprobe, ScamperUdpprobeProbe,
        ScamperUdpprobeReply,
    };
    #[pymodule_export]
    use crate::ping::{ScamperPing, ScamperPingReply, ScamperPingReplyIPTS, ScamperPingReplyIter};
    #[pymodule_export]
    use crate::trace::{ScamperTrace, ScamperTraceHop, ScamperTracePmtud, ScamperTracePmtudNote};
    #[pymodule_export]
    use crate::tracelb::{
        ScamperTracelb, ScamperTracelbLink, ScamperTracelbNode, ScamperTracelbProbe,
        ScamperTracelbProbeset, ScamperTracelbReply,
    };
}
