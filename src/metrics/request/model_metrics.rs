//! [`ModelMetrics`]: one model's request-metric handles, each registered at its first use and
//! kept.
//!
//! # Which recorder, and when
//!
//! Every series appears at its first use (a request's guard, chunk or end), never at
//! construction: a model that served nothing exports nothing, as in Dynamo. It appears in the
//! recorder the value was built for:
//!
//! * [`ModelMetrics::with_recorder`]: that recorder, on any thread, inside or outside any
//!   `with_local_recorder` scope (the value keeps an `Arc` of it and calls its `register_*`
//!   methods directly). Use it for a recorder that is not the global one (tests, several
//!   frontends in one process).
//! * [`ModelMetrics::new`]: the facade's recorder at each series' first use, i.e. the global
//!   one once installed (a thread-local recorder set at that moment would take it instead). A
//!   handle from a zero-sized recorder (the no-op one, before any recorder is installed) is not
//!   kept: the series is registered again at its next use, so counts made before the recorder
//!   was installed are lost but later ones are not.
//!
//! After a series' first use its handle is one `OnceLock` load away: no registry lookup, no
//! allocation, no lock (`series` holds the lazy handle and its orderings).
//!
//! # Tables
//!
//! `requests_total` has one series per `(endpoint, request_type, outcome)`;
//! `requests_started_total` and `model_cancellation_total` per `(endpoint, request_type)`;
//! `model_rejection_total` per endpoint: fixed tables indexed by the label enums. The
//! histograms and gauges have one slot each ([`Hist`], [`GaugeSeries`]).

use super::describe::describe;
use super::labels::{Endpoint, Outcome, RequestType, TokenizerOperation};
use super::names::{self, Prefix};
use super::series::{LazyHandle, Target, key};
use ::metrics::{Counter, Gauge, Histogram, Label, Recorder, SharedString};
use std::fmt;
use std::sync::Arc;

/// `(endpoint, request_type)` label sets.
const REQUEST_LABEL_SETS: usize = Endpoint::COUNT * RequestType::COUNT;
/// `(endpoint, request_type, status + error_type)` label sets.
const OUTCOME_LABEL_SETS: usize = REQUEST_LABEL_SETS * Outcome::COUNT;

/// The end-of-request and per-chunk histograms, one series each per model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hist {
    Duration,
    Ttft,
    Itl,
    Isl,
    Cached,
    Osl,
    PrefillWait,
    PrefillTime,
    DecodeTime,
    KvHitRate,
    KvTransfer,
    Migrations,
    Tokenize,
    Detokenize,
}

impl Hist {
    const COUNT: usize = 14;

    const fn suffix(self) -> &'static str {
        match self {
            Self::Duration => names::REQUEST_DURATION_SECONDS,
            Self::Ttft => names::TIME_TO_FIRST_TOKEN_SECONDS,
            Self::Itl => names::INTER_TOKEN_LATENCY_SECONDS,
            Self::Isl => names::INPUT_SEQUENCE_TOKENS,
            Self::Cached => names::CACHED_TOKENS,
            Self::Osl => names::OUTPUT_SEQUENCE_TOKENS,
            Self::PrefillWait => names::PREFILL_WAIT_TIME_SECONDS,
            Self::PrefillTime => names::PREFILL_TIME_SECONDS,
            Self::DecodeTime => names::DECODE_TIME_SECONDS,
            Self::KvHitRate => names::KV_HIT_RATE,
            Self::KvTransfer => names::KV_TRANSFER_ESTIMATED_LATENCY_SECONDS,
            Self::Migrations => names::MIGRATIONS_PER_REQUEST,
            Self::Tokenize | Self::Detokenize => names::TOKENIZER_LATENCY_MS,
        }
    }

    /// Dynamo labels the tokenizer histogram by operation, not by model.
    const fn operation(self) -> Option<TokenizerOperation> {
        match self {
            Self::Tokenize => Some(TokenizerOperation::Tokenize),
            Self::Detokenize => Some(TokenizerOperation::Detokenize),
            _ => None,
        }
    }
}

