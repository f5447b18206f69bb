//! Request metrics with the real Prometheus recorder installed (default buckets applied), vs
//! Dynamo's way: a `prometheus::*Vec::with_label_values` lookup per observation.
//!
//! * `chunk`: one token-bearing chunk. `clock_read` is `Instant::now()` alone (the floor the
//!   issue's "≤ 60 ns beyond its clock read" is measured against); `reqtrack_given_instant` is
//!   `StreamMetrics::observe_chunk` with an instant already read; `reqtrack` and `dynamo_way`
//!   include the clock read.
//! * `end_of_request`: `finish(Outcome::Success)` of a request whose tracker has every figure
//!   (requests_total, the gauges' decrements, every end-of-request histogram), vs the same
//!   observations through `with_label_values`; the same `finish` into a pre-bucketed recorder
//!   (`metrics-prometheus`, histograms registered with `DEFAULT_BUCKETS`; the `ModelMetrics`
//!   built for it with `with_recorder`); and the whole per-request metric cost (guard creation
//!   + finish).
//!
//! The exporter's histograms buffer samples until drained: every batch drains them
//! (`run_upkeep`) outside the timed region, so memory stays bounded and every batch starts
//! alike. Allocations per operation are printed after the timings.
//!
//! `cargo bench --bench request_metrics`

use criterion::{Criterion, black_box};
use metrics_exporter_prometheus::PrometheusHandle;
use reqtrack::{
    Endpoint, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker, RequestType,
    StreamMetrics,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;

use common::dynamo_way::DynamoWay;
use common::recorders::{exporter, prebucketed};
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
    let (recorder, handle) = exporter();
    metrics::set_global_recorder(recorder).expect("first recorder");
    // The pre-bucketed recorder, for the end of a request: the ModelMetrics built for it
    // records into it wherever it is called (`ModelMetrics::with_recorder`).
    let fast = Arc::new(ModelMetrics::with_recorder(
        &prefix,
        MODEL,
        Arc::new(prebucketed()),
    ));

    let m = Arc::new(ModelMetrics::new(&prefix, MODEL));
    let t = full_tracker();
    let dynamo = DynamoWay::new(MODEL);
    // First request of the model: resolves the lazily registered series; not measured.
    guard(&m, &t).finish(Outcome::Success);
    guard(&fast, &t).finish(Outcome::Success);
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
        g.bench_function("reqtrack_finish_prebucketed", |b| {
            b.iter_custom(|iters| {
                let guards: Vec<_> = (0..iters).map(|_| guard(&fast, &t)).collect();
                let start = Instant::now();
                for g in guards {
                    g.finish(Outcome::Success);
                }
                start.elapsed()
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
