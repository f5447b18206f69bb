//! The gauge pair (`observe_first_token_gauges` + `observe_finish_gauges`) with the Prometheus
//! recorder installed, vs the reference's `GaugeVec::with_label_values` path, plus the floor
//! (three sets through kept `metrics::Gauge` handles) and allocations per observation.
//!
//! `cargo bench --bench gauges`

use criterion::{Criterion, black_box};
use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL};
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
#[path = "reference/mod.rs"]
mod reference;

use common::{CountingAlloc, allocations};
use reference::RefTracker;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn ours() -> RequestTracker {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 0);
    drop(t.try_set_phase(RequestPhase::Prefill));
    t.record_worker_full(3, 1, WORKER_TYPE_PREFILL);
    drop(t.try_set_phase(RequestPhase::Decode));
    t.record_worker_full(4, 0, WORKER_TYPE_DECODE);
    t.record_first_token_at(t0 + Duration::from_millis(20));
    t.record_isl(1024, 0);
    t.record_osl(64);
    t.record_finish_at(t0 + Duration::from_millis(200));
    t
}

fn theirs() -> RefTracker {
    let t = RefTracker::new();
    drop(common::ready(t.set_phase(RequestPhase::Prefill)));
    t.record_worker(3, Some(1), reference::WORKER_TYPE_PREFILL);
    drop(common::ready(t.set_phase(RequestPhase::Decode)));
    t.record_worker(4, Some(0), reference::WORKER_TYPE_DECODE);
    t.record_first_token();
    t.record_isl(1024, 0);
    t.record_osl(64);
    t.record_finish();
    t
}

fn main() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    metrics::set_global_recorder(recorder).expect("first recorder");
    let (t, r) = (ours(), theirs());
    let floor = [
        metrics::gauge!("floor_a", "worker_id" => "3"),
        metrics::gauge!("floor_b", "worker_id" => "3"),
        metrics::gauge!("floor_c", "worker_id" => "4"),
    ];
    // First observations resolve handles / create label sets; not measured.
    t.observe_first_token_gauges();
    t.observe_finish_gauges();
    r.observe_first_token_gauges();
    r.observe_finish_gauges();

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("gauge_pair");
        g.bench_function("reqtrack", |b| {
            b.iter(|| {
                t.observe_first_token_gauges();
                t.observe_finish_gauges();
            })
        });
        g.bench_function("reference", |b| {
            b.iter(|| {
                r.observe_first_token_gauges();
                r.observe_finish_gauges();
            })
        });
        g.bench_function("floor_three_kept_gauges", |b| {
            b.iter(|| {
                for g in &floor {
                    g.set(black_box(0.25));
                }
            })
        });
        g.finish();
    }
    c.final_summary();

    let n = 1000u64;
    let ours_allocs = allocations(|| {
        for _ in 0..n {
            t.observe_first_token_gauges();
            t.observe_finish_gauges();
        }
    })
    .1;
    let ref_allocs = allocations(|| {
        for _ in 0..n {
            r.observe_first_token_gauges();
            r.observe_finish_gauges();
        }
    })
    .1;
    println!(
        "allocations per observation pair: reqtrack {:.2}, reference {:.2}",
        ours_allocs as f64 / n as f64,
        ref_allocs as f64 / n as f64
    );
}
