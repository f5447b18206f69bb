//! Per-operation cost, uncontended: reqtrack vs the lock-based reference vs the floor (one
//! clock read plus one atomic read-modify-write).
//!
//! `cargo bench --bench ops`

use criterion::{BatchSize, Criterion, black_box, criterion_group, criterion_main};
use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_DECODE};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
#[path = "reference/mod.rs"]
mod reference;

use common::{per_tracker, ready};
use reference::RefTracker;

static FLOOR_SLOT: AtomicU64 = AtomicU64::new(0);
static BASE: LazyLock<Instant> = LazyLock::new(Instant::now);

/// The floor: one clock read turned into an offset, and one atomic RMW.
fn floor() {
    let offset = Instant::now().saturating_duration_since(*BASE).as_nanos() as u64;
    FLOOR_SLOT.fetch_max(black_box(offset), Ordering::Release);
}

fn floor_clock_only() -> Instant {
    Instant::now()
}

/// A write to a fresh tracker each time (setup not measured).
macro_rules! fresh {
    ($c:expr, $name:literal, |$t:ident| $ours:expr, |$r:ident| $theirs:expr) => {{
        let mut g = $c.benchmark_group($name);
        g.bench_function("reqtrack", |b| {
            b.iter_batched_ref(
                RequestTracker::new,
                |$t| black_box($ours),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("reference", |b| {
            b.iter_batched_ref(
                RefTracker::new,
                |$r| black_box($theirs),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("floor", |b| b.iter(floor));
        g.finish();
    }};
}

/// A call on a tracker that already holds values (the steady state).
macro_rules! steady {
    ($c:expr, $name:literal, $t:ident, $r:ident, $ours:expr, $theirs:expr) => {{
        let mut g = $c.benchmark_group($name);
        g.bench_function("reqtrack", |b| b.iter(|| black_box($ours)));
        g.bench_function("reference", |b| b.iter(|| black_box($theirs)));
        g.finish();
    }};
}

fn filled() -> (RequestTracker, RefTracker) {
    let t = RequestTracker::new();
    let r = RefTracker::new();
    t.record_worker_full(7, 1, WORKER_TYPE_DECODE);
    r.record_worker(7, Some(1), reference::WORKER_TYPE_DECODE);
    t.record_prefill_start();
    r.record_prefill_start();
    t.record_first_token();
    r.record_first_token();
    t.record_kv_hit(3, 8);
    r.record_kv_hit(3, 8);
    t.record_isl(512, 128);
    r.record_isl(512, 128);
    t.record_osl(64);
    r.record_osl(64);
    t.record_finish();
    r.record_finish();
    t.record_router_queue_depth(4);
    r.record_router_queue_depth(4);
    (t, r)
}

fn writes(c: &mut Criterion) {
    {
        let mut g = c.benchmark_group("new_and_drop");
        // `black_box(&..)`: the tracker is built in place and dropped at the end of the
        // closure; returning it by value would add a 192/376-byte copy of freshly written
        // memory (a store-forwarding stall) that no caller pays.
        g.bench_function("reqtrack", |b| {
            b.iter(|| {
                black_box(&RequestTracker::new());
            })
        });
        g.bench_function("reference", |b| {
            b.iter(|| {
                black_box(&RefTracker::new());
            })
        });
        // `new()`'s one clock read: the target is this plus 5 ns.
        g.bench_function("instant_now", |b| b.iter(|| black_box(Instant::now())));
        g.finish();
    }
    fresh!(
        c,
        "record_prefill_start",
        |t| t.record_prefill_start(),
        |r| r.record_prefill_start()
    );
    fresh!(c, "record_first_token", |t| t.record_first_token(), |r| r
        .record_first_token());
    fresh!(c, "record_kv_hit", |t| t.record_kv_hit(3, 8), |r| r
        .record_kv_hit(3, 8));
    fresh!(c, "record_isl", |t| t.record_isl(512, 128), |r| r
        .record_isl(512, 128));
    fresh!(
        c,
        "record_worker_full",
        |t| t.record_worker_full(7, 1, WORKER_TYPE_DECODE),
        |r| r.record_worker(7, Some(1), reference::WORKER_TYPE_DECODE)
    );
    fresh!(
        c,
        "record_tokenize_latency",
        |t| t.record_tokenize_latency(Duration::from_micros(5)),
        |r| r.record_tokenize_latency(Duration::from_micros(5))
    );
    fresh!(
        c,
        "record_router_queue_depth",
        |t| t.record_router_queue_depth(3),
        |r| r.record_router_queue_depth(3)
    );

    let (t, r) = filled();
    {
        let mut g = c.benchmark_group("record_finish");
        g.bench_function("reqtrack", |b| b.iter(|| t.record_finish()));
        g.bench_function("reference", |b| b.iter(|| r.record_finish()));
        g.bench_function("floor", |b| b.iter(floor));
        g.bench_function("clock_only", |b| b.iter(floor_clock_only));
        g.finish();
    }
    {
        // The finish slot alone: a later instant each call, no clock read (`record_finish`
        // above is mostly the clock, 20-60 ns, which hides the slot's few ns).
        let mut g = c.benchmark_group("record_finish_at");
        let mut at = Instant::now();
        g.bench_function("reqtrack", |b| {
            b.iter(|| {
                at += Duration::from_nanos(1);
                t.record_finish_at(black_box(at))
            })
        });
        g.bench_function("reference", |b| {
            b.iter(|| {
                at += Duration::from_nanos(1);
                r.record_finish_at(black_box(at))
            })
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("record_first_token_again");
        g.bench_function("reqtrack", |b| b.iter(|| black_box(t.record_first_token())));
        g.bench_function("reference", |b| {
            b.iter(|| black_box(r.record_first_token()))
        });
        g.finish();
    }
    {
        // A fresh tracker per 2^20 samples (`common::per_tracker`), on both sides: one tracker
        // fed for the whole run would pass reqtrack's 2^23-sample packed range and measure the
        // wide (two-RMW) state that no real request reaches.
        let d = Duration::from_nanos(1500);
        let mut g = c.benchmark_group("record_detokenize_latency");
        g.bench_function("reqtrack", |b| {
            b.iter_custom(|iters| {
                per_tracker(iters, |n| {
                    let t = RequestTracker::new();
                    let start = Instant::now();
                    for _ in 0..n {
                        t.record_detokenize_latency(black_box(d));
                    }
                    start.elapsed()
                })
            })
        });
        g.bench_function("reference", |b| {
            b.iter_custom(|iters| {
                per_tracker(iters, |n| {
                    let r = RefTracker::new();
                    let start = Instant::now();
                    for _ in 0..n {
                        r.record_detokenize_latency(black_box(d));
                    }
                    start.elapsed()
                })
            })
        });
        // One uncontended atomic RMW (`lock add`), and one load + CAS on one word (the shape
        // of a saturating or checked add): what one sample cannot go below.
        g.bench_function("floor_one_rmw", |b| {
            b.iter(|| FLOOR_SLOT.fetch_add(black_box(1), Ordering::Relaxed))
        });
        g.bench_function("floor_load_cas", |b| {
            b.iter(|| {
                FLOOR_SLOT.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.wrapping_add(black_box(1)))
                })
            })
        });
        g.finish();
    }
    steady!(
        c,
        "record_osl",
        t,
        r,
        t.record_osl(black_box(65)),
        r.record_osl(black_box(65))
    );
    {
        // osl as a stream writes it: a new value each call (the steady `record_osl` above
        // writes the value already there, which reqtrack skips after one load).
        let mut g = c.benchmark_group("record_osl_new_value");
        let mut n = 0usize;
        g.bench_function("reqtrack", |b| {
            b.iter(|| {
                n = (n + 1) & 0xffff;
                t.record_osl(black_box(n))
            })
        });
        g.bench_function("reference", |b| {
            b.iter(|| {
                n = (n + 1) & 0xffff;
                r.record_osl(black_box(n))
            })
        });
        g.finish();
    }
    {
        let mut g = c.benchmark_group("set_phase_and_drop");
        g.bench_function("reqtrack", |b| {
            b.iter(|| drop(ready(t.set_phase(black_box(RequestPhase::Decode)))))
        });
        g.bench_function("reqtrack_try", |b| {
            b.iter(|| drop(t.try_set_phase(black_box(RequestPhase::Decode))))
        });
        g.bench_function("reference", |b| {
            b.iter(|| drop(ready(r.set_phase(black_box(RequestPhase::Decode)))))
        });
        g.finish();
    }
}

fn reads(c: &mut Criterion) {
    let (t, r) = filled();
    steady!(c, "ttft_ms", t, r, t.ttft_ms(), r.ttft_ms());
    steady!(
        c,
        "total_time_ms",
        t,
        r,
        t.total_time_ms(),
        r.total_time_ms()
    );
    steady!(c, "avg_itl_ms", t, r, t.avg_itl_ms(), r.avg_itl_ms());
    steady!(c, "kv_hit_rate", t, r, t.kv_hit_rate(), r.kv_hit_rate());
    steady!(c, "phase", t, r, t.phase(), r.phase());
    steady!(
        c,
        "get_worker_info",
        t,
        r,
        t.get_worker_info(),
        r.get_worker_info()
    );
    steady!(
        c,
        "get_timing_info",
        t,
        r,
        t.get_timing_info(),
        r.get_timing_info()
    );
}

criterion_group!(benches, writes, reads);
criterion_main!(benches);