/// The gauges: three per model and the unlabelled `disconnected_clients`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GaugeSeries {
    Inflight,
    Active,
    Queued,
    Disconnected,
}

impl GaugeSeries {
    const COUNT: usize = 4;

    const fn suffix(self) -> &'static str {
        match self {
            Self::Inflight => names::INFLIGHT_REQUESTS,
            Self::Active => names::ACTIVE_REQUESTS,
            Self::Queued => names::QUEUED_REQUESTS,
            Self::Disconnected => names::DISCONNECTED_CLIENTS,
        }
    }
}

/// One model's request metrics: counter, gauge and histogram handles, each registered at its
/// first use in the recorder the value was built for (see the module docs).
///
/// Create one per model and share it in an [`Arc`] by every request of that model through a
/// [`RequestGuard`](crate::RequestGuard). The model label is allocated here, once; no request
/// allocates a label after the first use of its series.
///
/// ```
/// use reqtrack::{Endpoint, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker, RequestType};
/// use metrics_util::debugging::DebuggingRecorder;
/// use std::sync::Arc;
/// use std::time::Instant;
///
/// let recorder = Arc::new(DebuggingRecorder::new());
/// let snapshotter = recorder.snapshotter();
/// let metrics = Arc::new(ModelMetrics::with_recorder(&Prefix::default(), "llama-3-8b", recorder));
/// assert!(snapshotter.snapshot().into_vec().is_empty(), "nothing before the first request");
///
/// let tracker = Arc::new(RequestTracker::new());
/// let guard = RequestGuard::new(metrics, tracker, Endpoint::ChatCompletions, RequestType::Stream);
/// let mut stream = guard.into_stream();
/// stream.observe_chunk(1, Instant::now()); // first token: TTFT
/// stream.observe_chunk(4, Instant::now()); // four ITL samples
/// stream.finish(Outcome::Success);         // requests_total + end-of-request histograms
/// assert!(!snapshotter.snapshot().into_vec().is_empty());
/// ```
pub struct ModelMetrics {
    target: Target,
    prefix: Prefix,
    model: SharedString,
    requests_total: [LazyHandle<Counter>; OUTCOME_LABEL_SETS],
    requests_started: [LazyHandle<Counter>; REQUEST_LABEL_SETS],
    cancellations: [LazyHandle<Counter>; REQUEST_LABEL_SETS],
    rejections: [LazyHandle<Counter>; Endpoint::COUNT],
    output_tokens: LazyHandle<Counter>,
    gauges: [LazyHandle<Gauge>; GaugeSeries::COUNT],
    histograms: [LazyHandle<Histogram>; Hist::COUNT],
    /// Emits each ended request's spans (feature `otel`); `None`: no trace.
    #[cfg(feature = "otel")]
    tracer: Option<Arc<dyn crate::otel::RequestTracer + Send + Sync>>,
}

impl ModelMetrics {
    /// `model`'s metrics under `prefix`, registered in the facade's recorder at each series'
    /// first use (the global one in a server: install it before the first request; see the
    /// module docs). Allocates the model label once; registers nothing yet.
    pub fn new(prefix: &Prefix, model: impl Into<String>) -> Self {
        Self::for_target(prefix, model, Target::Facade)
    }

    /// `model`'s metrics under `prefix`, registered in `recorder` at each series' first use,
    /// wherever that use happens (see the module docs). Registers nothing yet.
    pub fn with_recorder(
        prefix: &Prefix,
        model: impl Into<String>,
        recorder: Arc<dyn Recorder + Send + Sync>,
    ) -> Self {
        Self::for_target(prefix, model, Target::Recorder(recorder))
    }

