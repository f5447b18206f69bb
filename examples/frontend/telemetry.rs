//! Every tracker and request-metrics call of the frontend, behind one small API.
//!
//! Handlers and the simulated cluster never call `reqtrack` or `metrics` themselves; they report
//! events here, so swapping the implementation (e.g. for a library request-metrics layer) is a
//! change of this file only.
//!
//! * [`Telemetry`]: the Prometheus recorder and the per-label metric handles (resolved once, at
//!   start-up, for every served model and [`UNKNOWN_MODEL`]); [`Telemetry::start_request`].
//! * [`RequestTelemetry`]: the HTTP side of one request (`tokenized`, `on_chunk`,
//!   `detokenized`, `nvext`, then `finish` or `on_error`). **Dropping it unfinished is a client
//!   disconnect**: the request ends as `error`/`cancelled`.
//! * [`BackendTelemetry`] / [`PrefillTelemetry`]: the cluster side (routing, the prefill phase
//!   holding the phase permit, the decode worker, first token, KV-block boundaries).
//! * [`Completed`]: what a finished request reports (`nvext`, [`TimingReport`]).
//!
//! Metric names, labels, help strings and buckets are Dynamo's frontend's (`dynamo_frontend_*`):
//! `requests_total{model,endpoint,request_type,status,error_type}` with `status` `success` |
//! `error` and `error_type` `""` on success. Every value comes from the tracker's stamps: TTFT is
//! the tracker's first token (observed at the first token-bearing chunk, with the ISL), ITL is
//! the span between two KV-block finishes divided by the tokens between them (observed once per
//! token), the duration is the final finish stamp. Time inside tracker and metrics calls is
//! metered ([`super::meter`]) for the load generator's summary.

use super::meter::{Meter, Spent, SpentTotals};
use metrics::{Counter, Gauge, Histogram, Unit};
use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use reqtrack::{
    NvExtResponse, OwnedPhasePermit, RequestPhase, RequestTracker, WORKER_TYPE_DECODE,
    WORKER_TYPE_PREFILL,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The `model` label of requests for a model that is not served (or could not be parsed), so
/// client-chosen strings never become label values (Dynamo's `UNKNOWN_METRIC_MODEL`).
pub const UNKNOWN_MODEL: &str = "unknown_model";

/// `dynamo_frontend_requests_total`.
pub const REQUESTS_TOTAL: &str = "dynamo_frontend_requests_total";
/// `dynamo_frontend_requests_started_total`.
pub const REQUESTS_STARTED_TOTAL: &str = "dynamo_frontend_requests_started_total";
/// `dynamo_frontend_inflight_requests`.
pub const INFLIGHT_REQUESTS: &str = "dynamo_frontend_inflight_requests";
/// `dynamo_frontend_active_requests`.
pub const ACTIVE_REQUESTS: &str = "dynamo_frontend_active_requests";
/// `dynamo_frontend_queued_requests`.
pub const QUEUED_REQUESTS: &str = "dynamo_frontend_queued_requests";
/// `dynamo_frontend_disconnected_clients` (only ever incremented, as in Dynamo).
pub const DISCONNECTED_CLIENTS: &str = "dynamo_frontend_disconnected_clients";
/// `dynamo_frontend_model_cancellation_total`.
pub const MODEL_CANCELLATION_TOTAL: &str = "dynamo_frontend_model_cancellation_total";
/// `dynamo_frontend_output_tokens_total`.
pub const OUTPUT_TOKENS_TOTAL: &str = "dynamo_frontend_output_tokens_total";
/// `dynamo_frontend_time_to_first_token_seconds`.
pub const TIME_TO_FIRST_TOKEN_SECONDS: &str = "dynamo_frontend_time_to_first_token_seconds";
/// `dynamo_frontend_inter_token_latency_seconds`.
pub const INTER_TOKEN_LATENCY_SECONDS: &str = "dynamo_frontend_inter_token_latency_seconds";
/// `dynamo_frontend_request_duration_seconds`.
pub const REQUEST_DURATION_SECONDS: &str = "dynamo_frontend_request_duration_seconds";
/// `dynamo_frontend_input_sequence_tokens`.
pub const INPUT_SEQUENCE_TOKENS: &str = "dynamo_frontend_input_sequence_tokens";
/// `dynamo_frontend_output_sequence_tokens`.
pub const OUTPUT_SEQUENCE_TOKENS: &str = "dynamo_frontend_output_sequence_tokens";

/// Each histogram with its help string and Dynamo's `(min, max, count)` bucket parameters.
const HISTOGRAMS: [(&str, &str, (f64, f64, usize)); 5] = [
    (
        TIME_TO_FIRST_TOKEN_SECONDS,
        "Time to first token in seconds",
        (0.001, 480.0, 18),
    ),
    (
        INTER_TOKEN_LATENCY_SECONDS,
        "Inter-token latency in seconds",
        (0.001, 2.0, 13),
    ),
    (
        REQUEST_DURATION_SECONDS,
        "Duration of LLM requests",
        (1.0, 512.0, 10),
    ),
    (
        INPUT_SEQUENCE_TOKENS,
        "Input sequence length in tokens",
        (50.0, 128_000.0, 12),
    ),
    (
        OUTPUT_SEQUENCE_TOKENS,
        "Output sequence length in tokens",
        (50.0, 32_000.0, 10),
    ),
];

/// Dynamo's `generate_log_buckets`: `0.0`, then `count - 1` log-spaced values from one step
/// above `min` up to `max`, each rounded to 2 significant figures, duplicates removed.
pub fn log_buckets(min: f64, max: f64, count: usize) -> Vec<f64> {
    let mut buckets = vec![0.0];
    let (lo, hi) = (min.ln(), max.ln());
    for i in 1..count {
        let v = (lo + (hi - lo) * i as f64 / (count - 1) as f64).exp();
        // Two significant figures through the decimal form, so 0.0022 is exactly "0.0022".
        buckets.push(format!("{v:.1e}").parse().unwrap_or(v));
    }
    buckets.dedup();
    buckets
}

/// The route a request came in on (`endpoint` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/completions`.
    Completions,
}

