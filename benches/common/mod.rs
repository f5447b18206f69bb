//! Helpers shared by the bench binaries.

#![allow(dead_code)]

pub mod dynamo_way;
pub mod recorders;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::thread;

/// Polls a future that must be ready at once (an uncontended gate).
#[inline(always)]
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("expected an uncontended, ready future"),
    }
}

/// The machine's cores (2 if unknown).
pub fn cores() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get())
}

/// The thread counts a contention bench runs: `REQTRACK_BENCH_THREADS` (comma-separated, used
/// as given, oversubscribing if asked: `benches/scaling.sh` sets it), else those of
/// `defaults` that the machine's cores can run side by side (at least the smallest).
pub fn thread_counts(defaults: &[usize]) -> Vec<usize> {
    if let Ok(list) = std::env::var("REQTRACK_BENCH_THREADS") {
        let parsed: Vec<usize> = list
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("REQTRACK_BENCH_THREADS: bad count {s:?}"))
            })
            .collect();
        assert!(
            parsed.iter().all(|&n| n >= 2),
            "REQTRACK_BENCH_THREADS: counts start at 2"
        );
        return parsed;
    }
    let cores = cores().max(defaults.iter().copied().min().unwrap_or(2));
    defaults.iter().copied().filter(|&n| n <= cores).collect()
}

/// Tokens one tracker takes in a bench before a fresh one replaces it: 2^20, far below the
/// 2^23 samples after which reqtrack's detokenize slot spills to its (two-RMW) wide state, so
/// a long criterion run measures the path a real request takes (thousands of tokens), not
/// one 100-million-token request.
pub const TOKENS_PER_TRACKER: u64 = 1 << 20;

/// `run(n)` over `iters` in pieces of at most [`TOKENS_PER_TRACKER`], each on a fresh tracker
/// (`run` builds it, outside its timing), the times summed.
pub fn per_tracker(
    iters: u64,
    mut run: impl FnMut(u64) -> std::time::Duration,
) -> std::time::Duration {
    let mut left = iters;
    let mut total = std::time::Duration::ZERO;
    while left > 0 {
        let n = left.min(TOKENS_PER_TRACKER);
        total += run(n);
        left -= n;
    }
    total
}

// Not every bench binary measures allocations.
#[allow(unused_imports)]
pub use reqtrack_check::alloc::{CountingAlloc, allocations};
