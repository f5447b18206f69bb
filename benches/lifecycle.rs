//! One whole request, end to end: reqtrack vs the reference, plus the floor's parts (clock
//! reads, atomic RMWs, JSON encoding, kept-gauge sets) measured in the same run.
//! `benches/report.py` sums the floor and prints it beside the figure.
//!
//! `cargo bench --bench lifecycle`

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_PREFILL};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

#[path = "common/mod.rs"]
mod common;
#[path = "reference/mod.rs"]
mod reference;

use common::ready;
use reference::RefTracker;

/// One whole request on `$t`: both trackers take the same calls; only the worker call's
/// signature differs (typed `WorkerType` and `record_worker_full` vs the reference's strings).
macro_rules! lifecycle {
    ($t:expr, |$tr:ident| $record_worker:expr) => {{
        let $tr = $t;
        drop(ready($tr.set_phase(RequestPhase::Prefill)));
        $record_worker;
        $tr.record_prefill_start();
        $tr.record_first_token();
        $tr.record_kv_hit(6, 8);
        $tr.record_isl(1024, 768);
        for block in 1..=16 {
            for _ in 0..4 {
                $tr.record_detokenize_latency(Duration::from_nanos(900));
            }
            $tr.record_osl_and_finish(block * 4);
        }
        $tr.observe_first_token_gauges();
        $tr.observe_finish_gauges();
        serde_json::to_string(&$tr.get_timing_info())
            .expect("json")
            .len()
    }};
}

fn ours() -> usize {
    lifecycle!(RequestTracker::new(), |t| t.record_worker_full(
        3,
        1,
        WORKER_TYPE_PREFILL
    ))
}

fn theirs() -> usize {
    lifecycle!(RefTracker::new(), |t| t.record_worker(
        3,
        Some(1),
        reference::WORKER_TYPE_PREFILL
    ))
}

static RMW: AtomicU64 = AtomicU64::new(0);

fn lifecycle(c: &mut Criterion) {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::set_global_recorder(recorder).expect("first recorder");

    let mut g = c.benchmark_group("lifecycle");
    g.bench_function("reqtrack", |b| b.iter(ours));
    g.bench_function("reference", |b| b.iter(theirs));
    g.finish();

    // The floor's parts: what a lifecycle cannot avoid.
    let mut g = c.benchmark_group("floor_parts");
    g.bench_function("instant_now", |b| b.iter(Instant::now));
    g.bench_function("system_time_now", |b| b.iter(SystemTime::now));
    g.bench_function("atomic_rmw", |b| {
        b.iter(|| RMW.fetch_add(black_box(1), Ordering::AcqRel))
    });
    let info = RequestTracker::new();
    info.record_prefill_start();
    info.record_first_token();
    info.record_finish();
    info.record_kv_hit(6, 8);
    let timing = info.get_timing_info();
    g.bench_function("json_encode", |b| {
        b.iter(|| {
            serde_json::to_string(black_box(&timing))
                .expect("json")
                .len()
        })
    });
    let gauge = metrics::gauge!("floor_gauge", "worker_id" => "3");
    g.bench_function("kept_gauge_set", |b| b.iter(|| gauge.set(black_box(1.5))));
    g.finish();
}

criterion_group!(benches, lifecycle);
criterion_main!(benches);