impl Endpoint {
    /// The label value (Dynamo's `Endpoint::as_str`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ChatCompletions => "chat_completions",
            Self::Completions => "completions",
        }
    }
}

/// Why a request failed (`error_type` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A bad request: malformed JSON, a missing or invalid field, a body over the limit.
    Validation,
    /// The model is not served.
    NotFound,
    /// The client went away before the response ended.
    Cancelled,
    /// The backend failed.
    Internal,
}

impl ErrorKind {
    const ALL: [Self; 4] = [
        Self::Validation,
        Self::NotFound,
        Self::Cancelled,
        Self::Internal,
    ];

    /// The label value (Dynamo's error-type constants).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::NotFound => "not_found",
            Self::Cancelled => "cancelled",
            Self::Internal => "internal",
        }
    }
}

/// When a request arrived: both clocks, read once at the handler's entry.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    instant: Instant,
    epoch_ms: u64,
}

impl Arrival {
    /// Now.
    pub fn now() -> Self {
        let epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            instant: Instant::now(),
            epoch_ms,
        }
    }
}

/// The handles of one `(model, endpoint, request_type)` label set.
struct Family {
    started: Counter,
    succeeded: Counter,
    failed: [Counter; 4],
    cancellations: Counter,
    inflight: Gauge,
    active: Gauge,
    queued: Gauge,
    output_tokens: Counter,
    ttft: Histogram,
    itl: Histogram,
    duration: Histogram,
    isl: Histogram,
    osl: Histogram,
}

impl Family {
    /// Registers the label set with the current recorder.
    fn resolve(model: &str, endpoint: Endpoint, streaming: bool) -> Self {
        let (m, e) = (model.to_owned(), endpoint.as_str());
        let t = if streaming { "stream" } else { "unary" };
        let total = |status: &'static str, error_type: &'static str| {
            metrics::counter!(REQUESTS_TOTAL, "model" => m.clone(), "endpoint" => e,
                "request_type" => t, "status" => status, "error_type" => error_type)
        };
        Self {
            started: metrics::counter!(REQUESTS_STARTED_TOTAL, "model" => m.clone(),
                "endpoint" => e, "request_type" => t),
            succeeded: total("success", ""),
            failed: ErrorKind::ALL.map(|k| total("error", k.as_str())),
            cancellations: metrics::counter!(MODEL_CANCELLATION_TOTAL, "model" => m.clone(),
                "endpoint" => e, "request_type" => t),
            inflight: metrics::gauge!(INFLIGHT_REQUESTS, "model" => m.clone()),
            active: metrics::gauge!(ACTIVE_REQUESTS, "model" => m.clone()),
            queued: metrics::gauge!(QUEUED_REQUESTS, "model" => m.clone()),
            output_tokens: metrics::counter!(OUTPUT_TOKENS_TOTAL, "model" => m.clone()),
            ttft: metrics::histogram!(TIME_TO_FIRST_TOKEN_SECONDS, "model" => m.clone()),
            itl: metrics::histogram!(INTER_TOKEN_LATENCY_SECONDS, "model" => m.clone()),
            duration: metrics::histogram!(REQUEST_DURATION_SECONDS, "model" => m.clone()),
            isl: metrics::histogram!(INPUT_SEQUENCE_TOKENS, "model" => m.clone()),
            osl: metrics::histogram!(OUTPUT_SEQUENCE_TOKENS, "model" => m),
        }
    }
}

