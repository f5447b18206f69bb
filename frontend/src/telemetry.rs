//! The frontend's metrics: its recorder, the served models' registry and the layer built on
//! them; and what is the simulated cluster's own: its engine events on each request's tracker.
//!
//! Everything per request (the guard, chunks, the outcome, disconnects, the timing headers and
//! trailers) is the layer's ([`reqtrack::tower`]); the handlers declare and report tokens
//! ([`super::handlers`]). What stays here:
//!
//! * [`Telemetry`]: a Prometheus recorder of the frontend's own (not the process-global one, so
//!   several frontends, e.g. in tests, never share series) with the library's default buckets,
//!   and a [`ServedModels`] registry that keeps it and makes it current around every call that
//!   resolves a handle; [`Telemetry::layer`] is the `TrackLayer` the router wears.
//! * [`BackendTelemetry`] / [`PrefillTelemetry`]: the cluster side (routing, the prefill phase
//!   holding the phase permit, the decode worker, first token) and the per-worker gauges
//!   (`observe_first_token_gauges` at the decode worker's first token,
//!   `observe_finish_gauges` every [`GAUGE_REFRESH_TOKENS`] output tokens and at the end).
//!
//! With `--tracking off` the handlers have no tracker to give: [`Telemetry::backend`] with
//! `None` returns a [`BackendTelemetry`] whose every call does nothing (no tracker call, no
//! gauge, no phase permit), so the engine runs the same code with nothing recorded.
//!
//! **osl and the finish belong to the response stream**: the layer stamps them per chunk as
//! one value, at the time the chunk goes to the client; the engine stamps neither (two writers
//! would move osl backwards: it is last-write-wins).

