//! The sequential model: the contract's write semantics (README, "What each slot keeps") as plain
//! fields, no atomics.
//!
//! Every tracker observable is recomputed here independently, so a fuzz input that makes the
//! tracker and the model disagree is a bug in one of them.

use crate::limits::{MAX_COUNT, MAX_DETOKENIZE_COUNT, MAX_NANOS, MAX_SLOT_CONFLICTS, MAX_THREADS};
use crate::merged::Merged;
use crate::op::{Op, Read};
use reqtrack::{RequestPhase, RequestSnapshot, TimingInfo, WorkerIdInfo, WorkerType};
use std::time::Duration;

/// What a call returned, in a comparable form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    Unit,
    Bool(bool),
    F64(Option<f64>),
    U64(Option<u64>),
    Phase(RequestPhase),
}

type Worker = (u64, Option<u32>, WorkerType);

/// The sequential specification of one tracker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Model {
    received_ms: u64,
    prefill_start: Option<u64>,
    first_token: Option<u64>,
    decode_first: Option<u64>,
    prefill_complete: Option<u64>,
    finish: Option<u64>,
    kv: Option<(u64, u64)>,
    isl: Option<(u64, u64)>,
    osl: u64,
    tokenize: Option<u64>,
    detok_sum: u64,
    detok_count: u64,
    depth: Option<u64>,
    workers: [Option<Worker>; 2],
    conflicts: [u32; 2],
    phase: RequestPhase,
    held: bool,
    /// Interleaved checker only: waiting `set_phase` calls queued and not yet served.
    queued: u32,
    /// Interleaved checker only: a release handed the gate to the queue; a queued call claims it.
    handoff: bool,
    /// Interleaved checker only: which threads' `set_phase` is queued (must claim a handoff).
    claiming: [bool; MAX_THREADS],
    /// Another hop's timing (the merge replay only; the ops never merge).
    merged: Merged,
    /// Whether each worker slot holds a merged triple (replaced by the next own write).
    merged_workers: [bool; 2],
    /// Interleaved checker only: the phase each thread's in-flight `Worker` write read.
    pending: [Option<RequestPhase>; MAX_THREADS],
}

fn offset(at: i64) -> u64 {
    u64::try_from(at).unwrap_or(0).min(MAX_NANOS)
}

fn once(slot: &mut Option<u64>, v: u64) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(v);
    true
}

fn pair(slot: &mut Option<(u64, u64)>, part: usize, whole: usize) -> bool {
    let (Ok(part), Ok(whole)) = (u64::try_from(part), u64::try_from(whole)) else {
        return false;
    };
    if part > MAX_COUNT || whole > MAX_COUNT || part > whole || slot.is_some() {
        return false;
    }
    *slot = Some((part, whole));
    true
}

/// `d` in nanoseconds, saturating at [`MAX_NANOS`].
fn nanos_saturating(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).map_or(MAX_NANOS, |n| n.min(MAX_NANOS))
}

fn ms(n: u64) -> f64 {
    n as f64 / 1_000_000.0
}

fn span(a: u64, b: u64) -> f64 {
    b.saturating_sub(a) as f64 / 1_000_000.0
}

impl Model {
    pub(crate) fn new(received_ms: u64) -> Self {
        Self {
            received_ms,
            prefill_start: None,
            first_token: None,
            decode_first: None,
            prefill_complete: None,
            finish: None,
            kv: None,
            isl: None,
            osl: 0,
            tokenize: None,
            detok_sum: 0,
            detok_count: 0,
            depth: None,
            workers: [None, None],
            conflicts: [0, 0],
            phase: RequestPhase::Aggregated,
            held: false,
            queued: 0,
            handoff: false,
            claiming: [false; MAX_THREADS],
            merged: Merged::default(),
            merged_workers: [false; 2],
            pending: [None; MAX_THREADS],
        }
    }

    fn write_worker(&mut self, i: usize, w: Worker) {
        if self.merged_workers[i] {
            // An own write replaces a merged triple as if the slot were unset.
            self.merged_workers[i] = false;
            self.workers[i] = Some(w);
            return;
        }
        match self.workers[i] {
            None => self.workers[i] = Some(w),
            Some(old) if old == w => {}
            Some((id, None, ty)) if id == w.0 && ty == w.2 && w.1.is_some() => {
                self.workers[i] = Some(w);
            }
            Some(_) => self.conflicts[i] = (self.conflicts[i] + 1).min(MAX_SLOT_CONFLICTS),
        }
    }

