//! The request-metrics layer's trace hook (feature `otel`): a model's tracer
//! (`ModelMetrics::with_tracer`) emits each request at its one end, whichever way it ends
//! (finish, reject, disconnect, drop), once, as a child of the guard's trace parent; read back
//! through the SDK's in-memory exporter.

#![cfg(not(reqtrack_model))]

use opentelemetry::KeyValue;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SpanData};
use reqtrack::otel::{RequestSpans, RequestTracer};
use reqtrack::{
    Endpoint, ErrorType, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker, RequestType,
    StreamMetrics,
};
use reqtrack_check::recorder::TallyRecorder;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

mod otel_common;

use otel_common::*;

const CANCELLED: Outcome = Outcome::Error(ErrorType::Cancelled);

/// `MODEL`'s metrics, tracing through `p`.
fn traced(p: &Pipeline) -> Arc<ModelMetrics> {
    let recorder = Arc::new(TallyRecorder::default());
    let m = ModelMetrics::with_recorder(&Prefix::default(), MODEL, recorder);
    Arc::new(m.with_tracer(p.shared()))
}

fn chat_guard(m: &Arc<ModelMetrics>, t: &Arc<RequestTracker>) -> RequestGuard {
    RequestGuard::new(
        m.clone(),
        t.clone(),
        Endpoint::ChatCompletions,
        RequestType::Stream,
    )
}

/// A tracker whose request waited [`PREFILL_START`] ns in the queue.
fn queued() -> (Arc<RequestTracker>, Instant) {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, EPOCH_MS);
    t.record_prefill_start_at(at(t0, PREFILL_START));
    (Arc::new(t), t0)
}

/// What a span shows besides its ids: name, kind, times, status, sorted attributes.
type Shape = (
    String,
    SpanKind,
    SystemTime,
    SystemTime,
    Status,
    Vec<KeyValue>,
);

