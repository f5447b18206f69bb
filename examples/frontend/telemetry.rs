//! Every tracker and request-metrics call of the frontend, behind one small API.
//!
//! Handlers and the simulated cluster never call `reqtrack` or `metrics` themselves; they report
//! events here.
//!
//! * [`Telemetry`]: the Prometheus recorder and one [`ModelMetrics`] per served model plus one
//!   for [`UNKNOWN_MODEL`], created inside the recorder's scope at start-up;
//!   [`Telemetry::start_request`] and [`Telemetry::reject`].
//! * [`RequestTelemetry`]: the HTTP side of one accepted request, wrapping the library's
//!   [`StreamMetrics`] (`tokenized`, `on_chunk`, `detokenized`, `nvext`, then `finish` or
//!   `on_error`). **Dropping it unfinished is a client disconnect**: the request ends as
//!   `error`/`cancelled`.
//! * [`BackendTelemetry`] / [`PrefillTelemetry`]: the cluster side (routing, the prefill phase
//!   holding the phase permit, the decode worker, first token).
//! * [`Completed`]: what a finished request reports (`nvext`, [`TimingReport`]).
//!
//! # Who records what
//!
//! The request metrics are the library's (`reqtrack::{ModelMetrics, RequestGuard,
//! StreamMetrics}`): Dynamo's names, labels, help strings and buckets (`dynamo_frontend_*`),
//! every value read from the tracker's stamps. This file adds only what the library leaves to
//! the frontend:
//!
//! * the buckets: [`DEFAULT_BUCKETS`] applied to the exporter by hand (no crate feature needed);
//! * the per-worker gauges (`observe_first_token_gauges` at the decode worker's first token,
//!   `observe_finish_gauges` every [`GAUGE_REFRESH_TOKENS`] output tokens and at a successful
//!   finish).
//!
//! **osl and the finish belong to the response stream.** [`StreamMetrics::observe_chunk`]
//! stamps them per chunk as one value (`record_osl_and_finish_at`), at the time the chunk goes
//! to the client; the engine stamps neither. Two writers would fight: osl is last-write-wins,
//! so an engine stamp at a block boundary followed by a lagging chunk stamp would move osl
//! backwards. The finish the last chunk stamped is the request's finish (`finish` keeps it), so
//! the client's `total_time_ms` and the duration histogram are the same number.
//!
//! # Recorder scope
//!
//! The frontend has its own recorder (not the process-global one, so several frontends, e.g. in
//! tests, never share series), installed per call with `metrics::with_local_recorder`.
//! Each `ModelMetrics` is built for that recorder (`ModelMetrics::with_recorder`) and registers
//! each series there at its first use, wherever the call runs; only the per-worker gauges go
//! through the facade, inside [`Shared::with_recorder`].
//!
//! Time inside tracker calls and inside request-metrics calls is metered ([`super::meter`])
//! for the load generator's summary; the stamps `StreamMetrics` makes itself (first token, osl
//! and finish) count as request-metrics time.

