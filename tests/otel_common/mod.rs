//! Shared by the `otel` tests and bench: one disaggregated request with every value a trace
//! shows, at known nanosecond offsets from a known arrival.

#![allow(dead_code)]

use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::trace::{
    InMemorySpanExporter, Sampler, SdkTracer, SdkTracerProvider, SpanData,
};
use reqtrack::otel::RequestTracer;
use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A caller-supplied arrival far from the real clock: the trace's base is exactly this
/// millisecond (the anchor cannot confirm it), so every time below is known to the nanosecond.
pub const EPOCH_MS: u64 = 1_700_000_000_123;
/// The model every request here is for.
pub const MODEL: &str = "llama-3-8b";

// The stamps, ns after arrival (odd values, so a millisecond rounding would show).
pub const PREFILL_START: u64 = 2_345_678;
pub const PREFILL_COMPLETE: u64 = 9_000_001;
pub const FIRST_TOKEN: u64 = 10_111_213;
pub const DECODE_FIRST: u64 = 14_000_777;
pub const FINISH: u64 = 50_505_505;

/// `t0` + `ns`.
pub fn at(t0: Instant, ns: u64) -> Instant {
    t0 + Duration::from_nanos(ns)
}

/// A disaggregated request with every value recorded.
pub fn full_request() -> (RequestTracker, Instant) {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, EPOCH_MS);
    let permit = t.try_set_phase(RequestPhase::Prefill).unwrap();
    t.record_worker_full(7, 0, WORKER_TYPE_PREFILL);
    drop(permit);
    let permit = t.try_set_phase(RequestPhase::Decode).unwrap();
    t.record_worker_full(9, 1, WORKER_TYPE_DECODE);
    drop(permit);
    t.record_router_queue_depth(3);
    t.record_kv_hit(6, 8);
    t.record_isl(1024, 768);
    t.record_migration();
    t.record_prefill_start_at(at(t0, PREFILL_START));
    t.record_prefill_complete_at(at(t0, PREFILL_COMPLETE));
    t.record_first_token_at(at(t0, FIRST_TOKEN));
    t.record_decode_first_token_at(at(t0, DECODE_FIRST));
    t.record_osl_and_finish_at(41, at(t0, FINISH));
    (t, t0)
}

/// The SDK with `sampler`, exporting every finished span to memory as it ends.
pub struct Pipeline {
    _provider: SdkTracerProvider,
    pub tracer: SdkTracer,
    pub exporter: InMemorySpanExporter,
}

/// A [`Pipeline`] with `sampler`.
pub fn pipeline(sampler: Sampler) -> Pipeline {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_simple_exporter(exporter.clone())
        .build();
    Pipeline {
        tracer: provider.tracer("reqtrack-test"),
        _provider: provider,
        exporter,
    }
}

impl Pipeline {
    /// Every span finished so far.
    pub fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap()
    }

    /// The tracer as a model's metrics keep it (`ModelMetrics::with_tracer`).
    pub fn shared(&self) -> Arc<dyn RequestTracer + Send + Sync> {
        Arc::new(self.tracer.clone())
    }
}

/// The wall-clock time `ns` after the arrival.
pub fn wall(ns: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(EPOCH_MS) + Duration::from_nanos(ns)
}
