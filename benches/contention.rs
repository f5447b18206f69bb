//! One tracker shared by 2, 4, 8 and 16 threads (capped at the machine's cores), each doing
//! the streaming hot path: a detokenize sample per token, osl + finish at each 16-token block
//! boundary, and a timing read per 4-token chunk. Reported as time per token step, all
//! threads together; reqtrack vs the reference in the same run.
//!
//! `cargo bench --bench contention`

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use reqtrack::RequestTracker;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

#[path = "reference/mod.rs"]
mod reference;

use reference::RefTracker;

trait Stream: Send + Sync + 'static {
    fn token(&self, i: u64);
}

impl Stream for RequestTracker {
    fn token(&self, i: u64) {
        self.record_detokenize_latency(Duration::from_nanos(700));
        if i % 16 == 15 {
            self.record_osl(i as usize);
            self.record_finish();
        }
        if i % 4 == 3 {
            black_box(self.get_timing_info());
        }
    }
}

impl Stream for RefTracker {
    fn token(&self, i: u64) {
        self.record_detokenize_latency(Duration::from_nanos(700));
        if i % 16 == 15 {
            self.record_osl(i as usize);
            self.record_finish();
        }
        if i % 4 == 3 {
            black_box(self.get_timing_info());
        }
    }
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
    }
}

criterion_group!(benches, contention);
criterion_main!(benches);
