//! Multi-hop merge: another hop's `nvext.timing` / `nvext.worker_id` fills what the tracker does
//! not know; the tracker's own values win in either order; remote durations are placed on this
//! tracker's time base within causal bounds.

#![cfg(not(reqtrack_model))]

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use reqtrack::{
    RequestPhase, RequestTracker, TimingInfo, WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE,
    WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL, WorkerIdInfo, WorkerType,
};
use std::time::{Duration, Instant};

const RECEIVED_MS: u64 = 1_700_000_000_000;

fn tracker() -> (RequestTracker, Instant) {
    let t0 = Instant::now();
    (RequestTracker::with_received_at(t0, RECEIVED_MS), t0)
}

fn ms(t0: Instant, n: u64) -> Instant {
    t0 + Duration::from_millis(n)
}

/// A remote hop's timing with nothing known, received `skew_ms` after this tracker's arrival
/// by the wall clock (negative: the remote clock is behind).
fn remote(skew_ms: i64) -> TimingInfo {
    TimingInfo {
        request_received_ms: RECEIVED_MS.checked_add_signed(skew_ms).unwrap(),
        prefill_wait_time_ms: None,
        prefill_time_ms: None,
        ttft_ms: None,
        total_time_ms: None,
        kv_hit_rate: None,
        router_queue_depth: None,
        kv_transfer_estimated_latency_ms: None,
    }
}

/// A router 2 ms downstream that knows everything.
fn full_remote() -> TimingInfo {
    TimingInfo {
        prefill_wait_time_ms: Some(5.0),
        prefill_time_ms: Some(20.0),
        ttft_ms: Some(25.0),
        total_time_ms: Some(60.0),
        kv_hit_rate: Some(0.5),
        router_queue_depth: Some(3),
        kv_transfer_estimated_latency_ms: Some(1.5),
        ..remote(2)
    }
}

/// Records every value `full_remote` carries, as this tracker's own.
fn record_own(t: &RequestTracker, t0: Instant) {
    t.record_prefill_start_at(ms(t0, 4));
    t.record_first_token_at(ms(t0, 30));
    t.record_finish_at(ms(t0, 90));
    t.record_kv_hit(1, 4);
    t.record_router_queue_depth(9);
    t.record_prefill_complete_at(ms(t0, 10));
    t.record_decode_first_token_at(ms(t0, 12));
}

fn own_timing() -> TimingInfo {
    TimingInfo {
        request_received_ms: RECEIVED_MS,
        prefill_wait_time_ms: Some(4.0),
        prefill_time_ms: Some(26.0),
        ttft_ms: Some(30.0),
        total_time_ms: Some(90.0),
        kv_hit_rate: Some(0.25),
        router_queue_depth: Some(9),
        kv_transfer_estimated_latency_ms: Some(2.0),
    }
}

// ---- timing -------------------------------------------------------------------------------

#[test]
fn merged_timing_fills_what_the_tracker_does_not_know() {
    let (t, t0) = tracker();
    assert_eq!(t.set_external_timing_at(&full_remote(), ms(t0, 100)), 6);
    assert_eq!(
        t.get_timing_info(),
        TimingInfo {
            request_received_ms: RECEIVED_MS,
            prefill_wait_time_ms: Some(7.0),
            prefill_time_ms: Some(20.0),
            ttft_ms: Some(27.0),
            total_time_ms: Some(62.0),
            kv_hit_rate: Some(0.5),
            router_queue_depth: Some(3),
            kv_transfer_estimated_latency_ms: Some(1.5),
        }
    );
}

#[test]
fn own_values_recorded_before_the_merge_win() {
    let (t, t0) = tracker();
    record_own(&t, t0);
    t.set_external_timing_at(&full_remote(), ms(t0, 100));
    assert_eq!(t.get_timing_info(), own_timing());
}

#[test]
fn own_values_recorded_after_the_merge_win() {
    let (t, t0) = tracker();
    t.set_external_timing_at(&full_remote(), ms(t0, 100));
    record_own(&t, t0);
    assert_eq!(t.get_timing_info(), own_timing());
}

#[test]
fn own_first_token_recorded_after_the_merge_still_reports_true() {
    let (t, t0) = tracker();
    t.set_external_timing_at(&full_remote(), ms(t0, 100));
    assert!(t.record_first_token_at(ms(t0, 30)));
    assert!(t.record_prefill_start_at(ms(t0, 4)));
}

#[test]
fn own_and_merged_stamps_combine_on_one_time_base() {
    let (t, t0) = tracker();
    t.record_first_token_at(ms(t0, 30));
    let wait_only = TimingInfo {
        prefill_wait_time_ms: Some(5.0),
        ..remote(2)
    };
    t.set_external_timing_at(&wait_only, ms(t0, 40));
    assert_eq!(t.prefill_wait_time_ms(), Some(7.0));
    assert_eq!(t.prefill_time_ms(), Some(23.0));
}

