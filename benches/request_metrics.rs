//! Request metrics with the real Prometheus recorder installed (default buckets applied), vs
//! Dynamo's way: a `prometheus::*Vec::with_label_values` lookup per observation.
//!
//! * `chunk`: one token-bearing chunk. `clock_read` is `Instant::now()` alone (the floor the
//!   issue's "≤ 60 ns beyond its clock read" is measured against); `reqtrack_given_instant` is
//!   `StreamMetrics::observe_chunk` with an instant already read; `reqtrack` and `dynamo_way`
//!   include the clock read.
//! * `end_of_request`: `finish(Outcome::Success)` of a request whose tracker has every figure
//!   (requests_total, the gauges' decrements, every end-of-request histogram), vs the same
//!   observations through `with_label_values`; and the whole per-request metric cost
//!   (guard creation + finish).
//!
//! The exporter's histograms buffer samples until drained: every batch drains them
//! (`run_upkeep`) outside the timed region, so memory stays bounded and every batch starts
//! alike. Allocations per operation are printed after the timings.
//!
//! `cargo bench --bench request_metrics`

use criterion::{Criterion, black_box};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};
use reqtrack::{
    DEFAULT_BUCKETS, Endpoint, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker,
    RequestType, StreamMetrics, names,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;

use common::{CountingAlloc, allocations};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const MODEL: &str = "llama";
/// Operations per timed batch (then the exporter's buffers are drained, untimed).
const BATCH: u64 = 4096;

/// A tracker with every figure the end-of-request observation reads.
fn full_tracker() -> Arc<RequestTracker> {
    let t0 = Instant::now();
    let at = |ms| t0 + Duration::from_millis(ms);
    let t = Arc::new(RequestTracker::with_received_at(t0, 0));
    t.record_prefill_start_at(at(2));
    t.record_prefill_complete_at(at(20));
    t.record_decode_first_token_at(at(23));
    t.record_first_token_at(at(25));
    t.record_kv_hit(6, 8);
    t.record_isl(2048, 1024);
    t.record_osl(128);
    t.record_tokenize_latency(Duration::from_micros(800));
    t.record_detokenize_latency(Duration::from_micros(4));
    t.record_finish_at(at(900));
    t
}

fn guard(m: &Arc<ModelMetrics>, t: &Arc<RequestTracker>) -> RequestGuard {
    RequestGuard::new(
        m.clone(),
        t.clone(),
        Endpoint::ChatCompletions,
        RequestType::Stream,
    )
}

/// Dynamo's frontend metrics as Dynamo holds them: `*Vec`s, a label lookup per observation.
struct DynamoWay {
    requests_total: IntCounterVec,
    gauges: [IntGaugeVec; 3],
    output_tokens: IntCounterVec,
    /// Indexed like `DEFAULT_BUCKETS`.
    histograms: Vec<HistogramVec>,
}

impl DynamoWay {
    fn new() -> Self {
        let registry = prometheus::Registry::new();
        let name = |s: &str| Prefix::default().name(s);
        let requests_total = IntCounterVec::new(
            Opts::new(name(names::REQUESTS_TOTAL), "requests"),
            &["model", "endpoint", "request_type", "status", "error_type"],
        )
        .unwrap();
        let gauge = |s: &str| IntGaugeVec::new(Opts::new(name(s), s), &["model"]).unwrap();
        let gauges = [
            gauge(names::INFLIGHT_REQUESTS),
            gauge(names::ACTIVE_REQUESTS),
            gauge(names::QUEUED_REQUESTS),
        ];
        let output_tokens = IntCounterVec::new(
            Opts::new(name(names::OUTPUT_TOKENS_TOTAL), "tokens"),
            &["model"],
        )
        .unwrap();
        let histograms: Vec<_> = DEFAULT_BUCKETS
            .iter()
            .map(|(suffix, buckets)| {
                let label = if *suffix == names::TOKENIZER_LATENCY_MS {
                    "operation"
                } else {
                    "model"
                };
                let opts = HistogramOpts::new(name(suffix), *suffix).buckets(buckets.to_vec());
                HistogramVec::new(opts, &[label]).unwrap()
            })
            .collect();
        registry.register(Box::new(requests_total.clone())).unwrap();
        registry.register(Box::new(output_tokens.clone())).unwrap();
        for g in &gauges {
            registry.register(Box::new(g.clone())).unwrap();
        }
        for h in &histograms {
            registry.register(Box::new(h.clone())).unwrap();
        }
        Self {
            requests_total,
            gauges,
            output_tokens,
            histograms,
        }
    }

    fn histogram(&self, suffix: &str) -> &HistogramVec {
        let i = DEFAULT_BUCKETS
            .iter()
            .position(|(s, _)| *s == suffix)
            .unwrap();
        &self.histograms[i]
    }

    /// One later chunk of `tokens` tokens, `gap` after the previous one.
    fn chunk(&self, tokens: u64, gap: Duration) {
        self.output_tokens
            .with_label_values(&[MODEL])
            .inc_by(tokens);
        let itl = gap.as_secs_f64() / tokens as f64;
        let h = self
            .histogram(names::INTER_TOKEN_LATENCY_SECONDS)
            .with_label_values(&[MODEL]);
        for _ in 0..tokens {
            h.observe(itl);
        }
    }

    /// The end-of-request observations `finish` makes, the same figures, Dynamo's way.
    fn end(&self, t: &RequestTracker) {
        self.requests_total
            .with_label_values(&[MODEL, "chat_completions", "stream", "success", ""])
            .inc();
        for g in &self.gauges[..2] {
            g.with_label_values(&[MODEL]).dec();
        }
        let timing = t.get_timing_info();
        let obs = |suffix: &str, v: Option<f64>| {
            if let Some(v) = v {
                self.histogram(suffix)
                    .with_label_values(&[MODEL])
                    .observe(v);
            }
        };
        let s = |ms: Option<f64>| ms.map(|ms| ms / 1000.0);
        obs(names::REQUEST_DURATION_SECONDS, s(timing.total_time_ms));
        obs(
            names::PREFILL_WAIT_TIME_SECONDS,
            s(timing.prefill_wait_time_ms),
        );
        obs(names::PREFILL_TIME_SECONDS, s(timing.prefill_time_ms));
        obs(
            names::DECODE_TIME_SECONDS,
            s(timing.total_time_ms.zip(timing.ttft_ms).map(|(a, b)| a - b)),
        );
        obs(names::KV_HIT_RATE, timing.kv_hit_rate);
        obs(
            names::KV_TRANSFER_ESTIMATED_LATENCY_SECONDS,
            s(t.kv_transfer_estimated_latency_ms()),
        );
        obs(names::OUTPUT_SEQUENCE_TOKENS, Some(t.osl_tokens() as f64));
        obs(
            names::INPUT_SEQUENCE_TOKENS,
            t.isl_tokens().map(|n| n as f64),
        );
        obs(names::CACHED_TOKENS, t.cached_tokens().map(|n| n as f64));
        let tok = self.histogram(names::TOKENIZER_LATENCY_MS);
        if let Some(d) = t.tokenize_latency() {
            tok.with_label_values(&["tokenize"])
                .observe(d.as_secs_f64() * 1000.0);
        }
        if let Some(d) = t.detokenize_total_latency() {
            tok.with_label_values(&["detokenize"])
                .observe(d.as_secs_f64() * 1000.0 / t.detokenize_count() as f64);
        }
        obs(names::MIGRATIONS_PER_REQUEST, Some(0.0));
    }
}

/// Times `op` `iters` times in batches, draining the exporter between batches (untimed).
fn batched(handle: &PrometheusHandle, iters: u64, mut op: impl FnMut(u64) -> Duration) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        total += op(n);
        handle.run_upkeep();
        left -= n;
    }
    total
}

