//! Per-request metrics: Dynamo's frontend request metrics (and a few beyond it), fed from the
//! tracker's own stamps so `nvext.timing` and the histograms are the same numbers.
//!
//! * `names`: metric suffixes, label keys, the configurable [`Prefix`].
//! * `labels`: the typed label values ([`Endpoint`], [`RequestType`], [`Status`],
//!   [`ErrorType`], [`Outcome`], [`TokenizerOperation`]).
//! * `buckets`: [`DEFAULT_BUCKETS`], the `const` table of default histogram buckets.
//! * `describe`: the help text of every metric.
//! * `series`: where and when a series is registered (the target recorder, the lazy handle).
//! * `model_metrics`: [`ModelMetrics`], one model's handles, each registered at first use.
//! * `request_guard`: [`RequestGuard`], in-flight and outcome accounting per request.
//! * `stream_metrics`: [`StreamMetrics`], TTFT / ITL / osl per chunk.
//! * `served_models`: [`ServedModels`], one `ModelMetrics` per served model and the
//!   [`UNKNOWN_MODEL`] fallback.
//! * `end_of_request`: the end-of-request histograms and the equality guarantee.
//! * `trace`: the end of a request as a trace (feature `otel`), through the model's tracer.

mod buckets;
mod describe;
mod end_of_request;
mod labels;
mod model_metrics;
pub mod names;
mod request_guard;
mod series;
mod served_models;
mod stream_metrics;
mod trace;

#[cfg(feature = "prometheus")]
pub use buckets::with_default_buckets;
pub use buckets::{
    DEFAULT_BUCKETS, INPUT_SEQUENCE_BUCKETS, ITL_BUCKETS, KV_HIT_RATE_BUCKETS, KV_TRANSFER_BUCKETS,
    MIGRATION_BUCKETS, OUTPUT_SEQUENCE_BUCKETS, REQUEST_DURATION_BUCKETS,
    TOKENIZER_LATENCY_BUCKETS, TTFT_BUCKETS, default_buckets,
};
pub use labels::{Endpoint, ErrorType, Outcome, RequestType, Status, TokenizerOperation};
pub use model_metrics::ModelMetrics;
pub use names::{InvalidPrefix, Prefix};
pub use request_guard::RequestGuard;
pub use served_models::{ServedModel, ServedModels, UNKNOWN_MODEL};
pub use stream_metrics::{ChunkKind, MAX_ITL_SAMPLES_PER_CHUNK, StreamMetrics};
