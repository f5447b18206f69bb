//! [`ModelMetrics`]: one model's request-metric handles, resolved once and kept.
//!
//! # When handles are resolved, and from which recorder
//!
//! * The per-model gauges, histograms and `output_tokens_total` are resolved in
//!   [`ModelMetrics::new`], from the recorder current then ([`::metrics::with_recorder`]: the
//!   thread's local recorder if one is set, else the global one).
//! * `requests_total` and `requests_started_total` have one series per
//!   `(endpoint, request_type[, outcome])`; registering all 234 + 26 up front would export that
//!   many zero series per model, so each is resolved at its first use (from the recorder
//!   current then) and kept in a fixed table indexed by the label enums.
//!
//! So: **install the recorder before creating the value.** A `ModelMetrics` created before
//! (under the no-op recorder) keeps no-op handles; create it again after installing. This is
//! the rule of the facade's own handles (a `Counter` stays bound to the recorder it came from),
//! chosen over re-resolving per request because checking the current recorder on every
//! observation would cost a thread-local read and a comparison per chunk for a case that
//! happens once per process. With a local recorder (tests), create and use the value inside
//! the recorder's scope.
//!
//! # Synchronisation
//!
//! The handles are the facade's (`Arc`s into the recorder's storage; the recorder orders its
//! own atomics). The only state of this file's own is the lazy tables: one `OnceLock` per
//! label set. `get` is one `Acquire` load that pairs with the `Release` of the initialising
//! `set`, so a thread that sees the handle sees it fully built; a first use racing another
//! waits for that one registration (once per label set per model, never again).

use super::labels::{Endpoint, Outcome, RequestType, TokenizerOperation};
use super::names::{self, Prefix};
use ::metrics::{Counter, Gauge, Histogram, SharedString};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// `(endpoint, request_type)` label sets.
const REQUEST_LABEL_SETS: usize = Endpoint::COUNT * RequestType::COUNT;
/// `(endpoint, request_type, status + error_type)` label sets.
const OUTCOME_LABEL_SETS: usize = REQUEST_LABEL_SETS * Outcome::COUNT;

/// One model's request metrics: counter, gauge and histogram handles, resolved once.
///
/// Create one per model (after installing the recorder: see the module docs) and share it in
/// an [`Arc`] by every request of that model through a [`RequestGuard`](crate::RequestGuard).
/// The model label is allocated here, once; no request allocates a label.
///
/// ```
/// use reqtrack::{Endpoint, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker, RequestType};
/// use std::sync::Arc;
/// use std::time::Instant;
///
/// let metrics = Arc::new(ModelMetrics::new(&Prefix::default(), "llama-3-8b"));
/// let tracker = Arc::new(RequestTracker::new());
/// let guard = RequestGuard::new(metrics, tracker, Endpoint::ChatCompletions, RequestType::Stream);
/// let mut stream = guard.into_stream();
/// stream.observe_chunk(1, Instant::now()); // first token: TTFT
/// stream.observe_chunk(4, Instant::now()); // four ITL samples
/// stream.finish(Outcome::Success);         // requests_total + end-of-request histograms
/// ```
pub struct ModelMetrics {
    model: SharedString,
    requests_total_name: SharedString,
    requests_started_name: SharedString,
    requests_total: [OnceLock<Counter>; OUTCOME_LABEL_SETS],
    requests_started: [OnceLock<Counter>; REQUEST_LABEL_SETS],
    pub(super) inflight: Gauge,
    pub(super) active: Gauge,
    pub(super) queued: Gauge,
    pub(super) disconnected: Gauge,
    pub(super) output_tokens: Counter,
    pub(super) h: Histograms,
}

/// The histogram handles.
pub(super) struct Histograms {
    pub(super) duration: Histogram,
    pub(super) ttft: Histogram,
    pub(super) itl: Histogram,
    pub(super) isl: Histogram,
    pub(super) cached: Histogram,
    pub(super) osl: Histogram,
    pub(super) prefill_wait: Histogram,
    pub(super) prefill_time: Histogram,
    pub(super) decode_time: Histogram,
    pub(super) kv_hit_rate: Histogram,
    pub(super) kv_transfer: Histogram,
    pub(super) migrations: Histogram,
    pub(super) tokenize: Histogram,
    pub(super) detokenize: Histogram,
}

fn shared(s: String) -> SharedString {
    SharedString::from_shared(Arc::from(s))
}

