//! The interleaved target: 2-4 logical threads issue operations on one tracker, and the
//! outcome must be explained by some sequential order of the same operations (linearizability,
//! respecting each thread's program order and real-time order) run on the sequential model (`model.rs`).
//!
//! Under `--cfg reqtrack_shuttle` the threads are shuttle tasks and the fuzz bytes pick which task takes
//! each atomic step. In a plain build (the corpus replay in `cargo test`) the bytes pick which
//! thread runs its next whole operation: the same semantics checks, at operation granularity.

use crate::bytes::Bytes;
use crate::exec::apply;
use crate::limits::{MAX_THREAD_OPS, MAX_THREADS, MIN_THREADS};
use crate::model::Outcome;
use crate::observe::{Observed, observe};
use crate::op::{Op, Read};
use crate::steps::{Interleaved, Step, split};
use reqtrack::RequestTracker;
use rustc_hash::FxHashSet as HashSet;
use std::time::Instant;

/// One completed call: what it was, what it returned, and its real-time interval.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub(crate) op: Op,
    pub(crate) outcome: Outcome,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

/// A decoded input: the threads' programs and the scheduling bytes.
#[derive(Debug, Clone)]
pub struct Case {
    /// The tracker's wall-clock arrival.
    pub received_ms: u64,
    /// Each logical thread's operations, in program order.
    pub threads: Vec<Vec<Op>>,
    /// The scheduling bytes (which thread, or under shuttle which task, steps next).
    pub schedule: Vec<u8>,
}

impl Case {
    /// Decodes 2-4 threads of 1-5 operations each. A thread never asks for the permit twice
    /// without releasing it (that waits forever, as documented), and releases what it holds.
    pub fn decode(data: &[u8]) -> Self {
        let mut b = Bytes::new(data);
        let received_ms = b.u64();
        let n = MIN_THREADS + b.below(MAX_THREADS - MIN_THREADS + 1);
        let threads = (0..n)
            .map(|_| {
                let len = 1 + b.below(MAX_THREAD_OPS);
                let mut holding = false;
                let mut ops: Vec<Op> = (0..len)
                    .map(|_| match Op::decode(&mut b) {
                        Op::HoldPhase(_) if holding => {
                            holding = false;
                            Op::ReleasePhase
                        }
                        op @ Op::HoldPhase(_) => {
                            holding = true;
                            op
                        }
                        Op::ReleasePhase if !holding => Op::Read(Read::Phase),
                        Op::ReleasePhase => {
                            holding = false;
                            Op::ReleasePhase
                        }
                        op => op,
                    })
                    .collect();
                if holding {
                    ops.push(Op::ReleasePhase);
                }
                ops
            })
            .collect();
        let mut schedule = Vec::new();
        while !b.is_empty() {
            schedule.push(b.u8());
        }
        Self {
            received_ms,
            threads,
            schedule,
        }
    }
}

/// Runs the case one whole operation at a time, the bytes choosing the thread.
#[cfg_attr(reqtrack_shuttle, allow(dead_code))]
pub(crate) fn run_op_level(case: &Case) -> (Vec<Vec<Event>>, Observed) {
    let base = Instant::now();
    let t = RequestTracker::with_received_at(base, case.received_ms);
    let n = case.threads.len();
    let mut permits: Vec<_> = (0..n).map(|_| None).collect();
    let mut pos = vec![0usize; n];
    let mut events = vec![Vec::new(); n];
    let mut sched = Bytes::new(&case.schedule);
    let mut clock = 0u64;
    loop {
        let live: Vec<usize> = (0..n).filter(|&i| pos[i] < case.threads[i].len()).collect();
        if live.is_empty() {
            break;
        }
        let first = sched.below(live.len());
        let mut chosen = None;
        for k in 0..live.len() {
            let i = live[(first + k) % live.len()];
            match case.threads[i][pos[i]] {
                // A waiting `set_phase` is runnable only while the gate is free.
                Op::HoldPhase(p) => {
                    if let Some(permit) = t.try_set_phase(p) {
                        chosen = Some((i, Some(permit)));
                        break;
                    }
                }
                _ => {
                    chosen = Some((i, None));
                    break;
                }
            }
        }
        let (i, acquired) = chosen.expect("the permit holder is always runnable");
        let op = case.threads[i][pos[i]];
        let start = clock;
        clock += 2;
        match (acquired, op) {
            (Some(permit), _) => {
                permits[i] = Some(permit);
                events[i].push(Event {
                    op,
                    outcome: Outcome::Unit,
                    start,
                    end: start + 1,
                });
            }
            (None, Op::TryPhase(p)) => events[i].extend(try_phase(&t, p, start, start + 1)),
            (None, _) => {
                let outcome = apply(&t, base, op, &mut permits[i]);
                events[i].push(Event {
                    op,
                    outcome,
                    start,
                    end: start + 1,
                });
            }
        }
        pos[i] += 1;
    }
    (events, observe(&t))
}

