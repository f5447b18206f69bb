//! Parity with newest Dynamo's tracker: the KV transfer estimate in `nvext.timing` and its
//! seconds accessor, the fractional (effective) KV overlap, and the migration count.

#![cfg(not(reqtrack_model))]

use reqtrack::{MAX_COUNT, OverlapRejected, PairRejected, RequestTracker};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const MAX: usize = MAX_COUNT as usize;

fn at(t0: Instant, micros: u64) -> Instant {
    t0 + Duration::from_micros(micros)
}

// ---- KV transfer estimate -----------------------------------------------------------------

#[test]
fn kv_transfer_is_unknown_until_both_stamps_are_recorded() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 0);
    t.record_prefill_complete_at(at(t0, 10_000));
    assert_eq!(t.get_timing_info().kv_transfer_estimated_latency_ms, None);
    assert_eq!(t.kv_transfer_estimated_latency_secs(), None);
}

#[test]
fn timing_info_carries_decode_first_token_minus_prefill_complete() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 0);
    t.record_prefill_complete_at(at(t0, 10_000));
    t.record_decode_first_token_at(at(t0, 12_500));
    assert_eq!(
        t.get_timing_info().kv_transfer_estimated_latency_ms,
        Some(2.5)
    );
    assert_eq!(t.kv_transfer_estimated_latency_ms(), Some(2.5));
}

#[test]
fn kv_transfer_secs_reads_the_same_stamps_as_the_ms_figure() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 0);
    t.record_prefill_complete_at(at(t0, 1_000));
    t.record_decode_first_token_at(at(t0, 1_000) + Duration::from_nanos(93_086_808_115));
    assert_eq!(t.kv_transfer_estimated_latency_secs(), Some(93.086808115));
    assert_eq!(t.kv_transfer_estimated_latency_ms(), Some(93086.808115));
}

#[test]
fn kv_transfer_is_zero_when_the_decode_token_precedes_prefill_complete() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 0);
    t.record_decode_first_token_at(at(t0, 5_000));
    t.record_prefill_complete_at(at(t0, 9_000));
    assert_eq!(t.kv_transfer_estimated_latency_ms(), Some(0.0));
    assert_eq!(t.kv_transfer_estimated_latency_secs(), Some(0.0));
}

#[test]
fn kv_transfer_keeps_the_first_prefill_complete() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 0);
    assert!(t.record_prefill_complete_at(at(t0, 1_000)));
    assert!(!t.record_prefill_complete_at(at(t0, 3_000)));
    t.record_decode_first_token_at(at(t0, 4_000));
    assert_eq!(t.kv_transfer_estimated_latency_ms(), Some(3.0));
}

// ---- effective (fractional) KV overlap -----------------------------------------------------

#[test]
fn effective_overlap_gives_its_exact_share_of_the_prompt() {
    let t = RequestTracker::new();
    assert!(t.record_kv_hit_effective(2.5, 4));
    assert_eq!(t.kv_hit_rate(), Some(0.625));
}

#[test]
fn effective_overlap_is_not_rounded_to_any_fixed_unit() {
    let t = RequestTracker::new();
    let overlap = 0.1;
    assert!(t.record_kv_hit_effective(overlap, 3));
    assert_eq!(t.kv_hit_rate(), Some(overlap / 3.0));
}

#[test]
fn an_f32_overlap_converts_losslessly() {
    let t = RequestTracker::new();
    let overlap: f32 = 1.3;
    assert!(t.record_kv_hit_effective(f64::from(overlap), 2));
    assert_eq!(t.kv_hit_rate(), Some(f64::from(overlap) / 2.0));
}

#[test]
fn whole_and_effective_kv_hits_share_one_first_write() {
    let t = RequestTracker::new();
    assert!(t.record_kv_hit(3, 4));
    assert!(!t.record_kv_hit_effective(1.5, 4));
    assert_eq!(t.try_record_kv_hit_effective(1.5, 4), Ok(false));
    assert_eq!(t.kv_hit_rate(), Some(0.75));

    let t = RequestTracker::new();
    assert!(t.record_kv_hit_effective(1.5, 4));
    assert!(!t.record_kv_hit(3, 4));
    assert_eq!(t.kv_hit_rate(), Some(0.375));
}

