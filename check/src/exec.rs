//! Applying operations to a real tracker: one arm per [`Op`], the call it stands for.

use crate::model::Outcome;
use crate::op::{Op, Read};
use reqtrack::{PhasePermit, RequestTracker};
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

/// Applies `op` (a `HoldPhase` as `try_set_phase`, keeping the permit in `permit`; the
/// interleaved runners take a waiting `set_phase` themselves).
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
        Op::KvHitEffective(o, isl) => Outcome::Overlap(t.try_record_kv_hit_effective(o, isl)),
        Op::Isl(isl, cached) => Bool(t.record_isl(isl, cached)),
        Op::Osl(n) => {
            t.record_osl(n);
            Unit
        }
        Op::OslFinish(n, at) => {
            t.record_osl_and_finish_at(n, instant(base, at));
            Unit
        }
        Op::Migration => {
            t.record_migration();
            Unit
        }
        Op::MergeTiming(remote, at) => {
            let ext = remote.timing(t.request_received_epoch_ms());
            U64(Some(
                t.set_external_timing_at(&ext, instant(base, at)) as u64
            ))
        }
        Op::MergeWorkers(remote) => U64(Some(t.set_external_worker_info(&remote.info()) as u64)),
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
            Read::Migrations => U64(Some(t.migrations().into())),
            Read::PrefillRank => U64(t.prefill_dp_rank().map(u64::from)),
            Read::DecodeRank => U64(t.decode_dp_rank().map(u64::from)),
        },
    }
}
