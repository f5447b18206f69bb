//! Token counts, KV hits, queue depth, tokenizer latencies: write semantics and bad input.

#![cfg(not(reqtrack_model))]

use reqtrack::{MAX_COUNT, PairRejected, RequestTracker};
use std::time::Duration;

const MAX: usize = MAX_COUNT as usize;

#[test]
fn kv_hit_keeps_the_first_write() {
    let t = RequestTracker::new();
    assert!(t.record_kv_hit(3, 10));
    assert!(!t.record_kv_hit(9, 10));
    assert_eq!(t.kv_hit_rate(), Some(0.3));
}

#[test]
fn kv_hit_zero_zero_is_accepted_with_no_rate() {
    let t = RequestTracker::new();
    assert!(t.record_kv_hit(0, 0));
    assert_eq!(t.kv_hit_rate(), None);
    assert!(!t.record_kv_hit(1, 2));
}

#[test]
fn kv_hit_overlap_above_isl_is_rejected_and_keeps_slot_free() {
    let t = RequestTracker::new();
    assert!(!t.record_kv_hit(11, 10));
    assert_eq!(
        t.try_record_kv_hit(11, 10),
        Err(PairRejected::PartExceedsWhole)
    );
    assert_eq!(t.kv_hit_rate(), None);
    assert!(t.record_kv_hit(5, 10));
    assert_eq!(t.kv_hit_rate(), Some(0.5));
}

#[test]
fn kv_hit_isl_blocks_past_the_width_are_rejected() {
    let t = RequestTracker::new();
    assert!(!t.record_kv_hit(0, MAX + 1));
    assert_eq!(
        t.try_record_kv_hit(0, usize::MAX),
        Err(PairRejected::TooLarge)
    );
    assert!(t.record_kv_hit(u32::MAX - 1, MAX));
    assert_eq!(t.kv_hit_rate(), Some(1.0));
}

#[test]
fn kv_hit_rejected_write_after_a_set_changes_nothing() {
    let t = RequestTracker::new();
    assert!(t.record_kv_hit(2, 4));
    assert!(!t.record_kv_hit(5, 4));
    assert_eq!(t.kv_hit_rate(), Some(0.5));
}

#[test]
fn isl_keeps_the_first_write_as_a_pair() {
    let t = RequestTracker::new();
    assert!(t.record_isl(512, 256));
    assert!(!t.record_isl(1024, 0));
    assert_eq!(t.isl_tokens(), Some(512));
    assert_eq!(t.cached_tokens(), Some(256));
}

#[test]
fn isl_cached_above_isl_is_rejected() {
    let t = RequestTracker::new();
    assert!(!t.record_isl(10, 11));
    assert_eq!(
        t.try_record_isl(10, 11),
        Err(PairRejected::PartExceedsWhole)
    );
    assert_eq!(t.isl_tokens(), None);
    assert_eq!(t.cached_tokens(), None);
}

#[test]
fn isl_counts_past_the_width_are_rejected() {
    let t = RequestTracker::new();
    assert!(!t.record_isl(MAX + 1, 0));
    assert!(!t.record_isl(usize::MAX, usize::MAX));
    assert!(t.record_isl(MAX, MAX));
    assert_eq!(t.isl_tokens(), Some(MAX));
}

#[test]
fn osl_keeps_the_last_write() {
    let t = RequestTracker::new();
    assert_eq!(t.osl_tokens(), 0);
    t.record_osl(16);
    t.record_osl(32);
    t.record_osl(8);
    assert_eq!(t.osl_tokens(), 8);
}

#[test]
fn router_queue_depth_keeps_the_first_write() {
    let t = RequestTracker::new();
    assert_eq!(t.router_queue_depth(), None);
    assert!(t.record_router_queue_depth(0));
    assert!(!t.record_router_queue_depth(99));
    assert_eq!(t.router_queue_depth(), Some(0));
}

