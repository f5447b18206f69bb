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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_case_blind_and_values_that_are_not_text_are_absent() {
        let mut h = HeaderMap::new();
        h.insert("traceparent", "00-ab-cd-01".parse().unwrap());
        h.append("tracestate", "a=1".parse().unwrap());
        h.append("tracestate", "b=2".parse().unwrap());
        h.insert("x-bin", http::HeaderValue::from_bytes(b"\xff").unwrap());
        let e = HeaderExtractor(&h);
        assert_eq!(e.get("TraceParent"), Some("00-ab-cd-01"));
        assert_eq!(e.get_all("tracestate"), Some(vec!["a=1", "b=2"]));
        assert_eq!(e.get("x-bin"), None);
        assert_eq!(e.get_all("x-bin"), None);
        assert_eq!(e.get("missing"), None);
        assert_eq!(e.keys().len(), 3);
    }

    #[test]
    fn the_w3c_propagator_reads_a_traceparent_and_nothing_without_one() {
        use opentelemetry::trace::TraceContextExt;
        let p = opentelemetry_sdk::propagation::TraceContextPropagator::new();
        let mut h = HeaderMap::new();
        assert!(!extract(&p, &h).span().span_context().is_valid());
        let header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        h.insert("traceparent", header.parse().unwrap());
        let cx = extract(&p, &h);
        let remote = cx.span().span_context().clone();
        assert!(remote.is_valid() && remote.is_remote() && remote.is_sampled());
        let parent = opentelemetry::trace::SpanId::from_hex("00f067aa0ba902b7").unwrap();
        assert_eq!(remote.span_id(), parent);
    }
}
