//! The interleaved checker's view of a call: one [`Step`] per linearization point, and the state
//! only it needs ([`Interleaved`]: queued `set_phase` calls, calls half done).
//!
//! Most calls are one atomic step. These are several, each atomic on its own, so another thread
//! can see them half done and the checker gives each step its own point inside the call's
//! interval:
//!
//! * `record_worker`: a phase read, then the prefill slot's write, then the decode slot's
//!   (documented on `record_worker`);
//! * a waiting `set_phase`: an arrival (take a free gate, or queue), then a claim of the gate a
//!   release handed over (the gate's FIFO handoff);
//! * `set_external_timing_at`: one first-merge slot per value, written in [`placed`]'s order;
//! * `set_external_worker_info`: the prefill slot, then the decode slot.
//!
//! The last step of a merge returns the call's count, the steps before it nothing.

use crate::interleave::Event;
use crate::limits::MAX_THREADS;
use crate::merged::{MERGED_FIELDS, placed};
use crate::model::{Model, Outcome, Worker, offset, remote_workers, worker_slots};
use crate::op::Op;
use reqtrack::RequestPhase;

/// One linearization point of a call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Step {
    /// A call that is one atomic step.
    Whole(Op),
    /// A `Worker` write's phase read.
    WorkerPhaseRead,
    /// A `Worker` write's write to one slot (0 = prefill, 1 = decode), if the phase read says so.
    WorkerSlot(usize, Worker),
    /// A waiting `set_phase` arrives: takes a free gate, or queues.
    HoldQueue(RequestPhase),
    /// A queued `set_phase` claims the gate a release handed over, and sets its phase (a no-op
    /// for one that took a free gate on arrival).
    HoldClaim(RequestPhase),
    /// One value of a timing merge, already placed (`None`: skipped).
    MergeTimingField(usize, Option<u64>),
    /// One slot of a worker merge.
    MergeWorkerSlot(usize, Option<Worker>),
}

/// `event` as its steps; only the last carries the call's outcome (the others return `Unit`).
pub(crate) fn split(received_ms: u64, event: &Event) -> Vec<(Step, Outcome)> {
    let steps = match event.op {
        Op::Worker(id, rank, ty) => vec![
            Step::WorkerPhaseRead,
            Step::WorkerSlot(0, (id, rank, ty)),
            Step::WorkerSlot(1, (id, rank, ty)),
        ],
        Op::HoldPhase(p) => vec![Step::HoldQueue(p), Step::HoldClaim(p)],
        Op::MergeTiming(remote, at) => {
            let values = placed(&remote.timing(received_ms), received_ms, offset(at));
            (0..MERGED_FIELDS)
                .map(|f| Step::MergeTimingField(f, values[f]))
                .collect()
        }
        Op::MergeWorkers(remote) => remote_workers(&remote.info())
            .into_iter()
            .enumerate()
            .map(|(i, w)| Step::MergeWorkerSlot(i, w))
            .collect(),
        op => vec![Step::Whole(op)],
    };
    let last = steps.len() - 1;
    steps
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s,
                if i == last {
                    event.outcome
                } else {
                    Outcome::Unit
                },
            )
        })
        .collect()
}

/// The model plus what only interleaving needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Interleaved {
    pub(crate) model: Model,
    /// Waiting `set_phase` calls queued and not yet served.
    queued: u32,
    /// A release handed the gate to the queue; a queued call claims it.
    handoff: bool,
    /// Which threads' `set_phase` is queued (must claim a handoff).
    claiming: [bool; MAX_THREADS],
    /// The phase each thread's in-flight `Worker` write read.
    phase_read: [Option<RequestPhase>; MAX_THREADS],
    /// How many values each thread's in-flight merge has stored so far.
    merged: [u8; MAX_THREADS],
}

impl Interleaved {
    pub(crate) fn new(received_ms: u64) -> Self {
        Self {
            model: Model::new(received_ms),
            queued: 0,
            handoff: false,
            claiming: [false; MAX_THREADS],
            phase_read: [None; MAX_THREADS],
            merged: [0; MAX_THREADS],
        }
    }

    /// Counts one merge step of `thread`; on the call's `last` step, returns its total.
    fn merge_step(&mut self, thread: usize, stored: bool, last: bool) -> Outcome {
        self.merged[thread] += u8::from(stored);
        if last {
            let n = std::mem::take(&mut self.merged[thread]);
            Outcome::U64(Some(n.into()))
        } else {
            Outcome::Unit
        }
    }

