//! What the fake control-socket peers of these tests share: the warts records a probe
//! sends (list, cycle start and stop, one ping per command), encoded as `DATA` blocks.
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use vantage_model::{Cycle, List, Ping, Timestamp};
use vantage_proto::control::{TaskId, encode_warts_data};
use vantage_warts::Writer;

/// One fake probe's list, cycle and warts writer.
pub struct FakeRecords {
    w: Writer<Vec<u8>>,
    list: Arc<List>,
    cycle: Arc<Cycle>,
}

impl FakeRecords {
    /// Records of a list named `name` with cycle 1.
    pub fn new(name: &str) -> Self {
        let list = Arc::new(List::new(0, name));
        let cycle = Arc::new(Cycle {
            list: Arc::clone(&list),
            id: 1,
            start_time: 1,
            stop_time: None,
            hostname: None,
        });
        Self {
            w: Writer::new(Vec::new()),
            list,
            cycle,
        }
    }

    fn data(&mut self, id: Option<TaskId>, out: &mut Vec<u8>) {
        let rec = std::mem::take(self.w.get_mut());
        encode_warts_data(id, false, &rec, out).unwrap();
    }

    /// Appends the list and cycle-start records.
    pub fn start(&mut self, out: &mut Vec<u8>) {
        let list = Arc::clone(&self.list);
        self.w.write_list(&list).unwrap();
        self.data(None, out);
        let cycle = Arc::clone(&self.cycle);
        self.w.write_cycle_start(&cycle).unwrap();
        self.data(None, out);
    }

    /// Appends the result of task `id`: a ping to the command's last word.
    pub fn ping(&mut self, id: TaskId, command: &str, out: &mut Vec<u8>) {
        let dst = command.rsplit(' ').next().unwrap().parse().unwrap();
        let mut p = Ping::new(dst, Timestamp::new(2, 0));
        p.list = Some(Arc::clone(&self.list));
        p.cycle = Some(Arc::clone(&self.cycle));
        self.w.write_ping(&p).unwrap();
        self.data(Some(id), out);
    }

    /// Appends the cycle-stop record.
    pub fn stop(&mut self, out: &mut Vec<u8>) {
        let mut stop = (*self.cycle).clone();
        stop.stop_time = Some(3);
        self.w.write_cycle_stop(&Arc::new(stop)).unwrap();
        self.data(None, out);
    }
}
