//! Lists and cycles: the bookkeeping records every measurement points to.

use std::sync::Arc;

/// A list of measurements (scamper's `-l`/`-L` list), usually naming the VP.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct List {
    /// The list id chosen by the user (the "human" id; 0 by default).
    pub id: u32,
    /// The list name (`default` when none was given).
    pub name: String,
    /// A free-text description.
    pub descr: Option<String>,
    /// The monitor (vantage point) that ran the list.
    pub monitor: Option<String>,
}

impl List {
    /// A list with the given id and name and no description or monitor.
    #[must_use]
    pub fn new(id: u32, name: impl Into<String>) -> Self {
        Self {
            id,
            name: name.into(),
            descr: None,
            monitor: None,
        }
    }
}

/// One cycle of a list: a pass over its targets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Cycle {
    /// The list this cycle belongs to.
    pub list: Arc<List>,
    /// The cycle id chosen by the user (the "human" id).
    pub id: u32,
    /// When the cycle started, seconds since the epoch.
    pub start_time: u32,
    /// When the cycle stopped, seconds since the epoch, if known.
    pub stop_time: Option<u32>,
    /// The host name of the machine that ran the cycle.
    pub hostname: Option<String>,
}

impl Cycle {
    /// Whether `self` and `other` are the same cycle (same list, id, start time and
    /// host name), ignoring the stop time.
    #[must_use]
    pub fn same_cycle(&self, other: &Self) -> bool {
        self.list == other.list
            && self.id == other.id
            && self.start_time == other.start_time
            && self.hostname == other.hostname
    }
}
