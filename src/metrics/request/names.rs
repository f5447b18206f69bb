//! Request-metric names: the suffixes, the label keys, and the configurable [`Prefix`].
//!
//! A full name is `{prefix}_{suffix}` (Dynamo builds it the same way), so with the default
//! prefix the names are Dynamo's frontend names: `dynamo_frontend_requests_total`, ...
//!
//! # Beyond Dynamo's frontend
//!
//! The phase histograms and the KV figures are not in Dynamo's frontend. Each is named after
//! the `nvext.timing` field it aggregates, with `_ms` turned into `_seconds`
//! (`prefill_wait_time_ms` → [`PREFILL_WAIT_TIME_SECONDS`]), so the name says which number a
//! client sees for the same request; where Dynamo's *router* already exports the quantity
//! ([`KV_HIT_RATE`], [`KV_TRANSFER_ESTIMATED_LATENCY_SECONDS`]) its suffix is reused. vLLM's
//! names (`request_queue_time_seconds`, ...) were not borrowed: vLLM measures from the engine's
//! queue entry, these from the request's arrival at this process, and the same name would
//! suggest the same number.

use std::fmt;
use std::sync::Arc;

/// The default prefix, Dynamo's `name_prefix::FRONTEND`.
pub const DEFAULT_PREFIX: &str = "dynamo_frontend";

// ---- Dynamo's frontend metrics --------------------------------------------------------------

/// Counter `{model, endpoint, request_type, status, error_type}`: requests ended.
pub const REQUESTS_TOTAL: &str = "requests_total";
/// Counter `{model, endpoint, request_type}`: requests accepted (guards created).
pub const REQUESTS_STARTED_TOTAL: &str = "requests_started_total";
/// Gauge `{model}`: requests in flight (Dynamo's deprecated name, kept in step with
/// [`ACTIVE_REQUESTS`]).
pub const INFLIGHT_REQUESTS: &str = "inflight_requests";
/// Gauge `{model}`: requests in flight, from handler entry to response completion.
pub const ACTIVE_REQUESTS: &str = "active_requests";
/// Gauge `{model}`: requests received that have not produced a token yet.
pub const QUEUED_REQUESTS: &str = "queued_requests";
/// Gauge, no labels, only ever incremented: client disconnects.
pub const DISCONNECTED_CLIENTS: &str = "disconnected_clients";
/// Counter `{model}`: output tokens, incremented per chunk.
pub const OUTPUT_TOKENS_TOTAL: &str = "output_tokens_total";
/// Histogram `{model}`, seconds: `nvext.timing.total_time_ms / 1000`.
pub const REQUEST_DURATION_SECONDS: &str = "request_duration_seconds";
/// Histogram `{model}`, seconds: `nvext.timing.ttft_ms / 1000`.
pub const TIME_TO_FIRST_TOKEN_SECONDS: &str = "time_to_first_token_seconds";
/// Histogram `{model}`, seconds: chunk gap ÷ tokens in the chunk, once per token.
pub const INTER_TOKEN_LATENCY_SECONDS: &str = "inter_token_latency_seconds";
/// Histogram `{model}`, tokens: prompt length.
pub const INPUT_SEQUENCE_TOKENS: &str = "input_sequence_tokens";
/// Histogram `{model}`, tokens: prompt tokens found in the KV cache.
pub const CACHED_TOKENS: &str = "cached_tokens";
/// Histogram `{model}`, tokens: output length (only when it is above 0).
pub const OUTPUT_SEQUENCE_TOKENS: &str = "output_sequence_tokens";
/// Histogram `{operation}`, milliseconds: tokenize, and average detokenize per request.
pub const TOKENIZER_LATENCY_MS: &str = "tokenizer_latency_ms";
/// Counter `{model, endpoint, request_type}`: request cancellations, +1 with each client
/// disconnect (Dynamo increments it next to `disconnected_clients`).
pub const MODEL_CANCELLATION_TOTAL: &str = "model_cancellation_total";
/// Counter `{model, endpoint}`: requests rejected for resource exhaustion
/// ([`RequestGuard::reject`](crate::RequestGuard::reject); Dynamo answers them 529).
pub const MODEL_REJECTION_TOTAL: &str = "model_rejection_total";

// ---- beyond Dynamo's frontend ---------------------------------------------------------------

