//! Per-worker gauges: names, labels, which worker, which recorder.

#![cfg(not(reqtrack_model))]

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::debugging::{DebuggingRecorder, Snapshotter};
use reqtrack::{
    RequestPhase, RequestTracker, WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE,
    WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE, WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE,
    WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL,
};
use reqtrack_check::recorder::{self, Labels, Recorded};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// `(metric name, sorted labels, value)`.
type Series = (String, Labels, f64);

/// Every gauge in the snapshot.
fn gauges(s: &Snapshotter) -> Vec<Series> {
    Recorded::from_snapshotter(s).gauges()
}

fn labels(id: &str, rank: &str, ty: &str) -> Labels {
    vec![
        ("dp_rank".into(), rank.into()),
        ("worker_id".into(), id.into()),
        ("worker_type".into(), ty.into()),
    ]
}

fn observed(f: impl FnOnce()) -> Vec<Series> {
    reqtrack::forget_gauge_handles();
    let seen = recorder::record(|_| f());
    reqtrack::forget_gauge_handles();
    seen.gauges()
}

fn disaggregated() -> (RequestTracker, Instant) {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 0);
    drop(t.try_set_phase(RequestPhase::Prefill).unwrap());
    t.record_worker_full(7, 2, WORKER_TYPE_PREFILL);
    drop(t.try_set_phase(RequestPhase::Decode).unwrap());
    t.record_worker(9, None, WORKER_TYPE_DECODE);
    (t, t0)
}

#[test]
fn first_token_gauges_use_the_prefill_worker() {
    let (t, t0) = disaggregated();
    t.record_first_token_at(t0 + Duration::from_millis(250));
    t.record_isl(300, 100);
    let g = observed(|| t.observe_first_token_gauges());
    assert_eq!(
        g,
        vec![
            (
                WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE.into(),
                labels("7", "2", "prefill"),
                300.0
            ),
            (
                WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE.into(),
                labels("7", "2", "prefill"),
                0.25
            ),
        ]
    );
}

#[test]
fn finish_gauge_uses_the_decode_worker_and_labels_unknown_rank_none() {
    let (t, t0) = disaggregated();
    t.record_first_token_at(t0 + Duration::from_millis(10));
    t.record_osl(11);
    t.record_finish_at(t0 + Duration::from_millis(110));
    let g = observed(|| t.observe_finish_gauges());
    assert_eq!(
        g,
        vec![(
            WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE.into(),
            labels("9", "none", "decode"),
            0.01
        )]
    );
}

#[test]
fn worker_type_label_is_the_type_recorded_in_the_slot() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 0);
    t.record_worker_full(3, 0, WORKER_TYPE_DECODE); // aggregated: prefill slot holds "decode"
    t.record_first_token_at(t0 + Duration::from_millis(5));
    let g = observed(|| t.observe_first_token_gauges());
    assert_eq!(
        g,
        vec![(
            WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE.into(),
            labels("3", "0", "decode"),
            0.005
        )]
    );
}

#[test]
fn no_worker_means_no_gauges() {
    let t = RequestTracker::new();
    t.record_first_token();
    t.record_isl(10, 0);
    t.record_osl(5);
    t.record_finish();
    let g = observed(|| {
        t.observe_first_token_gauges();
        t.observe_finish_gauges();
    });
    assert!(g.is_empty(), "{g:?}");
}

#[test]
fn unknown_values_are_skipped_not_zeroed() {
    let (t, _) = disaggregated();
    let g = observed(|| {
        t.observe_first_token_gauges();
        t.observe_finish_gauges();
    });
    assert!(g.is_empty(), "{g:?}");
}

#[test]
fn gauges_land_in_the_recorder_current_at_observation() {
    reqtrack::forget_gauge_handles();
    let (t, t0) = disaggregated();
    t.record_first_token_at(t0 + Duration::from_millis(20));
    let first = DebuggingRecorder::new();
    let first_snap = first.snapshotter();
    let second = DebuggingRecorder::new();
    let second_snap = second.snapshotter();
    metrics::with_local_recorder(&first, || t.observe_first_token_gauges());
    metrics::with_local_recorder(&second, || t.observe_first_token_gauges());
    assert_eq!(gauges(&first_snap).len(), 1);
    assert_eq!(
        gauges(&second_snap),
        vec![(
            WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE.into(),
            labels("7", "2", "prefill"),
            0.02
        )]
    );
    reqtrack::forget_gauge_handles();
}

