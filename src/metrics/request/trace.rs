//! The request-metrics layer's trace hook: at the one end of a request
//! ([`RequestGuard`](crate::RequestGuard)'s finish, reject, disconnect and drop paths), the
//! model's tracer ([`ModelMetrics::with_tracer`](crate::ModelMetrics), feature `otel`) emits the
//! request's spans, as a child of the trace context the guard was given.
//!
//! Without the feature [`TraceParent`] is zero-sized and [`TraceParent::emit`] does nothing.
//! With it, a model without a tracer costs one `Option` check per request; with one, the
//! emission asks the sampler first and, unsampled, builds and allocates nothing more
//! (`crate::otel`). The guard stamps the tracker's finish before it ends, so the root span ends
//! at that stamp, a disconnect's included. Nothing here runs per chunk.
//!
//! No atomics: the guard owns this value (single owner, plain fields).

use super::labels::{Endpoint, Outcome, RequestType};
use super::model_metrics::ModelMetrics;
use crate::RequestTracker;
use std::time::Instant;

/// The incoming request's trace context, kept by the guard until the request ends.
#[derive(Debug, Default)]
pub(super) struct TraceParent {
    #[cfg(feature = "otel")]
    parent: Option<opentelemetry::Context>,
}

/// What the end of a request knows, for its spans (read only with the feature).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "otel"), allow(dead_code))]
pub(super) struct Ended<'a> {
    pub(super) metrics: &'a ModelMetrics,
    pub(super) tracker: &'a RequestTracker,
    pub(super) endpoint: Endpoint,
    pub(super) request_type: RequestType,
    pub(super) outcome: Outcome,
}

impl TraceParent {
    /// Makes `parent` the request's trace context.
    #[cfg(feature = "otel")]
    pub(super) fn set(&mut self, parent: opentelemetry::Context) {
        self.parent = Some(parent);
    }

    /// The request's trace context, if one was set.
    #[cfg(feature = "otel")]
    pub(super) fn get(&self) -> Option<&opentelemetry::Context> {
        self.parent.as_ref()
    }

    /// Emits the ended request's spans through its model's tracer, if it has one; `now` is the
    /// caller's instant where it has one (the deterministic `_at` paths), else the clock is read,
    /// and only when a tracer is set.
    #[inline]
    pub(super) fn emit(&self, end: Ended<'_>, now: Option<Instant>) {
        #[cfg(feature = "otel")]
        if let Some(tracer) = end.metrics.tracer() {
            let mut spans = crate::otel::RequestSpans::new(
                end.metrics.model(),
                end.endpoint,
                end.request_type,
                end.outcome,
            );
            spans.parent = self.parent.as_ref();
            tracer.emit_request_at(&spans, end.tracker, now.unwrap_or_else(Instant::now));
        }
        #[cfg(not(feature = "otel"))]
        let _ = (end, now);
    }
}