/// `try_set_phase` then drop, as two events: the try (which holds the gate if it succeeds)
/// and, on success, the release. `start..end` is split at its midpoint.
pub(crate) fn try_phase(
    t: &RequestTracker,
    p: reqtrack::RequestPhase,
    start: u64,
    end: u64,
) -> impl Iterator<Item = Event> {
    let permit = t.try_set_phase(p);
    let ok = permit.is_some();
    drop(permit);
    let try_event = Event {
        op: Op::TryPhase(p),
        outcome: Outcome::Bool(ok),
        start,
        end: start,
    };
    let release = Event {
        op: Op::ReleasePhase,
        outcome: Outcome::Unit,
        start: end,
        end,
    };
    std::iter::once(try_event).chain(ok.then_some(release))
}

/// Whether some sequential order of `events` (each thread's order kept, and an event that ended
/// before another started kept before it), each call split into its atomic steps (`steps.rs`),
/// makes the model return every recorded outcome and end with every observable as in `last`.
pub(crate) fn linearizable(received_ms: u64, events: &[Vec<Event>], last: &Observed) -> bool {
    /// One step to place: which call it belongs to (for the real-time order) and what it must
    /// return.
    struct Placed {
        step: Step,
        outcome: Outcome,
        start: u64,
        end: u64,
    }
    fn search(
        steps: &[Vec<Placed>],
        pos: &mut Vec<usize>,
        state: Interleaved,
        last: &Observed,
        seen: &mut HashSet<([u8; MAX_THREADS], Interleaved)>,
    ) -> bool {
        if pos.iter().zip(steps).all(|(&p, s)| p == s.len()) {
            return state.model.observe() == *last;
        }
        let key = std::array::from_fn(|i| pos.get(i).map_or(0, |&p| p as u8));
        if !seen.insert((key, state.clone())) {
            return false;
        }
        for i in 0..steps.len() {
            let Some(e) = steps[i].get(pos[i]) else {
                continue;
            };
            let overtaken = (0..steps.len())
                .any(|j| j != i && steps[j].get(pos[j]).is_some_and(|f| f.end < e.start));
            if overtaken {
                continue;
            }
            let mut next = state.clone();
            if next.apply(i, e.step) != Some(e.outcome) {
                continue;
            }
            pos[i] += 1;
            let found = search(steps, pos, next, last, seen);
            pos[i] -= 1;
            if found {
                return true;
            }
        }
        false
    }
    let steps: Vec<Vec<Placed>> = events
        .iter()
        .map(|thread| {
            thread
                .iter()
                .flat_map(|e| {
                    split(received_ms, e)
                        .into_iter()
                        .map(|(step, outcome)| Placed {
                            step,
                            outcome,
                            start: e.start,
                            end: e.end,
                        })
                })
                .collect()
        })
        .collect();
    let mut pos = vec![0; steps.len()];
    search(
        &steps,
        &mut pos,
        Interleaved::new(received_ms),
        last,
        &mut HashSet::default(),
    )
}

/// Asserts the run is linearizable.
pub(crate) fn check(case: &Case, events: &[Vec<Event>], last: &Observed) {
    assert!(
        linearizable(case.received_ms, events, last),
        "no sequential order explains this run\nevents: {events:#?}\nfinal: {last:#?}"
    );
}
