//! Contention on one tracker: reqtrack vs the lock-based reference in the same run, reported as
//! wall time per token (criterion `iter_custom`: one iteration is one token step).
//!
//! * `production_shape`: the serving shape of one request, 3 threads. The stream writes a
//!   detokenize sample per token and osl + finish at each 16-token block; the response path
//!   reads `get_timing_info` + `avg_itl_ms` once per 4-token chunk, as the stream publishes
//!   chunks; the router does its writes once per block (the phase permit with the decode
//!   worker recorded under it, kv hit, isl, queue depth), repeated so that they overlap the
//!   whole stream, a worst case for the router's share. The reader and the router follow the
//!   stream's progress: exactly one read per chunk and one routing per block, yielding while
//!   they wait. Time per token of the stream, until all three are done.
//! * `all_writers_{N}_threads`: N threads each doing all of it on the one tracker: the token
//!   step, the chunk read, and the router's writes per block (without the phase permit, which
//!   would make the writers wait for each other by design). Time per token, all threads
//!   together.
//! * `all_writers_two_calls_{N}_threads`: the same with the seed's block boundary, osl and
//!   finish as two calls (`record_osl` then `record_finish`) instead of `record_osl_and_finish`.
//! * `stream_with_{N-1}_readers`: one stream thread; N − 1 threads read the timing in a loop.
//!
//! Each run takes a fresh tracker every 2^20 tokens (`common::per_tracker`): a request's
//! worth of tokens per tracker, not one endless request.
//!
//! Thread counts: 2, 4, 8, 16 where the machine has the cores; `REQTRACK_BENCH_THREADS=2,4,8,16`
//! runs exactly those (`benches/scaling.sh` does, and prints one table).
//!
//! `cargo bench --bench contention`

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_DECODE};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
#[path = "reference/mod.rs"]
mod reference;

use common::{per_tracker, ready, thread_counts};
use reference::RefTracker;

/// Tokens per KV block: osl + finish (and the router's writes) at each block boundary.
const BLOCK: u64 = 16;
/// Tokens per response chunk: one timing read per chunk.
const CHUNK: u64 = 4;

/// What one thread of each shape does, on either tracker.
trait Shape: Send + Sync + 'static {
    fn fresh() -> Self;
    /// One token: a detokenize sample; osl + finish at a block boundary.
    fn token(&self, i: u64);
    /// [`token`](Shape::token) with the seed's block boundary: `record_osl`, then
    /// `record_finish`.
    fn token_two_calls(&self, i: u64);
    /// The response path's read for one chunk.
    fn chunk_read(&self);
    /// The router's writes, the decode worker under the phase permit.
    fn route(&self);
    /// The router's writes without the permit.
    fn route_without_permit(&self);
}

/// Drops what a call returns (the two trackers return `bool` or `()` for the same call).
fn ignore<T>(_: T) {}

/// The same calls on both trackers (their method names match).
macro_rules! impl_shape {
    ($t:ty, $decode:expr) => {
        impl Shape for $t {
            fn fresh() -> Self {
                <$t>::new()
            }
            fn token(&self, i: u64) {
                self.record_detokenize_latency(Duration::from_nanos(700));
                if i % BLOCK == BLOCK - 1 {
                    self.record_osl_and_finish(i as usize + 1);
                }
            }
            fn token_two_calls(&self, i: u64) {
                self.record_detokenize_latency(Duration::from_nanos(700));
                if i % BLOCK == BLOCK - 1 {
                    self.record_osl(i as usize + 1);
                    self.record_finish();
                }
            }
            fn chunk_read(&self) {
                black_box(self.get_timing_info());
                black_box(self.avg_itl_ms());
            }
            fn route(&self) {
                let permit = ready(self.set_phase(RequestPhase::Decode));
                self.route_without_permit();
                drop(permit);
            }
            fn route_without_permit(&self) {
                self.record_worker(9, Some(1), $decode);
                ignore(self.record_kv_hit(6, 8));
                ignore(self.record_isl(1024, 768));
                ignore(self.record_router_queue_depth(3));
            }
        }
    };
}

impl_shape!(RequestTracker, WORKER_TYPE_DECODE);
impl_shape!(RefTracker, reference::WORKER_TYPE_DECODE);

