//! The root span's attribute keys, and the one function that sets them from a tracker.
//!
//! Three sources, checked against their definitions:
//!
//! * the GenAI semantic conventions' registry (`open-telemetry/semantic-conventions-genai`,
//!   `docs/registry/attributes/gen-ai.md`, development status): `gen_ai.operation.name`,
//!   `gen_ai.request.model`, `gen_ai.request.stream` (boolean), `gen_ai.usage.input_tokens`,
//!   `gen_ai.usage.output_tokens`, `gen_ai.usage.cache_read.input_tokens` (int, "SHOULD be
//!   included in `gen_ai.usage.input_tokens`", which the tracker's `(isl, cached)` pair is),
//!   and the general `error.type`;
//! * vLLM's own latency attributes (`vllm/tracing.py`, `SpanAttributes`, "added until they are
//!   added to the semantic conventions"), in seconds: `gen_ai.latency.time_in_queue`,
//!   `gen_ai.latency.time_to_first_token`, `gen_ai.latency.e2e`;
//! * this crate's own, under the one namespace `reqtrack.` ([`NAMESPACE`]): workers and dp
//!   ranks, KV hit rate, KV transfer estimate, router queue depth, migrations, worker
//!   conflicts.
//!
//! Seconds are the `nvext.timing` milliseconds divided by 1000 (`report::derive::secs_from_ms`),
//! the samples the request histograms record, so an attribute, a histogram sample and the
//! client's JSON are one number. Unknown values are left out, never set to 0; like the
//! histograms, output tokens are set only when above 0.

use crate::report::derive::{ms, secs_from_ms};
use crate::slot::WorkerInfo;
use crate::tracker::PhaseStamps;
use crate::{Outcome, RequestTracker, RequestType};
use opentelemetry::trace::Span;
use opentelemetry::{Key, KeyValue, Value};

/// The namespace of the attributes the conventions have no name for.
pub const NAMESPACE: &str = "reqtrack.";

/// `gen_ai.operation.name` (GenAI conventions): [`operation_name`](super::operation_name).
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.request.model` (GenAI conventions).
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.request.stream` (GenAI conventions), boolean.
pub const GEN_AI_REQUEST_STREAM: &str = "gen_ai.request.stream";
/// `gen_ai.usage.input_tokens` (GenAI conventions): the tracker's isl, cached tokens included.
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens` (GenAI conventions): the tracker's osl, when above 0.
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.usage.cache_read.input_tokens` (GenAI conventions): the tracker's cached tokens.
pub const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
/// `error.type` (general conventions): the [`ErrorType`](crate::ErrorType) label of an error.
pub const ERROR_TYPE: &str = "error.type";
/// `gen_ai.latency.time_in_queue` (vLLM), seconds: arrival to prefill start.
pub const GEN_AI_LATENCY_TIME_IN_QUEUE: &str = "gen_ai.latency.time_in_queue";
/// `gen_ai.latency.time_to_first_token` (vLLM), seconds: arrival to first token.
pub const GEN_AI_LATENCY_TIME_TO_FIRST_TOKEN: &str = "gen_ai.latency.time_to_first_token";
/// `gen_ai.latency.e2e` (vLLM), seconds: arrival to finish.
pub const GEN_AI_LATENCY_E2E: &str = "gen_ai.latency.e2e";
/// `reqtrack.prefill.worker_id`: the prefill worker's instance id (an int; a string if it
/// exceeds `i64::MAX`).
pub const PREFILL_WORKER_ID: &str = "reqtrack.prefill.worker_id";
/// `reqtrack.prefill.dp_rank`: the prefill worker's data-parallel rank.
pub const PREFILL_DP_RANK: &str = "reqtrack.prefill.dp_rank";
/// `reqtrack.prefill.worker_type`: the type recorded in the prefill slot (`prefill` | `decode`).
pub const PREFILL_WORKER_TYPE: &str = "reqtrack.prefill.worker_type";
/// `reqtrack.decode.worker_id`: the decode worker's instance id.
pub const DECODE_WORKER_ID: &str = "reqtrack.decode.worker_id";
/// `reqtrack.decode.dp_rank`: the decode worker's data-parallel rank.
pub const DECODE_DP_RANK: &str = "reqtrack.decode.dp_rank";
/// `reqtrack.decode.worker_type`: the type recorded in the decode slot.
pub const DECODE_WORKER_TYPE: &str = "reqtrack.decode.worker_type";
/// `reqtrack.kv_hit_rate`: `nvext.timing.kv_hit_rate`, `0.0..=1.0`.
pub const KV_HIT_RATE: &str = "reqtrack.kv_hit_rate";
/// `reqtrack.kv_transfer_estimated_latency`, seconds: `kv_transfer_estimated_latency_ms / 1000`.
pub const KV_TRANSFER_ESTIMATED_LATENCY: &str = "reqtrack.kv_transfer_estimated_latency";
/// `reqtrack.router_queue_depth`: the router's queue depth at routing time.
pub const ROUTER_QUEUE_DEPTH: &str = "reqtrack.router_queue_depth";
/// `reqtrack.migrations`: migrations to another worker (always set, 0 included).
pub const MIGRATIONS: &str = "reqtrack.migrations";
/// `reqtrack.worker_conflicts`: conflicting worker writes (always set, 0 included).
pub const WORKER_CONFLICTS: &str = "reqtrack.worker_conflicts";