fn describe_all() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(REQUESTS_TOTAL, "Total number of LLM requests processed");
    describe_counter!(
        REQUESTS_STARTED_TOTAL,
        "Total number of LLM requests accepted by the frontend handler"
    );
    describe_gauge!(INFLIGHT_REQUESTS, "Number of inflight requests");
    describe_gauge!(
        ACTIVE_REQUESTS,
        "Number of requests currently being handled by the frontend, from HTTP handler entry to response completion"
    );
    describe_gauge!(
        QUEUED_REQUESTS,
        "Number of requests in HTTP processing queue"
    );
    describe_gauge!(DISCONNECTED_CLIENTS, "Number of disconnected clients");
    describe_counter!(
        MODEL_CANCELLATION_TOTAL,
        "Total number of request cancellations"
    );
    describe_counter!(
        OUTPUT_TOKENS_TOTAL,
        "Total number of output tokens generated (updates in real-time)"
    );
    for (name, help, _) in HISTOGRAMS {
        let unit = if name.ends_with("_seconds") {
            Unit::Seconds
        } else {
            Unit::Count
        };
        describe_histogram!(name, unit, help);
    }
}

/// What every request shares: the recorder, the disconnect gauge, the CPU meters.
struct Shared {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    disconnected: Gauge,
    spent: Spent,
    ended: AtomicU64,
    conflicts: AtomicU64,
}

impl Shared {
    /// Runs `f` with this frontend's recorder as the facade's current one (the library's
    /// per-worker gauges resolve through the facade).
    fn with_recorder<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, f)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The gauge-handle cache keys on the recorder's address, which may be reused now.
        reqtrack::forget_gauge_handles();
    }
}

/// Histograms are drained into their buckets at every scrape and after this many requests, so
/// memory stays bounded when nobody scrapes.
const UPKEEP_EVERY: u64 = 1024;

/// The frontend's metrics: its own Prometheus recorder (not the process-global one, so several
/// frontends, e.g. in tests, never share series) and the handles of every label set.
#[derive(Clone)]
pub struct Telemetry {
    shared: Arc<Shared>,
    /// Per served model (and [`UNKNOWN_MODEL`]): `[endpoint][streaming]`.
    families: Arc<HashMap<String, [[Arc<Family>; 2]; 2]>>,
}