#[test]
fn a_later_merge_fills_only_what_the_first_left_unknown() {
    let (t, t0) = tracker();
    let first = TimingInfo {
        ttft_ms: Some(25.0),
        ..remote(0)
    };
    let second = TimingInfo {
        ttft_ms: Some(50.0),
        router_queue_depth: Some(4),
        ..remote(0)
    };
    assert_eq!(t.set_external_timing_at(&first, ms(t0, 100)), 1);
    assert_eq!(t.set_external_timing_at(&second, ms(t0, 100)), 1);
    assert_eq!(t.ttft_ms(), Some(25.0));
    assert_eq!(t.router_queue_depth(), Some(4));
}

#[test]
fn remote_clock_behind_places_remote_events_from_our_arrival() {
    let (t, t0) = tracker();
    let behind = TimingInfo {
        prefill_wait_time_ms: Some(5.0),
        ..remote(-10)
    };
    t.set_external_timing_at(&behind, ms(t0, 100));
    assert_eq!(t.prefill_wait_time_ms(), Some(5.0));
}

#[test]
fn remote_clock_ahead_cannot_place_events_after_the_merge() {
    let (t, t0) = tracker();
    let ahead = TimingInfo {
        ttft_ms: Some(25.0),
        total_time_ms: Some(60.0),
        ..remote(5_000)
    };
    t.set_external_timing_at(&ahead, ms(t0, 100));
    assert_eq!(t.total_time_ms(), Some(100.0));
    assert_eq!(t.ttft_ms(), Some(65.0));
}

#[test]
fn first_token_is_placed_from_wait_plus_prefill_time_without_a_ttft() {
    let (t, t0) = tracker();
    let no_ttft = TimingInfo {
        prefill_wait_time_ms: Some(5.0),
        prefill_time_ms: Some(20.0),
        ..remote(2)
    };
    t.set_external_timing_at(&no_ttft, ms(t0, 100));
    assert_eq!(t.ttft_ms(), Some(27.0));
}

#[test]
fn prefill_time_alone_places_nothing() {
    let (t, t0) = tracker();
    let alone = TimingInfo {
        prefill_time_ms: Some(20.0),
        ..remote(2)
    };
    assert_eq!(t.set_external_timing_at(&alone, ms(t0, 100)), 0);
    assert_eq!(t.get_timing_info(), remote(0));
}

#[test]
fn unknown_and_invalid_external_values_are_skipped_not_recorded_as_zero() {
    let (t, t0) = tracker();
    let bad = TimingInfo {
        prefill_wait_time_ms: Some(f64::NAN),
        prefill_time_ms: Some(-3.0),
        ttft_ms: Some(-1.0),
        total_time_ms: Some(f64::INFINITY),
        kv_hit_rate: Some(1.5),
        router_queue_depth: Some(usize::MAX),
        kv_transfer_estimated_latency_ms: Some(-0.5),
        ..remote(2)
    };
    assert_eq!(t.set_external_timing_at(&bad, ms(t0, 100)), 0);
    let nan_rate = TimingInfo {
        kv_hit_rate: Some(f64::NAN),
        ..remote(2)
    };
    assert_eq!(t.set_external_timing_at(&nan_rate, ms(t0, 100)), 0);
    assert_eq!(t.get_timing_info(), remote(0));
}

#[test]
fn huge_external_durations_clamp_like_the_trackers_own() {
    let (t, t0) = tracker();
    let huge = TimingInfo {
        total_time_ms: Some(1e300),
        ..remote(0)
    };
    assert_eq!(t.set_external_timing_at(&huge, ms(t0, 100)), 1);
    assert_eq!(t.total_time_ms(), Some((u64::MAX - 1) as f64 / 1e6));
}

#[test]
fn merged_zero_hit_rate_is_a_known_zero() {
    let (t, t0) = tracker();
    let zero = TimingInfo {
        kv_hit_rate: Some(-0.0),
        ..remote(0)
    };
    assert_eq!(t.set_external_timing_at(&zero, ms(t0, 100)), 1);
    let rate = t.kv_hit_rate().unwrap();
    assert!(rate == 0.0 && rate.is_sign_positive());
}

#[test]
fn merged_hit_rate_fills_an_own_hit_of_an_empty_prompt() {
    let (t, t0) = tracker();
    t.record_kv_hit(0, 0);
    t.set_external_timing_at(&full_remote(), ms(t0, 100));
    assert_eq!(t.kv_hit_rate(), Some(0.5));
}

#[test]
fn merged_finish_and_own_first_token_give_the_average_itl() {
    let (t, t0) = tracker();
    t.record_first_token_at(ms(t0, 10));
    t.record_osl(11);
    let finished = TimingInfo {
        total_time_ms: Some(110.0),
        ..remote(0)
    };
    t.set_external_timing_at(&finished, ms(t0, 200));
    assert_eq!(t.avg_itl_ms(), Some(10.0));
}

