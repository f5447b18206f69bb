//! The sequential model: the contract's write semantics (README, "What each slot keeps") as plain
//! fields, no atomics.
//!
//! Every tracker observable is recomputed here independently, so a fuzz input that makes the
//! tracker and the model disagree is a bug in one of them. The interleaved checker's extra state
//! (queued `set_phase` calls, half-done multi-step calls) lives in `steps.rs`, not here.

use crate::limits::{
    MAX_COUNT, MAX_DETOKENIZE_COUNT, MAX_NANOS, MAX_QUEUE_DEPTH, MAX_SLOT_CONFLICTS,
};
use crate::merged::{MERGED_FIELDS, Merged, placed};
use crate::observe::{Derived, Getters, Observed};
use crate::op::{Op, Read};
use reqtrack::{
    OverlapRejected, RequestPhase, RequestSnapshot, TimingInfo, WorkerIdInfo, WorkerType,
};
use std::time::Duration;

/// What a call returned, in a comparable form.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Outcome {
    Unit,
    Bool(bool),
    F64(Option<f64>),
    U64(Option<u64>),
    Phase(RequestPhase),
    /// `try_record_kv_hit_effective`'s answer.
    Overlap(Result<bool, OverlapRejected>),
}

/// A worker slot's triple: id, rank, type.
pub(crate) type Worker = (u64, Option<u32>, WorkerType);

/// The sequential specification of one tracker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Model {
    received_ms: u64,
    prefill_start: Option<u64>,
    first_token: Option<u64>,
    decode_first: Option<u64>,
    prefill_complete: Option<u64>,
    finish: Option<u64>,
    /// `(overlap as f64 bits, isl_blocks)`: whole and effective overlaps share the slot.
    kv: Option<(u64, u64)>,
    isl: Option<(u64, u64)>,
    osl: u64,
    tokenize: Option<u64>,
    detok_sum: u64,
    detok_count: u64,
    depth: Option<u64>,
    workers: [Option<Worker>; 2],
    conflicts: [u32; 2],
    migrations: u32,
    /// The phase as set by the last permit holder.
    pub(crate) phase: RequestPhase,
    /// Whether a phase permit is held.
    pub(crate) held: bool,
    /// Another hop's timing.
    merged: Merged,
    /// Whether each worker slot holds a merged triple (replaced by the next own write).
    merged_workers: [bool; 2],
}

/// An instant `at` ns from the base as the tracker stores it: clamped to `0..=MAX_NANOS`.
pub(crate) fn offset(at: i64) -> u64 {
    u64::try_from(at).unwrap_or(0).min(MAX_NANOS)
}

fn once(slot: &mut Option<u64>, v: u64) -> bool {
    if slot.is_some() {
        return false;
    }
    *slot = Some(v);
    true
}

