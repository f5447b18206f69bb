//! One tracker shared by 2, 4, 8 and 16 threads (capped at the machine's cores), each doing
//! the streaming hot path: a detokenize sample per token, osl + finish at each 16-token block
//! boundary, and a timing read per 4-token chunk. Reported as time per token step, all
//! threads together; reqtrack vs the reference in the same run. A second group has the
//! production shape: one stream thread writing tokens while the other threads poll the timing
//! (time per token of the stream).
//!
//! `cargo bench --bench contention`

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use reqtrack::RequestTracker;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

#[path = "reference/mod.rs"]
mod reference;

use reference::RefTracker;

trait Stream: Send + Sync + 'static {
    fn token(&self, i: u64);
    fn chunk_read(&self);
}

/// The same calls on both trackers (their method names match).
macro_rules! impl_stream {
    ($t:ty) => {
        impl Stream for $t {
            fn token(&self, i: u64) {
                self.record_detokenize_latency(Duration::from_nanos(700));
                if i % 16 == 15 {
                    self.record_osl(i as usize);
                    self.record_finish();
                }
                if i % 4 == 3 {
                    self.chunk_read();
                }
            }
            fn chunk_read(&self) {
                black_box(self.get_timing_info());
                black_box(self.avg_itl_ms());
            }
        }
    };
}

impl_stream!(RequestTracker);
impl_stream!(RefTracker);

/// Wall time for one stream thread to write `iters` tokens while `readers` threads read the
/// timing continuously (the response path polling for chunks).
fn run_stream_with_readers<T: Stream>(tracker: Arc<T>, readers: u64, iters: u64) -> Duration {
    let done = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(readers as usize + 1));
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

/// Wall time for `threads` threads to run `iters` token steps between them.
fn run<T: Stream>(tracker: Arc<T>, threads: u64, iters: u64) -> Duration {
    let per_thread = iters.div_ceil(threads);
    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (tracker, barrier) = (Arc::clone(&tracker), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                for i in 0..per_thread {
                    tracker.token(i);
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().expect("worker");
    }
    start.elapsed()
}

fn contention(c: &mut Criterion) {
    let cores = thread::available_parallelism().map_or(2, |n| n.get() as u64);
    for threads in [2u64, 4, 8, 16].into_iter().filter(|&n| n <= cores.max(2)) {
        let mut g = c.benchmark_group(format!("contention_{threads}_threads"));
        g.bench_function("reqtrack", |b| {
            b.iter_custom(|iters| run(Arc::new(RequestTracker::new()), threads, iters))
        });
        g.bench_function("reference", |b| {
            b.iter_custom(|iters| run(Arc::new(RefTracker::new()), threads, iters))
        });
        g.finish();
        let readers = threads - 1;
        let mut g = c.benchmark_group(format!("stream_with_{readers}_readers"));
        g.bench_function("reqtrack", |b| {
            b.iter_custom(|iters| {
                run_stream_with_readers(Arc::new(RequestTracker::new()), readers, iters)
            })
        });
        g.bench_function("reference", |b| {
            b.iter_custom(|iters| {
                run_stream_with_readers(Arc::new(RefTracker::new()), readers, iters)
            })
        });
        g.finish();
    }
}

criterion_group!(benches, contention);
criterion_main!(benches);
