//! `reqtrack`: a lock-free tracker of one LLM-serving request's lifecycle, allocation-free on
//! the request's path (the metrics allocate only to register a series; see below).
//!
//! A router keeps one [`RequestTracker`] per request, writes it from several tasks at once
//! (the response stream, the router, a background prefill task, the prefill and decode
//! streams), reads it on every streamed chunk, renders it as the `nvext.timing` /
//! `nvext.worker_id` JSON of an OpenAI-compatible response ([`TimingInfo`], [`WorkerIdInfo`]),
//! and feeds per-worker gauges to any `metrics` recorder.
//!
//! Every field is an atomic; no tracker call takes a lock, allocates, or waits for another
//! thread (except [`RequestTracker::set_phase`], which waits for the phase permit by design).
//! The metrics allocate only when they register a series: a request-metric series at its first
//! use ([`ModelMetrics`]), and `observe_*_gauges` on a miss of the thread's gauge-handle cache
//! (a worker this thread has not observed within the handle TTL, [`gauge_handle_ttl`]; or any
//! observation under a zero-sized recorder, such as the no-op one when none is installed).
//! The API mirrors the lock-based reference tracker, so switching is a change of import.
//!
//! ```
//! use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! # tokio_test_block_on(async {
//! let tracker = Arc::new(RequestTracker::new());
//! tracker.record_tokenize_latency(Duration::from_micros(180));
//! tracker.record_router_queue_depth(3);
//! tracker.record_kv_hit(6, 8);
//! tracker.record_isl(1024, 768);
//!
//! // Prefill phase: the permit moves into the background prefill task.
//! let permit = tracker.set_phase_owned(RequestPhase::Prefill).await;
//! permit.tracker().record_worker_full(7, 0, WORKER_TYPE_PREFILL);
//! drop(permit);
//!
//! // Decode phase.
//! let permit = tracker.set_phase(RequestPhase::Decode).await;
//! tracker.record_worker_full(9, 1, WORKER_TYPE_DECODE);
//! drop(permit);
//!
//! tracker.record_prefill_start();
//! tracker.record_first_token();
//! for osl in 1..=32 {
//!     tracker.record_detokenize_latency(Duration::from_micros(3));
//!     if osl % 16 == 0 {
//!         tracker.record_osl(osl);
//!         tracker.record_finish();
//!     }
//! }
//! tracker.observe_first_token_gauges();
//! tracker.observe_finish_gauges();
//!
//! let timing = serde_json::to_string(&tracker.get_timing_info()).unwrap();
//! let workers = serde_json::to_string(&tracker.get_worker_info()).unwrap();
//! assert!(timing.contains("\"kv_hit_rate\":0.75"));
//! assert_eq!(workers, r#"{"prefill_worker_id":7,"prefill_dp_rank":0,"decode_worker_id":9,"decode_dp_rank":1}"#);
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
//!
//! # Layers
//!
//! * **sync** (private): the one place that picks real atomics or a model checker's.
//! * **slots** (`slot`, private): one atomic encoding per kind of value; each file documents its
//!   encoding and why each memory ordering is enough. Public from here: [`WorkerType`],
//!   [`PairRejected`], [`OverlapRejected`], [`MAX_COUNT`].
//! * **gate** (`gate`): the phase and its one-holder gate: [`RequestPhase`], [`PhasePermit`],
//!   [`OwnedPhasePermit`].
//! * **tracker** (`tracker`, private): [`RequestTracker`], the composition of the slots.
//! * **reports** (`report`): [`TimingInfo`], [`WorkerIdInfo`], [`NvExtResponse`],
//!   [`RequestSnapshot`].
//! * **metrics** (`metrics`): per-worker gauges through the `metrics` facade, and the request
//!   metrics ([`ModelMetrics`], [`RequestGuard`], [`StreamMetrics`], [`DEFAULT_BUCKETS`]):
//!   Dynamo's frontend counters, gauges and histograms, fed from the tracker's own stamps so a
//!   request's histogram samples equal its `nvext.timing`; [`ServedModels`], the registry of
//!   served models with the `unknown_model` fallback.
//! * **tower** (`tower`, feature `tower`): a `tower` layer for any HTTP service (axum, hyper)
//!   that owns each request's tracker, guard, outcome, disconnects, timing headers and trailers.
//!
//! * **traces** (`otel`, feature `otel`): each request as an OpenTelemetry trace, a root span
//!   and its phase spans placed from the same stamps (`otel::RequestTracer`).
//!
//! The sequential model, the fuzz-input decoding and the linearizability checker are not part
//! of this crate: they live in the workspace member `reqtrack-check` (`check/`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// ---- sync: real atomics or a model checker's -------------------------------------------
mod sync;

