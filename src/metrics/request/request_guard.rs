//! [`RequestGuard`]: one request's outcome and in-flight accounting.
//!
//! | when | what |
//! |---|---|
//! | [`RequestGuard::new`] | `requests_started_total` +1; `inflight_requests`, `active_requests`, `queued_requests` +1 |
//! | first token-bearing chunk ([`StreamMetrics`]) | `queued_requests` −1 |
//! | [`finish`](RequestGuard::finish) with an [`Outcome`] | `requests_total{status, error_type}` +1; the end-of-request histograms |
//! | [`reject`](RequestGuard::reject) (refused for load) | `model_rejection_total{model, endpoint}` +1; then as `finish` with `error` / `overload` |
//! | dropped without an outcome, stream started | a client disconnect: `error` / `cancelled`, `disconnected_clients` and `model_cancellation_total` +1, the tracker's finish stamped |
//! | dropped without an outcome, no stream | `error` / `internal` (Dynamo's default) |
//! | drop, always | `inflight_requests`, `active_requests` −1 (and `queued_requests` −1 if still queued) |
//! | every end (feature `otel`, the model has a tracer) | the request's spans, as a child of the `with_trace_parent` context (the `trace` module) |
//!
//! The end of a request is observed exactly once, whichever way it ends. The guard has a single
//! owner (the handler, then the response stream): its state is plain fields, no atomics.

use super::end_of_request::observe_end;
use super::labels::{Endpoint, ErrorType, Outcome, RequestType};
use super::model_metrics::{GaugeSeries, ModelMetrics};
use super::stream_metrics::StreamMetrics;
use super::trace::{Ended, TraceParent};
use crate::RequestTracker;
use std::sync::Arc;
use std::time::Instant;

/// One request's in-flight and outcome accounting; see the module table.
///
/// Create it when the handler accepts the request; turn it into a [`StreamMetrics`] with
/// [`into_stream`](Self::into_stream) when the response stream starts (streamed or not: the
/// engine's stream); end it with [`finish`](Self::finish). No allocation after the first use of
/// each series it touches.
#[must_use = "dropping the guard ends the request (as an error)"]
#[derive(Debug)]
pub struct RequestGuard {
    pub(super) metrics: Arc<ModelMetrics>,
    pub(super) tracker: Arc<RequestTracker>,
    endpoint: Endpoint,
    request_type: RequestType,
    /// Counted in `queued_requests`.
    queued: bool,
    /// TTFT already recorded by the stream.
    ttft_recorded: bool,
    /// Turned into a stream: a drop without an outcome is a client disconnect.
    streaming: bool,
    /// The end was observed.
    ended: bool,
    /// The incoming request's trace context (zero-sized without the `otel` feature).
    trace: TraceParent,
}

impl RequestGuard {
    /// Starts a request of `metrics`' model, tracked by `tracker`: `requests_started_total`
    /// +1 and the in-flight, active and queued gauges +1.
    pub fn new(
        metrics: Arc<ModelMetrics>,
        tracker: Arc<RequestTracker>,
        endpoint: Endpoint,
        request_type: RequestType,
    ) -> Self {
        metrics.started(endpoint, request_type);
        for g in [
            GaugeSeries::Inflight,
            GaugeSeries::Active,
            GaugeSeries::Queued,
        ] {
            metrics.gauge(g, |g| g.increment(1.0));
        }
        Self {
            metrics,
            tracker,
            endpoint,
            request_type,
            queued: true,
            ttft_recorded: false,
            streaming: false,
            ended: false,
            trace: TraceParent::default(),
        }
    }

    /// Makes `parent` the trace context of this request's spans (feature `otel`): typically the
    /// incoming request's, extracted from its W3C `traceparent` with an `opentelemetry`
    /// propagator. Without it, a request whose model has a tracer starts a new trace. Kept
    /// until the end, where the model's tracer
    /// ([`ModelMetrics::with_tracer`](crate::ModelMetrics::with_tracer)) emits.
    #[cfg(feature = "otel")]
    pub fn with_trace_parent(mut self, parent: opentelemetry::Context) -> Self {
        self.trace.set(parent);
        self
    }

    /// The trace context given by [`with_trace_parent`](Self::with_trace_parent), if any.
    #[cfg(feature = "otel")]
    pub fn trace_parent(&self) -> Option<&opentelemetry::Context> {
        self.trace.get()
    }

    /// The request's tracker.
    pub fn tracker(&self) -> &Arc<RequestTracker> {
        &self.tracker
    }

    /// The model's metrics.
    pub fn model_metrics(&self) -> &Arc<ModelMetrics> {
        &self.metrics
    }