use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use reqtrack::otel::RequestTracer;
use reqtrack::tower::TrackLayer;
use reqtrack::{
    OwnedPhasePermit, Prefix, RequestPhase, RequestTracker, RequestType, ServedModels,
    WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The decode worker's ITL gauge is refreshed each time the stream's osl crosses a multiple of
/// this (one output KV block of 16 tokens), and at the end.
pub const GAUGE_REFRESH_TOKENS: u64 = 16;

/// The full name of the frontend's metric with this suffix (a `reqtrack::names` constant or
/// [`reqtrack::names::MODEL_CANCELLATION_TOTAL`]): `dynamo_frontend_{suffix}`.
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

/// The `request_type` label of a request that asked to stream (or not).
pub const fn request_type(streaming: bool) -> RequestType {
    if streaming {
        RequestType::Stream
    } else {
        RequestType::Unary
    }
}

/// The frontend's metrics: its recorder and the served models' registry.
#[derive(Clone)]
pub struct Telemetry {
    handle: PrometheusHandle,
    models: Arc<ServedModels>,
    /// The models have a tracer: the layer extracts `traceparent`.
    traced: bool,
    conflicts: Arc<AtomicU64>,
}

impl Telemetry {
    /// A recorder with the library's default buckets, and the registry of `models` (plus
    /// `unknown_model`) inside it.
    ///
    /// With `tracer`, each request is also a trace ([`ServedModels::with_tracer`]) and the
    /// layer honours the incoming W3C `traceparent` (the SDK's `TraceContextPropagator`).
    pub fn new(
        models: &[String],
        tracer: Option<Arc<dyn RequestTracer + Send + Sync>>,
    ) -> Result<Self, BuildError> {
        let prefix = Prefix::default();
        let recorder =
            reqtrack::with_default_buckets(PrometheusBuilder::new(), &prefix)?.build_recorder();
        let handle = recorder.handle();
        let models = ServedModels::with_recorder(Arc::new(recorder), &prefix, models);
        let traced = tracer.is_some();
        let models = match tracer {
            Some(tracer) => models.with_tracer(tracer),
            None => models,
        };
        Ok(Self {
            handle,
            models: Arc::new(models),
            traced,
            conflicts: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The layer the router wears; with a tracer, it extracts each request's W3C trace
    /// context.
    pub fn layer(&self) -> TrackLayer {
        let layer = TrackLayer::new(Arc::clone(&self.models));
        if self.traced {
            layer.trace_propagator(Arc::new(TraceContextPropagator::new()))
        } else {
            layer
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains the histograms into their buckets (also done at every render).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Worker conflicts the trackers of finished engine runs counted.
    pub fn worker_conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// The cluster side of the request tracked by `tracker`; with `None` (tracking off) every
    /// call on it does nothing.
    pub fn backend(&self, tracker: Option<&Arc<RequestTracker>>) -> BackendTelemetry {
        BackendTelemetry {
            tracker: tracker.map(Arc::clone),
            models: Arc::clone(&self.models),
            conflicts: Arc::clone(&self.conflicts),
        }
    }

    /// Refreshes the decode worker's gauges from `tracker` (its osl and finish so far).
    pub fn observe_finish_gauges(&self, tracker: &RequestTracker) {
        self.models.in_scope(|| tracker.observe_finish_gauges());
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

/// The cluster side of one request: routing, workers, the first token (nothing when
/// untracked).
pub struct BackendTelemetry {
    tracker: Option<Arc<RequestTracker>>,
    models: Arc<ServedModels>,
    conflicts: Arc<AtomicU64>,
}

impl BackendTelemetry {
    /// The router placed the request.
    pub fn routed(&mut self, r: Route) {
        let Some(t) = &self.tracker else { return };
        t.record_router_queue_depth(r.queue_depth);
        t.record_kv_hit(r.overlap_blocks, r.isl_blocks);
        t.record_isl(r.isl_tokens, r.cached_tokens);
    }

    /// Enters the prefill phase; the returned value holds the phase permit (it can move into
    /// the prefill task) until [`PrefillTelemetry::assigned`].
    pub async fn prefill(&self) -> PrefillTelemetry {
        let permit = match &self.tracker {
            Some(t) => Some(t.set_phase_owned(RequestPhase::Prefill).await),
            None => None,
        };
        PrefillTelemetry {
            permit,
            tracker: self.tracker.clone(),
        }
    }

    /// Enters the decode phase (waits for the prefill task's permit) and records the decode
    /// worker.
    pub async fn decode_assigned(&mut self, worker: u64, dp_rank: u32) {
        let Some(t) = &self.tracker else { return };
        let _permit = t.set_phase(RequestPhase::Decode).await;
        t.record_worker_full(worker, dp_rank, WORKER_TYPE_DECODE);
    }

    /// The decode worker produced its first token (after the KV transfer).
    pub fn decode_first_token(&mut self) {
        let Some(t) = &self.tracker else { return };
        t.record_decode_first_token();
        t.record_first_token(); // kept only if prefill did not record one
        self.models.in_scope(|| t.observe_first_token_gauges());
    }
}

impl Drop for BackendTelemetry {
    fn drop(&mut self) {
        let Some(t) = &self.tracker else { return };
        let conflicts = u64::from(t.worker_conflicts());
        self.conflicts.fetch_add(conflicts, Ordering::Relaxed);
    }
}

/// The prefill task's side; holds the phase permit until the worker is recorded (nothing
/// when untracked).
pub struct PrefillTelemetry {
    permit: Option<OwnedPhasePermit>,
    tracker: Option<Arc<RequestTracker>>,
}

impl PrefillTelemetry {
    /// The prefill worker took the request; releases the phase permit.
    pub fn assigned(&mut self, worker: u64, dp_rank: u32) {
        if let Some(t) = &self.tracker {
            t.record_worker_full(worker, dp_rank, WORKER_TYPE_PREFILL);
        }
        self.permit = None;
    }

    /// Prefill started.
    pub fn started(&mut self) {
        if let Some(t) = &self.tracker {
            t.record_prefill_start();
        }
    }

    /// Prefill produced the first token and completed.
    pub fn first_token(&mut self) {
        if let Some(t) = &self.tracker {
            t.record_first_token();
            t.record_prefill_complete();
        }
    }
}