    /// Merges another hop's timing at offset `now` (ns); how many values were stored.
    pub(crate) fn merge_timing(&mut self, ext: &TimingInfo, now: u64) -> usize {
        self.merged.merge(ext, self.received_ms, now)
    }

    /// Merges another hop's workers into unset slots; how many slots were filled.
    pub(crate) fn merge_workers(&mut self, ext: &WorkerIdInfo) -> usize {
        let mut filled = 0;
        let slots = [
            (
                ext.prefill_worker_id,
                ext.prefill_dp_rank,
                WorkerType::Prefill,
            ),
            (ext.decode_worker_id, ext.decode_dp_rank, WorkerType::Decode),
        ];
        for (i, (id, rank, ty)) in slots.into_iter().enumerate() {
            if let (Some(id), None) = (id, self.workers[i]) {
                self.workers[i] = Some((id, rank, ty));
                self.merged_workers[i] = true;
                filled += 1;
            }
        }
        filled
    }

    /// Applies `op` issued by logical thread `thread` (the checker's micro-steps of a `Worker`
    /// write need to know whose phase read they continue).
    pub(crate) fn apply_in(&mut self, thread: usize, op: Op) -> Option<Outcome> {
        match op {
            Op::WorkerPhaseRead => {
                self.pending[thread] = Some(self.phase);
                Some(Outcome::Unit)
            }
            Op::WorkerSlot(slot, id, rank, ty) => {
                let phase = self.pending[thread]?;
                let writes = match phase {
                    RequestPhase::Prefill => slot == 0,
                    RequestPhase::Decode => slot == 1,
                    RequestPhase::Aggregated => true,
                };
                if writes {
                    self.write_worker(usize::from(slot), (id, rank, ty));
                }
                if slot == 1 {
                    self.pending[thread] = None;
                }
                Some(Outcome::Unit)
            }
            // A waiting `set_phase` is two steps, as the gate builds it: arrive (take a free
            // gate, or queue), then claim a handoff (HELD never drops in between, and the phase
            // changes only at the claim).
            Op::HoldQueue(p) => {
                if self.held {
                    self.queued += 1;
                    self.claiming[thread] = true;
                } else {
                    self.held = true;
                    self.phase = p;
                }
                Some(Outcome::Unit)
            }
            Op::HoldClaim(p) => {
                if self.claiming[thread] {
                    if !self.handoff {
                        return None;
                    }
                    self.handoff = false;
                    self.queued -= 1;
                    self.claiming[thread] = false;
                    self.phase = p;
                }
                Some(Outcome::Unit)
            }
            _ => self.apply(op, true),
        }
    }

    /// Applies `op`; `blocking` is true in the interleaved checker (a successful `TryPhase` then
    /// holds the gate until its separate release). Always `Some` here; `apply_in` returns `None`
    /// for a step that cannot take effect now (a claim with no handoff pending).
    pub(crate) fn apply(&mut self, op: Op, blocking: bool) -> Option<Outcome> {
        use Outcome::{Bool, Unit};
        Some(match op {
            Op::PrefillStart(at) => Bool(once(&mut self.prefill_start, offset(at))),
            Op::FirstToken(at) => Bool(once(&mut self.first_token, offset(at))),
            Op::DecodeFirstToken(at) => Bool(once(&mut self.decode_first, offset(at))),
            Op::PrefillComplete(at) => Bool(once(&mut self.prefill_complete, offset(at))),
            Op::Finish(at) => {
                let v = offset(at);
                self.finish = Some(self.finish.map_or(v, |f| f.max(v)));
                Unit
            }
            Op::KvHit(o, isl) => Bool(pair(&mut self.kv, o as usize, isl)),
            Op::Isl(isl, cached) => Bool(pair(&mut self.isl, cached, isl)),
            Op::Osl(n) => {
                self.osl = n as u64;
                Unit
            }
            Op::Worker(id, rank, ty) => {
                let w = (id, rank, ty);
                match self.phase {
                    RequestPhase::Prefill => self.write_worker(0, w),
                    RequestPhase::Decode => self.write_worker(1, w),
                    RequestPhase::Aggregated => {
                        self.write_worker(0, w);
                        self.write_worker(1, w);
                    }
                }
                Unit
            }
            Op::Tokenize(d) => {
                once(&mut self.tokenize, nanos_saturating(d));
                Unit
            }
            Op::Detokenize(d) => {
                let n = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
                self.detok_sum = self.detok_sum.saturating_add(n);
                self.detok_count = (self.detok_count + 1).min(MAX_DETOKENIZE_COUNT);
                Unit
            }
            Op::QueueDepth(n) => match u64::try_from(n) {
                Ok(d) if d <= MAX_NANOS => Bool(once(&mut self.depth, d)),
                _ => Bool(false),
            },
            // Interleaved (`blocking`): a successful try *holds* the gate until the harness's
            // separate `ReleasePhase` event, because another thread can observe the gate held
            // between `try_set_phase` and the permit's drop. Sequential: the permit is dropped
            // at once, so only the phase changes.
            Op::TryPhase(p) => {
                if self.held {
                    Bool(false)
                } else {
                    self.phase = p;
                    self.held = blocking;
                    Bool(true)
                }
            }
            // Sequential target only: `try_set_phase` kept held. The interleaved checker splits
            // a waiting `set_phase` into `HoldQueue` + `HoldClaim` (`apply_in`).
            Op::HoldPhase(_) if blocking => unreachable!("split into HoldQueue + HoldClaim"),
            Op::HoldPhase(p) => {
                if self.held {
                    Bool(false)
                } else {
                    self.held = true;
                    self.phase = p;
                    Bool(true)
                }
            }
            // FIFO handoff: with a `set_phase` queued, a release hands the gate over (HELD stays)
            // instead of freeing it.
            Op::ReleasePhase => {
                if self.queued > 0 {
                    self.handoff = true;
                } else {
                    self.held = false;
                }
                Unit
            }
            Op::Read(r) => self.read(r),
            Op::WorkerPhaseRead | Op::WorkerSlot(..) | Op::HoldQueue(_) | Op::HoldClaim(_) => {
                unreachable!("checker-only steps")
            }
        })
    }