/// Histogram `{model}`, seconds: `nvext.timing.prefill_wait_time_ms / 1000` (arrival to
/// prefill start: vLLM's queue time, measured from arrival at this process).
pub const PREFILL_WAIT_TIME_SECONDS: &str = "prefill_wait_time_seconds";
/// Histogram `{model}`, seconds: `nvext.timing.prefill_time_ms / 1000` (prefill start to first
/// token: vLLM's prefill time).
pub const PREFILL_TIME_SECONDS: &str = "prefill_time_seconds";
/// Histogram `{model}`, seconds: first token to finish (vLLM's decode time).
pub const DECODE_TIME_SECONDS: &str = "decode_time_seconds";
/// Histogram `{model}`, ratio `0..=1`: `nvext.timing.kv_hit_rate` (Dynamo's router suffix).
pub const KV_HIT_RATE: &str = "kv_hit_rate";
/// Histogram `{model}`, seconds: the tracker's KV-transfer estimate (decode first token minus
/// prefill complete; Dynamo's router suffix).
pub const KV_TRANSFER_ESTIMATED_LATENCY_SECONDS: &str = "kv_transfer_estimated_latency_seconds";
/// Histogram `{model}`, count: migrations of one request.
pub const MIGRATIONS_PER_REQUEST: &str = "migrations_per_request";

// ---- label keys -----------------------------------------------------------------------------

/// The model label key.
pub const MODEL_LABEL: &str = "model";
/// The endpoint label key ([`Endpoint`](crate::Endpoint)).
pub const ENDPOINT_LABEL: &str = "endpoint";
/// The request type label key ([`RequestType`](crate::RequestType)).
pub const REQUEST_TYPE_LABEL: &str = "request_type";
/// The status label key ([`Status`](crate::Status)).
pub const STATUS_LABEL: &str = "status";
/// The error type label key ([`ErrorType`](crate::ErrorType); `""` on success).
pub const ERROR_TYPE_LABEL: &str = "error_type";
/// The tokenizer operation label key ([`TokenizerOperation`](crate::TokenizerOperation)).
pub const OPERATION_LABEL: &str = "operation";

/// The first part of every request-metric name, `dynamo_frontend` by default.
///
/// ```
/// use reqtrack::{names, Prefix};
/// assert_eq!(Prefix::default().name(names::REQUESTS_TOTAL), "dynamo_frontend_requests_total");
/// let mine = Prefix::new("router").unwrap();
/// assert_eq!(mine.name(names::KV_HIT_RATE), "router_kv_hit_rate");
/// assert!(Prefix::new("my-router").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Prefix(Arc<str>);

impl Prefix {
    /// A prefix, if it is a valid start of a Prometheus metric name: non-empty, ASCII letters,
    /// digits, `_` and `:`, not starting with a digit. Anything else is an [`InvalidPrefix`]
    /// (Dynamo rewrites such a prefix; this crate says no instead, so a typo is not silently
    /// renamed).
    pub fn new(prefix: impl Into<String>) -> Result<Self, InvalidPrefix> {
        let prefix = prefix.into();
        let valid_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
        match prefix.chars().next() {
            Some(first) if !first.is_ascii_digit() && prefix.chars().all(valid_char) => {
                Ok(Self(prefix.into()))
            }
            _ => Err(InvalidPrefix(prefix)),
        }
    }

    /// The prefix itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full metric name `{prefix}_{suffix}` (allocates; done once per model, never per
    /// request).
    pub fn name(&self, suffix: &str) -> String {
        format!("{}_{suffix}", self.0)
    }
}

impl Default for Prefix {
    /// [`DEFAULT_PREFIX`].
    fn default() -> Self {
        Self(DEFAULT_PREFIX.into())
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A prefix that cannot start a Prometheus metric name; holds what was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidPrefix(pub String);

impl fmt::Display for InvalidPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid metric prefix {:?}: use ASCII letters, digits, '_' or ':', not starting with a digit",
            self.0
        )
    }
}

impl std::error::Error for InvalidPrefix {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_displays_as_itself() {
        assert_eq!(Prefix::default().to_string(), DEFAULT_PREFIX);
        assert_eq!(Prefix::new("router").unwrap().to_string(), "router");
    }

    #[test]
    fn an_invalid_prefix_says_what_was_given_and_what_is_allowed() {
        let message = Prefix::new("my-router").unwrap_err().to_string();
        assert!(message.contains("\"my-router\""), "{message}");
        assert!(message.contains("ASCII letters"), "{message}");
    }

    #[test]
    fn prefix_rejects_what_prometheus_rejects() {
        for bad in ["", "1abc", "a-b", "a b", "é", "a.b"] {
            assert_eq!(
                Prefix::new(bad),
                Err(InvalidPrefix(bad.to_owned())),
                "{bad}"
            );
        }
        for good in ["a", "_x", "vllm:", "dynamo_frontend", "A1_b:c"] {
            assert_eq!(Prefix::new(good).unwrap().as_str(), good);
        }
    }
}