#[test]
fn a_router_queue_depth_past_u32_max_minus_one_is_refused_and_changes_nothing() {
    let t = RequestTracker::new();
    assert!(!t.record_router_queue_depth(usize::MAX));
    assert!(!t.record_router_queue_depth(u32::MAX as usize));
    assert_eq!(t.router_queue_depth(), None);
    assert!(t.record_router_queue_depth(u32::MAX as usize - 1));
    assert_eq!(t.router_queue_depth(), Some(u32::MAX as usize - 1));
}

#[test]
fn tokenize_latency_keeps_the_first_write() {
    let t = RequestTracker::new();
    t.record_tokenize_latency(Duration::from_micros(150));
    t.record_tokenize_latency(Duration::from_micros(900));
    assert_eq!(t.tokenize_latency(), Some(Duration::from_micros(150)));
}

#[test]
fn tokenize_latency_zero_is_recorded() {
    let t = RequestTracker::new();
    t.record_tokenize_latency(Duration::ZERO);
    assert_eq!(t.tokenize_latency(), Some(Duration::ZERO));
}

#[test]
fn tokenize_latency_saturates_at_the_largest_storable_value() {
    let t = RequestTracker::new();
    t.record_tokenize_latency(Duration::MAX);
    let stored = t.tokenize_latency().unwrap();
    assert_eq!(stored, Duration::from_nanos(u64::MAX - 1));
    assert!(stored > Duration::from_secs(500 * 365 * 24 * 3600));
}

#[test]
fn detokenize_sums_and_counts() {
    let t = RequestTracker::new();
    assert_eq!(t.detokenize_total_latency(), None);
    assert_eq!(t.detokenize_count(), 0);
    t.record_detokenize_latency(Duration::from_micros(3));
    t.record_detokenize_latency(Duration::from_micros(5));
    assert_eq!(t.detokenize_total_latency(), Some(Duration::from_micros(8)));
    assert_eq!(t.detokenize_count(), 2);
}

#[test]
fn detokenize_zero_sample_counts() {
    let t = RequestTracker::new();
    t.record_detokenize_latency(Duration::ZERO);
    assert_eq!(t.detokenize_total_latency(), Some(Duration::ZERO));
    assert_eq!(t.detokenize_count(), 1);
}

#[test]
fn detokenize_sum_saturates_at_u64_max_nanos() {
    let t = RequestTracker::new();
    t.record_detokenize_latency(Duration::MAX);
    t.record_detokenize_latency(Duration::from_secs(1));
    assert_eq!(
        t.detokenize_total_latency(),
        Some(Duration::from_nanos(u64::MAX))
    );
    assert_eq!(t.detokenize_count(), 2);
}

#[test]
fn rejections_explain_themselves() {
    assert_eq!(
        PairRejected::PartExceedsWhole.to_string(),
        "part exceeds whole (overlap > isl or cached > isl)"
    );
    assert_eq!(
        PairRejected::TooLarge.to_string(),
        "count exceeds the packed width (2^32 - 2)"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(PairRejected::TooLarge);
    assert!(boxed.source().is_none());
}

/// Found by `cargo mutants` (`nanos > PACKED_SUM_MAX` weakened to `==` in `packed_add` survived):
/// a sample past the packed sum's range and its guard bit (here 2^41 ns, about 37 minutes) must
/// not be added into the packed word, where its high bits would land in the count.
#[test]
fn a_detokenize_sample_past_the_packed_range_counts_once() {
    let t = RequestTracker::new();
    let sample = Duration::from_nanos(1 << 41);
    t.record_detokenize_latency(sample);
    assert_eq!(t.detokenize_count(), 1);
    assert_eq!(t.detokenize_total_latency(), Some(sample));
    t.record_detokenize_latency(Duration::from_nanos(5));
    assert_eq!(t.detokenize_count(), 2);
    assert_eq!(
        t.detokenize_total_latency(),
        Some(sample + Duration::from_nanos(5))
    );
}
