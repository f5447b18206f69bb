//! Tail latency of single record calls under oversubscription: twice as many threads as cores
//! (4 on 2 cores), all calling `record_finish` (the reference's mutex path; reqtrack's CAS
//! loop) and `record_detokenize_latency` (the per-token path) on one tracker. A lock whose
//! holder is preempted stalls everyone queued behind it; atomics do not, but a CAS can retry.
//! Both sides in one run, interleaved in rounds (ABAB) so both see the same machine state;
//! prints p50 / p99 / p99.9 / max in nanoseconds.
//!
//! Each call is timed by an `Instant::now()` pair, so every figure includes one clock read; the
//! `timer only` rows (an empty pair, in the same loop) show that floor and its own tail.
//!
//! `cargo bench --bench tail` (`-- --quick` for a short run, `-- --threads N` to choose the
//! thread count, `-- --json PATH` to also write the figures for `benches/report.py`).

use reqtrack::RequestTracker;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
#[path = "reference/mod.rs"]
mod reference;

use reference::RefTracker;

trait Calls: Send + Sync + 'static {
    fn fresh() -> Self;
    fn finish(&self);
    fn detok(&self);
}

macro_rules! impl_calls {
    ($t:ty) => {
        impl Calls for $t {
            fn fresh() -> Self {
                <$t>::new()
            }
            fn finish(&self) {
                self.record_finish();
            }
            fn detok(&self) {
                self.record_detokenize_latency(Duration::from_nanos(700));
            }
        }
    };
}

impl_calls!(RequestTracker);
impl_calls!(RefTracker);

/// Per-call latencies (ns) of one side, from every thread.
#[derive(Default)]
struct Samples {
    finish: Vec<u64>,
    detok: Vec<u64>,
    timer: Vec<u64>,
}

impl Samples {
    fn extend(&mut self, other: Samples) {
        self.finish.extend(other.finish);
        self.detok.extend(other.detok);
        self.timer.extend(other.timer);
    }
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos() as u64
}

fn sample<T: Calls>(threads: usize, calls: usize) -> Samples {
    let tracker = Arc::new(T::fresh());
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (tracker, barrier) = (Arc::clone(&tracker), Arc::clone(&barrier));
            thread::spawn(move || {
                let mut s = Samples {
                    finish: Vec::with_capacity(calls),
                    detok: Vec::with_capacity(calls),
                    timer: Vec::with_capacity(calls),
                };
                barrier.wait();
                for _ in 0..calls {
                    let a = Instant::now();
                    tracker.finish();
                    let b = Instant::now();
                    tracker.detok();
                    let c = Instant::now();
                    let d = Instant::now();
                    s.finish.push(nanos(b - a));
                    s.detok.push(nanos(c - b));
                    s.timer.push(nanos(d - c));
                }
                s
            })
        })
        .collect();
    let mut all = Samples::default();
    for h in handles {
        all.extend(h.join().expect("worker"));
    }
    all
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `[p50, p99, p99.9, max]` of `v`, printed as one row.
fn row(name: &str, mut v: Vec<u64>) -> [u64; 4] {
    v.sort_unstable();
    let r = [
        pct(&v, 0.5),
        pct(&v, 0.99),
        pct(&v, 0.999),
        *v.last().unwrap_or(&0),
    ];
    println!(
        "{name:<34} {:>8} {:>10} {:>10} {:>12}",
        r[0], r[1], r[2], r[3]
    );
    r
}

/// The value after `flag` on the command line.
fn arg(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick" || a == "--test");
    let cores = common::cores();
    let threads = arg("--threads").map_or(2 * cores, |s| s.parse().expect("--threads N"));
    let calls = if quick { 20_000 } else { 400_000 };
    let rounds = if quick { 1 } else { 4 };
    println!("tail latency: {threads} threads on {cores} cores, {calls} calls each (ns)");
    println!(
        "{:<34} {:>8} {:>10} {:>10} {:>12}",
        "call", "p50", "p99", "p99.9", "max"
    );
    let (mut ours, mut theirs) = (Samples::default(), Samples::default());
    for _ in 0..rounds {
        ours.extend(sample::<RequestTracker>(threads, calls / rounds));
        theirs.extend(sample::<RefTracker>(threads, calls / rounds));
    }
    let rows = [
        (
            "reqtrack record_finish",
            row("reqtrack record_finish", ours.finish),
        ),
        (
            "reference record_finish",
            row("reference record_finish", theirs.finish),
        ),
        (
            "reqtrack record_detokenize_latency",
            row("reqtrack record_detokenize_latency", ours.detok),
        ),
        (
            "reference record_detokenize_latency",
            row("reference record_detokenize_latency", theirs.detok),
        ),
        (
            "reqtrack timer only",
            row("reqtrack timer only", ours.timer),
        ),
        (
            "reference timer only",
            row("reference timer only", theirs.timer),
        ),
    ];
    let (a, b) = (rows[0].1, rows[1].1);
    println!(
        "record_finish reference / reqtrack: p99 {:.2}, p99.9 {:.2}",
        b[1] as f64 / a[1].max(1) as f64,
        b[2] as f64 / a[2].max(1) as f64
    );
    if let Some(path) = arg("--json") {
        let rows: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(name, r)| {
                let v = serde_json::json!({"p50": r[0], "p99": r[1], "p999": r[2], "max": r[3]});
                (name.to_string(), v)
            })
            .collect();
        let out = serde_json::json!({
            "threads": threads,
            "cores": cores,
            "calls_per_thread": calls,
            "rows": rows,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&out).expect("json"))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        println!("wrote {path}");
    }
}
