//! `reqtrack`: a lock-free, allocation-free tracker of one LLM-serving request's lifecycle.
//!
//! A router keeps one [`RequestTracker`] per request, writes it from several tasks at once
//! (the response stream, the router, a background prefill task, the prefill and decode
//! streams), reads it on every streamed chunk, renders it as the `nvext.timing` /
//! `nvext.worker_id` JSON of an OpenAI-compatible response ([`TimingInfo`], [`WorkerIdInfo`]),
//! and feeds per-worker gauges to any `metrics` recorder.
//!
//! Every field is an atomic; no call takes a lock, allocates, or waits for another thread
//! (except [`RequestTracker::set_phase`], which waits for the phase permit by design).
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
//! # Modules
//!
//! One concept per file. The slot kinds each document their encoding and why each memory
//! ordering is enough: `once_stamp` (first write), `latest_stamp` (monotonic max),
//! `packed_pair` (two counts in one word), `worker_slot` (a 128-bit triple), `latency_sum`
//! (saturating sum + count), `phase_gate` (phase + permit). `tracker` composes them; `sync`
//! is the single import point for atomics and the gate's wake-up (loom under
//! `--cfg reqtrack_loom`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod clock;
#[doc(hidden)]
pub mod fuzzing;
mod gauges;
mod latency_sum;
mod latest_stamp;
mod once_stamp;
mod packed_pair;
mod permit;
mod phase;
mod phase_gate;
mod snapshot;
mod sync;
mod timing;
mod tracker;
mod worker;
mod worker_slot;

pub use gauges::{
    UNSET_DP_RANK_LABEL, WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE,
    WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE, WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE,
    forget_gauge_handles,
};
pub use packed_pair::{MAX_COUNT, PairRejected};
pub use permit::{OwnedPhasePermit, PhasePermit};
pub use phase::RequestPhase;
pub use snapshot::RequestSnapshot;
pub use timing::{TimingInfo, WorkerIdInfo};
pub use tracker::RequestTracker;
pub use worker::{WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL, WorkerType};

/// The tracker must stay within three cache lines.
#[cfg(not(any(reqtrack_loom, reqtrack_shuttle)))]
const _: () = assert!(std::mem::size_of::<RequestTracker>() <= 192);

#[cfg(all(test, not(any(reqtrack_loom, reqtrack_shuttle))))]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<RequestTracker>();
        assert_send_sync::<OwnedPhasePermit>();
        assert_send_sync::<PhasePermit<'static>>();
    }
}
