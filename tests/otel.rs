//! Each request as a trace (feature `otel`), read back through the SDK's in-memory exporter:
//! names, kinds, parent/child structure, every attribute, times equal to the tracker's stamps,
//! durations equal to `nvext.timing` to the nanosecond, error statuses, a remote parent from a
//! W3C `traceparent`, an unsampled request.

#![cfg(not(reqtrack_model))]

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt};
use opentelemetry::{Context, Value};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{Sampler, SpanData};
use reqtrack::otel::{RequestSpans, RequestTracer, attributes as a};
use reqtrack::{Endpoint, ErrorType, Outcome, RequestTracker, RequestType, TimingInfo};
use std::collections::HashMap;
use std::time::{Duration, Instant, UNIX_EPOCH};

mod otel_common;

use otel_common::*;

fn chat(outcome: Outcome) -> RequestSpans<'static> {
    RequestSpans::new(
        MODEL,
        Endpoint::ChatCompletions,
        RequestType::Stream,
        outcome,
    )
}

fn named<'s>(spans: &'s [SpanData], name: &str) -> &'s SpanData {
    let mut found = spans.iter().filter(|s| s.name == name);
    let span = found.next().unwrap_or_else(|| panic!("no span {name}"));
    assert!(found.next().is_none(), "one span {name}");
    span
}

fn nanos(span: &SpanData) -> u64 {
    let d = span.end_time.duration_since(span.start_time).unwrap();
    u64::try_from(d.as_nanos()).unwrap()
}

/// The crate's millisecond formula, as the client reads it.
fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}

fn attr<'s>(span: &'s SpanData, key: &str) -> Option<&'s Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

#[test]
fn a_request_is_a_server_root_with_its_four_phase_children() {
    let p = pipeline(Sampler::AlwaysOn);
    let (t, t0) = full_request();
    assert!(
        p.tracer
            .emit_request_at(&chat(Outcome::Success), &t, at(t0, FINISH + 1))
    );

    let spans = p.spans();
    assert_eq!(spans.len(), 5, "{spans:#?}");
    let root = named(&spans, "chat llama-3-8b");
    assert_eq!(root.span_kind, SpanKind::Server);
    assert_eq!(root.parent_span_id, SpanId::INVALID, "a new trace");
    assert!(root.span_context.is_sampled());
    for name in ["queue", "prefill", "kv_transfer", "decode"] {
        let child = named(&spans, name);
        assert_eq!(child.span_kind, SpanKind::Internal, "{name}");
        assert_eq!(child.parent_span_id, root.span_context.span_id(), "{name}");
        assert!(!child.parent_span_is_remote, "{name}: a local parent");
        assert_eq!(
            child.span_context.trace_id(),
            root.span_context.trace_id(),
            "{name}"
        );
        assert_eq!(child.status, Status::Unset, "{name}");
        assert!(
            child.attributes.is_empty(),
            "{name}: attributes live on the root"
        );
    }
}

#[test]
fn span_times_are_the_trackers_stamps_and_durations_are_nvext_timing() {
    let p = pipeline(Sampler::AlwaysOn);
    let (t, t0) = full_request();
    p.tracer
        .emit_request_at(&chat(Outcome::Success), &t, at(t0, FINISH + 999));
    let spans = p.spans();
    let timing = t.get_timing_info();

    let root = named(&spans, "chat llama-3-8b");
    assert_eq!((root.start_time, root.end_time), (wall(0), wall(FINISH)));
    assert_eq!(nanos(root), FINISH);
    assert_eq!(Some(ms(nanos(root))), timing.total_time_ms);

    let queue = named(&spans, "queue");
    assert_eq!(
        (queue.start_time, queue.end_time),
        (wall(0), wall(PREFILL_START))
    );
    assert_eq!(Some(ms(nanos(queue))), timing.prefill_wait_time_ms);

    let prefill = named(&spans, "prefill");
    assert_eq!(
        (prefill.start_time, prefill.end_time),
        (wall(PREFILL_START), wall(FIRST_TOKEN))
    );
    assert_eq!(nanos(prefill), FIRST_TOKEN - PREFILL_START);
    assert_eq!(Some(ms(nanos(prefill))), timing.prefill_time_ms);

    let kv = named(&spans, "kv_transfer");
    assert_eq!(
        (kv.start_time, kv.end_time),
        (wall(PREFILL_COMPLETE), wall(DECODE_FIRST))
    );
    assert_eq!(nanos(kv), DECODE_FIRST - PREFILL_COMPLETE);
    assert_eq!(Some(ms(nanos(kv))), timing.kv_transfer_estimated_latency_ms);

    let decode = named(&spans, "decode");
    assert_eq!(
        (decode.start_time, decode.end_time),
        (wall(FIRST_TOKEN), wall(FINISH))
    );
    assert_eq!(nanos(decode), FINISH - FIRST_TOKEN);
    // TTFT is where the decode span starts.
    let ttft = decode.start_time.duration_since(root.start_time).unwrap();
    assert_eq!(Some(ms(ttft.as_nanos() as u64)), timing.ttft_ms);
}