fn shapes(spans: &[SpanData]) -> Vec<Shape> {
    let mut out: Vec<Shape> = spans
        .iter()
        .map(|s| {
            let mut attributes = s.attributes.clone();
            attributes.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
            let name = s.name.to_string();
            (
                name,
                s.span_kind.clone(),
                s.start_time,
                s.end_time,
                s.status.clone(),
                attributes,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn root(spans: &[SpanData]) -> &SpanData {
    let mut roots = spans.iter().filter(|s| s.span_kind == SpanKind::Server);
    let root = roots.next().expect("a root span");
    assert!(roots.next().is_none(), "one root: {spans:#?}");
    root
}

fn named<'s>(spans: &'s [SpanData], name: &str) -> &'s SpanData {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn a_finished_request_emits_what_a_direct_emission_of_its_tracker_emits() {
    let (hooked, direct) = (pipeline(Sampler::AlwaysOn), pipeline(Sampler::AlwaysOn));
    let (t, t0) = full_request();
    let t = Arc::new(t);
    let now = at(t0, FINISH + 1);
    let request = RequestSpans::new(
        MODEL,
        Endpoint::ChatCompletions,
        RequestType::Stream,
        Outcome::Success,
    );
    assert!(direct.tracer.emit_request_at(&request, &t, now));

    chat_guard(&traced(&hooked), &t).finish_at(Outcome::Success, now);

    let spans = hooked.spans();
    assert_eq!(spans.len(), 5, "the root and four phases, once: {spans:#?}");
    assert_eq!(shapes(&spans), shapes(&direct.spans()));
    let root = root(&spans);
    assert_eq!(root.name, "chat llama-3-8b");
    assert_eq!(
        root.parent_span_id,
        SpanId::INVALID,
        "no parent: a new trace"
    );
    assert_eq!(
        root.end_time,
        wall(FINISH),
        "the tracker's own finish is kept"
    );
    for s in spans.iter().filter(|s| s.span_kind != SpanKind::Server) {
        assert_eq!(s.parent_span_id, root.span_context.span_id(), "{}", s.name);
    }
}

/// A queued request traced through `p`, streaming: its first chunk at [`FIRST_TOKEN`].
fn streaming(p: &Pipeline) -> (StreamMetrics, Arc<RequestTracker>, Instant) {
    let (t, t0) = queued();
    let mut s = chat_guard(&traced(p), &t).into_stream();
    s.observe_chunk(1, at(t0, FIRST_TOKEN));
    (s, t, t0)
}

#[test]
fn a_stream_that_disconnects_ends_as_cancelled_at_the_disconnect_stamp() {
    let p = pipeline(Sampler::AlwaysOn);
    let (mut s, _, t0) = streaming(&p);
    s.observe_chunk(2, at(t0, 15_000_000));
    s.client_disconnected_at(at(t0, 20_000_000));

    let spans = p.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names.len(), 4, "root, queue, prefill, decode: {names:?}");
    let root = root(&spans);
    assert_eq!(root.status, Status::error("cancelled"));
    assert_eq!(root.end_time, wall(20_000_000));
    assert_eq!(named(&spans, "decode").start_time, wall(FIRST_TOKEN));
    assert_eq!(named(&spans, "decode").end_time, wall(20_000_000));
}

#[test]
fn a_dropped_stream_ends_as_cancelled_at_the_finish_its_drop_stamped() {
    let p = pipeline(Sampler::AlwaysOn);
    let (s, t, _) = streaming(&p);
    drop(s);

    let spans = p.spans();
    let root = root(&spans);
    assert_eq!(root.status, Status::error("cancelled"));
    let nanos = root.end_time.duration_since(root.start_time).unwrap();
    assert_eq!(
        Some(nanos.as_nanos() as f64 / 1e6),
        t.total_time_ms(),
        "the root ends at the drop's finish stamp"
    );
    // The drop stamps the finish at its own clock read; a finish never moves backwards.
    assert!(t.total_time_ms() >= Some(FIRST_TOKEN as f64 / 1e6));
}

#[test]
fn a_rejected_request_and_a_guard_dropped_unstreamed_are_errors() {
    let p = pipeline(Sampler::AlwaysOn);
    let m = traced(&p);
    let (t, t0) = queued();
    chat_guard(&m, &t).reject_at(at(t0, 3_000_000));
    let spans = p.spans();
    assert_eq!(root(&spans).status, Status::error("overload"));
    assert_eq!(root(&spans).end_time, wall(3_000_000));
    p.exporter.reset();

    let (t, _) = queued();
    drop(chat_guard(&m, &t));
    let spans = p.spans();
    assert_eq!(root(&spans).status, Status::error("internal"));
}

#[test]
fn the_guards_trace_parent_is_the_roots_remote_parent() {
    // Sampled only because the parent is.
    let p = pipeline(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    let headers = HashMap::from([(
        "traceparent".to_string(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_string(),
    )]);
    let parent = TraceContextPropagator::new().extract(&headers);
    let remote = parent.span().span_context().clone();
    let (t, t0) = queued();
    let g = chat_guard(&traced(&p), &t).with_trace_parent(parent);
    assert_eq!(
        g.trace_parent()
            .map(|cx| cx.span().span_context().span_id()),
        Some(remote.span_id())
    );
    g.finish_at(Outcome::Success, at(t0, 5_000_000));

    let spans = p.spans();
    assert_eq!(spans.len(), 2, "root and queue");
    let root = root(&spans);
    assert_eq!(root.span_context.trace_id(), remote.trace_id());
    assert_eq!(root.parent_span_id, remote.span_id());
    assert!(root.parent_span_is_remote);
    assert_eq!(root.end_time, wall(5_000_000), "finish stamped at `now`");
}

#[test]
fn an_unsampled_request_emits_nothing_and_a_model_has_no_tracer_by_default() {
    let p = pipeline(Sampler::AlwaysOff);
    let (t, t0) = queued();
    chat_guard(&traced(&p), &t).finish_at(CANCELLED, at(t0, 1));
    assert!(p.spans().is_empty());

    let plain = ModelMetrics::new(&Prefix::default(), MODEL);
    assert!(plain.tracer().is_none());
    assert!(format!("{plain:?}").contains("tracer: false"));
}
