//! The per-chunk path when its cache lines are cold: N concurrent streams (1, 64, 4096), each
//! with its own tracker and [`StreamMetrics`], one token-bearing chunk each, taken round-robin,
//! as a frontend interleaves thousands of streams.
//!
//! Three ways to pay for a chunk, side by side in one run:
//!
//! * `exporter`: the stock `metrics-exporter-prometheus` recorder (default buckets applied). Its
//!   histograms push every sample raw (with a clock read) and bucket them at render/upkeep, so
//!   every batch is followed by an untimed `run_upkeep`, as a scrape would.
//! * `prebucketed`: `metrics-prometheus`, a facade recorder backed by the `prometheus` crate,
//!   with the request histograms registered up front with the library's `DEFAULT_BUCKETS`:
//!   a sample is a bucket search and three atomic adds, nothing to drain.
//! * `dynamo_way`: no tracker, no facade: the `prometheus` crate's `*Vec`s with a
//!   `with_label_values` lookup per observation, as Dynamo's frontend does it.
//!
//! Each is timed with an instant read before the batch (`given_instant`: the cost beyond the
//! caller's clock read, the figure the targets are stated in) and `clock_read` gives
//! that read's own cost on this machine.
//!
//! `cargo bench --bench chunk_cold`

use criterion::{BenchmarkId, Criterion, black_box};
use metrics::Recorder;
use reqtrack::{
    Endpoint, ModelMetrics, Prefix, RequestGuard, RequestTracker, RequestType, StreamMetrics,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;

use common::dynamo_way::DynamoWay;
use common::recorders::{exporter, prebucketed};

const MODEL: &str = "llama";
/// Stream counts: hot (one stream), a busy frontend's worth, far more than fit in L2.
const STREAMS: [usize; 3] = [1, 64, 4096];
/// Chunks per timed batch (the exporter is drained between batches, untimed).
const BATCH: u64 = 4096;

/// `n` streams of `metrics`, each past its first token (so every timed chunk is a later one:
/// one ITL sample, `output_tokens_total`, the tracker's osl + finish).
fn streams(metrics: &Arc<ModelMetrics>, n: usize) -> Vec<StreamMetrics> {
    let now = Instant::now();
    (0..n)
        .map(|_| {
            let tracker = Arc::new(RequestTracker::new());
            let mut s = RequestGuard::new(
                metrics.clone(),
                tracker,
                Endpoint::ChatCompletions,
                RequestType::Stream,
            )
            .into_stream();
            s.observe_chunk(1, now);
            s
        })
        .collect()
}

/// One chunk on each stream in turn, `iters` chunks, drained by `upkeep` every [`BATCH`].
fn round_robin(streams: &mut [StreamMetrics], iters: u64, upkeep: &dyn Fn()) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    let mut i = 0;
    while left > 0 {
        let n = left.min(BATCH);
        let now = Instant::now();
        let start = Instant::now();
        for _ in 0..n {
            black_box(streams[i].observe_chunk(black_box(1), now));
            i += 1;
            if i == streams.len() {
                i = 0;
            }
        }
        total += start.elapsed();
        upkeep();
        left -= n;
    }
    total
}

fn bench_recorder<R: Recorder + Sync>(
    c: &mut Criterion,
    group: &str,
    recorder: &R,
    upkeep: &dyn Fn(),
) {
    let metrics = metrics::with_local_recorder(recorder, || {
        Arc::new(ModelMetrics::new(&Prefix::default(), MODEL))
    });
    let mut g = c.benchmark_group(group);
    for n in STREAMS {
        let mut s = metrics::with_local_recorder(recorder, || streams(&metrics, n));
        g.bench_with_input(BenchmarkId::new("given_instant", n), &n, |b, _| {
            b.iter_custom(|iters| round_robin(&mut s, iters, upkeep))
        });
        for stream in s {
            metrics::with_local_recorder(recorder, || stream.finish(reqtrack::Outcome::Success));
        }
        upkeep();
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    c.bench_function("clock_read", |b| b.iter(|| black_box(Instant::now())));

    let (recorder, handle) = exporter();
    bench_recorder(&mut c, "exporter", &recorder, &|| handle.run_upkeep());

    let recorder = prebucketed();
    bench_recorder(&mut c, "prebucketed", &recorder, &|| {});

    let dynamo = DynamoWay::new(MODEL);
    let mut g = c.benchmark_group("dynamo_way");
    for n in STREAMS {
        // Dynamo's per-stream state is the previous chunk's instant.
        let mut last = vec![Instant::now(); n];
        g.bench_with_input(BenchmarkId::new("given_instant", n), &n, |b, _| {
            b.iter_custom(|iters| {
                let now = Instant::now();
                let start = Instant::now();
                let mut i = 0;
                for _ in 0..iters {
                    dynamo.chunk(black_box(1), now.saturating_duration_since(last[i]));
                    last[i] = now;
                    i += 1;
                    if i == n {
                        i = 0;
                    }
                }
                start.elapsed()
            })
        });
    }
    g.finish();
    c.final_summary();
}