#[test]
fn the_root_carries_every_attribute() {
    let p = pipeline(Sampler::AlwaysOn);
    let (t, t0) = full_request();
    p.tracer
        .emit_request_at(&chat(Outcome::Success), &t, at(t0, FINISH));
    let spans = p.spans();
    let root = named(&spans, "chat llama-3-8b");
    let timing: TimingInfo = t.get_timing_info();
    let secs = |ms: Option<f64>| Value::F64(ms.unwrap() / 1000.0);
    let expected: Vec<(&str, Value)> = vec![
        (a::GEN_AI_OPERATION_NAME, "chat".into()),
        (a::GEN_AI_REQUEST_MODEL, MODEL.into()),
        (a::GEN_AI_REQUEST_STREAM, true.into()),
        (a::GEN_AI_USAGE_INPUT_TOKENS, 1024i64.into()),
        (a::GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 768i64.into()),
        (a::GEN_AI_USAGE_OUTPUT_TOKENS, 41i64.into()),
        (
            a::GEN_AI_LATENCY_TIME_IN_QUEUE,
            secs(timing.prefill_wait_time_ms),
        ),
        (a::GEN_AI_LATENCY_TIME_TO_FIRST_TOKEN, secs(timing.ttft_ms)),
        (a::GEN_AI_LATENCY_E2E, secs(timing.total_time_ms)),
        (a::PREFILL_WORKER_ID, 7i64.into()),
        (a::PREFILL_DP_RANK, 0i64.into()),
        (a::PREFILL_WORKER_TYPE, "prefill".into()),
        (a::DECODE_WORKER_ID, 9i64.into()),
        (a::DECODE_DP_RANK, 1i64.into()),
        (a::DECODE_WORKER_TYPE, "decode".into()),
        (a::KV_HIT_RATE, 0.75.into()),
        (
            a::KV_TRANSFER_ESTIMATED_LATENCY,
            secs(timing.kv_transfer_estimated_latency_ms),
        ),
        (a::ROUTER_QUEUE_DEPTH, 3i64.into()),
        (a::MIGRATIONS, 1i64.into()),
        (a::WORKER_CONFLICTS, 0i64.into()),
    ];
    let got: Vec<(&str, Value)> = root
        .attributes
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.clone()))
        .collect();
    assert_eq!(got, expected);
    // The seconds are the nvext milliseconds / 1000, bit for bit.
    assert_eq!(
        attr(root, a::GEN_AI_LATENCY_E2E),
        Some(&Value::F64(ms(FINISH) / 1000.0))
    );
    assert_eq!(root.status, Status::Unset);
}

#[test]
fn an_error_sets_the_roots_status_and_error_type() {
    let p = pipeline(Sampler::AlwaysOn);
    let (t, t0) = full_request();
    let overload = Outcome::Error(ErrorType::Overload);
    p.tracer
        .emit_request_at(&chat(overload), &t, at(t0, FINISH));
    let spans = p.spans();
    let root = named(&spans, "chat llama-3-8b");
    assert_eq!(root.status, Status::error("overload"));
    assert_eq!(attr(root, a::ERROR_TYPE), Some(&Value::from("overload")));
}