/// An attribute from a `'static` key: no allocation for the key.
#[inline]
fn kv(key: &'static str, value: impl Into<Value>) -> KeyValue {
    KeyValue::new(Key::from_static_str(key), value)
}

/// An unsigned count as an OpenTelemetry int, saturating at `i64::MAX`.
#[inline]
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Seconds from a nanosecond offset, through the `nvext.timing` milliseconds.
#[inline]
fn seconds(nanos: u64) -> f64 {
    secs_from_ms(ms(nanos))
}

/// One worker slot's three attributes.
fn set_worker(
    span: &mut impl Span,
    worker: Option<WorkerInfo>,
    [id, rank, kind]: [&'static str; 3],
) {
    let Some(w) = worker else { return };
    match i64::try_from(w.instance_id) {
        Ok(v) => span.set_attribute(kv(id, v)),
        Err(_) => span.set_attribute(kv(id, w.instance_id.to_string())),
    }
    if let Some(r) = w.dp_rank {
        span.set_attribute(kv(rank, i64::from(r)));
    }
    span.set_attribute(kv(kind, w.worker_type.as_str()));
}

/// Sets every root attribute of a sampled request, one at a time (no vector of our own).
pub(super) fn set_root(
    span: &mut impl Span,
    operation: &'static str,
    request: &super::RequestSpans<'_>,
    t: &RequestTracker,
    stamps: &PhaseStamps,
) {
    span.set_attribute(kv(GEN_AI_OPERATION_NAME, operation));
    if !request.model.is_empty() {
        span.set_attribute(kv(GEN_AI_REQUEST_MODEL, request.model.to_owned()));
    }
    span.set_attribute(kv(
        GEN_AI_REQUEST_STREAM,
        request.request_type == RequestType::Stream,
    ));
    if let Some(n) = t.isl_tokens() {
        span.set_attribute(kv(GEN_AI_USAGE_INPUT_TOKENS, int(n as u64)));
    }
    if let Some(n) = t.cached_tokens() {
        span.set_attribute(kv(GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, int(n as u64)));
    }
    if stamps.stream.osl > 0 {
        span.set_attribute(kv(GEN_AI_USAGE_OUTPUT_TOKENS, int(stamps.stream.osl)));
    }
    if let Outcome::Error(e) = request.outcome {
        span.set_attribute(kv(ERROR_TYPE, e.as_str()));
    }
    for (key, stamp) in [
        (GEN_AI_LATENCY_TIME_IN_QUEUE, stamps.prefill_start),
        (GEN_AI_LATENCY_TIME_TO_FIRST_TOKEN, stamps.stream.first),
        (GEN_AI_LATENCY_E2E, stamps.stream.finish),
    ] {
        if let Some(ns) = stamp {
            span.set_attribute(kv(key, seconds(ns)));
        }
    }
    set_worker(
        span,
        t.prefill_worker_info(),
        [PREFILL_WORKER_ID, PREFILL_DP_RANK, PREFILL_WORKER_TYPE],
    );
    set_worker(
        span,
        t.decode_worker_info(),
        [DECODE_WORKER_ID, DECODE_DP_RANK, DECODE_WORKER_TYPE],
    );
    if let Some(rate) = t.kv_hit_rate() {
        span.set_attribute(kv(KV_HIT_RATE, rate));
    }
    if let Some(ms) = t.kv_transfer_estimated_latency_ms() {
        span.set_attribute(kv(KV_TRANSFER_ESTIMATED_LATENCY, secs_from_ms(ms)));
    }
    if let Some(depth) = t.router_queue_depth() {
        span.set_attribute(kv(ROUTER_QUEUE_DEPTH, int(depth as u64)));
    }
    span.set_attribute(kv(MIGRATIONS, i64::from(t.migrations())));
    span.set_attribute(kv(WORKER_CONFLICTS, i64::from(t.worker_conflicts())));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_own_key_is_in_the_namespace() {
        for key in [
            PREFILL_WORKER_ID,
            PREFILL_DP_RANK,
            PREFILL_WORKER_TYPE,
            DECODE_WORKER_ID,
            DECODE_DP_RANK,
            DECODE_WORKER_TYPE,
            KV_HIT_RATE,
            KV_TRANSFER_ESTIMATED_LATENCY,
            ROUTER_QUEUE_DEPTH,
            MIGRATIONS,
            WORKER_CONFLICTS,
        ] {
            assert!(key.starts_with(NAMESPACE), "{key}");
        }
    }

    #[test]
    fn counts_beyond_an_otel_int_saturate() {
        assert_eq!(int(u64::MAX), i64::MAX);
        assert_eq!(int(7), 7);
    }
}