    fn for_target(prefix: &Prefix, model: impl Into<String>, target: Target) -> Self {
        Self {
            target,
            prefix: prefix.clone(),
            model: SharedString::from_shared(Arc::from(model.into())),
            requests_total: [const { LazyHandle::new() }; OUTCOME_LABEL_SETS],
            requests_started: [const { LazyHandle::new() }; REQUEST_LABEL_SETS],
            cancellations: [const { LazyHandle::new() }; REQUEST_LABEL_SETS],
            rejections: [const { LazyHandle::new() }; Endpoint::COUNT],
            output_tokens: LazyHandle::new(),
            gauges: [const { LazyHandle::new() }; GaugeSeries::COUNT],
            histograms: [const { LazyHandle::new() }; Hist::COUNT],
            #[cfg(feature = "otel")]
            tracer: None,
        }
    }

    /// These metrics, and each request of the model as a trace (feature `otel`): at its end
    /// (every way a [`RequestGuard`](crate::RequestGuard) ends, a disconnect included) `tracer`
    /// emits its root and phase spans, as a child of the guard's
    /// [`with_trace_parent`](crate::RequestGuard::with_trace_parent) context. Keep the SDK's
    /// tracer here rather than the global provider's `BoxedTracer`, which boxes every span,
    /// an unsampled one included.
    #[cfg(feature = "otel")]
    pub fn with_tracer(
        mut self,
        tracer: Arc<dyn crate::otel::RequestTracer + Send + Sync>,
    ) -> Self {
        self.tracer = Some(tracer);
        self
    }

    /// The tracer given by [`with_tracer`](Self::with_tracer), if any.
    #[cfg(feature = "otel")]
    pub fn tracer(&self) -> Option<&Arc<dyn crate::otel::RequestTracer + Send + Sync>> {
        self.tracer.as_ref()
    }

    /// The model label value.
    pub fn model(&self) -> &str {
        &self.model
    }

    // ---- registration (first use only) --------------------------------------------------

    fn model_label(&self) -> Label {
        Label::new(names::MODEL_LABEL, self.model.clone())
    }

    fn request_labels(&self, endpoint: Endpoint, request_type: RequestType) -> [Label; 3] {
        [
            self.model_label(),
            Label::new(names::ENDPOINT_LABEL, endpoint.as_str()),
            Label::new(names::REQUEST_TYPE_LABEL, request_type.as_str()),
        ]
    }

    /// Describes and registers the counter `suffix` with `labels` in the target.
    fn counter(&self, suffix: &str, labels: impl IntoIterator<Item = Label>) -> (Counter, bool) {
        let name = self.prefix.name(suffix);
        let key = key(name.clone(), labels);
        self.target.register(|r| {
            describe(r, &name, suffix);
            r.register_counter(&key, Target::metadata())
        })
    }

    fn gauge_handle(&self, g: GaugeSeries) -> (Gauge, bool) {
        let suffix = g.suffix();
        let name = self.prefix.name(suffix);
        let labels = (g != GaugeSeries::Disconnected).then(|| self.model_label());
        let key = key(name.clone(), labels);
        self.target.register(|r| {
            describe(r, &name, suffix);
            r.register_gauge(&key, Target::metadata())
        })
    }

    fn histogram_handle(&self, h: Hist) -> (Histogram, bool) {
        let suffix = h.suffix();
        let name = self.prefix.name(suffix);
        let label = match h.operation() {
            Some(op) => Label::new(names::OPERATION_LABEL, op.as_str()),
            None => self.model_label(),
        };
        let key = key(name.clone(), [label]);
        self.target.register(|r| {
            describe(r, &name, suffix);
            r.register_histogram(&key, Target::metadata())
        })
    }

    // ---- observations (the request's hot path) ------------------------------------------

