//! `RequestSnapshot`: every recorded and derived value of a tracker, for logs and debugging.

use crate::gate::RequestPhase;
use crate::slot::WorkerType;
use serde::{Deserialize, Serialize};

/// Every recorded and derived value of a [`RequestTracker`](crate::RequestTracker), read in one
/// call by [`snapshot`](crate::RequestTracker::snapshot).
///
/// Durations and instants are milliseconds (`f64`); instants are offsets from when the request
/// was received. Unknown values are `None` and omitted from JSON; every number is finite.
/// Values merged from another hop ([`set_external_timing`](crate::RequestTracker::set_external_timing),
/// [`set_external_worker_info`](crate::RequestTracker::set_external_worker_info)) fill what the
/// tracker does not know, exactly as in [`get_timing_info`](crate::RequestTracker::get_timing_info).
/// Each field is read atomically (pairs and worker triples included); the snapshot as a whole
/// is not one atomic read, but it is read in an order that never shows a finish without the
/// first token that preceded it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct RequestSnapshot {
    /// Wall clock at arrival, milliseconds since the Unix epoch.
    pub request_received_ms: u64,
    /// The phase at the time of the snapshot.
    pub phase: RequestPhase,
    /// Whether a phase permit was out.
    pub phase_held: bool,
    /// Offset of prefill start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_start_ms: Option<f64>,
    /// Offset of the first token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_token_ms: Option<f64>,
    /// Offset of the decode worker's first token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_first_token_ms: Option<f64>,
    /// Offset at which the prefill result reached the router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_complete_ms: Option<f64>,
    /// Offset of the latest finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_ms: Option<f64>,
    /// Received to prefill start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_wait_time_ms: Option<f64>,
    /// Prefill start to first token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_time_ms: Option<f64>,
    /// Received to first token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    /// Received to latest finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time_ms: Option<f64>,
    /// `(finish - first token) / (osl - 1)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_itl_ms: Option<f64>,
    /// Decode first token minus prefill complete: an upper bound on KV transfer latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_transfer_estimated_latency_ms: Option<f64>,
    /// KV overlap blocks (cache hits), when the overlap is a whole number of blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_overlap_blocks: Option<u64>,
    /// The effective KV overlap in blocks, when it is fractional
    /// ([`record_kv_hit_effective`](crate::RequestTracker::record_kv_hit_effective)); at most
    /// one of this and `kv_overlap_blocks` is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_effective_overlap_blocks: Option<f64>,
    /// Prompt length in KV blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isl_blocks: Option<u64>,
    /// `kv_overlap_blocks / isl_blocks`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_hit_rate: Option<f64>,
    /// Prompt length in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isl_tokens: Option<u64>,
    /// Prompt tokens found in cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Output tokens so far.
    pub osl_tokens: u64,
    /// Router queue depth at routing time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_queue_depth: Option<u64>,
    /// Tokenize latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenize_latency_ms: Option<f64>,
    /// Sum of detokenize latencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detokenize_total_ms: Option<f64>,
    /// Number of detokenize samples.
    pub detokenize_count: u64,
    /// Prefill worker instance id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_worker_id: Option<u64>,
    /// Prefill worker dp rank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_dp_rank: Option<u32>,
    /// Prefill worker type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_worker_type: Option<WorkerType>,
    /// Decode worker instance id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_worker_id: Option<u64>,
    /// Decode worker dp rank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_dp_rank: Option<u32>,
    /// Decode worker type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_worker_type: Option<WorkerType>,
    /// Conflicting worker writes seen.
    pub worker_conflicts: u32,
    /// Migrations of the request to another worker; omitted when 0 (so a request that never
    /// migrated renders as before this field existed), read back as 0 when absent.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub migrations: u32,
}

/// `skip_serializing_if` for counts omitted when zero.
fn is_zero(n: &u32) -> bool {
    *n == 0
}