#[test]
fn a_disconnect_mid_stream_is_a_cancelled_error_ending_at_its_finish() {
    let p = pipeline(Sampler::AlwaysOn);
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, EPOCH_MS);
    t.record_prefill_start_at(at(t0, PREFILL_START));
    t.record_first_token_at(at(t0, FIRST_TOKEN));
    // The request-metrics layer stamps the finish at the disconnect.
    t.record_finish_at(at(t0, 20_000_000));
    let cancelled = Outcome::Error(ErrorType::Cancelled);
    p.tracer
        .emit_request_at(&chat(cancelled), &t, at(t0, 30_000_000));
    let spans = p.spans();
    let root = named(&spans, "chat llama-3-8b");
    assert_eq!(root.status, Status::error("cancelled"));
    assert_eq!(attr(root, a::ERROR_TYPE), Some(&Value::from("cancelled")));
    assert_eq!(root.end_time, wall(20_000_000));
    assert_eq!(nanos(named(&spans, "decode")), 20_000_000 - FIRST_TOKEN);
}

#[test]
fn unknown_stamps_leave_their_spans_and_attributes_out_and_the_root_ends_at_emission() {
    let p = pipeline(Sampler::AlwaysOn);
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, EPOCH_MS);
    t.record_prefill_start_at(at(t0, PREFILL_START));
    let unary = RequestSpans::new(
        "",
        Endpoint::Completions,
        RequestType::Unary,
        Outcome::Error(ErrorType::Internal),
    );
    p.tracer.emit_request_at(&unary, &t, at(t0, 7_000_000));
    let spans = p.spans();
    let names: Vec<&str> = spans.iter().map(|s| s.name.as_ref()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // No model: the span is named after the operation alone.
    let root = named(&spans, "text_completion");
    named(&spans, "queue");
    assert_eq!(
        root.end_time,
        wall(7_000_000),
        "no finish: ends at emission"
    );
    assert_eq!(
        attr(root, a::GEN_AI_REQUEST_STREAM),
        Some(&Value::Bool(false))
    );
    for absent in [
        a::GEN_AI_REQUEST_MODEL,
        a::GEN_AI_USAGE_INPUT_TOKENS,
        a::GEN_AI_USAGE_OUTPUT_TOKENS,
        a::GEN_AI_LATENCY_TIME_TO_FIRST_TOKEN,
        a::GEN_AI_LATENCY_E2E,
        a::PREFILL_WORKER_ID,
        a::KV_HIT_RATE,
        a::ROUTER_QUEUE_DEPTH,
    ] {
        assert_eq!(attr(root, absent), None, "{absent}");
    }
}

fn traceparent(flags: &str) -> Context {
    let headers = HashMap::from([(
        "traceparent".to_string(),
        format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"),
    )]);
    TraceContextPropagator::new().extract(&headers)
}