impl ModelMetrics {
    /// Resolves `model`'s handles under `prefix` from the current recorder, and describes each
    /// metric (help text, unit). Allocates the names and the model label once.
    pub fn new(prefix: &Prefix, model: impl Into<String>) -> Self {
        let model = shared(model.into());
        let name = |suffix: &str| shared(prefix.name(suffix));
        super::describe::describe(prefix);
        let per_model =
            |suffix: &str| ::metrics::histogram!(name(suffix), names::MODEL_LABEL => model.clone());
        let tokenizer = |op: TokenizerOperation| ::metrics::histogram!(name(names::TOKENIZER_LATENCY_MS), names::OPERATION_LABEL => op.as_str());
        let h = Histograms {
            duration: per_model(names::REQUEST_DURATION_SECONDS),
            ttft: per_model(names::TIME_TO_FIRST_TOKEN_SECONDS),
            itl: per_model(names::INTER_TOKEN_LATENCY_SECONDS),
            isl: per_model(names::INPUT_SEQUENCE_TOKENS),
            cached: per_model(names::CACHED_TOKENS),
            osl: per_model(names::OUTPUT_SEQUENCE_TOKENS),
            prefill_wait: per_model(names::PREFILL_WAIT_TIME_SECONDS),
            prefill_time: per_model(names::PREFILL_TIME_SECONDS),
            decode_time: per_model(names::DECODE_TIME_SECONDS),
            kv_hit_rate: per_model(names::KV_HIT_RATE),
            kv_transfer: per_model(names::KV_TRANSFER_ESTIMATED_LATENCY_SECONDS),
            migrations: per_model(names::MIGRATIONS_PER_REQUEST),
            tokenize: tokenizer(TokenizerOperation::Tokenize),
            detokenize: tokenizer(TokenizerOperation::Detokenize),
        };
        let gauge =
            |suffix: &str| ::metrics::gauge!(name(suffix), names::MODEL_LABEL => model.clone());
        Self {
            inflight: gauge(names::INFLIGHT_REQUESTS),
            active: gauge(names::ACTIVE_REQUESTS),
            queued: gauge(names::QUEUED_REQUESTS),
            disconnected: ::metrics::gauge!(name(names::DISCONNECTED_CLIENTS)),
            output_tokens: ::metrics::counter!(name(names::OUTPUT_TOKENS_TOTAL), names::MODEL_LABEL => model.clone()),
            h,
            requests_total_name: name(names::REQUESTS_TOTAL),
            requests_started_name: name(names::REQUESTS_STARTED_TOTAL),
            requests_total: [const { OnceLock::new() }; OUTCOME_LABEL_SETS],
            requests_started: [const { OnceLock::new() }; REQUEST_LABEL_SETS],
            model,
        }
    }

    /// The model label value.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// `requests_started_total` for this label set (resolved at its first use).
    pub(super) fn started(&self, endpoint: Endpoint, request_type: RequestType) -> &Counter {
        let i = request_index(endpoint, request_type);
        self.requests_started[i].get_or_init(|| {
            ::metrics::counter!(
                self.requests_started_name.clone(),
                names::MODEL_LABEL => self.model.clone(),
                names::ENDPOINT_LABEL => endpoint.as_str(),
                names::REQUEST_TYPE_LABEL => request_type.as_str()
            )
        })
    }

    /// `requests_total` for this label set (resolved at its first use).
    pub(super) fn ended(
        &self,
        endpoint: Endpoint,
        request_type: RequestType,
        outcome: Outcome,
    ) -> &Counter {
        let i = outcome_index(endpoint, request_type, outcome);
        self.requests_total[i].get_or_init(|| {
            ::metrics::counter!(
                self.requests_total_name.clone(),
                names::MODEL_LABEL => self.model.clone(),
                names::ENDPOINT_LABEL => endpoint.as_str(),
                names::REQUEST_TYPE_LABEL => request_type.as_str(),
                names::STATUS_LABEL => outcome.status().as_str(),
                names::ERROR_TYPE_LABEL => outcome.error_type_label()
            )
        })
    }
}

/// Dense index of `(endpoint, request_type)`, `0..REQUEST_LABEL_SETS`.
const fn request_index(endpoint: Endpoint, request_type: RequestType) -> usize {
    endpoint.index() * RequestType::COUNT + request_type.index()
}

/// Dense index of `(endpoint, request_type, outcome)`, `0..OUTCOME_LABEL_SETS`.
const fn outcome_index(endpoint: Endpoint, request_type: RequestType, outcome: Outcome) -> usize {
    request_index(endpoint, request_type) * Outcome::COUNT + outcome.index()
}

impl fmt::Debug for ModelMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModelMetrics")
            .field("model", &self.model())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_set_has_its_own_slot() {
        let mut seen = vec![false; OUTCOME_LABEL_SETS];
        let outcomes = std::iter::once(Outcome::Success)
            .chain(crate::ErrorType::ALL.iter().map(|&e| Outcome::Error(e)));
        for o in outcomes {
            for &e in Endpoint::ALL {
                for &r in RequestType::ALL {
                    let i = outcome_index(e, r, o);
                    assert!(!seen[i], "{e} {r} {o:?}");
                    seen[i] = true;
                }
            }
        }
        assert!(seen.iter().all(|&s| s));
    }
}