#[test]
fn rejected_effective_write_leaves_the_slot_to_the_next_valid_one() {
    let t = RequestTracker::new();
    assert!(!t.record_kv_hit_effective(f64::NAN, 4));
    assert!(!t.record_kv_hit_effective(-1.0, 4));
    assert!(!t.record_kv_hit_effective(5.0, 4));
    assert_eq!(t.kv_hit_rate(), None);
    assert!(t.record_kv_hit(1, 4));
    assert_eq!(t.kv_hit_rate(), Some(0.25));
}

#[test]
fn effective_rejections_explain_themselves() {
    let t = RequestTracker::new();
    assert_eq!(
        t.try_record_kv_hit_effective(f64::NAN, 4),
        Err(OverlapRejected::NotANumber)
    );
    assert_eq!(
        t.try_record_kv_hit_effective(-0.25, 4),
        Err(OverlapRejected::Negative)
    );
    assert_eq!(
        t.try_record_kv_hit_effective(0.0, MAX + 1),
        Err(OverlapRejected::TooLarge)
    );
    assert_eq!(
        t.try_record_kv_hit_effective(f64::INFINITY, 4),
        Err(OverlapRejected::ExceedsIsl)
    );
    assert_eq!(
        OverlapRejected::ExceedsIsl.to_string(),
        "overlap exceeds isl_blocks"
    );
}

#[test]
fn effective_negative_zero_overlap_is_a_zero_hit() {
    let t = RequestTracker::new();
    assert!(t.record_kv_hit_effective(-0.0, 4));
    let rate = t.kv_hit_rate().unwrap();
    assert!(rate == 0.0 && rate.is_sign_positive());
    assert_eq!(t.snapshot().kv_overlap_blocks, Some(0));
}

#[test]
fn effective_overlap_of_an_empty_prompt_has_no_rate() {
    let t = RequestTracker::new();
    assert!(t.record_kv_hit_effective(0.0, 0));
    assert_eq!(t.kv_hit_rate(), None);
}

#[test]
fn effective_overlap_accepts_the_full_width() {
    let t = RequestTracker::new();
    assert!(t.record_kv_hit_effective(MAX_COUNT as f64 - 0.5, MAX));
    assert_eq!(
        t.snapshot().kv_effective_overlap_blocks,
        Some(MAX_COUNT as f64 - 0.5)
    );
}

#[test]
fn u32_max_overlap_is_still_too_large_whatever_the_prompt() {
    let t = RequestTracker::new();
    assert_eq!(
        t.try_record_kv_hit(u32::MAX, 4),
        Err(PairRejected::TooLarge)
    );
    assert_eq!(
        t.try_record_kv_hit(u32::MAX, usize::MAX),
        Err(PairRejected::TooLarge)
    );
}

#[test]
fn snapshot_reports_a_fractional_overlap_apart_from_whole_blocks() {
    let t = RequestTracker::new();
    t.record_kv_hit_effective(2.5, 4);
    let s = t.snapshot();
    assert_eq!(
        (
            s.kv_overlap_blocks,
            s.kv_effective_overlap_blocks,
            s.isl_blocks
        ),
        (None, Some(2.5), Some(4))
    );
}

#[test]
fn snapshot_reports_a_whole_effective_overlap_as_blocks() {
    let t = RequestTracker::new();
    t.record_kv_hit_effective(3.0, 4);
    let s = t.snapshot();
    assert_eq!(
        (s.kv_overlap_blocks, s.kv_effective_overlap_blocks),
        (Some(3), None)
    );
}

// ---- migrations ---------------------------------------------------------------------------

#[test]
fn migrations_start_at_zero() {
    let t = RequestTracker::new();
    assert_eq!(t.migrations(), 0);
    assert_eq!(t.snapshot().migrations, 0);
}

#[test]
fn each_migration_is_counted() {
    let t = RequestTracker::new();
    t.record_migration();
    t.record_migration();
    assert_eq!(t.migrations(), 2);
    assert_eq!(t.snapshot().migrations, 2);
}

#[test]
fn racing_migrations_are_all_counted() {
    let t = Arc::new(RequestTracker::new());
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (t, barrier) = (Arc::clone(&t), Arc::clone(&barrier));
            thread::spawn(move || {
                barrier.wait();
                for _ in 0..1000 {
                    t.record_migration();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(t.migrations(), 4000);
}
