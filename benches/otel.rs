//! Cost of emitting one finished request as a trace (feature `otel`), through the SDK's tracer:
//!
//! * `unsampled`: the sampler drops it (`AlwaysOff`): the clock read, the arrival's wall
//!   time and the sampling decision; nothing else is built.
//! * `unsampled_boxed_tracer`: the same through a `BoxedTracer` (what `global::tracer` hands
//!   out), which boxes every span it builds.
//! * `sampled`: recorded (`AlwaysOn`): the root with every attribute and its four phase spans,
//!   ended; the span processor drops each finished span, so export is not measured.
//!
//! Allocations per request are printed after the timings.
//!
//! `cargo bench --bench otel --features otel`

use criterion::{Criterion, black_box};
use opentelemetry::Context;
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::TracerProvider;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    Sampler, SdkTracer, SdkTracerProvider, Span, SpanData, SpanProcessor,
};
use reqtrack::otel::{RequestSpans, RequestTracer};
use reqtrack::{Endpoint, Outcome, RequestType};
use std::time::Duration;

#[path = "common/mod.rs"]
mod common;

use common::{CountingAlloc, allocations};

#[path = "../tests/otel_common/mod.rs"]
mod otel_common;

use otel_common::{MODEL, full_request};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Drops every finished span: the bench measures building spans, not exporting them.
#[derive(Debug)]
struct Discard;

impl SpanProcessor for Discard {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}
    fn on_end(&self, span: SpanData) {
        black_box(span);
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

fn tracer(sampler: Sampler) -> (SdkTracerProvider, SdkTracer) {
    let provider = SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_span_processor(Discard)
        .build();
    let tracer = provider.tracer("reqtrack-bench");
    (provider, tracer)
}

fn main() {
    let (t, _) = full_request();
    let request = RequestSpans::new(
        MODEL,
        Endpoint::ChatCompletions,
        RequestType::Stream,
        Outcome::Success,
    );
    let (_off_provider, off) = tracer(Sampler::AlwaysOff);
    let boxed_off = BoxedTracer::new(Box::new(off.clone()));
    let (_on_provider, on) = tracer(Sampler::AlwaysOn);
    assert!(!off.emit_request(&request, &t));
    assert!(on.emit_request(&request, &t));

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("otel");
        g.bench_function("unsampled", |b| {
            b.iter(|| off.emit_request(black_box(&request), black_box(&t)))
        });
        g.bench_function("unsampled_boxed_tracer", |b| {
            b.iter(|| boxed_off.emit_request(black_box(&request), black_box(&t)))
        });
        g.bench_function("sampled", |b| {
            b.iter(|| on.emit_request(black_box(&request), black_box(&t)))
        });
        g.finish();
    }
    c.final_summary();

    let n = 1000u64;
    let per = |f: &dyn Fn() -> bool| {
        allocations(|| {
            for _ in 0..n {
                black_box(f());
            }
        })
        .1 as f64
            / n as f64
    };
    println!(
        "allocations per request: unsampled {:.2}, unsampled_boxed_tracer {:.2}, sampled {:.2}",
        per(&|| off.emit_request(&request, &t)),
        per(&|| boxed_off.emit_request(&request, &t)),
        per(&|| on.emit_request(&request, &t)),
    );
}
