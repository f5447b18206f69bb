//! The nvext JSON: exact field names, omission of unknowns, round-trips.

#![cfg(not(reqtrack_model))]

use reqtrack::{RequestPhase, RequestTracker, TimingInfo, WORKER_TYPE_DECODE, WorkerIdInfo};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[test]
fn fresh_timing_has_only_request_received_ms() {
    let t = RequestTracker::with_received_at(Instant::now(), 42);
    let v = serde_json::to_value(t.get_timing_info()).unwrap();
    assert_eq!(v, json!({ "request_received_ms": 42 }));
}

#[test]
fn full_timing_uses_the_reference_field_names_in_order() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 1_700_000_000_000);
    t.record_prefill_start_at(t0 + Duration::from_millis(2));
    t.record_first_token_at(t0 + Duration::from_millis(12));
    t.record_finish_at(t0 + Duration::from_millis(100));
    t.record_kv_hit(1, 4);
    t.record_router_queue_depth(5);
    let s = serde_json::to_string(&t.get_timing_info()).unwrap();
    assert_eq!(
        s,
        r#"{"request_received_ms":1700000000000,"prefill_wait_time_ms":2.0,"prefill_time_ms":10.0,"ttft_ms":12.0,"total_time_ms":100.0,"kv_hit_rate":0.25,"router_queue_depth":5}"#
    );
}

#[test]
fn kv_transfer_estimate_is_the_last_timing_field_as_newest_dynamo_sends_it() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 1_700_000_000_000);
    t.record_first_token_at(t0 + Duration::from_millis(12));
    t.record_router_queue_depth(5);
    t.record_prefill_complete_at(t0 + Duration::from_millis(10));
    t.record_decode_first_token_at(t0 + Duration::from_micros(11_250));
    let s = serde_json::to_string(&t.get_timing_info()).unwrap();
    assert_eq!(
        s,
        r#"{"request_received_ms":1700000000000,"ttft_ms":12.0,"router_queue_depth":5,"kv_transfer_estimated_latency_ms":1.25}"#
    );
}

#[test]
fn timing_json_without_the_newer_field_still_parses() {
    let info: TimingInfo =
        serde_json::from_str(r#"{"request_received_ms":1,"ttft_ms":2.0}"#).unwrap();
    assert_eq!(info.kv_transfer_estimated_latency_ms, None);
    assert_eq!(info.ttft_ms, Some(2.0));
}

#[test]
fn timing_round_trips() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 7);
    t.record_first_token_at(t0 + Duration::from_nanos(1_234_567));
    t.record_kv_hit(1, 3);
    t.record_prefill_complete_at(t0);
    t.record_decode_first_token_at(t0 + Duration::from_nanos(987_654_321));
    let info = t.get_timing_info();
    assert!(info.kv_transfer_estimated_latency_ms.is_some());
    let back: TimingInfo = serde_json::from_str(&serde_json::to_string(&info).unwrap()).unwrap();
    assert_eq!(back, info);
}

#[test]
fn worker_id_json_omits_unknowns() {
    let t = RequestTracker::new();
    drop(t.try_set_phase(RequestPhase::Decode).unwrap());
    t.record_worker(9, None, WORKER_TYPE_DECODE);
    let v = serde_json::to_value(t.get_worker_info().unwrap()).unwrap();
    assert_eq!(v, json!({ "decode_worker_id": 9 }));
}

#[test]
fn worker_id_round_trips_with_extreme_values() {
    let info = WorkerIdInfo {
        prefill_worker_id: Some(u64::MAX),
        prefill_dp_rank: Some(u32::MAX),
        decode_worker_id: Some(0),
        decode_dp_rank: None,
    };
    let back: WorkerIdInfo = serde_json::from_str(&serde_json::to_string(&info).unwrap()).unwrap();
    assert_eq!(back, info);
}