#[test]
fn the_root_is_a_child_of_the_incoming_traceparent() {
    let p = pipeline(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    let (t, t0) = full_request();
    let parent = traceparent("01");
    let remote = parent.span().span_context().clone();
    assert!(remote.is_valid() && remote.is_remote());
    let request = chat(Outcome::Success).with_parent(&parent);
    assert!(p.tracer.emit_request_at(&request, &t, at(t0, FINISH)));
    let spans = p.spans();
    assert_eq!(spans.len(), 5);
    let root = named(&spans, "chat llama-3-8b");
    assert_eq!(root.span_context.trace_id(), remote.trace_id());
    assert_eq!(root.parent_span_id, remote.span_id());
    assert!(root.parent_span_is_remote);
    for s in &spans {
        assert_eq!(s.span_context.trace_id(), remote.trace_id(), "{}", s.name);
    }
}

#[test]
fn an_unsampled_request_produces_no_span() {
    let (t, t0) = full_request();
    let off = pipeline(Sampler::AlwaysOff);
    assert!(
        !off.tracer
            .emit_request_at(&chat(Outcome::Success), &t, at(t0, FINISH))
    );
    assert!(off.spans().is_empty());

    // A parent that was not sampled (flags 00) under the usual parent-based sampler.
    let parent_based = pipeline(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    let parent = traceparent("00");
    let request = chat(Outcome::Success).with_parent(&parent);
    assert!(
        !parent_based
            .tracer
            .emit_request_at(&request, &t, at(t0, FINISH))
    );
    assert!(parent_based.spans().is_empty());
}

#[test]
fn merged_timing_places_the_other_hops_span_by_the_merge_rule() {
    let p = pipeline(Sampler::AlwaysOn);
    let t0 = Instant::now();
    let frontend = RequestTracker::with_received_at(t0, EPOCH_MS);
    // The router received it 2 ms later and reports its own stamps.
    let router = TimingInfo {
        request_received_ms: EPOCH_MS + 2,
        prefill_wait_time_ms: Some(5.0),
        prefill_time_ms: Some(20.0),
        ttft_ms: Some(25.0),
        total_time_ms: Some(80.0),
        kv_hit_rate: None,
        router_queue_depth: None,
        kv_transfer_estimated_latency_ms: None,
    };
    assert_eq!(
        frontend.set_external_timing_at(&router, at(t0, 100_000_000)),
        3
    );
    p.tracer
        .emit_request_at(&chat(Outcome::Success), &frontend, at(t0, 100_000_000));
    let spans = p.spans();
    let timing = frontend.get_timing_info();
    const MS: u64 = 1_000_000;
    // Placed at remote_base (2 ms skew) + each duration, as nvext.timing reports them.
    let external = named(&spans, "external");
    assert_eq!(
        (external.start_time, external.end_time),
        (wall(7 * MS), wall(82 * MS))
    );
    let queue = named(&spans, "queue");
    assert_eq!(Some(ms(nanos(queue))), timing.prefill_wait_time_ms);
    assert_eq!(nanos(queue), 7 * MS);
    assert_eq!(
        Some(ms(nanos(named(&spans, "prefill")))),
        timing.prefill_time_ms
    );
    let root = named(&spans, "chat llama-3-8b");
    assert_eq!(Some(ms(nanos(root))), timing.total_time_ms);
    assert_eq!(spans.len(), 5, "root, queue, prefill, decode, external");
}

#[test]
fn a_tracker_from_new_starts_within_its_received_millisecond() {
    let p = pipeline(Sampler::AlwaysOn);
    let t = RequestTracker::new();
    let t0 = Instant::now();
    t.record_first_token_at(t0 + Duration::from_millis(3));
    t.record_finish_at(t0 + Duration::from_millis(9));
    p.tracer.emit_request(&chat(Outcome::Success), &t);
    let spans = p.spans();
    let root = named(&spans, "chat llama-3-8b");
    let start = root.start_time.duration_since(UNIX_EPOCH).unwrap();
    // Refined to the nanosecond, never outside the millisecond the client reads.
    assert_eq!(start.as_millis() as u64, t.request_received_epoch_ms());
    assert_eq!(Some(ms(nanos(root))), t.total_time_ms());
    let decode = named(&spans, "decode");
    let ttft = decode.start_time.duration_since(root.start_time).unwrap();
    assert_eq!(Some(ms(ttft.as_nanos() as u64)), t.ttft_ms());
    assert_eq!(ttft.as_nanos() as u64 + nanos(decode), nanos(root));
}

#[test]
fn a_merged_kv_transfer_estimate_is_an_attribute_without_a_span() {
    let p = pipeline(Sampler::AlwaysOn);
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, EPOCH_MS);
    // Another hop's timing with only the estimate known.
    let mut router = RequestTracker::with_received_at(t0, EPOCH_MS).get_timing_info();
    router.kv_transfer_estimated_latency_ms = Some(12.5);
    assert_eq!(t.set_external_timing_at(&router, at(t0, 1_000_000)), 1);
    t.record_finish_at(at(t0, FINISH));
    p.tracer
        .emit_request_at(&chat(Outcome::Success), &t, at(t0, FINISH));
    let spans = p.spans();
    assert_eq!(spans.len(), 1, "no instants, no phase span: {spans:#?}");
    assert_eq!(
        attr(&spans[0], a::KV_TRANSFER_ESTIMATED_LATENCY),
        Some(&Value::F64(0.0125))
    );
}
