//! Applying operations to a real tracker, and checking it against the model.

use crate::model::{Derived, Model, Outcome};
use crate::op::{Op, Read};
use reqtrack::{PhasePermit, RequestPhase, RequestTracker, WorkerType};
use std::time::{Duration, Instant};

/// The instant `at` nanoseconds from `base` (negative: before it).
pub(crate) fn instant(base: Instant, at: i64) -> Instant {
    let d = Duration::from_nanos(at.unsigned_abs());
    if at >= 0 {
        base.checked_add(d)
    } else {
        base.checked_sub(d)
    }
    .unwrap_or(base)
}

/// Applies every op except `HoldPhase` (which the caller decides how to take).
pub(crate) fn apply<'a>(
    t: &'a RequestTracker,
    base: Instant,
    op: Op,
    permit: &mut Option<PhasePermit<'a>>,
) -> Outcome {
    use Outcome::{Bool, F64, U64, Unit};
    match op {
        Op::PrefillStart(at) => Bool(t.record_prefill_start_at(instant(base, at))),
        Op::FirstToken(at) => Bool(t.record_first_token_at(instant(base, at))),
        Op::DecodeFirstToken(at) => Bool(t.record_decode_first_token_at(instant(base, at))),
        Op::PrefillComplete(at) => Bool(t.record_prefill_complete_at(instant(base, at))),
        Op::Finish(at) => {
            t.record_finish_at(instant(base, at));
            Unit
        }
        Op::KvHit(o, isl) => Bool(t.record_kv_hit(o, isl)),
        Op::Isl(isl, cached) => Bool(t.record_isl(isl, cached)),
        Op::Osl(n) => {
            t.record_osl(n);
            Unit
        }
        Op::Worker(id, rank, ty) => {
            t.record_worker(id, rank, ty);
            Unit
        }
        Op::Tokenize(d) => {
            t.record_tokenize_latency(d);
            Unit
        }
        Op::Detokenize(d) => {
            t.record_detokenize_latency(d);
            Unit
        }
        Op::QueueDepth(n) => Bool(t.record_router_queue_depth(n)),
        Op::TryPhase(p) => Bool(t.try_set_phase(p).is_some()),
        Op::HoldPhase(p) => {
            let got = t.try_set_phase(p);
            let ok = got.is_some();
            if ok {
                *permit = got;
            }
            Bool(ok)
        }
        Op::ReleasePhase => {
            drop(permit.take());
            Unit
        }
        Op::Read(r) => match r {
            Read::Ttft => F64(t.ttft_ms()),
            Read::Total => F64(t.total_time_ms()),
            Read::PrefillWait => F64(t.prefill_wait_time_ms()),
            Read::KvRate => F64(t.kv_hit_rate()),
            Read::IslTokens => U64(t.isl_tokens().map(|n| n as u64)),
            Read::CachedTokens => U64(t.cached_tokens().map(|n| n as u64)),
            Read::PrefillWorker => U64(t.prefill_worker_id()),
            Read::DecodeWorker => U64(t.decode_worker_id()),
            Read::Osl => U64(Some(t.osl_tokens())),
            Read::Phase => Outcome::Phase(t.phase()),
            Read::DetokCount => U64(Some(t.detokenize_count())),
            Read::QueueDepth => U64(t.router_queue_depth().map(|n| n as u64)),
            Read::Tokenize => U64(t.tokenize_latency().map(|d| d.as_nanos() as u64)),
        },
        Op::WorkerPhaseRead | Op::WorkerSlot(..) | Op::HoldQueue(_) | Op::HoldClaim(_) => {
            unreachable!("checker-only steps")
        }
    }
}

