//! Metrics layer: what the tracker's stamps feed to a `metrics` recorder.
//!
//! * `gauges`: the per-worker "last value" gauges and their per-thread handle cache.
//! * `observe`: [`RequestTracker::observe_first_token_gauges`](crate::RequestTracker::observe_first_token_gauges)
//!   and [`observe_finish_gauges`](crate::RequestTracker::observe_finish_gauges).
//!
//! The facade crate is always named `::metrics` here, never this module.

mod gauges;
mod observe;

pub use gauges::{
    UNSET_DP_RANK_LABEL, WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE,
    WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE, WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE,
    forget_gauge_handles,
};