#[test]
fn merging_a_trackers_timing_into_a_fresh_one_reproduces_it() {
    let (own, t0) = tracker();
    own.record_prefill_start_at(t0 + Duration::from_nanos(1_234_567));
    own.record_first_token_at(t0 + Duration::from_nanos(12_345_678));
    own.record_finish_at(t0 + Duration::from_nanos(100_500_001));
    own.record_kv_hit(1, 3);
    own.record_router_queue_depth(2);
    own.record_prefill_complete_at(ms(t0, 5));
    own.record_decode_first_token_at(t0 + Duration::from_nanos(7_654_321));
    let fresh = RequestTracker::with_received_at(t0, RECEIVED_MS);
    fresh.set_external_timing_at(&own.get_timing_info(), ms(t0, 200));
    assert_eq!(fresh.get_timing_info(), own.get_timing_info());
}

#[test]
fn merged_timing_appears_in_the_snapshot() {
    let (t, t0) = tracker();
    t.set_external_timing_at(&full_remote(), ms(t0, 100));
    let s = t.snapshot();
    assert_eq!(
        (s.prefill_start_ms, s.first_token_ms, s.finish_ms),
        (Some(7.0), Some(27.0), Some(62.0))
    );
    assert_eq!(
        (
            s.kv_hit_rate,
            s.router_queue_depth,
            s.kv_transfer_estimated_latency_ms
        ),
        (Some(0.5), Some(3), Some(1.5))
    );
    // Merged values are not stamps this tracker saw: its own prefill-complete stays unknown.
    assert_eq!(
        (s.prefill_complete_ms, s.decode_first_token_ms, s.isl_blocks),
        (None, None, None)
    );
}

// ---- workers ------------------------------------------------------------------------------

fn remote_workers() -> WorkerIdInfo {
    WorkerIdInfo {
        prefill_worker_id: Some(7),
        prefill_dp_rank: Some(0),
        decode_worker_id: Some(9),
        decode_dp_rank: None,
    }
}

#[test]
fn merged_workers_fill_unknown_slots() {
    let (t, _) = tracker();
    assert_eq!(t.set_external_worker_info(&remote_workers()), 2);
    assert_eq!(t.get_worker_info(), Some(remote_workers()));
}

#[test]
fn merged_worker_types_are_their_roles() {
    let (t, _) = tracker();
    t.set_external_worker_info(&remote_workers());
    let s = t.snapshot();
    assert_eq!(
        (s.prefill_worker_type, s.decode_worker_type),
        (Some(WorkerType::Prefill), Some(WorkerType::Decode))
    );
}

#[test]
fn own_worker_recorded_after_the_merge_replaces_it_without_a_conflict() {
    let (t, _) = tracker();
    t.set_external_worker_info(&remote_workers());
    drop(t.try_set_phase(RequestPhase::Prefill).unwrap());
    t.record_worker_full(11, 1, WORKER_TYPE_PREFILL);
    assert_eq!(
        (t.prefill_worker_id(), t.prefill_dp_rank()),
        (Some(11), Some(1))
    );
    assert_eq!(t.decode_worker_id(), Some(9));
    assert_eq!(t.worker_conflicts(), 0);
}

#[test]
fn own_worker_recorded_before_the_merge_wins() {
    let (t, _) = tracker();
    drop(t.try_set_phase(RequestPhase::Decode).unwrap());
    t.record_worker(11, None, WORKER_TYPE_DECODE);
    assert_eq!(t.set_external_worker_info(&remote_workers()), 1);
    assert_eq!(t.decode_worker_id(), Some(11));
    assert_eq!(t.decode_dp_rank(), None);
    assert_eq!(t.prefill_worker_id(), Some(7));
    assert_eq!(t.worker_conflicts(), 0);
}

#[test]
fn a_second_worker_merge_changes_nothing() {
    let (t, _) = tracker();
    t.set_external_worker_info(&remote_workers());
    let other = WorkerIdInfo {
        prefill_worker_id: Some(1),
        prefill_dp_rank: None,
        decode_worker_id: Some(2),
        decode_dp_rank: Some(2),
    };
    assert_eq!(t.set_external_worker_info(&other), 0);
    assert_eq!(t.get_worker_info(), Some(remote_workers()));
}

#[test]
fn a_rank_without_an_id_is_skipped() {
    let (t, _) = tracker();
    let ranks_only = WorkerIdInfo {
        prefill_worker_id: None,
        prefill_dp_rank: Some(1),
        decode_worker_id: None,
        decode_dp_rank: Some(2),
    };
    assert_eq!(t.set_external_worker_info(&ranks_only), 0);
    assert_eq!(t.get_worker_info(), None);
}

#[test]
fn merged_prefill_worker_labels_the_first_token_gauge() {
    let (t, t0) = tracker();
    t.set_external_worker_info(&remote_workers());
    t.set_external_timing_at(&full_remote(), ms(t0, 100));
    reqtrack::forget_gauge_handles();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || t.observe_first_token_gauges());
    reqtrack::forget_gauge_handles();
    let ttft: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(ck, ..)| ck.key().name() == WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE)
        .map(|(ck, _, _, v)| {
            let mut labels: Vec<_> = ck
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            (labels, v)
        })
        .collect();
    assert_eq!(
        ttft,
        vec![(
            vec![
                "dp_rank=0".to_owned(),
                "worker_id=7".to_owned(),
                "worker_type=prefill".to_owned()
            ],
            DebugValue::Gauge(0.027.into())
        )]
    );
}
