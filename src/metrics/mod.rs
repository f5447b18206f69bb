//! Metrics layer: what the tracker's stamps feed to a `metrics` recorder.
//!
//! Per worker:
//!
//! * `gauges`: the per-worker "last value" gauges, their names, labels and registration.
//! * `handle_cache`: the per-thread cache of their handles (bounded, never stale; the module
//!   docs give the rules), [`forget_gauge_handles`] and [`gauge_handle_cache_stats`].
//! * `handle_ttl`: the handles' TTL ([`set_gauge_handle_ttl`]), which must sit below the
//!   exporter's gauge idle timeout.
//! * `observe`: [`RequestTracker::observe_first_token_gauges`](crate::RequestTracker::observe_first_token_gauges)
//!   and [`observe_finish_gauges`](crate::RequestTracker::observe_finish_gauges).
//!
//! Per request (Dynamo's frontend request metrics, from the tracker's own stamps):
//!
//! * `names`: metric suffixes, label keys, the configurable [`Prefix`].
//! * `labels`: the typed label values ([`Endpoint`], [`RequestType`], [`Status`],
//!   [`ErrorType`], [`Outcome`], [`TokenizerOperation`]).
//! * `buckets`: [`DEFAULT_BUCKETS`], the `const` table of default histogram buckets.
//! * `model_metrics`: [`ModelMetrics`], one model's handles, resolved once.
//! * `request_guard`: [`RequestGuard`], in-flight and outcome accounting per request.
//! * `stream_metrics`: [`StreamMetrics`], TTFT / ITL / osl per chunk.
//! * `end_of_request`: the end-of-request histograms and the equality guarantee.
//!
//! The facade crate is always named `::metrics` here, never this module.

mod buckets;
mod describe;
mod end_of_request;
mod gauges;
mod handle_cache;
mod handle_ttl;
mod labels;
mod model_metrics;
pub mod names;
mod observe;
mod request_guard;
mod stream_metrics;

#[cfg(feature = "prometheus")]
pub use buckets::with_default_buckets;
pub use buckets::{
    DEFAULT_BUCKETS, INPUT_SEQUENCE_BUCKETS, ITL_BUCKETS, KV_HIT_RATE_BUCKETS, KV_TRANSFER_BUCKETS,
    MIGRATION_BUCKETS, OUTPUT_SEQUENCE_BUCKETS, REQUEST_DURATION_BUCKETS,
    TOKENIZER_LATENCY_BUCKETS, TTFT_BUCKETS, default_buckets,
};
pub use gauges::{
    UNSET_DP_RANK_LABEL, WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE,
    WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE, WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE,
};
pub use handle_cache::{GaugeHandleCacheStats, forget_gauge_handles, gauge_handle_cache_stats};
pub use handle_ttl::{DEFAULT_GAUGE_HANDLE_TTL, gauge_handle_ttl, set_gauge_handle_ttl};
pub use labels::{Endpoint, ErrorType, Outcome, RequestType, Status, TokenizerOperation};
pub use model_metrics::ModelMetrics;
pub use names::{InvalidPrefix, Prefix};
pub use request_guard::RequestGuard;
pub use stream_metrics::{ChunkKind, MAX_ITL_SAMPLES_PER_CHUNK, StreamMetrics};
