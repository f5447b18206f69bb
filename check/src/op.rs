//! The operations a fuzz input can issue against one tracker.

use crate::bytes::Bytes;
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
}

/// One call on the tracker.
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
    /// Checker only: the phase read that starts a `Worker` write (never decoded from input).
    WorkerPhaseRead,
    /// Checker only: a `Worker` write's write to one slot (0 = prefill, 1 = decode).
    WorkerSlot(u8, u64, Option<u32>, WorkerType),
    /// Checker only: a waiting `set_phase` arrives: takes a free gate, or queues.
    HoldQueue(RequestPhase),
    /// Checker only: a queued `set_phase` claims the gate a release handed over, and sets its
    /// phase (a no-op for one that took a free gate on arrival).
    HoldClaim(RequestPhase),
}

const READS: [Read; 13] = [
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

impl Op {
    /// Decodes one operation.
    pub fn decode(b: &mut Bytes<'_>) -> Self {
        match b.u8() % 17 {
            0 => Op::PrefillStart(b.offset()),
            1 => Op::FirstToken(b.offset()),
            2 => Op::DecodeFirstToken(b.offset()),
            3 => Op::PrefillComplete(b.offset()),
            4 => Op::Finish(b.offset()),
            5 => Op::KvHit(b.u32(), b.count()),
            6 => Op::Isl(b.count(), b.count()),
            7 => Op::Osl(b.count()),
            8 => {
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
            9 => Op::Tokenize(duration(b)),
            10 => Op::Detokenize(duration(b)),
            11 => Op::QueueDepth(b.count()),
            12 => Op::TryPhase(PHASES[b.below(3)]),
            13 => Op::HoldPhase(PHASES[b.below(3)]),
            14 => Op::ReleasePhase,
            _ => Op::Read(READS[b.below(READS.len())]),
        }
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