#[test]
fn repeated_observation_updates_the_same_series() {
    reqtrack::forget_gauge_handles();
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        for ms in [10u64, 30] {
            let t0 = Instant::now();
            let t = RequestTracker::with_received_at(t0, 0);
            t.record_worker_full(1, 0, WORKER_TYPE_PREFILL);
            t.record_first_token_at(t0 + Duration::from_millis(ms));
            t.observe_first_token_gauges();
        }
    });
    assert_eq!(
        gauges(&snap),
        vec![(
            WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE.into(),
            labels("1", "0", "prefill"),
            0.03
        )]
    );
    reqtrack::forget_gauge_handles();
}

#[test]
fn prometheus_exposition_has_the_reference_names_and_help() {
    reqtrack::forget_gauge_handles();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let (t, t0) = disaggregated();
    t.record_first_token_at(t0 + Duration::from_millis(40));
    t.record_isl(64, 0);
    t.record_osl(3);
    t.record_finish_at(t0 + Duration::from_millis(60));
    metrics::with_local_recorder(&recorder, || {
        t.observe_first_token_gauges();
        t.observe_finish_gauges();
    });
    reqtrack::forget_gauge_handles();
    let text = handle.render();
    assert!(text.contains(
        "dynamo_frontend_worker_last_time_to_first_token_seconds{worker_id=\"7\",dp_rank=\"2\",worker_type=\"prefill\"} 0.04"
    ), "{text}");
    assert!(text.contains(
        "dynamo_frontend_worker_last_input_sequence_tokens{worker_id=\"7\",dp_rank=\"2\",worker_type=\"prefill\"} 64"
    ), "{text}");
    assert!(text.contains(
        "dynamo_frontend_worker_last_inter_token_latency_seconds{worker_id=\"9\",dp_rank=\"none\",worker_type=\"decode\"} 0.01"
    ), "{text}");
    assert!(
        text.contains("# HELP dynamo_frontend_worker_last_time_to_first_token_seconds"),
        "{text}"
    );
}

/// Gauge sets received by each of two zero-sized recorders.
static SETS_IN_UNIT_RECORDER_A: AtomicUsize = AtomicUsize::new(0);
static SETS_IN_UNIT_RECORDER_B: AtomicUsize = AtomicUsize::new(0);

/// A gauge that counts its sets into a static.
struct SetCounter(&'static AtomicUsize);

impl metrics::GaugeFn for SetCounter {
    fn increment(&self, _: f64) {}
    fn decrement(&self, _: f64) {}
    fn set(&self, _: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// A zero-sized recorder whose gauges count into `$sets`.
macro_rules! unit_recorder {
    ($name:ident, $sets:ident) => {
        struct $name;

        impl Recorder for $name {
            fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
            fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
            fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
            fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
                Counter::noop()
            }
            fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
                Gauge::from_arc(Arc::new(SetCounter(&$sets)))
            }
            fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
                Histogram::noop()
            }
        }
    };
}

unit_recorder!(UnitRecorderA, SETS_IN_UNIT_RECORDER_A);
unit_recorder!(UnitRecorderB, SETS_IN_UNIT_RECORDER_B);

#[test]
fn zero_sized_recorders_share_cache_entries() {
    let (t, t0) = disaggregated();
    t.record_first_token_at(t0 + Duration::from_millis(20));
    for _ in 0..2 {
        metrics::with_local_recorder(&UnitRecorderA, || t.observe_first_token_gauges());
        metrics::with_local_recorder(&UnitRecorderB, || t.observe_first_token_gauges());
    }
    assert_eq!(SETS_IN_UNIT_RECORDER_A.load(Ordering::Relaxed), 2);
    assert_eq!(SETS_IN_UNIT_RECORDER_B.load(Ordering::Relaxed), 2);
    assert_eq!(reqtrack::gauge_handle_cache_stats().entries, 0);
}

#[test]
fn no_recorder_installed_means_nothing_is_cached() {
    let (t, t0) = disaggregated();
    t.record_first_token_at(t0 + Duration::from_millis(20));
    t.record_osl(3);
    t.record_finish_at(t0 + Duration::from_millis(40));
    t.observe_first_token_gauges();
    t.observe_finish_gauges();
    assert_eq!(
        reqtrack::gauge_handle_cache_stats(),
        reqtrack::GaugeHandleCacheStats::default()
    );
}
