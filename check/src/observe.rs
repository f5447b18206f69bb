//! Everything a tracker lets a caller observe, in one comparable value: the snapshot,
//! `get_timing_info`, `get_worker_info`, the derived getters and every other getter, by name.
//! The sequential target compares the tracker's with the model's after every step; the
//! interleaved checker compares them once every thread is done.

use crate::model::Model;
use reqtrack::{
    RequestPhase, RequestSnapshot, RequestTracker, TimingInfo, WorkerIdInfo, WorkerType,
};

/// Every observable of one tracker (or of the model).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Observed {
    pub(crate) snapshot: RequestSnapshot,
    pub(crate) timing: TimingInfo,
    pub(crate) worker_info: Option<WorkerIdInfo>,
    pub(crate) derived: Derived,
    pub(crate) getters: Getters,
}

/// The derived values that have getters of their own, by name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Derived {
    pub(crate) prefill_time_ms: Option<f64>,
    pub(crate) avg_itl_ms: Option<f64>,
    pub(crate) kv_hit_rate: Option<f64>,
    pub(crate) kv_transfer_estimated_latency_ms: Option<f64>,
    pub(crate) kv_transfer_estimated_latency_secs: Option<f64>,
    pub(crate) total_time_ms: Option<f64>,
}

/// Every other getter, by name, so a mismatch shows which one differs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Getters {
    pub(crate) prefill_worker_id: Option<u64>,
    pub(crate) prefill_dp_rank: Option<u32>,
    pub(crate) prefill_worker_type: Option<WorkerType>,
    pub(crate) decode_worker_id: Option<u64>,
    pub(crate) decode_dp_rank: Option<u32>,
    pub(crate) decode_worker_type: Option<WorkerType>,
    pub(crate) worker_conflicts: u32,
    pub(crate) migrations: u32,
    pub(crate) isl_tokens: Option<u64>,
    pub(crate) cached_tokens: Option<u64>,
    pub(crate) router_queue_depth: Option<u64>,
    /// Through `Duration::as_secs_f64`, as a caller would convert it.
    pub(crate) tokenize_ms: Option<f64>,
    /// Through `Duration::as_secs_f64`.
    pub(crate) detokenize_total_ms: Option<f64>,
    pub(crate) osl_tokens: u64,
    pub(crate) detokenize_count: u64,
    pub(crate) phase: RequestPhase,
    pub(crate) request_received_ms: u64,
}

/// Reads every observable of `t`.
pub(crate) fn observe(t: &RequestTracker) -> Observed {
    Observed {
        snapshot: t.snapshot(),
        timing: t.get_timing_info(),
        worker_info: t.get_worker_info(),
        derived: Derived {
            prefill_time_ms: t.prefill_time_ms(),
            avg_itl_ms: t.avg_itl_ms(),
            kv_hit_rate: t.kv_hit_rate(),
            kv_transfer_estimated_latency_ms: t.kv_transfer_estimated_latency_ms(),
            kv_transfer_estimated_latency_secs: t.kv_transfer_estimated_latency_secs(),
            total_time_ms: t.total_time_ms(),
        },
        getters: Getters {
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
        },
    }
}

/// Every observable of `t` equals the model's, part by part (so a failure names the part).
pub(crate) fn assert_same(t: &RequestTracker, m: &Model, step: usize) {
    let (got, want) = (observe(t), m.observe());
    assert_eq!(
        got.snapshot, want.snapshot,
        "snapshot differs after step {step}"
    );
    assert_eq!(got.timing, want.timing, "timing differs after step {step}");
    assert_eq!(
        got.worker_info, want.worker_info,
        "worker info differs after step {step}"
    );
    assert_eq!(
        got.derived, want.derived,
        "derived getters differ after step {step}"
    );
    assert_eq!(
        got.getters, want.getters,
        "getters differ after step {step}"
    );
}