    /// Applies `step` issued by `thread`; `None` for a step that cannot take effect now (a
    /// claim with no handoff pending).
    pub(crate) fn apply(&mut self, thread: usize, step: Step) -> Option<Outcome> {
        let m = &mut self.model;
        Some(match step {
            // A successful try *holds* the gate until the harness's separate `ReleasePhase`
            // event: another thread can observe the gate held in between.
            Step::Whole(Op::TryPhase(p)) => Outcome::Bool(m.take_phase(p, true)),
            // FIFO handoff: with a `set_phase` queued, a release hands the gate over (held
            // stays) instead of freeing it.
            Step::Whole(Op::ReleasePhase) if self.queued > 0 => {
                self.handoff = true;
                Outcome::Unit
            }
            Step::Whole(op) => m.apply(op),
            Step::WorkerPhaseRead => {
                self.phase_read[thread] = Some(m.phase);
                Outcome::Unit
            }
            Step::WorkerSlot(slot, w) => {
                let phase = self.phase_read[thread]?;
                if worker_slots(phase).contains(&slot) {
                    m.write_worker(slot, w);
                }
                if slot == 1 {
                    self.phase_read[thread] = None;
                }
                Outcome::Unit
            }
            Step::HoldQueue(p) => {
                if !m.take_phase(p, true) {
                    self.queued += 1;
                    self.claiming[thread] = true;
                }
                Outcome::Unit
            }
            Step::HoldClaim(p) => {
                if self.claiming[thread] {
                    if !self.handoff {
                        return None;
                    }
                    self.handoff = false;
                    self.queued -= 1;
                    self.claiming[thread] = false;
                    m.phase = p;
                }
                Outcome::Unit
            }
            Step::MergeTimingField(f, value) => {
                let stored = m.merge_timing_field(f, value);
                self.merge_step(thread, stored, f + 1 == MERGED_FIELDS)
            }
            Step::MergeWorkerSlot(slot, w) => {
                let stored = m.merge_worker(slot, w);
                self.merge_step(thread, stored, slot == 1)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interleave::linearizable;
    use crate::op::Read;
    use crate::remote::RemoteTiming;

    const MS: u64 = 1_000_000;

    /// A remote timing with only a prefill wait and a TTFT (ms), no skew.
    fn remote(wait: f64, ttft: f64) -> Op {
        let timing = RemoteTiming {
            skew_ms: 0,
            prefill_wait_time_ms: Some(wait),
            prefill_time_ms: None,
            ttft_ms: Some(ttft),
            total_time_ms: None,
            kv_hit_rate: None,
            router_queue_depth: None,
            kv_transfer_estimated_latency_ms: None,
        };
        Op::MergeTiming(timing, 1_000 * MS as i64)
    }

    fn event(op: Op, outcome: Outcome, start: u64, end: u64) -> Event {
        Event {
            op,
            outcome,
            start,
            end,
        }
    }

    #[test]
    fn a_timing_merge_is_one_step_per_value_and_only_the_last_returns_the_count() {
        let steps = split(0, &event(remote(1.0, 2.0), Outcome::U64(Some(2)), 0, 1));
        assert_eq!(steps.len(), MERGED_FIELDS);
        assert_eq!(steps[0].0, Step::MergeTimingField(0, Some(MS)));
        assert_eq!(steps[1].0, Step::MergeTimingField(1, Some(2 * MS)));
        assert!(
            steps[..MERGED_FIELDS - 1]
                .iter()
                .all(|s| s.1 == Outcome::Unit)
        );
        assert_eq!(steps[MERGED_FIELDS - 1].1, Outcome::U64(Some(2)));
    }

    /// Two merges racing field by field: A wins the prefill start, B the first token. Only a
    /// checker that gives each value its own step explains that, and only while the two calls
    /// overlap in time.
    #[test]
    fn racing_timing_merges_each_win_a_value_only_while_they_overlap() {
        let (a, b) = (remote(1.0, 2.0), remote(3.0, 4.0));
        let one = Outcome::U64(Some(1));
        let mut state = Interleaved::new(0);
        let (sa, sb) = (
            split(0, &event(a, one, 0, 1)),
            split(0, &event(b, one, 0, 1)),
        );
        // A's start, B's start (lost) and first token (won), then the rest of A, then of B.
        let order = [
            (0, 0),
            (1, 0),
            (1, 1),
            (0, 1),
            (0, 2),
            (0, 3),
            (0, 4),
            (0, 5),
        ];
        let order = order.into_iter().chain((2..MERGED_FIELDS).map(|f| (1, f)));
        for (thread, i) in order {
            let (step, outcome) = [&sa, &sb][thread][i];
            assert_eq!(state.apply(thread, step), Some(outcome), "{thread} {i}");
        }
        let last = state.model.observe();
        assert_eq!(last.timing.prefill_wait_time_ms, Some(1.0));
        assert_eq!(last.timing.ttft_ms, Some(4.0));
        let overlapping = [vec![event(a, one, 0, 3)], vec![event(b, one, 1, 2)]];
        assert!(linearizable(0, &overlapping, &last));
        let a_then_b = [vec![event(a, one, 0, 1)], vec![event(b, one, 2, 3)]];
        assert!(!linearizable(0, &a_then_b, &last));
    }

    #[test]
    fn a_read_that_starts_after_a_migration_ended_must_count_it() {
        let mut model = Model::new(0);
        model.apply(Op::Migration);
        let last = model.observe();
        let read = |start, end| {
            event(
                Op::Read(Read::Migrations),
                Outcome::U64(Some(0)),
                start,
                end,
            )
        };
        let migration = event(Op::Migration, Outcome::Unit, 0, 2);
        assert!(linearizable(0, &[vec![migration], vec![read(1, 3)]], &last));
        assert!(!linearizable(
            0,
            &[vec![migration], vec![read(3, 4)]],
            &last
        ));
    }
}