use super::meter::{Meter, Spent, SpentTotals};
use metrics_exporter_prometheus::{
    BuildError, Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use reqtrack::{
    DEFAULT_BUCKETS, ErrorType, ModelMetrics, NvExtResponse, Outcome, OwnedPhasePermit, Prefix,
    RequestGuard, RequestPhase, RequestTracker, RequestType, StreamMetrics, WORKER_TYPE_DECODE,
    WORKER_TYPE_PREFILL,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The `model` label of requests for a model that is not served (or could not be parsed), so
/// client-chosen strings never become label values (Dynamo's `UNKNOWN_METRIC_MODEL`).
pub const UNKNOWN_MODEL: &str = "unknown_model";

/// The decode worker's ITL gauge is refreshed each time the stream's osl crosses a multiple of
/// this (one output KV block of 16 tokens), and at a successful finish.
pub const GAUGE_REFRESH_TOKENS: u64 = 16;

/// The full name of the frontend's metric with this suffix (a `reqtrack::names` constant):
/// `dynamo_frontend_{suffix}`.
pub fn metric_name(suffix: &str) -> String {
    Prefix::default().name(suffix)
}

/// The route a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v1/chat/completions`.
    ChatCompletions,
    /// `POST /v1/completions`.
    Completions,
}

impl Endpoint {
    /// The `endpoint` label value.
    pub const fn label(self) -> reqtrack::Endpoint {
        match self {
            Self::ChatCompletions => reqtrack::Endpoint::ChatCompletions,
            Self::Completions => reqtrack::Endpoint::Completions,
        }
    }
}

const fn request_type(streaming: bool) -> RequestType {
    if streaming {
        RequestType::Stream
    } else {
        RequestType::Unary
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

    fn tracker(self) -> Arc<RequestTracker> {
        Arc::new(RequestTracker::with_received_at(
            self.instant,
            self.epoch_ms,
        ))
    }
}

/// One model's handles (the library's).
struct Served {
    metrics: Arc<ModelMetrics>,
}

impl Served {
    /// `model`'s handles, in `recorder`.
    fn resolve(prefix: &Prefix, model: &str, recorder: &Arc<PrometheusRecorder>) -> Self {
        Self {
            metrics: Arc::new(ModelMetrics::with_recorder(prefix, model, recorder.clone())),
        }
    }
}

/// What every request shares: the recorder, the CPU meters.
struct Shared {
    recorder: Arc<PrometheusRecorder>,
    handle: PrometheusHandle,
    spent: Spent,
    ended: AtomicU64,
    conflicts: AtomicU64,
}

impl Shared {
    /// Runs `f` with this frontend's recorder as the facade's current one (see the module docs).
    fn with_recorder<T>(&self, f: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&*self.recorder, f)
    }

    /// A request ended: its meter and worker conflicts join the totals, and every
    /// [`UPKEEP_EVERY`] ends the histograms are drained into their buckets.
    fn request_ended(&self, meter: &mut Meter, conflicts: u32) {
        self.conflicts
            .fetch_add(u64::from(conflicts), Ordering::Relaxed);
        if self.ended.fetch_add(1, Ordering::Relaxed) % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            meter.metrics(|| self.handle.run_upkeep());
        }
        self.spent.absorb(meter);
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

/// The frontend's metrics: its own Prometheus recorder with the library's default buckets, and
/// the handles of every served model and [`UNKNOWN_MODEL`].
#[derive(Clone)]
pub struct Telemetry {
    shared: Arc<Shared>,
    models: Arc<HashMap<String, Served>>,
}

impl Telemetry {
    /// A recorder with Dynamo's buckets, and the handles for `models` plus [`UNKNOWN_MODEL`].
    pub fn new(models: &[String]) -> Result<Self, BuildError> {
        let prefix = Prefix::default();
        let builder = DEFAULT_BUCKETS.iter().try_fold(
            PrometheusBuilder::new(),
            |builder, &(suffix, buckets)| {
                builder.set_buckets_for_metric(Matcher::Full(prefix.name(suffix)), buckets)
            },
        )?;
        let recorder = Arc::new(builder.build_recorder());
        let handle = recorder.handle();
        let models = models
            .iter()
            .map(String::as_str)
            .chain([UNKNOWN_MODEL])
            .map(|m| (m.to_owned(), Served::resolve(&prefix, m, &recorder)))
            .collect();
        Ok(Self {
            shared: Arc::new(Shared {
                recorder,
                handle,
                spent: Spent::default(),
                ended: AtomicU64::new(0),
                conflicts: AtomicU64::new(0),
            }),
            models: Arc::new(models),
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

    /// `model`'s handles; [`UNKNOWN_MODEL`]'s for a model that is not served.
    fn served(&self, model: &str) -> &Served {
        self.models
            .get(model)
            .or_else(|| self.models.get(UNKNOWN_MODEL))
            .expect("the unknown-model handles are built in new()")
    }

    /// An accepted request begins: its tracker (received at `arrival`) and its
    /// [`StreamMetrics`] (`requests_started_total`, the in-flight, active and queued gauges).
    /// The engine starts right away, so the request is a stream from here on: any drop before
    /// the end is a disconnect.
    pub fn start_request(
        &self,
        arrival: Arrival,
        model: &str,
        endpoint: Endpoint,
        streaming: bool,
    ) -> RequestTelemetry {
        let served = self.served(model);
        let mut meter = Meter::default();
        let tracker = meter.tracker(|| arrival.tracker());
        let stream = meter.metrics(|| {
            self.shared.with_recorder(|| {
                RequestGuard::new(
                    Arc::clone(&served.metrics),
                    Arc::clone(&tracker),
                    endpoint.label(),
                    request_type(streaming),
                )
                .into_stream()
            })
        });
        RequestTelemetry {
            tracker,
            stream: Some(stream),
            shared: Arc::clone(&self.shared),
            meter,
        }
    }

    /// A request refused before any work (bad input, unknown model) with `error`: started and
    /// ended at once, under [`UNKNOWN_MODEL`] when `model` is not served.
    pub fn reject(
        &self,
        arrival: Arrival,
        model: &str,
        endpoint: Endpoint,
        streaming: bool,
        error: ErrorType,
    ) {
        let served = self.served(model);
        let mut meter = Meter::default();
        let tracker = meter.tracker(|| arrival.tracker());
        meter.metrics(|| {
            self.shared.with_recorder(|| {
                let guard = RequestGuard::new(
                    Arc::clone(&served.metrics),
                    Arc::clone(&tracker),
                    endpoint.label(),
                    request_type(streaming),
                );
                guard.finish(Outcome::Error(error));
            });
        });
        self.shared.request_ended(&mut meter, 0);
    }
}

/// The HTTP side of one accepted request. Drop it unfinished and the request ends as a
/// disconnect.
pub struct RequestTelemetry {
    tracker: Arc<RequestTracker>,
    /// `None` once ended.
    stream: Option<StreamMetrics>,
    shared: Arc<Shared>,
    meter: Meter,
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

    /// A chunk carrying `tokens` output tokens goes to the client now
    /// ([`StreamMetrics::observe_chunk`]: TTFT at the first, ITL after, osl and finish every
    /// time); refreshes the decode worker's ITL gauge at each [`GAUGE_REFRESH_TOKENS`] boundary.
    pub fn on_chunk(&mut self, tokens: usize) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        let before = stream.osl();
        let after = self.meter.metrics(|| {
            stream.observe_chunk(tokens, Instant::now());
            stream.osl()
        });
        if before / GAUGE_REFRESH_TOKENS != after / GAUGE_REFRESH_TOKENS {
            self.observe_finish_gauges();
        }
    }

    /// The response's `nvext` with the fields the client asked for; `None` when it asked for
    /// none (or none is known yet).
    pub fn nvext(&mut self, timing: bool, worker_id: bool) -> Option<NvExtResponse> {
        nvext(&self.tracker, &mut self.meter, timing, worker_id)
    }

    /// The request succeeded: `requests_total{status="success"}` and the end-of-request
    /// histograms, with the finish the last chunk stamped.
    pub fn finish(mut self) -> Completed {
        // The last chunk stamped the final osl and finish; refresh unless it already did.
        if self
            .stream
            .as_ref()
            .is_some_and(|s| s.osl() % GAUGE_REFRESH_TOKENS != 0)
        {
            self.observe_finish_gauges();
        }
        self.end(Outcome::Success);
        Completed {
            tracker: Arc::clone(&self.tracker),
            shared: Arc::clone(&self.shared),
            meter: Meter::default(),
        }
    }

    /// The request failed with `error`.
    pub fn on_error(mut self, error: ErrorType) {
        self.end(Outcome::Error(error));
    }

    fn observe_finish_gauges(&mut self) {
        let (t, shared) = (&self.tracker, &self.shared);
        self.meter
            .metrics(|| shared.with_recorder(|| t.observe_finish_gauges()));
    }

    /// Ends the request once: with `outcome`, or, for `None`, as a client disconnect.
    fn end_with(&mut self, outcome: Option<Outcome>) {
        let Some(stream) = self.stream.take() else {
            return;
        };
        let shared = &self.shared;
        self.meter.metrics(|| {
            shared.with_recorder(|| match outcome {
                Some(outcome) => stream.finish(outcome),
                None => stream.client_disconnected(),
            });
        });
        let t = &self.tracker;
        let conflicts = self.meter.tracker(|| t.worker_conflicts());
        self.shared.request_ended(&mut self.meter, conflicts);
    }

    fn end(&mut self, outcome: Outcome) {
        self.end_with(Some(outcome));
    }
}

impl Drop for RequestTelemetry {
    fn drop(&mut self) {
        self.end_with(None);
    }
}

fn nvext(
    t: &RequestTracker,
    meter: &mut Meter,
    timing: bool,
    worker_id: bool,
) -> Option<NvExtResponse> {
    let nvext = meter.tracker(|| NvExtResponse::from_tracker(t, timing, worker_id));
    (!nvext.is_empty()).then_some(nvext)
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
        nvext(&self.tracker, &mut self.meter, timing, worker_id)
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

/// The cluster side of one request: routing, workers, the first token.
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
