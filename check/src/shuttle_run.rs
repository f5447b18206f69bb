//! Step-level interleaving under `--cfg reqtrack_shuttle`: logical threads are shuttle tasks, and the
//! fuzz bytes choose which runnable task takes each step.

use crate::exec::apply;
use crate::interleave::{Case, Event};
use crate::model::Outcome;
use crate::observe::{Observed, observe};
use crate::op::Op;
use reqtrack::RequestTracker;
use shuttle::scheduler::{Schedule, Scheduler, Task, TaskId};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A shuttle scheduler driven by fuzz bytes; one execution.
#[derive(Debug)]
pub(crate) struct ByteScheduler {
    bytes: Vec<u8>,
    at: usize,
    started: bool,
}

impl ByteScheduler {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            at: 0,
            started: false,
        }
    }

    fn next_byte(&mut self) -> Option<u8> {
        let b = self.bytes.get(self.at).copied();
        self.at += 1;
        b
    }
}

impl Scheduler for ByteScheduler {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.started {
            return None;
        }
        self.started = true;
        Some(Schedule::new(0))
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        _is_yielding: bool,
    ) -> Option<TaskId> {
        match self.next_byte() {
            Some(b) => Some(runnable[usize::from(b) % runnable.len()].id()),
            // Out of bytes: keep running the current task when it can, for determinism.
            None => Some(
                current
                    .filter(|c| runnable.iter().any(|t| t.id() == *c))
                    .unwrap_or_else(|| runnable[0].id()),
            ),
        }
    }

    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_byte().unwrap_or(0))
    }
}

/// Runs `f` inside a single shuttle execution (shuttle's atomics only work inside one).
pub(crate) fn in_execution(f: impl Fn() + Send + Sync + 'static) {
    shuttle::Runner::new(ByteScheduler::new(Vec::new()), shuttle::Config::new()).run(f);
}

/// Runs the case with every atomic step scheduled by the fuzz bytes.
pub(crate) fn run_step_level(case: &Case) -> (Vec<Vec<Event>>, Observed) {
    let out = Arc::new(Mutex::new(None));
    let shared = Arc::new(case.clone());
    let result = Arc::clone(&out);
    let runner = shuttle::Runner::new(
        ByteScheduler::new(case.schedule.clone()),
        shuttle::Config::new(),
    );
    runner.run(move || {
        let base = Instant::now();
        let t = Arc::new(RequestTracker::with_received_at(base, shared.received_ms));
        let clock = Arc::new(AtomicU64::new(0));
        let holders = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = shared
            .threads
            .iter()
            .cloned()
            .map(|ops| {
                let (t, clock, holders) =
                    (Arc::clone(&t), Arc::clone(&clock), Arc::clone(&holders));
                shuttle::thread::spawn(move || {
                    let mut permit = None;
                    let mut events = Vec::new();
                    for op in ops {
                        let start = clock.fetch_add(1, Ordering::SeqCst);
                        if let Op::TryPhase(p) = op {
                            let got = t.try_set_phase(p);
                            let mid = clock.fetch_add(1, Ordering::SeqCst);
                            if got.is_some() {
                                let before = holders.fetch_add(1, Ordering::SeqCst);
                                assert_eq!(before, 0, "two phase permits held at once");
                                holders.fetch_sub(1, Ordering::SeqCst);
                            }
                            let ok = got.is_some();
                            let release_start = clock.fetch_add(1, Ordering::SeqCst);
                            drop(got);
                            let end = clock.fetch_add(1, Ordering::SeqCst);
                            let outcome = Outcome::Bool(ok);
                            events.push(Event {
                                op,
                                outcome,
                                start,
                                end: mid,
                            });
                            if ok {
                                let (op, outcome) = (Op::ReleasePhase, Outcome::Unit);
                                events.push(Event {
                                    op,
                                    outcome,
                                    start: release_start,
                                    end,
                                });
                            }
                            continue;
                        }
                        let outcome = match op {
                            Op::HoldPhase(p) => {
                                let got = shuttle::future::block_on(t.set_phase(p));
                                let before = holders.fetch_add(1, Ordering::SeqCst);
                                assert_eq!(before, 0, "two phase permits held at once");
                                permit = Some(got);
                                Outcome::Unit
                            }
                            Op::ReleasePhase => {
                                if permit.is_some() {
                                    holders.fetch_sub(1, Ordering::SeqCst);
                                }
                                drop(permit.take());
                                Outcome::Unit
                            }
                            _ => apply(&t, base, op, &mut permit),
                        };
                        let end = clock.fetch_add(1, Ordering::SeqCst);
                        events.push(Event {
                            op,
                            outcome,
                            start,
                            end,
                        });
                    }
                    events
                })
            })
            .collect();
        let events: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("task"))
            .collect();
        *result.lock().expect("result") = Some((events, observe(&t)));
    });
    let taken = out.lock().expect("result").take();
    taken.expect("the execution ran")
}