/// A thread that runs `work` once per `per` tokens the stream has published, `total` times.
fn follow<T: Shape>(
    tracker: &Arc<T>,
    progress: &Arc<AtomicU64>,
    barrier: &Arc<Barrier>,
    per: u64,
    total: u64,
    work: fn(&T),
) -> JoinHandle<()> {
    let (tracker, progress, barrier) = (tracker.clone(), progress.clone(), barrier.clone());
    thread::spawn(move || {
        barrier.wait();
        let mut done = 0;
        while done < total {
            if done < progress.load(Ordering::Acquire) / per {
                work(&tracker);
                done += 1;
            } else {
                thread::yield_now();
            }
        }
    })
}

/// Wall time of the production shape over `iters` tokens.
fn run_production<T: Shape>(iters: u64) -> Duration {
    let tracker = Arc::new(T::fresh());
    let progress = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(3));
    let reader = follow(
        &tracker,
        &progress,
        &barrier,
        CHUNK,
        iters / CHUNK,
        T::chunk_read,
    );
    let router = follow(
        &tracker,
        &progress,
        &barrier,
        BLOCK,
        iters / BLOCK,
        T::route,
    );
    barrier.wait();
    let start = Instant::now();
    for i in 0..iters {
        tracker.token(i);
        if i % CHUNK == CHUNK - 1 {
            progress.store(i + 1, Ordering::Release);
        }
    }
    reader.join().expect("reader");
    router.join().expect("router");
    start.elapsed()
}

/// Wall time for `threads` threads to run `iters` token steps (`token`) between them, each
/// thread doing everything.
fn run_all_writers<T: Shape>(threads: usize, iters: u64, token: fn(&T, u64)) -> Duration {
    let tracker = Arc::new(T::fresh());
    let per_thread = iters.div_ceil(threads as u64);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (tracker, barrier) = (Arc::clone(&tracker), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                for i in 0..per_thread {
                    token(&tracker, i);
                    if i % CHUNK == CHUNK - 1 {
                        tracker.chunk_read();
                    }
                    if i % BLOCK == BLOCK - 1 {
                        tracker.route_without_permit();
                    }
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().expect("writer");
    }
    start.elapsed()
}

/// Wall time for one stream thread to write `iters` tokens while `readers` threads read the
/// timing continuously.
fn run_stream_with_readers<T: Shape>(readers: usize, iters: u64) -> Duration {
    let tracker = Arc::new(T::fresh());
    let done = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(readers + 1));
    let handles: Vec<_> = (0..readers)
        .map(|_| {
            let (tracker, barrier, done) = (tracker.clone(), barrier.clone(), done.clone());
            thread::spawn(move || {
                barrier.wait();
                while !done.load(Ordering::Relaxed) {
                    tracker.chunk_read();
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for i in 0..iters {
        tracker.token(i);
    }
    let elapsed = start.elapsed();
    done.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("reader");
    }
    elapsed
}

fn contention(c: &mut Criterion) {
    // Every run takes a fresh tracker per `TOKENS_PER_TRACKER` tokens (see `common`).
    let mut g = c.benchmark_group("production_shape");
    g.bench_function("reqtrack", |b| {
        b.iter_custom(|iters| per_tracker(iters, run_production::<RequestTracker>))
    });
    g.bench_function("reference", |b| {
        b.iter_custom(|iters| per_tracker(iters, run_production::<RefTracker>))
    });
    g.finish();

    for threads in thread_counts(&[2, 4, 8, 16]) {
        for (name, ours, theirs) in [
            (
                "all_writers",
                <RequestTracker as Shape>::token as fn(&RequestTracker, u64),
                <RefTracker as Shape>::token as fn(&RefTracker, u64),
            ),
            (
                "all_writers_two_calls",
                <RequestTracker as Shape>::token_two_calls,
                <RefTracker as Shape>::token_two_calls,
            ),
        ] {
            let mut g = c.benchmark_group(format!("{name}_{threads}_threads"));
            g.bench_function("reqtrack", |b| {
                b.iter_custom(|iters| per_tracker(iters, |n| run_all_writers(threads, n, ours)))
            });
            g.bench_function("reference", |b| {
                b.iter_custom(|iters| per_tracker(iters, |n| run_all_writers(threads, n, theirs)))
            });
            g.finish();
        }

        let readers = threads - 1;
        let mut g = c.benchmark_group(format!("stream_with_{readers}_readers"));
        g.bench_function("reqtrack", |b| {
            b.iter_custom(|iters| {
                per_tracker(iters, |n| {
                    run_stream_with_readers::<RequestTracker>(readers, n)
                })
            })
        });
        g.bench_function("reference", |b| {
            b.iter_custom(|iters| {
                per_tracker(iters, |n| run_stream_with_readers::<RefTracker>(readers, n))
            })
        });
        g.finish();
    }
}

criterion_group!(benches, contention);
criterion_main!(benches);