impl Telemetry {
    /// A recorder with Dynamo's buckets, and the handles for `models` plus [`UNKNOWN_MODEL`].
    pub fn new(models: &[String]) -> Result<Self, BuildError> {
        let builder = HISTOGRAMS.iter().try_fold(
            PrometheusBuilder::new(),
            |builder, &(name, _, (min, max, count))| {
                builder.set_buckets_for_metric(
                    Matcher::Full(name.to_owned()),
                    &log_buckets(min, max, count),
                )
            },
        )?;
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        let (disconnected, families) = metrics::with_local_recorder(&recorder, || {
            describe_all();
            let families = models
                .iter()
                .map(String::as_str)
                .chain([UNKNOWN_MODEL])
                .map(|m| {
                    let family = |e, s| Arc::new(Family::resolve(m, e, s));
                    let by_endpoint = |e| [family(e, false), family(e, true)];
                    let families = [
                        by_endpoint(Endpoint::ChatCompletions),
                        by_endpoint(Endpoint::Completions),
                    ];
                    (m.to_owned(), families)
                })
                .collect();
            (metrics::gauge!(DISCONNECTED_CLIENTS), families)
        });
        Ok(Self {
            shared: Arc::new(Shared {
                recorder,
                handle,
                disconnected,
                spent: Spent::default(),
                ended: AtomicU64::new(0),
                conflicts: AtomicU64::new(0),
            }),
            families: Arc::new(families),
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.shared.handle.render()
    }

    /// Time spent inside tracker and metrics calls by every ended request so far.
    pub fn spent(&self) -> SpentTotals {
        self.shared.spent.totals()
    }

    /// Worker conflicts the trackers of ended requests counted.
    pub fn worker_conflicts(&self) -> u64 {
        self.shared.conflicts.load(Ordering::Relaxed)
    }

    /// A request begins: its tracker (received at `arrival`), `requests_started_total`, and the
    /// in-flight, active and queued gauges. A `model` that is not served is labelled
    /// [`UNKNOWN_MODEL`].
    pub fn start_request(
        &self,
        arrival: Arrival,
        model: &str,
        endpoint: Endpoint,
        streaming: bool,
    ) -> RequestTelemetry {
        let by_endpoint = self
            .families
            .get(model)
            .or_else(|| self.families.get(UNKNOWN_MODEL))
            .expect("the unknown-model families are built in new()");
        let family = Arc::clone(&by_endpoint[endpoint as usize][usize::from(streaming)]);
        let mut meter = Meter::default();
        let tracker = meter.tracker(|| {
            Arc::new(RequestTracker::with_received_at(
                arrival.instant,
                arrival.epoch_ms,
            ))
        });
        meter.metrics(|| {
            family.started.increment(1);
            family.inflight.increment(1.0);
            family.active.increment(1.0);
            family.queued.increment(1.0);
        });
        RequestTelemetry {
            tracker,
            family,
            shared: Arc::clone(&self.shared),
            meter,
            queued: true,
            itl_mark: None,
            ended: false,
        }
    }
}

/// The HTTP side of one request. Drop it unfinished and the request ends as a disconnect.
pub struct RequestTelemetry {
    tracker: Arc<RequestTracker>,
    family: Arc<Family>,
    shared: Arc<Shared>,
    meter: Meter,
    /// Still counted in `queued_requests` (until the first token-bearing chunk or the end).
    queued: bool,
    /// `(finish ms, osl)` at the last ITL observation; `None` before the first token.
    itl_mark: Option<(f64, u64)>,
    ended: bool,
}

impl RequestTelemetry {
    /// The prompt was tokenized in `latency`.
    pub fn tokenized(&mut self, latency: Duration) {
        let t = &self.tracker;
        self.meter.tracker(|| t.record_tokenize_latency(latency));
    }

    /// The cluster side of this request.
    pub fn backend(&self) -> BackendTelemetry {
        BackendTelemetry {
            tracker: Arc::clone(&self.tracker),
            shared: Arc::clone(&self.shared),
            meter: Meter::default(),
        }
    }

    /// One token was turned into text in `latency`.
    pub fn detokenized(&mut self, latency: Duration) {
        let t = &self.tracker;
        self.meter.tracker(|| t.record_detokenize_latency(latency));
    }

    /// A chunk carrying `tokens` output tokens goes to the client. The first one leaves the
    /// queue and observes TTFT and ISL; later ones observe ITL whenever the backend has
    /// recorded a new KV-block finish.
    pub fn on_chunk(&mut self, tokens: usize) {
        if tokens == 0 {
            return;
        }
        let t = &self.tracker;
        let (first, queued, mark) = (self.itl_mark.is_none(), self.queued, self.itl_mark);
        // First chunk: TTFT and ISL. Later: the latest finish and osl, finish read first.
        let (a, b) = self.meter.tracker(|| {
            if first {
                (t.ttft_ms(), t.isl_tokens().map(|n| n as u64))
            } else {
                (t.total_time_ms(), Some(t.osl_tokens()))
            }
        });
        let f = &self.family;
        let new_mark = self.meter.metrics(|| {
            f.output_tokens.increment(tokens as u64);
            if queued {
                f.queued.decrement(1.0);
            }
            match mark {
                None => {
                    let ttft = a?;
                    f.ttft.record(ttft / 1000.0);
                    if let Some(isl) = b {
                        f.isl.record(isl as f64);
                    }
                    Some((ttft, 1))
                }
                Some((last_ms, last_osl)) => match (a, b) {
                    (Some(finish), Some(osl)) if osl > last_osl && finish >= last_ms => {
                        let n = osl - last_osl;
                        let itl = (finish - last_ms) / n as f64 / 1000.0;
                        f.itl
                            .record_many(itl, usize::try_from(n).unwrap_or(usize::MAX));
                        Some((finish, osl))
                    }
                    _ => Some((last_ms, last_osl)),
                },
            }
        });
        self.queued = false;
        self.itl_mark = new_mark;
    }

    /// The response's `nvext` with the fields the client asked for; `None` when it asked for
    /// none (or none is known yet).
    pub fn nvext(&mut self, timing: bool, worker_id: bool) -> Option<NvExtResponse> {
        let t = &self.tracker;
        self.meter
            .tracker(|| NvExtResponse::from_tracker(t, timing, worker_id))
            .into_non_empty()
    }

    /// The request succeeded: the finish is stamped and `requests_total{status="success"}`.
    pub fn finish(mut self) -> Completed {
        self.end(None);
        self.completed()
    }

    /// The request failed with `kind`.
    pub fn on_error(mut self, kind: ErrorKind) {
        self.end(Some(kind));
    }

    fn completed(&self) -> Completed {
        Completed {
            tracker: Arc::clone(&self.tracker),
            shared: Arc::clone(&self.shared),
            meter: Meter::default(),
        }
    }

    fn end(&mut self, error: Option<ErrorKind>) {
        self.ended = true;
        let t = &self.tracker;
        let (total_ms, osl, conflicts) = self.meter.tracker(|| {
            t.record_finish();
            (t.total_time_ms(), t.osl_tokens(), t.worker_conflicts())
        });
        let (f, shared, queued) = (&self.family, &self.shared, self.queued);
        self.meter.metrics(|| {
            if queued {
                f.queued.decrement(1.0);
            }
            f.inflight.decrement(1.0);
            f.active.decrement(1.0);
            match error {
                None => f.succeeded.increment(1),
                Some(kind) => f.failed[kind as usize].increment(1),
            }
            if error == Some(ErrorKind::Cancelled) {
                shared.disconnected.increment(1.0);
                f.cancellations.increment(1);
            }
            if let Some(ms) = total_ms {
                f.duration.record(ms / 1000.0);
            }
            if osl > 0 {
                f.osl.record(osl as f64);
            }
            if shared.ended.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
                shared.handle.run_upkeep();
            }
        });
        self.queued = false;
        shared
            .conflicts
            .fetch_add(u64::from(conflicts), Ordering::Relaxed);
        shared.spent.absorb(&mut self.meter);
    }
}

impl Drop for RequestTelemetry {
    fn drop(&mut self) {
        if !self.ended {
            self.end(Some(ErrorKind::Cancelled));
        }
    }
}

trait NonEmpty: Sized {
    fn into_non_empty(self) -> Option<Self>;
}

impl NonEmpty for NvExtResponse {
    fn into_non_empty(self) -> Option<Self> {
        (!self.is_empty()).then_some(self)
    }
}

/// A finished request's figures, read from its tracker after the end.
pub struct Completed {
    tracker: Arc<RequestTracker>,
    shared: Arc<Shared>,
    meter: Meter,
}

/// The stages of a finished request, milliseconds (each `None` if never reached).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimingReport {
    /// Received to prefill start.
    pub queue_ms: Option<f64>,
    /// Prefill start to first token.
    pub prefill_ms: Option<f64>,
    /// Received to first token.
    pub ttft_ms: Option<f64>,
    /// First token to finish.
    pub decode_ms: Option<f64>,
    /// Received to finish.
    pub total_ms: Option<f64>,
    /// Tokenizing the prompt.
    pub tokenize_ms: Option<f64>,
    /// Output tokens.
    pub output_tokens: u64,
}

