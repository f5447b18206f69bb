//! Timestamps: first-write slots, the monotonic finish, and the derived durations.

#![cfg(not(reqtrack_model))]

use reqtrack::RequestTracker;
use std::time::{Duration, Instant};

fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

fn tracker() -> (RequestTracker, Instant) {
    let t0 = Instant::now();
    (RequestTracker::with_received_at(t0, 1_000), t0)
}

#[test]
fn first_token_keeps_the_first_write() {
    let (t, t0) = tracker();
    assert!(t.record_first_token_at(at(t0, 10)));
    assert!(!t.record_first_token_at(at(t0, 20)));
    assert_eq!(t.ttft_ms(), Some(10.0));
}

#[test]
fn prefill_start_keeps_the_first_write() {
    let (t, t0) = tracker();
    assert!(t.record_prefill_start_at(at(t0, 4)));
    assert!(!t.record_prefill_start_at(at(t0, 1)));
    assert_eq!(t.prefill_wait_time_ms(), Some(4.0));
}

#[test]
fn decode_first_token_and_prefill_complete_keep_first_writes() {
    let (t, t0) = tracker();
    assert!(t.record_prefill_complete_at(at(t0, 30)));
    assert!(!t.record_prefill_complete_at(at(t0, 35)));
    assert!(t.record_decode_first_token_at(at(t0, 42)));
    assert!(!t.record_decode_first_token_at(at(t0, 50)));
    assert_eq!(t.kv_transfer_estimated_latency_ms(), Some(12.0));
}

#[test]
fn clock_twins_without_at_set_slots_too() {
    let t = RequestTracker::new();
    assert!(t.record_prefill_start());
    assert!(t.record_first_token());
    assert!(t.record_decode_first_token());
    assert!(t.record_prefill_complete());
    t.record_finish();
    assert!(!t.record_first_token());
    assert!(t.ttft_ms().is_some());
    assert!(t.total_time_ms().is_some());
}

#[test]
fn clock_twins_report_false_once_set() {
    let t = RequestTracker::new();
    assert!(t.record_prefill_start());
    assert!(!t.record_prefill_start());
    assert!(t.record_first_token());
    assert!(!t.record_first_token());
    assert!(t.record_decode_first_token());
    assert!(!t.record_decode_first_token());
    assert!(t.record_prefill_complete());
    assert!(!t.record_prefill_complete());
}

#[test]
fn clock_twins_keep_the_first_value() {
    let (t, t0) = tracker();
    t.record_prefill_start_at(at(t0, 1));
    t.record_decode_first_token_at(at(t0, 2));
    t.record_prefill_complete_at(at(t0, 1));
    assert!(!t.record_prefill_start());
    assert!(!t.record_decode_first_token());
    assert!(!t.record_prefill_complete());
    assert_eq!(t.prefill_wait_time_ms(), Some(1.0));
    assert_eq!(t.kv_transfer_estimated_latency_ms(), Some(1.0));
}

#[test]
fn event_at_offset_zero_is_recorded() {
    let (t, t0) = tracker();
    assert!(t.record_first_token_at(t0));
    assert_eq!(t.ttft_ms(), Some(0.0));
    assert!(!t.record_first_token_at(at(t0, 5)));
}

#[test]
fn instant_before_received_clamps_to_zero() {
    let t0 = Instant::now() + Duration::from_secs(1);
    let t = RequestTracker::with_received_at(t0, 0);
    assert!(t.record_first_token_at(Instant::now()));
    assert_eq!(t.ttft_ms(), Some(0.0));
}

#[test]
fn finish_keeps_the_latest_and_never_moves_backwards() {
    let (t, t0) = tracker();
    t.record_finish_at(at(t0, 50));
    t.record_finish_at(at(t0, 30));
    assert_eq!(t.total_time_ms(), Some(50.0));
    t.record_finish_at(at(t0, 70));
    assert_eq!(t.total_time_ms(), Some(70.0));
}

#[test]
fn prefill_time_is_first_token_minus_prefill_start() {
    let (t, t0) = tracker();
    t.record_prefill_start_at(at(t0, 3));
    assert_eq!(t.prefill_time_ms(), None);
    t.record_first_token_at(at(t0, 11));
    assert_eq!(t.prefill_time_ms(), Some(8.0));
}