/// A count the packed slots can hold (at most [`MAX_COUNT`]).
fn storable(n: usize) -> Option<u64> {
    u64::try_from(n).ok().filter(|&n| n <= MAX_COUNT)
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
            migrations: 0,
            phase: RequestPhase::Aggregated,
            held: false,
            merged: Merged::default(),
            merged_workers: [false; 2],
        }
    }

    /// Records the KV hit `(overlap, isl_blocks)` if the slot is free (inputs already valid).
    fn kv_hit(&mut self, overlap: f64, isl_blocks: u64) -> bool {
        if self.kv.is_some() {
            return false;
        }
        // `-0.0` is recorded as `0.0`.
        let overlap = if overlap == 0.0 { 0.0 } else { overlap };
        self.kv = Some((overlap.to_bits(), isl_blocks));
        true
    }

    /// `try_record_kv_hit_effective`: the contract's checks in their documented order.
    fn kv_hit_effective(&mut self, overlap: f64, isl: usize) -> Result<bool, OverlapRejected> {
        if overlap.is_nan() {
            return Err(OverlapRejected::NotANumber);
        }
        if overlap < 0.0 {
            return Err(OverlapRejected::Negative);
        }
        let isl = storable(isl).ok_or(OverlapRejected::TooLarge)?;
        if overlap > isl as f64 {
            return Err(OverlapRejected::ExceedsIsl);
        }
        Ok(self.kv_hit(overlap, isl))
    }

    fn kv_overlap(&self) -> Option<(f64, u64)> {
        self.kv.map(|(o, b)| (f64::from_bits(o), b))
    }

    /// Writes `w` into worker slot `i` (0 = prefill, 1 = decode) by the slot's rules.
    pub(crate) fn write_worker(&mut self, i: usize, w: Worker) {
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
        let values = placed(ext, self.received_ms, now);
        (0..MERGED_FIELDS)
            .map(|f| usize::from(self.merge_timing_field(f, values[f])))
            .sum()
    }

    /// Merges one timing value (field `f` in the merge's write order); whether it was stored.
    pub(crate) fn merge_timing_field(&mut self, f: usize, value: Option<u64>) -> bool {
        self.merged.fill(f, value)
    }

    /// Merges a remote worker into slot `i` if the slot is unset; whether it was filled.
    pub(crate) fn merge_worker(&mut self, i: usize, w: Option<Worker>) -> bool {
        match (w, self.workers[i]) {
            (Some(w), None) => {
                self.workers[i] = Some(w);
                self.merged_workers[i] = true;
                true
            }
            _ => false,
        }
    }

    /// Merges another hop's workers into unset slots; how many slots were filled.
    pub(crate) fn merge_workers(&mut self, ext: &WorkerIdInfo) -> usize {
        remote_workers(ext)
            .into_iter()
            .enumerate()
            .map(|(i, w)| usize::from(self.merge_worker(i, w)))
            .sum()
    }

    /// Applies `op` as the sequential target issues it (a `TryPhase` drops its permit at once;
    /// `HoldPhase` keeps it until `ReleasePhase`).
    pub(crate) fn apply(&mut self, op: Op) -> Outcome {
        use Outcome::{Bool, U64, Unit};
        match op {
            Op::PrefillStart(at) => Bool(once(&mut self.prefill_start, offset(at))),
            Op::FirstToken(at) => Bool(once(&mut self.first_token, offset(at))),
            Op::DecodeFirstToken(at) => Bool(once(&mut self.decode_first, offset(at))),
            Op::PrefillComplete(at) => Bool(once(&mut self.prefill_complete, offset(at))),
            Op::Finish(at) => {
                self.finish(at);
                Unit
            }
            Op::KvHit(o, isl) => Bool(match (storable(o as usize), storable(isl)) {
                (Some(o), Some(isl)) if o <= isl => self.kv_hit(o as f64, isl),
                _ => false,
            }),
            Op::KvHitEffective(o, isl) => Outcome::Overlap(self.kv_hit_effective(o, isl)),
            Op::Isl(isl, cached) => Bool(pair(&mut self.isl, cached, isl)),
            Op::Osl(n) => {
                self.osl = n as u64;
                Unit
            }
            Op::OslFinish(n, at) => {
                self.osl = n as u64;
                self.finish(at);
                Unit
            }
            Op::Worker(id, rank, ty) => {
                for &i in worker_slots(self.phase) {
                    self.write_worker(i, (id, rank, ty));
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
                Ok(d) if d <= MAX_QUEUE_DEPTH => Bool(once(&mut self.depth, d)),
                _ => Bool(false),
            },
            Op::Migration => {
                self.migrations = self.migrations.saturating_add(1);
                Unit
            }
            Op::MergeTiming(remote, at) => {
                let ext = remote.timing(self.received_ms);
                U64(Some(self.merge_timing(&ext, offset(at)) as u64))
            }
            Op::MergeWorkers(remote) => U64(Some(self.merge_workers(&remote.info()) as u64)),
            // The permit is dropped at once, so only the phase changes.
            Op::TryPhase(p) => Bool(self.take_phase(p, false)),
            Op::HoldPhase(p) => Bool(self.take_phase(p, true)),
            Op::ReleasePhase => {
                self.held = false;
                Unit
            }
            Op::Read(r) => self.read(r),
        }
    }

    /// Sets the phase if no permit is held (and holds it if `hold`); whether it did.
    pub(crate) fn take_phase(&mut self, p: RequestPhase, hold: bool) -> bool {
        if self.held {
            return false;
        }
        self.phase = p;
        self.held = hold;
        true
    }

    /// A finish at `at`: the latest one is kept.
    fn finish(&mut self, at: i64) {
        let v = offset(at);
        self.finish = Some(self.finish.map_or(v, |f| f.max(v)));
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
            Read::Migrations => U64(Some(self.migrations.into())),
            Read::PrefillRank => U64(self.workers[0].and_then(|w| w.1).map(u64::from)),
            Read::DecodeRank => U64(self.workers[1].and_then(|w| w.1).map(u64::from)),
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
        self.kv_overlap()
            .and_then(|(o, b)| (b != 0).then(|| o / b as f64))
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
            // A whole overlap (however recorded) shows as whole, a fractional one as effective.
            kv_overlap_blocks: self
                .kv_overlap()
                .filter(|(o, _)| o.fract() == 0.0)
                .map(|(o, _)| o as u64),
            kv_effective_overlap_blocks: self
                .kv_overlap()
                .map(|(o, _)| o)
                .filter(|o| o.fract() != 0.0),
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
            migrations: self.migrations,
        }
    }

    /// Every observable, as the model says they must read.
    pub(crate) fn observe(&self) -> Observed {
        let snapshot = self.snapshot();
        let getters = Getters {
            prefill_worker_id: snapshot.prefill_worker_id,
            prefill_dp_rank: snapshot.prefill_dp_rank,
            prefill_worker_type: snapshot.prefill_worker_type,
            decode_worker_id: snapshot.decode_worker_id,
            decode_dp_rank: snapshot.decode_dp_rank,
            decode_worker_type: snapshot.decode_worker_type,
            worker_conflicts: snapshot.worker_conflicts,
            migrations: self.migrations,
            isl_tokens: snapshot.isl_tokens,
            cached_tokens: snapshot.cached_tokens,
            router_queue_depth: snapshot.router_queue_depth,
            // Through `Duration::as_secs_f64`, as a caller would convert them.
            tokenize_ms: self.tokenize.map(secs_ms),
            detokenize_total_ms: (self.detok_count != 0).then(|| secs_ms(self.detok_sum)),
            osl_tokens: self.osl,
            detokenize_count: self.detok_count,
            phase: self.phase,
            request_received_ms: self.received_ms,
        };
        Observed {
            timing: self.timing(),
            worker_info: self.worker_info(),
            derived: Derived {
                prefill_time_ms: self.prefill_time(),
                avg_itl_ms: self.avg_itl(),
                kv_hit_rate: self.kv_rate(),
                kv_transfer_estimated_latency_ms: self.kv_transfer(),
                kv_transfer_estimated_latency_secs: self.kv_transfer_ns().map(|n| n as f64 / 1e9),
                total_time_ms: self.last().map(ms),
            },
            getters,
            snapshot,
        }
    }
}

/// `n` ns in ms through `Duration::as_secs_f64`.
fn secs_ms(n: u64) -> f64 {
    Duration::from_nanos(n).as_secs_f64() * 1000.0
}

/// The worker slots a `record_worker` writes in `phase` (0 = prefill, 1 = decode).
pub(crate) fn worker_slots(phase: RequestPhase) -> &'static [usize] {
    match phase {
        RequestPhase::Prefill => &[0],
        RequestPhase::Decode => &[1],
        RequestPhase::Aggregated => &[0, 1],
    }
}

/// The remote workers for the prefill and the decode slot: a merged worker's type is its role,
/// and a rank without an id is skipped.
pub(crate) fn remote_workers(ext: &WorkerIdInfo) -> [Option<Worker>; 2] {
    [
        ext.prefill_worker_id
            .map(|id| (id, ext.prefill_dp_rank, WorkerType::Prefill)),
        ext.decode_worker_id
            .map(|id| (id, ext.decode_dp_rank, WorkerType::Decode)),
    ]
}
