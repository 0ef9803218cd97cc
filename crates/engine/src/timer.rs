//! Deadlines of many tasks in one binary heap.
//!
//! Each task has at most one pending wake-up. Rescheduling pushes a new heap
//! entry and bumps the task's timer *epoch*; entries whose epoch no longer
//! matches are stale and are dropped when they reach the top. This keeps both
//! scheduling and cancelling O(log n) without searching the heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// A reference to a task slot as the scheduler sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct SlotRef {
    /// Index in the task table.
    pub index: u32,
    /// Generation of the slot, so a reused slot never receives an old event.
    pub generation: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    at: Instant,
    slot: SlotRef,
    epoch: u32,
}

/// A min-heap of (deadline, task) with lazy cancellation.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<Entry>>,
}

/// The per-task half of the timer: what the task's current deadline is.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TimerState {
    at: Option<Instant>,
    epoch: u32,
}

impl TimerQueue {
    /// Arms (or re-arms, or with `None` disarms) the timer of `slot`.
    pub fn set(&mut self, slot: SlotRef, state: &mut TimerState, at: Option<Instant>) {
        if state.at == at {
            return;
        }
        state.epoch = state.epoch.wrapping_add(1);
        state.at = at;
        if let Some(at) = at {
            self.heap.push(Reverse(Entry {
                at,
                slot,
                epoch: state.epoch,
            }));
        }
    }

    /// Drops stale entries from the top, using `current` to look up a slot's
    /// timer state (`None` when the slot is gone).
    fn clean(&mut self, current: &impl Fn(SlotRef) -> Option<TimerState>) {
        while let Some(Reverse(top)) = self.heap.peek() {
            match current(top.slot) {
                Some(st) if st.epoch == top.epoch && st.at == Some(top.at) => return,
                _ => {
                    self.heap.pop();
                }
            }
        }
    }

    /// The earliest live deadline.
    pub fn next(&mut self, current: &impl Fn(SlotRef) -> Option<TimerState>) -> Option<Instant> {
        self.clean(current);
        self.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Pops one live entry due at or before `now`, disarming it in the task's
    /// state through `disarm`.
    pub fn pop_due(
        &mut self,
        now: Instant,
        current: &impl Fn(SlotRef) -> Option<TimerState>,
    ) -> Option<SlotRef> {
        self.clean(current);
        match self.heap.peek() {
            Some(Reverse(e)) if e.at <= now => {
                let slot = e.slot;
                self.heap.pop();
                Some(slot)
            }
            _ => None,
        }
    }

    /// Number of heap entries, live or stale (for memory accounting in tests).
    #[cfg(test)]
    pub fn raw_len(&self) -> usize {
        self.heap.len()
    }
}

impl TimerState {
    /// Marks the timer as fired (called after `pop_due` returned this slot).
    pub fn fired(&mut self) {
        self.at = None;
        self.epoch = self.epoch.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::time::Duration;

    #[test]
    fn reschedule_and_cancel() {
        let t0 = Instant::now();
        let states = RefCell::new(vec![TimerState::default(); 3]);
        let slot = |i: u32| SlotRef {
            index: i,
            generation: 0,
        };
        let mut q = TimerQueue::default();
        let look = |s: SlotRef| states.borrow().get(s.index as usize).copied();
        q.set(
            slot(0),
            &mut states.borrow_mut()[0],
            Some(t0 + Duration::from_secs(5)),
        );
        q.set(
            slot(1),
            &mut states.borrow_mut()[1],
            Some(t0 + Duration::from_secs(1)),
        );
        q.set(
            slot(2),
            &mut states.borrow_mut()[2],
            Some(t0 + Duration::from_secs(3)),
        );
        // move slot 1 later, cancel slot 2
        q.set(
            slot(1),
            &mut states.borrow_mut()[1],
            Some(t0 + Duration::from_secs(7)),
        );
        q.set(slot(2), &mut states.borrow_mut()[2], None);
        assert_eq!(q.raw_len(), 4);
        assert_eq!(q.next(&look), Some(t0 + Duration::from_secs(5)));
        assert_eq!(q.pop_due(t0 + Duration::from_secs(6), &look), Some(slot(0)));
        states.borrow_mut()[0].fired();
        assert_eq!(q.pop_due(t0 + Duration::from_secs(6), &look), None);
        assert_eq!(q.pop_due(t0 + Duration::from_secs(7), &look), Some(slot(1)));
        states.borrow_mut()[1].fired();
        assert_eq!(q.next(&look), None);
        assert_eq!(q.raw_len(), 0);
    }
}
