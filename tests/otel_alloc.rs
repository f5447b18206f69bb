//! Cost of an unsampled request (feature `otel`): when the sampler drops it, the emission builds
//! nothing beyond the decision, proven with the counting allocator: no span, no allocation.

#![cfg(not(reqtrack_model))]

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::Sampler;
use reqtrack::otel::{RequestSpans, RequestTracer};
use reqtrack::{Endpoint, ErrorType, Outcome, RequestType};
use reqtrack_check::alloc::{CountingAlloc, allocations};
use std::collections::HashMap;

mod otel_common;

use otel_common::{MODEL, full_request, pipeline};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

#[test]
fn an_unsampled_request_builds_no_span_and_allocates_nothing() {
    let p = pipeline(Sampler::AlwaysOff);
    let (t, _) = full_request();
    let request = RequestSpans::new(
        MODEL,
        Endpoint::ChatCompletions,
        RequestType::Stream,
        Outcome::Error(ErrorType::Cancelled),
    );
    // The first emission on this thread included.
    for _ in 0..3 {
        let (recorded, n) = allocations(|| p.tracer.emit_request(&request, &t));
        assert!(!recorded);
        assert_eq!(n, 0, "an unsampled request allocated");
    }
    assert!(p.spans().is_empty());
}

#[test]
fn a_request_under_an_unsampled_traceparent_allocates_nothing() {
    let p = pipeline(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    let headers = HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_string(),
    )]);
    let parent = TraceContextPropagator::new().extract(&headers);
    let (t, _) = full_request();
    let request = RequestSpans::new(
        MODEL,
        Endpoint::Completions,
        RequestType::Unary,
        Outcome::Success,
    )
    .with_parent(&parent);
    for _ in 0..3 {
        let (recorded, n) = allocations(|| p.tracer.emit_request(&request, &t));
        assert!(!recorded);
        assert_eq!(n, 0, "an unsampled request allocated");
    }
    assert!(p.spans().is_empty());
}
