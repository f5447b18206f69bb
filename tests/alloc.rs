//! Allocation-freedom, proven with a counting global allocator (per-thread counts, so the test
//! harness's own threads do not interfere).

#![cfg(not(reqtrack_model))]

use reqtrack::{
    RequestPhase, RequestTracker, TimingInfo, WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL, WorkerIdInfo,
};
use reqtrack_check::alloc::{CountingAlloc, allocations};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// `forget_gauge_handles` clears every thread's cache, so the gauge tests take turns.
static GAUGE_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn exercise(t: &RequestTracker) {
    t.record_prefill_start();
    t.record_first_token();
    t.record_decode_first_token();
    t.record_prefill_complete();
    t.record_kv_hit(3, 8);
    t.record_kv_hit(9, 8);
    t.record_isl(100, 50);
    t.record_osl(16);
    t.record_finish();
    t.record_worker_full(4, 1, WORKER_TYPE_DECODE);
    t.record_worker_full(5, 1, WORKER_TYPE_DECODE);
    t.record_tokenize_latency(Duration::from_micros(3));
    t.record_detokenize_latency(Duration::from_micros(3));
    t.record_router_queue_depth(7);
    let _ = (
        t.ttft_ms(),
        t.total_time_ms(),
        t.avg_itl_ms(),
        t.kv_hit_rate(),
    );
    let _ = (t.get_worker_info(), t.get_timing_info(), t.snapshot());
    let _ = (
        t.isl_tokens(),
        t.worker_conflicts(),
        t.detokenize_total_latency(),
        t.phase(),
    );
}

#[test]
fn new_allocates_nothing() {
    let (tracker, n) = allocations(RequestTracker::new);
    assert_eq!(n, 0);
    assert_eq!(tracker.osl_tokens(), 0);
}

#[test]
fn record_and_read_calls_allocate_nothing() {
    let t = RequestTracker::new();
    let ((), n) = allocations(|| exercise(&t));
    assert_eq!(n, 0);
}

#[test]
fn merges_migrations_and_effective_kv_hits_allocate_nothing() {
    let t = RequestTracker::new();
    let timing = TimingInfo {
        request_received_ms: t.request_received_epoch_ms() + 1,
        prefill_wait_time_ms: Some(1.0),
        prefill_time_ms: Some(2.0),
        ttft_ms: Some(3.0),
        total_time_ms: Some(4.0),
        kv_hit_rate: Some(0.5),
        router_queue_depth: Some(1),
        kv_transfer_estimated_latency_ms: Some(0.5),
    };
    let workers = WorkerIdInfo {
        prefill_worker_id: Some(1),
        prefill_dp_rank: Some(0),
        decode_worker_id: Some(2),
        decode_dp_rank: None,
    };
    let ((), n) = allocations(|| {
        assert_eq!(t.set_external_timing(&timing), 6);
        assert_eq!(t.set_external_worker_info(&workers), 2);
        t.record_worker_full(3, 1, WORKER_TYPE_DECODE);
        t.record_kv_hit_effective(1.5, 4);
        t.record_migration();
        let _ = (
            t.kv_transfer_estimated_latency_secs(),
            t.migrations(),
            t.get_timing_info(),
            t.get_worker_info(),
            t.snapshot(),
        );
    });
    assert_eq!(n, 0);
}

#[test]
fn phase_changes_allocate_nothing() {
    let t = RequestTracker::new();
    let ((), n) = allocations(|| {
        drop(t.try_set_phase(RequestPhase::Prefill));
        let mut fut = pin!(t.set_phase(RequestPhase::Decode));
        let Poll::Ready(p) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
            panic!("gate is free");
        };
        drop(p);
    });
    assert_eq!(n, 0);
}

#[test]
fn gauge_observation_after_the_first_allocates_nothing() {
    let _turn = GAUGE_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let t = RequestTracker::new();
    drop(t.try_set_phase(RequestPhase::Prefill).unwrap());
    t.record_worker_full(11, 0, WORKER_TYPE_PREFILL);
    drop(t.try_set_phase(RequestPhase::Decode).unwrap());
    t.record_worker_full(12, 0, WORKER_TYPE_DECODE);
    t.record_first_token();
    t.record_isl(10, 2);
    t.record_osl(4);
    t.record_finish();
    metrics::with_local_recorder(&recorder, || {
        let ((), first) = allocations(|| {
            t.observe_first_token_gauges();
            t.observe_finish_gauges();
        });
        assert!(first > 0, "first observation resolves handles");
        let ((), again) = allocations(|| {
            for _ in 0..100 {
                t.observe_first_token_gauges();
                t.observe_finish_gauges();
            }
        });
        assert_eq!(again, 0);
    });
    reqtrack::forget_gauge_handles();
}

#[test]
fn observing_a_known_worker_for_a_new_request_within_the_ttl_allocates_nothing() {
    let _turn = GAUGE_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let within_ttl = reqtrack::gauge_handle_ttl() / 2;
    let t0 = Instant::now();
    let request = |at: Instant| {
        let t = RequestTracker::with_received_at(at, 0);
        t.record_worker_full(31, 0, WORKER_TYPE_DECODE); // aggregated: both slots
        t.record_first_token_at(at);
        t.record_isl(10, 2);
        t.record_osl(4);
        t.record_finish_at(at + Duration::from_millis(30));
        t
    };
    let (first, second) = (request(t0), request(t0 + within_ttl));
    metrics::with_local_recorder(&recorder, || {
        first.observe_first_token_gauges();
        first.observe_finish_gauges();
        let ((), n) = allocations(|| {
            second.observe_first_token_gauges();
            second.observe_finish_gauges();
        });
        assert_eq!(n, 0);
    });
    reqtrack::forget_gauge_handles();
}

#[test]
fn forgetting_gauge_handles_makes_the_next_observation_resolve_again() {
    let _turn = GAUGE_TESTS.lock().unwrap_or_else(|e| e.into_inner());
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let t = RequestTracker::new();
    t.record_worker_full(21, 0, WORKER_TYPE_DECODE);
    t.record_first_token();
    metrics::with_local_recorder(&recorder, || {
        t.observe_first_token_gauges();
        let ((), cached) = allocations(|| t.observe_first_token_gauges());
        assert_eq!(cached, 0);
        reqtrack::forget_gauge_handles();
        let ((), resolved) = allocations(|| t.observe_first_token_gauges());
        assert!(
            resolved > 0,
            "handles were re-resolved after forget_gauge_handles"
        );
    });
}