#[test]
fn snapshot_has_every_recorded_and_derived_value() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, 3);
    t.record_worker_full(4, 1, WORKER_TYPE_DECODE);
    t.record_prefill_start_at(t0 + Duration::from_millis(1));
    t.record_first_token_at(t0 + Duration::from_millis(5));
    t.record_prefill_complete_at(t0 + Duration::from_millis(6));
    t.record_decode_first_token_at(t0 + Duration::from_millis(8));
    t.record_osl(5);
    t.record_finish_at(t0 + Duration::from_millis(25));
    t.record_kv_hit(2, 4);
    t.record_isl(64, 32);
    t.record_router_queue_depth(0);
    t.record_tokenize_latency(Duration::from_micros(500));
    t.record_detokenize_latency(Duration::from_micros(250));
    let v: Value = serde_json::to_value(t.snapshot()).unwrap();
    let expect = json!({
        "request_received_ms": 3, "phase": "aggregated", "phase_held": false,
        "prefill_start_ms": 1.0, "first_token_ms": 5.0, "decode_first_token_ms": 8.0,
        "prefill_complete_ms": 6.0, "finish_ms": 25.0, "prefill_wait_time_ms": 1.0,
        "prefill_time_ms": 4.0, "ttft_ms": 5.0, "total_time_ms": 25.0, "avg_itl_ms": 5.0,
        "kv_transfer_estimated_latency_ms": 2.0, "kv_overlap_blocks": 2, "isl_blocks": 4,
        "kv_hit_rate": 0.5, "isl_tokens": 64, "cached_tokens": 32, "osl_tokens": 5,
        "router_queue_depth": 0, "tokenize_latency_ms": 0.5, "detokenize_total_ms": 0.25,
        "detokenize_count": 1, "prefill_worker_id": 4, "prefill_dp_rank": 1,
        "prefill_worker_type": "decode", "decode_worker_id": 4, "decode_dp_rank": 1,
        "decode_worker_type": "decode", "worker_conflicts": 0
    });
    assert_eq!(v, expect);
}

#[test]
fn snapshot_shows_migrations_and_a_fractional_overlap_only_when_present() {
    let t = RequestTracker::with_received_at(Instant::now(), 3);
    t.record_kv_hit_effective(1.5, 4);
    t.record_migration();
    let v: Value = serde_json::to_value(t.snapshot()).unwrap();
    assert_eq!(v["kv_effective_overlap_blocks"], json!(1.5));
    assert_eq!(v["kv_hit_rate"], json!(0.375));
    assert_eq!(v["migrations"], json!(1));
    assert!(v.get("kv_overlap_blocks").is_none(), "{v}");
}

#[test]
fn snapshot_with_migrations_and_a_fractional_overlap_round_trips() {
    let t = RequestTracker::new();
    t.record_kv_hit_effective(0.1, 3);
    t.record_migration();
    t.record_migration();
    let snap = t.snapshot();
    let back = serde_json::from_str(&serde_json::to_string(&snap).unwrap()).unwrap();
    assert_eq!(snap, back);
}

#[test]
fn snapshot_round_trips() {
    let t = RequestTracker::new();
    t.record_first_token();
    t.record_isl(10, 3);
    let snap = t.snapshot();
    let back = serde_json::from_str(&serde_json::to_string(&snap).unwrap()).unwrap();
    assert_eq!(snap, back);
}

#[test]
fn snapshot_numbers_stay_finite_at_the_extremes() {
    let t0 = Instant::now();
    let t = RequestTracker::with_received_at(t0, u64::MAX);
    t.record_tokenize_latency(Duration::MAX);
    t.record_detokenize_latency(Duration::MAX);
    t.record_first_token_at(t0);
    t.record_osl(usize::MAX);
    t.record_finish_at(t0 + Duration::from_secs(1 << 40));
    let s = serde_json::to_string(&t.snapshot()).unwrap();
    assert!(
        !s.contains("null") && !s.contains("inf") && !s.contains("NaN"),
        "{s}"
    );
    let _: Value = serde_json::from_str(&s).unwrap();
}

#[test]
fn debug_output_shows_recorded_values() {
    let t = RequestTracker::new();
    t.record_osl(17);
    let d = format!("{t:?}");
    assert!(d.contains("osl_tokens: 17"), "{d}");
}