    fn read(&self, r: Read) -> Outcome {
        use Outcome::{F64, U64};
        match r {
            Read::Ttft => F64(self.first().map(ms)),
            Read::Total => F64(self.last().map(ms)),
            Read::PrefillWait => F64(self.start().map(ms)),
            Read::KvRate => F64(self.kv_rate()),
            Read::IslTokens => U64(self.isl.map(|(_, w)| w)),
            Read::CachedTokens => U64(self.isl.map(|(p, _)| p)),
            Read::PrefillWorker => U64(self.workers[0].map(|w| w.0)),
            Read::DecodeWorker => U64(self.workers[1].map(|w| w.0)),
            Read::Osl => U64(Some(self.osl)),
            Read::Phase => Outcome::Phase(self.phase),
            Read::DetokCount => U64(Some(self.detok_count)),
            Read::QueueDepth => U64(self.queue_depth()),
            Read::Tokenize => U64(self.tokenize),
        }
    }

    // Every value another hop can fill: the own value if known, else the merged one.

    fn start(&self) -> Option<u64> {
        self.prefill_start.or(self.merged.prefill_start)
    }

    fn first(&self) -> Option<u64> {
        self.first_token.or(self.merged.first_token)
    }

    fn last(&self) -> Option<u64> {
        self.finish.or(self.merged.finish)
    }

    fn queue_depth(&self) -> Option<u64> {
        self.depth.or(self.merged.router_queue_depth)
    }

    fn prefill_time(&self) -> Option<f64> {
        self.start().zip(self.first()).map(|(s, f)| span(s, f))
    }

    fn kv_rate(&self) -> Option<f64> {
        self.kv
            .and_then(|(o, b)| (b != 0).then(|| o as f64 / b as f64))
            .or(self.merged.kv_hit_rate.map(f64::from_bits))
    }

    /// Decode first token minus prefill complete, saturating at 0, in ns.
    fn kv_transfer_ns(&self) -> Option<u64> {
        self.prefill_complete
            .zip(self.decode_first)
            .map(|(c, d)| d.saturating_sub(c))
            .or(self.merged.kv_transfer)
    }

    fn kv_transfer(&self) -> Option<f64> {
        self.kv_transfer_ns().map(ms)
    }

    fn avg_itl(&self) -> Option<f64> {
        match (self.first(), self.last()) {
            (Some(f), Some(e)) if self.osl >= 2 => Some(span(f, e) / (self.osl - 1) as f64),
            _ => None,
        }
    }