/// Every observable of `t` equals the model's (the sequential target checks this after every
/// step).
pub(crate) fn assert_same(t: &RequestTracker, m: &Model, step: usize) {
    let snap = m.snapshot();
    assert_eq!(t.snapshot(), snap, "snapshot differs after step {step}");
    assert_eq!(
        t.get_timing_info(),
        m.timing(),
        "timing differs after step {step}"
    );
    assert_eq!(
        t.get_worker_info(),
        m.worker_info(),
        "worker info differs after step {step}"
    );
    let derived = Derived {
        prefill_time_ms: t.prefill_time_ms(),
        avg_itl_ms: t.avg_itl_ms(),
        kv_hit_rate: t.kv_hit_rate(),
        kv_transfer_estimated_latency_ms: t.kv_transfer_estimated_latency_ms(),
        kv_transfer_estimated_latency_secs: t.kv_transfer_estimated_latency_secs(),
        total_time_ms: t.total_time_ms(),
    };
    assert_eq!(
        derived,
        m.derived(),
        "derived getters differ after step {step}"
    );
    let getters = Getters {
        prefill_worker_id: t.prefill_worker_id(),
        prefill_dp_rank: t.prefill_dp_rank(),
        prefill_worker_type: t.prefill_worker_type(),
        decode_worker_id: t.decode_worker_id(),
        decode_dp_rank: t.decode_dp_rank(),
        decode_worker_type: t.decode_worker_type(),
        worker_conflicts: t.worker_conflicts(),
        migrations: t.migrations(),
        isl_tokens: t.isl_tokens().map(|n| n as u64),
        cached_tokens: t.cached_tokens().map(|n| n as u64),
        router_queue_depth: t.router_queue_depth().map(|n| n as u64),
        tokenize_ms: t.tokenize_latency().map(|d| d.as_secs_f64() * 1000.0),
        detokenize_total_ms: t
            .detokenize_total_latency()
            .map(|d| d.as_secs_f64() * 1000.0),
        osl_tokens: t.osl_tokens(),
        detokenize_count: t.detokenize_count(),
        phase: t.phase(),
        request_received_ms: t.request_received_epoch_ms(),
    };
    let expected = Getters {
        prefill_worker_id: snap.prefill_worker_id,
        prefill_dp_rank: snap.prefill_dp_rank,
        prefill_worker_type: snap.prefill_worker_type,
        decode_worker_id: snap.decode_worker_id,
        decode_dp_rank: snap.decode_dp_rank,
        decode_worker_type: snap.decode_worker_type,
        worker_conflicts: snap.worker_conflicts,
        migrations: snap.migrations,
        isl_tokens: snap.isl_tokens,
        cached_tokens: snap.cached_tokens,
        router_queue_depth: snap.router_queue_depth,
        tokenize_ms: snap.tokenize_latency_ms.map(|_| m.tokenize_ns_as_secs_ms()),
        detokenize_total_ms: snap.detokenize_total_ms.map(|_| m.detok_ns_as_secs_ms()),
        osl_tokens: snap.osl_tokens,
        detokenize_count: snap.detokenize_count,
        phase: snap.phase,
        request_received_ms: snap.request_received_ms,
    };
    assert_eq!(getters, expected, "getters differ after step {step}");
}

/// Every getter that is not part of the snapshot's own comparison, by name, so a mismatch shows
/// which one differs.
#[derive(Debug, PartialEq)]
struct Getters {
    prefill_worker_id: Option<u64>,
    prefill_dp_rank: Option<u32>,
    prefill_worker_type: Option<WorkerType>,
    decode_worker_id: Option<u64>,
    decode_dp_rank: Option<u32>,
    decode_worker_type: Option<WorkerType>,
    worker_conflicts: u32,
    migrations: u32,
    isl_tokens: Option<u64>,
    cached_tokens: Option<u64>,
    router_queue_depth: Option<u64>,
    /// Through `Duration::as_secs_f64`, as a caller would convert it.
    tokenize_ms: Option<f64>,
    /// Through `Duration::as_secs_f64`.
    detokenize_total_ms: Option<f64>,
    osl_tokens: u64,
    detokenize_count: u64,
    phase: RequestPhase,
    request_received_ms: u64,
}
