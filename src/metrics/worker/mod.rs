//! Per-worker "last value" gauges (Dynamo's `worker_last_*`), observed by the tracker at the
//! first token and at the finish.
//!
//! * `gauges`: the three gauges, their names, labels and registration.
//! * `handle_cache`: the per-thread cache of their handles (bounded, never stale; the module
//!   docs give the rules), [`forget_gauge_handles`] and [`gauge_handle_cache_stats`].
//! * `handle_ttl`: the handles' TTL ([`set_gauge_handle_ttl`]), which must sit below the
//!   exporter's gauge idle timeout.
//! * `observe`: [`RequestTracker::observe_first_token_gauges`](crate::RequestTracker::observe_first_token_gauges)
//!   and [`observe_finish_gauges`](crate::RequestTracker::observe_finish_gauges).

mod gauges;
mod handle_cache;
mod handle_ttl;
mod observe;

pub use gauges::{
    UNSET_DP_RANK_LABEL, WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE,
    WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE, WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE,
};
pub use handle_cache::{GaugeHandleCacheStats, forget_gauge_handles, gauge_handle_cache_stats};
pub use handle_ttl::{DEFAULT_GAUGE_HANDLE_TTL, gauge_handle_ttl, set_gauge_handle_ttl};