#[test]
fn derived_durations_saturate_at_zero() {
    let (t, t0) = tracker();
    t.record_prefill_start_at(at(t0, 20));
    t.record_first_token_at(at(t0, 10));
    assert_eq!(t.prefill_time_ms(), Some(0.0));
    t.record_finish_at(at(t0, 5));
    t.record_osl(3);
    assert_eq!(t.avg_itl_ms(), Some(0.0));
}

#[test]
fn avg_itl_is_decode_time_over_gaps() {
    let (t, t0) = tracker();
    t.record_first_token_at(at(t0, 10));
    t.record_osl(11);
    t.record_finish_at(at(t0, 110));
    assert_eq!(t.avg_itl_ms(), Some(10.0));
}

#[test]
fn avg_itl_with_exactly_two_tokens_is_the_one_gap() {
    let (t, t0) = tracker();
    t.record_first_token_at(at(t0, 10));
    t.record_osl(2);
    t.record_finish_at(at(t0, 17));
    assert_eq!(t.avg_itl_ms(), Some(7.0));
}

#[test]
fn avg_itl_needs_two_tokens() {
    let (t, t0) = tracker();
    t.record_first_token_at(at(t0, 10));
    t.record_finish_at(at(t0, 20));
    t.record_osl(1);
    assert_eq!(t.avg_itl_ms(), None);
}

#[test]
fn avg_itl_needs_both_stamps() {
    let (t, t0) = tracker();
    t.record_osl(5);
    t.record_finish_at(at(t0, 20));
    assert_eq!(t.avg_itl_ms(), None);
}

#[test]
fn unset_tracker_reports_nothing_derived() {
    let (t, _) = tracker();
    assert_eq!(t.prefill_wait_time_ms(), None);
    assert_eq!(t.prefill_time_ms(), None);
    assert_eq!(t.ttft_ms(), None);
    assert_eq!(t.total_time_ms(), None);
    assert_eq!(t.avg_itl_ms(), None);
    assert_eq!(t.kv_transfer_estimated_latency_ms(), None);
}

#[test]
fn received_epoch_is_kept_as_given() {
    let t = RequestTracker::with_received_at(Instant::now(), 1_234_567);
    assert_eq!(t.request_received_epoch_ms(), 1_234_567);
}

/// `new()` derives the arrival from its monotonic read through a clock anchor: within 1 ms of
/// the wall clock read around it (a correctness bound, not a timing assertion).
#[test]
fn new_derives_the_wall_clock_within_a_millisecond() {
    let wall_ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    };
    for _ in 0..100 {
        let before = wall_ms();
        let t = RequestTracker::new();
        let after = wall_ms();
        let got = t.request_received_epoch_ms();
        assert!(
            before - 1 <= got && got <= after + 1,
            "{before} - 1 <= {got} <= {after} + 1"
        );
    }
}

#[test]
fn far_future_instant_saturates_instead_of_panicking() {
    let (t, t0) = tracker();
    let far = t0
        .checked_add(Duration::from_secs(u64::MAX / 4))
        .unwrap_or(t0);
    t.record_finish_at(far);
    assert!(t.total_time_ms().unwrap().is_finite());
}

#[test]
fn record_osl_and_finish_keeps_each_halfs_rule() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 0);
    t.record_first_token_at(t0 + Duration::from_millis(10));
    t.record_osl_and_finish_at(32, t0 + Duration::from_millis(90));
    // A racing stream's older block: osl is the last write, the finish never moves back.
    t.record_osl_and_finish_at(16, t0 + Duration::from_millis(50));
    assert_eq!(t.osl_tokens(), 16);
    assert_eq!(t.total_time_ms(), Some(90.0));
}

#[test]
fn record_osl_and_finish_is_what_record_osl_then_record_finish_leave() {
    let t0 = Instant::now();
    let at = |ms| t0 + Duration::from_millis(ms);
    let (one, two) = (
        RequestTracker::with_received_at(t0, 0),
        RequestTracker::with_received_at(t0, 0),
    );
    for t in [&one, &two] {
        t.record_first_token_at(at(5));
    }
    for (osl, ms) in [(16, 40), (32, 70), (33, 72)] {
        one.record_osl_and_finish_at(osl, at(ms));
        two.record_osl(osl);
        two.record_finish_at(at(ms));
    }
    assert_eq!(one.snapshot(), two.snapshot());
}