// ---- slots ---------------------------------------------------------------------------------
mod slot;
pub use slot::{
    MAX_COUNT, OverlapRejected, PairRejected, WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL, WorkerType,
};

// ---- gate ----------------------------------------------------------------------------------
mod gate;
pub use gate::{OwnedPhasePermit, PhasePermit, RequestPhase};

// ---- tracker -------------------------------------------------------------------------------
mod tracker;
pub use tracker::{Overlap, RequestTracker};

// ---- reports -------------------------------------------------------------------------------
mod report;
pub use report::{
    NvExtResponse, RequestSnapshot, SERVER_TIMING, TimingHeaders, TimingInfo, WorkerIdInfo,
};

// ---- metrics -------------------------------------------------------------------------------
mod metrics;
pub use metrics::{
    DEFAULT_GAUGE_HANDLE_TTL, GaugeHandleCacheStats, UNSET_DP_RANK_LABEL,
    WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE, WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE,
    WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE, forget_gauge_handles, gauge_handle_cache_stats,
    gauge_handle_ttl, set_gauge_handle_ttl,
};
// Request metrics (Dynamo's frontend request metrics from the tracker's stamps).
#[cfg(feature = "prometheus")]
pub use metrics::with_default_buckets;
pub use metrics::{
    ChunkKind, DEFAULT_BUCKETS, Endpoint, ErrorType, INPUT_SEQUENCE_BUCKETS, ITL_BUCKETS,
    InvalidPrefix, KV_HIT_RATE_BUCKETS, KV_TRANSFER_BUCKETS, MAX_ITL_SAMPLES_PER_CHUNK,
    MIGRATION_BUCKETS, ModelMetrics, OUTPUT_SEQUENCE_BUCKETS, Outcome, Prefix,
    REQUEST_DURATION_BUCKETS, RequestGuard, RequestType, ServedModel, ServedModels, Status,
    StreamMetrics, TOKENIZER_LATENCY_BUCKETS, TTFT_BUCKETS, TokenizerOperation, UNKNOWN_MODEL,
    default_buckets, names,
};

// ---- tower: one layer per router ----------------------------------------------------------
#[cfg(all(feature = "tower", not(reqtrack_model)))]
pub mod tower;

// ---- traces (feature `otel`) ----------------------------------------------------------------
#[cfg(feature = "otel")]
pub mod otel;

/// README.md's Rust blocks, compiled and run as doctests by `cargo test` (never built
/// otherwise), so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The tracker must stay within four cache lines (three until the fractional KV overlap, the
/// migration count and the merged timing of issue 10 filled a fourth).
#[cfg(not(reqtrack_model))]
const _: () = assert!(std::mem::size_of::<RequestTracker>() <= 256);

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<RequestTracker>();
        assert_send_sync::<OwnedPhasePermit>();
        assert_send_sync::<PhasePermit<'static>>();
        assert_send_sync::<ModelMetrics>();
        assert_send_sync::<RequestGuard>();
        assert_send_sync::<StreamMetrics>();
    }
}