    /// The counter `suffix` of `table` +1 for this `(endpoint, request_type)`.
    fn increment_per_request(
        &self,
        table: &[LazyHandle<Counter>; REQUEST_LABEL_SETS],
        suffix: &'static str,
        endpoint: Endpoint,
        request_type: RequestType,
    ) {
        table[request_index(endpoint, request_type)].with(
            || self.counter(suffix, self.request_labels(endpoint, request_type)),
            |c| c.increment(1),
        );
    }

    /// `requests_started_total` +1 for this label set.
    pub(super) fn started(&self, endpoint: Endpoint, request_type: RequestType) {
        let suffix = names::REQUESTS_STARTED_TOTAL;
        self.increment_per_request(&self.requests_started, suffix, endpoint, request_type);
    }

    /// `requests_total` +1 for this label set.
    pub(super) fn ended(&self, endpoint: Endpoint, request_type: RequestType, outcome: Outcome) {
        self.requests_total[outcome_index(endpoint, request_type, outcome)].with(
            || {
                let [m, e, r] = self.request_labels(endpoint, request_type);
                let status = Label::new(names::STATUS_LABEL, outcome.status().as_str());
                let error = Label::new(names::ERROR_TYPE_LABEL, outcome.error_type_label());
                self.counter(names::REQUESTS_TOTAL, [m, e, r, status, error])
            },
            |c| c.increment(1),
        );
    }

    /// `model_cancellation_total` +1 for this label set.
    pub(super) fn cancelled(&self, endpoint: Endpoint, request_type: RequestType) {
        let suffix = names::MODEL_CANCELLATION_TOTAL;
        self.increment_per_request(&self.cancellations, suffix, endpoint, request_type);
    }

    /// `model_rejection_total` +1 for this endpoint.
    pub(super) fn rejected(&self, endpoint: Endpoint) {
        self.rejections[endpoint.index()].with(
            || {
                let endpoint = Label::new(names::ENDPOINT_LABEL, endpoint.as_str());
                self.counter(names::MODEL_REJECTION_TOTAL, [self.model_label(), endpoint])
            },
            |c| c.increment(1),
        );
    }

    /// `output_tokens_total` += `n`.
    #[inline]
    pub(super) fn output_tokens(&self, n: u64) {
        self.output_tokens.with(
            || self.counter(names::OUTPUT_TOKENS_TOTAL, [self.model_label()]),
            |c| c.increment(n),
        );
    }

    /// Calls `f` with gauge `g`.
    #[inline]
    pub(super) fn gauge(&self, g: GaugeSeries, f: impl FnOnce(&Gauge)) {
        self.gauges[g as usize].with(|| self.gauge_handle(g), f);
    }

    /// Records `v` in histogram `h` if known; an unknown value registers nothing.
    #[inline]
    pub(super) fn record(&self, h: Hist, v: Option<f64>) {
        if let Some(v) = v {
            self.record_many(h, v, 1);
        }
    }

    /// Registers histogram `h` if this is its first use, recording nothing: for a series the
    /// next observation will need, so that observation does no registry lookup.
    #[inline]
    pub(super) fn prepare(&self, h: Hist) {
        self.histograms[h as usize].with(|| self.histogram_handle(h), |_| {});
    }

    /// Records `v` `n` times in histogram `h`.
    #[inline]
    pub(super) fn record_many(&self, h: Hist, v: f64, n: usize) {
        self.histograms[h as usize].with(
            || self.histogram_handle(h),
            |x| {
                if n == 1 {
                    x.record(v);
                } else {
                    x.record_many(v, n);
                }
            },
        );
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
        let mut d = f.debug_struct("ModelMetrics");
        d.field("model", &self.model())
            .field("target", &self.target);
        #[cfg(feature = "otel")]
        d.field("tracer", &self.tracer.is_some());
        d.finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hist_and_gauge_counts_cover_every_variant() {
        assert_eq!(Hist::Detokenize as usize + 1, Hist::COUNT);
        assert_eq!(GaugeSeries::Disconnected as usize + 1, GaugeSeries::COUNT);
    }

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
