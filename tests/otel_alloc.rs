//! Cost of an unsampled request (feature `otel`): when the sampler drops it, the emission builds
//! nothing beyond the decision, proven with the counting allocator: no span, no allocation;
//! through the request-metrics layer's hook too (a model with a tracer, a guard with a trace
//! parent): a whole request, chunks included, still allocates nothing after its model's first.

#![cfg(not(reqtrack_model))]

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::Sampler;
use reqtrack::otel::{RequestSpans, RequestTracer};
use reqtrack::{
    Endpoint, ErrorType, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker, RequestType,
};
use reqtrack_check::alloc::{CountingAlloc, allocations};
use reqtrack_check::recorder::TallyRecorder;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

mod otel_common;

use otel_common::{MODEL, at, full_request, pipeline};

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

/// The context of an incoming `traceparent` whose sampled flag is off.
fn unsampled_parent() -> opentelemetry::Context {
    let headers = HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_string(),
    )]);
    TraceContextPropagator::new().extract(&headers)
}

#[test]
fn a_request_under_an_unsampled_traceparent_allocates_nothing() {
    let p = pipeline(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    let parent = unsampled_parent();
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

#[test]
fn an_unsampled_request_through_the_guard_allocates_nothing_after_its_models_first() {
    let p = pipeline(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    let recorder = Arc::new(TallyRecorder::default());
    let m = ModelMetrics::with_recorder(&Prefix::default(), MODEL, recorder);
    let m = Arc::new(m.with_tracer(p.shared()));
    // One streamed request from guard to end, with a trace parent (moved in, not copied).
    let request = |t: &Arc<RequestTracker>, t0: Instant, parent| {
        let g = RequestGuard::new(
            m.clone(),
            t.clone(),
            Endpoint::ChatCompletions,
            RequestType::Stream,
        );
        let mut s = g.with_trace_parent(parent).into_stream();
        for i in 0..20 {
            s.observe_chunk(2, at(t0, 1_000_000 * (10 + i)));
        }
        s.finish(Outcome::Success);
    };
    let t0 = Instant::now();
    let first = Arc::new(RequestTracker::with_received_at(t0, 0));
    request(&first, t0, opentelemetry::Context::new()); // the model's first: registers its series

    for parent in [opentelemetry::Context::new(), unsampled_parent()] {
        let t = Arc::new(RequestTracker::with_received_at(t0, 0));
        let ((), n) = allocations(|| request(&t, t0, parent));
        assert_eq!(n, 0, "an unsampled request allocated through the guard");
    }
    assert!(p.spans().is_empty());
}