    pub(crate) fn worker_info(&self) -> Option<WorkerIdInfo> {
        let [p, d] = self.workers;
        if p.is_none() && d.is_none() {
            return None;
        }
        Some(WorkerIdInfo {
            prefill_worker_id: p.map(|w| w.0),
            prefill_dp_rank: p.and_then(|w| w.1),
            decode_worker_id: d.map(|w| w.0),
            decode_dp_rank: d.and_then(|w| w.1),
        })
    }

    pub(crate) fn timing(&self) -> TimingInfo {
        TimingInfo {
            request_received_ms: self.received_ms,
            prefill_wait_time_ms: self.start().map(ms),
            prefill_time_ms: self.prefill_time(),
            ttft_ms: self.first().map(ms),
            total_time_ms: self.last().map(ms),
            kv_hit_rate: self.kv_rate(),
            router_queue_depth: self.queue_depth().and_then(|d| usize::try_from(d).ok()),
            kv_transfer_estimated_latency_ms: self.kv_transfer(),
        }
    }

    pub(crate) fn snapshot(&self) -> RequestSnapshot {
        let [p, d] = self.workers;
        RequestSnapshot {
            request_received_ms: self.received_ms,
            phase: self.phase,
            phase_held: self.held,
            prefill_start_ms: self.start().map(ms),
            first_token_ms: self.first().map(ms),
            decode_first_token_ms: self.decode_first.map(ms),
            prefill_complete_ms: self.prefill_complete.map(ms),
            finish_ms: self.last().map(ms),
            prefill_wait_time_ms: self.start().map(ms),
            prefill_time_ms: self.prefill_time(),
            ttft_ms: self.first().map(ms),
            total_time_ms: self.last().map(ms),
            avg_itl_ms: self.avg_itl(),
            kv_transfer_estimated_latency_ms: self.kv_transfer(),
            // The ops record whole overlaps only (`record_kv_hit`).
            kv_overlap_blocks: self.kv.map(|(o, _)| o),
            kv_effective_overlap_blocks: None,
            isl_blocks: self.kv.map(|(_, b)| b),
            kv_hit_rate: self.kv_rate(),
            isl_tokens: self.isl.map(|(_, w)| w),
            cached_tokens: self.isl.map(|(c, _)| c),
            osl_tokens: self.osl,
            router_queue_depth: self.queue_depth(),
            tokenize_latency_ms: self.tokenize.map(ms),
            detokenize_total_ms: (self.detok_count != 0).then(|| ms(self.detok_sum)),
            detokenize_count: self.detok_count,
            prefill_worker_id: p.map(|w| w.0),
            prefill_dp_rank: p.and_then(|w| w.1),
            prefill_worker_type: p.map(|w| w.2),
            decode_worker_id: d.map(|w| w.0),
            decode_dp_rank: d.and_then(|w| w.1),
            decode_worker_type: d.map(|w| w.2),
            worker_conflicts: self.conflicts[0] + self.conflicts[1],
            // No op migrates (the input format has no migration op; see the crate docs).
            migrations: 0,
        }
    }

    /// The derived values that have their own getters, for the sequential target's checks.
    pub(crate) fn derived(&self) -> Derived {
        Derived {
            prefill_time_ms: self.prefill_time(),
            avg_itl_ms: self.avg_itl(),
            kv_hit_rate: self.kv_rate(),
            kv_transfer_estimated_latency_ms: self.kv_transfer(),
            kv_transfer_estimated_latency_secs: self.kv_transfer_ns().map(|n| n as f64 / 1e9),
            total_time_ms: self.last().map(ms),
        }
    }
}

impl Model {
    /// Tokenize latency through `Duration::as_secs_f64`, as a caller would convert it.
    pub(crate) fn tokenize_ns_as_secs_ms(&self) -> f64 {
        Duration::from_nanos(self.tokenize.unwrap_or(0)).as_secs_f64() * 1000.0
    }

    /// Detokenize sum through `Duration::as_secs_f64`.
    pub(crate) fn detok_ns_as_secs_ms(&self) -> f64 {
        Duration::from_nanos(self.detok_sum).as_secs_f64() * 1000.0
    }
}

/// The derived values that have getters of their own, by name.
#[derive(Debug, PartialEq)]
pub(crate) struct Derived {
    pub(crate) prefill_time_ms: Option<f64>,
    pub(crate) avg_itl_ms: Option<f64>,
    pub(crate) kv_hit_rate: Option<f64>,
    pub(crate) kv_transfer_estimated_latency_ms: Option<f64>,
    pub(crate) kv_transfer_estimated_latency_secs: Option<f64>,
    pub(crate) total_time_ms: Option<f64>,
}
