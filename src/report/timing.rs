//! The `nvext.timing` and `nvext.worker_id` JSON of an OpenAI-compatible response.
//!
//! Field names, order and omission rules are the reference's, so clients see identical JSON.

use serde::{Deserialize, Serialize};

/// `nvext.timing`: when the request arrived and how long each stage took.
///
/// `request_received_ms` is always present; every other field is omitted while unknown, so a
/// request without a KV transfer estimate renders exactly as before that field existed.
///
/// ```
/// let mut t = reqtrack::TimingInfo {
///     request_received_ms: 1_700_000_000_000,
///     prefill_wait_time_ms: None,
///     prefill_time_ms: None,
///     ttft_ms: Some(12.5),
///     total_time_ms: None,
///     kv_hit_rate: None,
///     router_queue_depth: Some(3),
///     kv_transfer_estimated_latency_ms: None,
/// };
/// assert_eq!(
///     serde_json::to_string(&t).unwrap(),
///     r#"{"request_received_ms":1700000000000,"ttft_ms":12.5,"router_queue_depth":3}"#
/// );
/// t.kv_transfer_estimated_latency_ms = Some(1.25);
/// assert_eq!(
///     serde_json::to_string(&t).unwrap(),
///     r#"{"request_received_ms":1700000000000,"ttft_ms":12.5,"router_queue_depth":3,"kv_transfer_estimated_latency_ms":1.25}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TimingInfo {
    /// When the request was received, wall clock, milliseconds since the Unix epoch.
    pub request_received_ms: u64,
    /// Request received to prefill start (queue/wait time), milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_wait_time_ms: Option<f64>,
    /// Prefill start to first token (prefill execution time), milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_time_ms: Option<f64>,
    /// Request received to first token, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    /// Request received to the latest finish, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_time_ms: Option<f64>,
    /// Share of the prompt's KV blocks found in cache, `0.0..=1.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_hit_rate: Option<f64>,
    /// Requests pending in the router's scheduler queue at routing time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_queue_depth: Option<usize>,
    /// Upper bound on the KV cache transfer latency in disaggregated serving, milliseconds: the
    /// decode worker's first token minus prefill complete (router dispatch + network + KV
    /// transfer + one decode step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_transfer_estimated_latency_ms: Option<f64>,
}

/// `nvext.worker_id`: which workers served prefill and decode.
///
/// Every field is omitted while unknown.
///
/// ```
/// let w = reqtrack::WorkerIdInfo {
///     prefill_worker_id: Some(7),
///     prefill_dp_rank: None,
///     decode_worker_id: Some(9),
///     decode_dp_rank: Some(0),
/// };
/// assert_eq!(
///     serde_json::to_string(&w).unwrap(),
///     r#"{"prefill_worker_id":7,"decode_worker_id":9,"decode_dp_rank":0}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WorkerIdInfo {
    /// Instance id of the worker that served prefill.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_worker_id: Option<u64>,
    /// Data-parallel rank of the prefill worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_dp_rank: Option<u32>,
    /// Instance id of the worker that served decode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_worker_id: Option<u64>,
    /// Data-parallel rank of the decode worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_dp_rank: Option<u32>,
}