impl Completed {
    /// The response's `nvext` (see [`RequestTelemetry::nvext`]).
    pub fn nvext(&mut self, timing: bool, worker_id: bool) -> Option<NvExtResponse> {
        let t = &self.tracker;
        self.meter
            .tracker(|| NvExtResponse::from_tracker(t, timing, worker_id))
            .into_non_empty()
    }

    /// The stage durations.
    pub fn report(&mut self) -> TimingReport {
        let t = &self.tracker;
        self.meter.tracker(|| {
            let (ttft_ms, total_ms) = (t.ttft_ms(), t.total_time_ms());
            TimingReport {
                queue_ms: t.prefill_wait_time_ms(),
                prefill_ms: t.prefill_time_ms(),
                ttft_ms,
                decode_ms: ttft_ms.zip(total_ms).map(|(a, b)| (b - a).max(0.0)),
                total_ms,
                tokenize_ms: t.tokenize_latency().map(|d| d.as_secs_f64() * 1000.0),
                output_tokens: t.osl_tokens(),
            }
        })
    }
}

impl Drop for Completed {
    fn drop(&mut self) {
        self.shared.spent.absorb(&mut self.meter);
    }
}

/// What the router decided for a request.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// Requests pending in the router's queue at routing time.
    pub queue_depth: usize,
    /// Leading prompt blocks found in the chosen prefill worker's cache.
    pub overlap_blocks: u32,
    /// Prompt length in KV blocks.
    pub isl_blocks: usize,
    /// Prompt length in tokens.
    pub isl_tokens: usize,
    /// Prompt tokens found in cache.
    pub cached_tokens: usize,
}

