//! Pins the fuzz-input byte format (`reqtrack_check::INPUT_FORMAT`): fixed bytes decode to fixed
//! operations. A change to `Op::decode` or `Bytes` fails here; bump `INPUT_FORMAT`, regenerate
//! the corpora and re-find the named regressions in the same commit, then update this test.
//!
//! Format 2 (this one) appended five operations and three reads to format 1's tables, so
//! format-1 bytes whose tags and read indices were already below the new table lengths decode
//! as they did (the first test's bytes up to `Read(Ttft)` are format 1's, unchanged). Committed
//! corpora are not replayed under their old format: they were regenerated under format 2 (see
//! the crate docs).

use reqtrack::{RequestPhase, WorkerType};
use reqtrack_check::{Bytes, Case, INPUT_FORMAT, Op, Read, RemoteTiming, RemoteWorkers};
use std::time::Duration;

fn decode_ops(data: &[u8]) -> Vec<Op> {
    let mut b = Bytes::new(data);
    Op::decode_all(&mut b, 64)
}

#[test]
fn the_format_version_is_the_one_these_bytes_pin() {
    assert_eq!(INPUT_FORMAT, 2);
}

#[test]
fn each_op_tag_decodes_to_its_op() {
    let ops = decode_ops(&[
        0, 0, // PrefillStart(offset 0)
        1, 1, 5, // FirstToken(5 us)
        4, 5, 0x10, 0x27, // Finish(10_000 ms)
        5, 3, 7, 4, 9, // KvHit(7, 9)
        7, 4, 12, // Osl(12)
        8, 1, 2, 1, 1, 1, // Worker(2, Some(u32::MAX - 1 = 2 mod 3), Prefill)
        10, 2, 4, 250, // Detokenize(250 ns)
        11, 0, // QueueDepth(0)
        12, 1, // TryPhase(Decode)
        13, 0,  // HoldPhase(Prefill)
        14, // ReleasePhase
        15, 0, // Read(Ttft)
        16, 13, // Read(Migrations): tags 15 and 16 are both reads
        17, 4, 3, 1, 2, // OslFinish(3, 2 us)
        18, 4, 8, 0, 51, // KvHitEffective(8 * 51 / 255, 8)
        19, // Migration
        20, 1, 2, 0, 1, 6, 5, 0, 1, 0, 3, 1, 0, 0, 5, 40, 0, // MergeTiming(.., 40 ms)
        21, 2, 7, 1, 3, 2, 0, 0, // MergeWorkers(prefill 1 rank 2, no decode)
    ]);
    assert_eq!(
        ops,
        vec![
            Op::PrefillStart(0),
            Op::FirstToken(5_000),
            Op::Finish(10_000_000_000),
            Op::KvHit(7, 9),
            Op::Osl(12),
            Op::Worker(2, Some(2), WorkerType::Prefill),
            Op::Detokenize(Duration::from_nanos(250)),
            Op::QueueDepth(0),
            Op::TryPhase(RequestPhase::Decode),
            Op::HoldPhase(RequestPhase::Prefill),
            Op::ReleasePhase,
            Op::Read(Read::Ttft),
            Op::Read(Read::Migrations),
            Op::OslFinish(3, 2_000),
            Op::KvHitEffective(8.0 * 51.0 / 255.0, 8),
            Op::Migration,
            Op::MergeTiming(
                RemoteTiming {
                    skew_ms: 2,
                    prefill_wait_time_ms: None,
                    prefill_time_ms: Some(5.0),
                    ttft_ms: None,
                    total_time_ms: Some(0.0),
                    kv_hit_rate: Some(1.0),
                    router_queue_depth: Some(0),
                    kv_transfer_estimated_latency_ms: None,
                },
                40_000_000
            ),
            Op::MergeWorkers(RemoteWorkers {
                prefill: (Some(1), Some(2)),
                decode: (None, None),
            }),
        ]
    );
}

#[test]
fn an_interleave_case_splits_threads_then_schedule() {
    // received_ms = 0; 2 threads; thread 0: one Osl(1); thread 1: one Read(Phase); then the
    // schedule bytes.
    let case = Case::decode(&[0, 0, 0, 7, 4, 1, 0, 15, 9, 0xAA, 0xBB]);
    assert_eq!(case.received_ms, 0);
    assert_eq!(
        case.threads,
        vec![vec![Op::Osl(1)], vec![Op::Read(Read::Phase)]]
    );
    assert_eq!(case.schedule, vec![0xAA, 0xBB]);
}