fn main() {
    let prefix = Prefix::default();
    let builder = DEFAULT_BUCKETS
        .iter()
        .fold(PrometheusBuilder::new(), |b, (suffix, buckets)| {
            b.set_buckets_for_metric(Matcher::Full(prefix.name(suffix)), buckets)
                .unwrap()
        });
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).expect("first recorder");

    let m = Arc::new(ModelMetrics::new(&prefix, MODEL));
    let t = full_tracker();
    let dynamo = DynamoWay::new();
    // First request of the model: resolves the lazily registered series; not measured.
    guard(&m, &t).finish(Outcome::Success);
    dynamo.end(&t);
    let mut stream: StreamMetrics = guard(&m, &full_tracker()).into_stream();
    stream.observe_chunk(1, Instant::now());

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("chunk");
        g.bench_function("clock_read", |b| b.iter(|| black_box(Instant::now())));
        g.bench_function("reqtrack_given_instant", |b| {
            let now = Instant::now();
            b.iter_custom(|iters| {
                batched(&handle, iters, |n| {
                    let start = Instant::now();
                    for _ in 0..n {
                        black_box(stream.observe_chunk(black_box(1), now));
                    }
                    start.elapsed()
                })
            })
        });
        g.bench_function("reqtrack", |b| {
            b.iter_custom(|iters| {
                batched(&handle, iters, |n| {
                    let start = Instant::now();
                    for _ in 0..n {
                        black_box(stream.observe_chunk(black_box(1), Instant::now()));
                    }
                    start.elapsed()
                })
            })
        });
        g.bench_function("dynamo_way", |b| {
            let mut last = Instant::now();
            b.iter(|| {
                let now = Instant::now();
                dynamo.chunk(black_box(1), now - last);
                last = now;
            })
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("end_of_request");
        g.bench_function("reqtrack_finish", |b| {
            b.iter_custom(|iters| {
                batched(&handle, iters, |n| {
                    let guards: Vec<_> = (0..n).map(|_| guard(&m, &t)).collect();
                    let start = Instant::now();
                    for g in guards {
                        g.finish(Outcome::Success);
                    }
                    start.elapsed()
                })
            })
        });
        g.bench_function("dynamo_way", |b| b.iter(|| dynamo.end(black_box(&t))));
        g.bench_function("reqtrack_guard_new_and_finish", |b| {
            b.iter_custom(|iters| {
                batched(&handle, iters, |n| {
                    let start = Instant::now();
                    for _ in 0..n {
                        guard(&m, &t).finish(Outcome::Success);
                    }
                    start.elapsed()
                })
            })
        });
        g.finish();
    }
    c.final_summary();

    // Allocations with the real recorder: ours include the exporter's own histogram blocks
    // (one per 64 samples of a series, freed when drained).
    let n = 1000u64;
    handle.run_upkeep();
    let chunk_allocs = allocations(|| {
        for _ in 0..n {
            stream.observe_chunk(1, Instant::now());
        }
    })
    .1;
    handle.run_upkeep();
    let guards: Vec<_> = (0..n).map(|_| guard(&m, &t)).collect();
    let end_allocs = allocations(|| {
        for g in guards {
            g.finish(Outcome::Success);
        }
    })
    .1;
    let dynamo_chunk = allocations(|| {
        for _ in 0..n {
            dynamo.chunk(1, Duration::from_millis(1));
        }
    })
    .1;
    let dynamo_end = allocations(|| {
        for _ in 0..n {
            dynamo.end(&t);
        }
    })
    .1;
    let per = |a: u64| a as f64 / n as f64;
    println!(
        "allocations per chunk: reqtrack {:.3}, dynamo_way {:.3}",
        per(chunk_allocs),
        per(dynamo_chunk)
    );
    println!(
        "allocations per end of request: reqtrack {:.3}, dynamo_way {:.3}",
        per(end_allocs),
        per(dynamo_end)
    );
    stream.finish(Outcome::Success);
}