/// The cluster side of one request: routing, workers, tokens.
pub struct BackendTelemetry {
    tracker: Arc<RequestTracker>,
    shared: Arc<Shared>,
    meter: Meter,
}

impl BackendTelemetry {
    /// The router placed the request.
    pub fn routed(&mut self, r: Route) {
        let t = &self.tracker;
        self.meter.tracker(|| {
            t.record_router_queue_depth(r.queue_depth);
            t.record_kv_hit(r.overlap_blocks, r.isl_blocks);
            t.record_isl(r.isl_tokens, r.cached_tokens);
        });
    }

    /// Enters the prefill phase; the returned value holds the phase permit (it can move into
    /// the prefill task) until [`PrefillTelemetry::assigned`].
    pub async fn prefill(&self) -> PrefillTelemetry {
        let permit = self.tracker.set_phase_owned(RequestPhase::Prefill).await;
        PrefillTelemetry {
            permit: Some(permit),
            tracker: Arc::clone(&self.tracker),
            shared: Arc::clone(&self.shared),
            meter: Meter::default(),
        }
    }

    /// Enters the decode phase (waits for the prefill task's permit) and records the decode
    /// worker.
    pub async fn decode_assigned(&mut self, worker: u64, dp_rank: u32) {
        let t = &self.tracker;
        let permit = t.set_phase(RequestPhase::Decode).await;
        self.meter
            .tracker(|| t.record_worker_full(worker, dp_rank, WORKER_TYPE_DECODE));
        drop(permit);
    }

    /// The decode worker produced its first token (after the KV transfer).
    pub fn decode_first_token(&mut self) {
        let t = &self.tracker;
        self.meter.tracker(|| {
            t.record_decode_first_token();
            t.record_first_token(); // kept only if prefill did not record one
        });
        let shared = &self.shared;
        self.meter
            .metrics(|| shared.with_recorder(|| t.observe_first_token_gauges()));
    }

    /// A KV block of output is complete: `osl` tokens so far.
    pub fn block_done(&mut self, osl: usize) {
        let t = &self.tracker;
        self.meter.tracker(|| {
            t.record_osl(osl);
            t.record_finish();
        });
        let shared = &self.shared;
        self.meter
            .metrics(|| shared.with_recorder(|| t.observe_finish_gauges()));
    }
}

impl Drop for BackendTelemetry {
    fn drop(&mut self) {
        self.shared.spent.absorb(&mut self.meter);
    }
}

/// The prefill task's side; holds the phase permit until the worker is recorded.
pub struct PrefillTelemetry {
    permit: Option<OwnedPhasePermit>,
    tracker: Arc<RequestTracker>,
    shared: Arc<Shared>,
    meter: Meter,
}

impl PrefillTelemetry {
    /// The prefill worker took the request; releases the phase permit.
    pub fn assigned(&mut self, worker: u64, dp_rank: u32) {
        let t = &self.tracker;
        self.meter
            .tracker(|| t.record_worker_full(worker, dp_rank, WORKER_TYPE_PREFILL));
        self.permit = None;
    }

    /// Prefill started.
    pub fn started(&mut self) {
        let t = &self.tracker;
        self.meter.tracker(|| t.record_prefill_start());
    }

    /// Prefill produced the first token and completed.
    pub fn first_token(&mut self) {
        let t = &self.tracker;
        self.meter.tracker(|| {
            t.record_first_token();
            t.record_prefill_complete();
        });
    }
}

impl Drop for PrefillTelemetry {
    fn drop(&mut self) {
        self.shared.spent.absorb(&mut self.meter);
    }
}
