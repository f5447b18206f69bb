//! Cost of an unsampled request (feature `otel`): when the sampler drops it, the emission builds
//! nothing beyond the decision, proven with the counting allocator: no span, no allocation.

#![cfg(not(reqtrack_model))]

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracer, SdkTracerProvider};
use reqtrack::otel::{RequestSpans, RequestTracer};
use reqtrack::{Endpoint, ErrorType, Outcome, RequestTracker, RequestType, WORKER_TYPE_DECODE};
use reqtrack_check::alloc::{CountingAlloc, allocations};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn tracer(sampler: Sampler) -> (SdkTracerProvider, SdkTracer, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_simple_exporter(exporter.clone())
        .build();
    let tracer = provider.tracer("reqtrack-alloc");
    (provider, tracer, exporter)
}

/// A finished request with every value a sampled trace would turn into an attribute or span.
fn finished() -> RequestTracker {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 1_700_000_000_000);
    t.record_worker(9, Some(1), WORKER_TYPE_DECODE);
    t.record_isl(100, 50);
    t.record_kv_hit(3, 8);
    t.record_prefill_start_at(t0 + Duration::from_millis(1));
    t.record_first_token_at(t0 + Duration::from_millis(5));
    t.record_osl_and_finish_at(12, t0 + Duration::from_millis(40));
    t
}

#[test]
fn an_unsampled_request_builds_no_span_and_allocates_nothing() {
    let (_provider, tracer, exporter) = tracer(Sampler::AlwaysOff);
    let t = finished();
    let request = RequestSpans::new(
        "llama-3-8b",
        Endpoint::ChatCompletions,
        RequestType::Stream,
        Outcome::Error(ErrorType::Cancelled),
    );
    // The first emission on this thread included.
    for _ in 0..3 {
        let (recorded, n) = allocations(|| tracer.emit_request(&request, &t));
        assert!(!recorded);
        assert_eq!(n, 0, "an unsampled request allocated");
    }
    assert!(exporter.get_finished_spans().unwrap().is_empty());
}

#[test]
fn a_request_under_an_unsampled_traceparent_allocates_nothing() {
    let (_provider, tracer, exporter) = tracer(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    let headers = HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00".to_string(),
    )]);
    let parent = TraceContextPropagator::new().extract(&headers);
    let t = finished();
    let request = RequestSpans::new(
        "llama-3-8b",
        Endpoint::Completions,
        RequestType::Unary,
        Outcome::Success,
    )
    .with_parent(&parent);
    for _ in 0..3 {
        let (recorded, n) = allocations(|| tracer.emit_request(&request, &t));
        assert!(!recorded);
        assert_eq!(n, 0, "an unsampled request allocated");
    }
    assert!(exporter.get_finished_spans().unwrap().is_empty());
}
