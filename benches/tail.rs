//! Tail latency of a single record call under oversubscription: twice as many threads as
//! cores, all calling `record_finish` (the reference's mutex path) and `record_detokenize_latency`
//! on one tracker. A lock whose holder is preempted stalls everyone queued behind it; atomics do
//! not. Both sides in one run; prints p50 / p99 / p99.9 / max in nanoseconds.
//!
//! `cargo bench --bench tail` (`-- --quick` for a short run)

use reqtrack::RequestTracker;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

#[path = "reference/mod.rs"]
mod reference;

use reference::RefTracker;

trait Calls: Send + Sync + 'static {
    fn finish(&self);
    fn detok(&self);
}

impl Calls for RequestTracker {
    fn finish(&self) {
        self.record_finish();
    }
    fn detok(&self) {
        self.record_detokenize_latency(Duration::from_nanos(700));
    }
}

impl Calls for RefTracker {
    fn finish(&self) {
        self.record_finish();
    }
    fn detok(&self) {
        self.record_detokenize_latency(Duration::from_nanos(700));
    }
}

/// Per-call latencies (ns) of `finish` and `detok`, from every thread.
fn sample<T: Calls>(tracker: Arc<T>, threads: usize, calls: usize) -> (Vec<u64>, Vec<u64>) {
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (tracker, barrier) = (Arc::clone(&tracker), Arc::clone(&barrier));
            thread::spawn(move || {
                let mut finish = Vec::with_capacity(calls);
                let mut detok = Vec::with_capacity(calls);
                barrier.wait();
                for _ in 0..calls {
                    let a = Instant::now();
                    tracker.finish();
                    let b = Instant::now();
                    tracker.detok();
                    let c = Instant::now();
                    finish.push((b - a).as_nanos() as u64);
                    detok.push((c - b).as_nanos() as u64);
                }
                (finish, detok)
            })
        })
        .collect();
    let mut all = (Vec::new(), Vec::new());
    for h in handles {
        let (f, d) = h.join().expect("worker");
        all.0.extend(f);
        all.1.extend(d);
    }
    all
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn row(name: &str, mut v: Vec<u64>) -> [u64; 4] {
    v.sort_unstable();
    let r = [
        pct(&v, 0.5),
        pct(&v, 0.99),
        pct(&v, 0.999),
        *v.last().unwrap_or(&0),
    ];
    println!(
        "{name:<28} {:>8} {:>10} {:>10} {:>12}",
        r[0], r[1], r[2], r[3]
    );
    r
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    let threads = 2 * cores;
    let calls = if quick { 20_000 } else { 400_000 };
    println!("tail latency: {threads} threads on {cores} cores, {calls} calls each (ns)");
    println!(
        "{:<28} {:>8} {:>10} {:>10} {:>12}",
        "call", "p50", "p99", "p99.9", "max"
    );
    // Interleave the two sides several times so both see the same machine state.
    let rounds = if quick { 1 } else { 3 };
    let (mut of, mut od, mut rf, mut rd) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let (f, d) = sample(Arc::new(RequestTracker::new()), threads, calls / rounds);
        of.extend(f);
        od.extend(d);
        let (f, d) = sample(Arc::new(RefTracker::new()), threads, calls / rounds);
        rf.extend(f);
        rd.extend(d);
    }
    let a = row("reqtrack record_finish", of);
    let b = row("reference record_finish", rf);
    row("reqtrack record_detokenize", od);
    row("reference record_detokenize", rd);
    println!(
        "record_finish p99 ratio (reference / reqtrack): {:.2}, p99.9 ratio: {:.2}",
        b[1] as f64 / a[1].max(1) as f64,
        b[2] as f64 / a[2].max(1) as f64
    );
}
