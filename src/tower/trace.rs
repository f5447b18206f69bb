//! The incoming request's trace context (features `otel` and `tower`): the layer extracts it
//! from the request's headers with the propagator it was given
//! ([`TrackLayer::trace_propagator`](super::TrackLayer::trace_propagator); e.g. the SDK's
//! `TraceContextPropagator` for the W3C `traceparent` and `tracestate`) when the request enters,
//! and hands it to the request's guard when the handler starts it
//! ([`RequestGuard::with_trace_parent`](crate::RequestGuard::with_trace_parent)); the model's
//! tracer ([`ModelMetrics::with_tracer`](crate::ModelMetrics::with_tracer)) emits the spans at
//! the end.
//!
//! The context is extracted from an empty one, never from the thread's current context (the
//! request's end runs elsewhere). No traceparent: an empty context, no allocation. With one,
//! the propagator builds its context (one `Arc`, and the trace state's copy if the request
//! carried a `tracestate`), sampled or not: the sampler needs it to decide.
//!
//! No atomics: the context is written once, before the request's state is shared.

use http::HeaderMap;
use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, TextMapPropagator};

/// An [`http::HeaderMap`] as an `opentelemetry` [`Extractor`]: header values that are not
/// visible ASCII are skipped, as if absent.
#[derive(Debug, Clone, Copy)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }

    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// `headers`' trace context by `propagator`, from an empty context.
pub(super) fn extract(propagator: &dyn TextMapPropagator, headers: &HeaderMap) -> Context {
    propagator.extract_with_context(&Context::new(), &HeaderExtractor(headers))
}