    /// The `endpoint` label of this request.
    pub fn endpoint(&self) -> Endpoint {
        self.endpoint
    }

    /// The `request_type` label of this request.
    pub fn request_type(&self) -> RequestType {
        self.request_type
    }

    /// The response stream starts: from now on a drop without an outcome is a client
    /// disconnect, and chunks are observed through the returned value.
    pub fn into_stream(mut self) -> StreamMetrics {
        self.streaming = true;
        StreamMetrics::new(self)
    }

    /// Ends the request with `outcome`: `requests_total` +1 and the end-of-request histograms.
    /// If the tracker has no finish of its own yet (no chunk went through a stream; a finish
    /// merged from another hop does not count), it is stamped now; an own finish is kept, so
    /// the duration equals the `total_time_ms` a client already received.
    pub fn finish(mut self, outcome: Outcome) {
        self.stamp_finish_if_unset(None);
        self.end(outcome, None);
    }

    /// [`finish`](Self::finish), stamping a missing finish at `now` instead of reading the clock.
    pub fn finish_at(mut self, outcome: Outcome, now: Instant) {
        self.stamp_finish_if_unset(Some(now));
        self.end(outcome, Some(now));
    }

    /// The request was refused for resource exhaustion (every worker busy; Dynamo answers
    /// 529): `model_rejection_total{model, endpoint}` +1, then it ends as
    /// [`finish`](Self::finish)`(Outcome::Error(ErrorType::Overload))`.
    pub fn reject(self) {
        self.metrics.rejected(self.endpoint);
        self.finish(Outcome::Error(ErrorType::Overload));
    }

    /// [`reject`](Self::reject), stamping a missing finish at `now`.
    pub fn reject_at(self, now: Instant) {
        self.metrics.rejected(self.endpoint);
        self.finish_at(Outcome::Error(ErrorType::Overload), now);
    }

    /// The client went away (detected by the caller, e.g. a unary handler's connection
    /// monitor): the tracker's finish stamped now, `disconnected_clients` and
    /// `model_cancellation_total` +1, `requests_total` as `error` / `cancelled`, and the
    /// end-of-request histograms.
    pub fn client_disconnected(self) {
        self.client_disconnected_at(Instant::now());
    }

    /// [`client_disconnected`](Self::client_disconnected) at `now`.
    pub fn client_disconnected_at(mut self, now: Instant) {
        self.disconnect(now);
    }

    // ---- for the stream -------------------------------------------------------------------

    /// The stream recorded TTFT: the request leaves the queue.
    pub(super) fn first_token_recorded(&mut self) {
        self.ttft_recorded = true;
        self.leave_queue();
    }

    // ---- the one end ------------------------------------------------------------------------

    /// Stamps the tracker's own finish if it has none. A finish merged from another hop
    /// (`set_external_timing`) does not count: the tracker's own values win, so a request that
    /// merged a router's timing and ends without chunks records its own duration.
    fn stamp_finish_if_unset(&self, now: Option<Instant>) {
        if !self.tracker.has_own_finish() {
            self.tracker
                .record_finish_at(now.unwrap_or_else(Instant::now));
        }
    }

    fn disconnect(&mut self, now: Instant) {
        if self.ended {
            return;
        }
        self.tracker.record_finish_at(now);
        self.metrics
            .gauge(GaugeSeries::Disconnected, |g| g.increment(1.0));
        self.metrics.cancelled(self.endpoint, self.request_type);
        self.end(Outcome::Error(ErrorType::Cancelled), Some(now));
    }

    fn leave_queue(&mut self) {
        if self.queued {
            self.queued = false;
            self.metrics
                .gauge(GaugeSeries::Queued, |g| g.decrement(1.0));
        }
    }

    /// Observes the end, once; `now`: the caller's instant, if it has one (the trace's
    /// emission instant; the finish is stamped already).
    fn end(&mut self, outcome: Outcome, now: Option<Instant>) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.leave_queue();
        self.metrics
            .ended(self.endpoint, self.request_type, outcome);
        observe_end(&self.metrics, &self.tracker, !self.ttft_recorded);
        let ended = Ended {
            metrics: &self.metrics,
            tracker: &self.tracker,
            endpoint: self.endpoint,
            request_type: self.request_type,
            outcome,
        };
        self.trace.emit(ended, now);
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        if !self.ended {
            if self.streaming {
                self.disconnect(Instant::now());
            } else {
                self.stamp_finish_if_unset(None);
                self.end(Outcome::Error(ErrorType::Internal), None);
            }
        }
        for g in [GaugeSeries::Inflight, GaugeSeries::Active] {
            self.metrics.gauge(g, |g| g.decrement(1.0));
        }
    }
}
