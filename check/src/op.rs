//! The operations a fuzz input can issue against one tracker.

use crate::bytes::Bytes;
use crate::remote::{RemoteTiming, RemoteWorkers};
use reqtrack::{RequestPhase, WorkerType};
use std::time::Duration;

/// A single-location read (each is one atomic load, so it has one linearization point).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// `ttft_ms()`.
    Ttft,
    /// `total_time_ms()`.
    Total,
    /// `prefill_wait_time_ms()`.
    PrefillWait,
    /// `kv_hit_rate()`.
    KvRate,
    /// `isl_tokens()`.
    IslTokens,
    /// `cached_tokens()`.
    CachedTokens,
    /// `prefill_worker_id()`.
    PrefillWorker,
    /// `decode_worker_id()`.
    DecodeWorker,
    /// `osl_tokens()`.
    Osl,
    /// `phase()`.
    Phase,
    /// `detokenize_count()`.
    DetokCount,
    /// `router_queue_depth()`.
    QueueDepth,
    /// `tokenize_latency()`.
    Tokenize,
    /// `migrations()`.
    Migrations,
    /// `prefill_dp_rank()`.
    PrefillRank,
    /// `decode_dp_rank()`.
    DecodeRank,
}

/// One call on the tracker.
///
/// Adding one: a variant here and its row in the `DECODE` table (appended, and [`INPUT_FORMAT`] bumped:
/// see the crate docs), its semantics in `Model::apply` (`model.rs`) and its call in
/// `exec::apply`. The sequential, interleaved, step-level and JSON checks then cover it; only an
/// operation made of several atomic steps (its writes can be seen apart) also needs its split
/// in `steps.rs`, one step per linearization point.
///
/// [`INPUT_FORMAT`]: crate::INPUT_FORMAT
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    /// `record_prefill_start_at`, ns from the base (negative: before it).
    PrefillStart(i64),
    /// `record_first_token_at`.
    FirstToken(i64),
    /// `record_decode_first_token_at`.
    DecodeFirstToken(i64),
    /// `record_prefill_complete_at`.
    PrefillComplete(i64),
    /// `record_finish_at`.
    Finish(i64),
    /// `record_kv_hit(overlap, isl_blocks)`.
    KvHit(u32, usize),
    /// `record_isl(isl_tokens, cached_tokens)`.
    Isl(usize, usize),
    /// `record_osl`.
    Osl(usize),
    /// `record_worker(id, rank, type)`.
    Worker(u64, Option<u32>, WorkerType),
    /// `record_tokenize_latency`.
    Tokenize(Duration),
    /// `record_detokenize_latency`.
    Detokenize(Duration),
    /// `record_router_queue_depth`.
    QueueDepth(usize),
    /// `try_set_phase` and drop the permit at once.
    TryPhase(RequestPhase),
    /// Take the phase permit and keep it (`try_set_phase` in the sequential target, the
    /// waiting `set_phase` in the interleaved one).
    HoldPhase(RequestPhase),
    /// Drop the permit this thread holds.
    ReleasePhase,
    /// One single-location read.
    Read(Read),
    /// `record_osl_and_finish_at(osl, at)`: both halves of the 128-bit block as one write.
    OslFinish(usize, i64),
    /// `try_record_kv_hit_effective(overlap, isl_blocks)` (fractional overlap; the outcome
    /// carries the rejection reason).
    KvHitEffective(f64, usize),
    /// `record_migration`.
    Migration,
    /// `set_external_timing_at(timing, at)`: another hop's timing merged at `at` ns.
    MergeTiming(RemoteTiming, i64),
    /// `set_external_worker_info`.
    MergeWorkers(RemoteWorkers),
}

/// One row per operation, in tag order: an input byte modulo the table's length picks the row.
/// Append new rows (a reordered or removed row changes what every committed input means).
const DECODE: [fn(&mut Bytes<'_>) -> Op; 22] = [
    |b| Op::PrefillStart(b.offset()),
    |b| Op::FirstToken(b.offset()),
    |b| Op::DecodeFirstToken(b.offset()),
    |b| Op::PrefillComplete(b.offset()),
    |b| Op::Finish(b.offset()),
    |b| Op::KvHit(b.u32(), b.count()),
    |b| Op::Isl(b.count(), b.count()),
    |b| Op::Osl(b.count()),
    worker,
    |b| Op::Tokenize(duration(b)),
    |b| Op::Detokenize(duration(b)),
    |b| Op::QueueDepth(b.count()),
    |b| Op::TryPhase(PHASES[b.below(3)]),
    |b| Op::HoldPhase(PHASES[b.below(3)]),
    |_| Op::ReleasePhase,
    read,
    read,
    |b| Op::OslFinish(b.count(), b.offset()),
    kv_hit_effective,
    |_| Op::Migration,
    |b| Op::MergeTiming(RemoteTiming::decode(b), b.offset()),
    |b| Op::MergeWorkers(RemoteWorkers::decode(b)),
];

const READS: [Read; 16] = [
    Read::Ttft,
    Read::Total,
    Read::PrefillWait,
    Read::KvRate,
    Read::IslTokens,
    Read::CachedTokens,
    Read::PrefillWorker,
    Read::DecodeWorker,
    Read::Osl,
    Read::Phase,
    Read::DetokCount,
    Read::QueueDepth,
    Read::Tokenize,
    Read::Migrations,
    Read::PrefillRank,
    Read::DecodeRank,
];

const PHASES: [RequestPhase; 3] = [
    RequestPhase::Prefill,
    RequestPhase::Decode,
    RequestPhase::Aggregated,
];

fn duration(b: &mut Bytes<'_>) -> Duration {
    match b.u8() % 4 {
        0 => Duration::ZERO,
        1 => Duration::MAX,
        2 => Duration::from_nanos(b.u64()),
        _ => Duration::new(b.u64(), b.u32() % 1_000_000_000),
    }
}

fn read(b: &mut Bytes<'_>) -> Op {
    Op::Read(READS[b.below(READS.len())])
}

fn worker(b: &mut Bytes<'_>) -> Op {
    // Few distinct ids, so identical writes and rank fill-ins are common.
    let id = if b.bool() {
        u64::from(b.u8() % 3)
    } else {
        b.u64()
    };
    let rank = if b.bool() { Some(b.u32() % 3) } else { None };
    let ty = if b.bool() {
        WorkerType::Prefill
    } else {
        WorkerType::Decode
    };
    Op::Worker(id, rank, ty)
}

/// An effective overlap, mostly within `0..=isl_blocks` and fractional, else just past it or
/// one the contract rejects (NaN, negative, `±∞`).
fn kv_hit_effective(b: &mut Bytes<'_>) -> Op {
    let isl = b.count();
    let whole = isl as f64;
    let overlap = match b.u8() % 6 {
        0 | 1 => whole * f64::from(b.u8()) / 255.0,
        2 => whole,
        // The smallest `f64` above `isl_blocks` (for a finite, non-negative one).
        3 => f64::from_bits(whole.to_bits() + 1),
        _ => b.float(),
    };
    Op::KvHitEffective(overlap, isl)
}

impl Op {
    /// Decodes one operation.
    pub fn decode(b: &mut Bytes<'_>) -> Self {
        DECODE[b.below(DECODE.len())](b)
    }

    /// Decodes operations until the input runs out (at most `max`).
    pub fn decode_all(b: &mut Bytes<'_>, max: usize) -> Vec<Op> {
        let mut ops = Vec::new();
        while !b.is_empty() && ops.len() < max {
            ops.push(Op::decode(b));
        }
        ops
    }
}
