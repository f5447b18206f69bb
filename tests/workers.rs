//! Worker slots: phase routing, first write, rank fill-in, conflicts.

#![cfg(not(reqtrack_model))]

use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL, WorkerType};

fn in_phase(phase: RequestPhase) -> RequestTracker {
    let t = RequestTracker::new();
    drop(t.try_set_phase(phase).expect("gate is free"));
    t
}

#[test]
fn aggregated_writes_both_slots() {
    let t = RequestTracker::new();
    t.record_worker(42, Some(0), WORKER_TYPE_DECODE);
    assert_eq!(t.prefill_worker_id(), Some(42));
    assert_eq!(t.decode_worker_id(), Some(42));
    assert_eq!(t.prefill_dp_rank(), Some(0));
    assert_eq!(t.decode_dp_rank(), Some(0));
    assert_eq!(t.prefill_worker_type(), Some(WorkerType::Decode));
    assert_eq!(t.decode_worker_type(), Some(WorkerType::Decode));
}

#[test]
fn prefill_phase_writes_only_the_prefill_slot() {
    let t = in_phase(RequestPhase::Prefill);
    t.record_worker_full(7, 2, WORKER_TYPE_PREFILL);
    assert_eq!(t.prefill_worker_id(), Some(7));
    assert_eq!(t.prefill_dp_rank(), Some(2));
    assert_eq!(t.prefill_worker_type(), Some(WorkerType::Prefill));
    assert_eq!(t.decode_worker_id(), None);
}

#[test]
fn decode_phase_writes_only_the_decode_slot() {
    let t = in_phase(RequestPhase::Decode);
    t.record_worker_full(9, 1, WORKER_TYPE_DECODE);
    assert_eq!(t.decode_worker_id(), Some(9));
    assert_eq!(t.prefill_worker_id(), None);
}

#[test]
fn worker_id_zero_and_rank_u32_max_are_ordinary_values() {
    let t = RequestTracker::new();
    t.record_worker_full(0, u32::MAX, WORKER_TYPE_PREFILL);
    assert_eq!(t.prefill_worker_id(), Some(0));
    assert_eq!(t.prefill_dp_rank(), Some(u32::MAX));
}

#[test]
fn unknown_rank_reads_as_none() {
    let t = RequestTracker::new();
    t.record_worker(5, None, WORKER_TYPE_DECODE);
    assert_eq!(t.decode_worker_id(), Some(5));
    assert_eq!(t.decode_dp_rank(), None);
}

#[test]
fn identical_second_write_is_not_a_conflict() {
    let t = in_phase(RequestPhase::Prefill);
    t.record_worker_full(7, 1, WORKER_TYPE_PREFILL);
    t.record_worker_full(7, 1, WORKER_TYPE_PREFILL);
    assert_eq!(t.worker_conflicts(), 0);
}

#[test]
fn different_second_write_is_ignored_and_counted() {
    let t = in_phase(RequestPhase::Prefill);
    t.record_worker_full(7, 1, WORKER_TYPE_PREFILL);
    t.record_worker_full(8, 1, WORKER_TYPE_PREFILL);
    assert_eq!(t.prefill_worker_id(), Some(7));
    assert_eq!(t.worker_conflicts(), 1);
}

#[test]
fn rank_fill_in_is_not_a_conflict() {
    let t = in_phase(RequestPhase::Decode);
    t.record_worker(9, None, WORKER_TYPE_DECODE);
    t.record_worker(9, Some(3), WORKER_TYPE_DECODE);
    assert_eq!(t.decode_dp_rank(), Some(3));
    assert_eq!(t.worker_conflicts(), 0);
}

#[test]
fn a_second_different_rank_is_a_conflict() {
    let t = in_phase(RequestPhase::Decode);
    t.record_worker(9, Some(1), WORKER_TYPE_DECODE);
    t.record_worker(9, Some(3), WORKER_TYPE_DECODE);
    assert_eq!(t.decode_dp_rank(), Some(1));
    assert_eq!(t.worker_conflicts(), 1);
}

#[test]
fn a_different_type_is_a_conflict() {
    let t = in_phase(RequestPhase::Decode);
    t.record_worker(9, Some(1), WORKER_TYPE_DECODE);
    t.record_worker(9, Some(1), WORKER_TYPE_PREFILL);
    assert_eq!(t.decode_worker_type(), Some(WorkerType::Decode));
    assert_eq!(t.worker_conflicts(), 1);
}

#[test]
fn aggregated_conflict_in_both_slots_counts_two() {
    let t = RequestTracker::new();
    t.record_worker_full(1, 0, WORKER_TYPE_DECODE);
    t.record_worker_full(2, 0, WORKER_TYPE_DECODE);
    assert_eq!(t.worker_conflicts(), 2);
    assert_eq!(t.prefill_worker_id(), Some(1));
    assert_eq!(t.decode_worker_id(), Some(1));
}

#[test]
fn aggregated_write_conflicting_in_one_slot_counts_one() {
    let t = in_phase(RequestPhase::Prefill);
    t.record_worker_full(1, 0, WORKER_TYPE_PREFILL);
    drop(t.try_set_phase(RequestPhase::Aggregated).unwrap());
    t.record_worker_full(2, 0, WORKER_TYPE_DECODE);
    assert_eq!(t.worker_conflicts(), 1);
    assert_eq!(t.prefill_worker_id(), Some(1));
    assert_eq!(t.decode_worker_id(), Some(2));
}

#[test]
fn worker_info_is_none_until_a_worker_is_recorded() {
    let t = RequestTracker::new();
    assert_eq!(t.get_worker_info(), None);
}

#[test]
fn worker_info_reports_both_slots() {
    let t = in_phase(RequestPhase::Prefill);
    t.record_worker_full(7, 0, WORKER_TYPE_PREFILL);
    drop(t.try_set_phase(RequestPhase::Decode).unwrap());
    t.record_worker(9, None, WORKER_TYPE_DECODE);
    let info = t.get_worker_info().unwrap();
    assert_eq!(info.prefill_worker_id, Some(7));
    assert_eq!(info.prefill_dp_rank, Some(0));
    assert_eq!(info.decode_worker_id, Some(9));
    assert_eq!(info.decode_dp_rank, None);
}

#[test]
fn worker_type_constants_keep_the_reference_strings() {
    assert_eq!(WORKER_TYPE_PREFILL.as_str(), "prefill");
    assert_eq!(WORKER_TYPE_DECODE.as_str(), "decode");
}

#[test]
fn worker_types_display_as_their_labels() {
    assert_eq!(WORKER_TYPE_PREFILL.to_string(), "prefill");
    assert_eq!(WorkerType::Decode.to_string(), "decode");
}
