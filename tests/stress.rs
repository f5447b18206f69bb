//! Stress: 8 real threads x 1 M mixed operations on one tracker (scaled down in debug builds),
//! while a reader thread checks the invariants continuously. Bounded in time: a run stops early
//! after `BUDGET` and checks what it did.

#![cfg(not(reqtrack_model))]

use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_DECODE};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

const THREADS: u64 = 8;
const OPS: u64 = if cfg!(debug_assertions) {
    200_000
} else {
    1_000_000
};
const BUDGET: Duration = Duration::from_secs(60);
const WORKER_EVERY: u64 = 64;

#[test]
fn eight_writers_and_a_reader_keep_every_invariant() {
    let t0 = Instant::now();
    let tracker = Arc::new(RequestTracker::with_received_at(t0, 0));
    let stop = Arc::new(AtomicBool::new(false));
    let inside = Arc::new(AtomicUsize::new(0));
    let detok_calls = Arc::new(AtomicU64::new(0));
    let worker_calls: Arc<Vec<AtomicU64>> =
        Arc::new((0..THREADS).map(|_| AtomicU64::new(0)).collect());
    let max_finish = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(THREADS as usize + 1));
    let deadline = t0 + BUDGET;

    let writers: Vec<_> = (0..THREADS)
        .map(|tid| {
            let (t, inside, barrier) = (tracker.clone(), inside.clone(), barrier.clone());
            let (detok_calls, worker_calls, max_finish) = (
                detok_calls.clone(),
                worker_calls.clone(),
                max_finish.clone(),
            );
            thread::spawn(move || {
                barrier.wait();
                for i in 0..OPS {
                    if i % 4096 == 0 && Instant::now() > deadline {
                        break;
                    }
                    t.record_detokenize_latency(Duration::from_nanos(100 + (i % 7)));
                    detok_calls.fetch_add(1, Ordering::Relaxed);
                    match i % 16 {
                        0 => {
                            let us = 10_000 + i;
                            t.record_osl(i as usize);
                            t.record_finish_at(t0 + Duration::from_micros(us));
                            max_finish.fetch_max(us, Ordering::Relaxed);
                        }
                        1 => {
                            t.record_first_token_at(t0 + Duration::from_micros(1_000 + tid));
                            t.record_prefill_start_at(t0 + Duration::from_micros(500 + tid));
                        }
                        2 => {
                            let k = (tid + 1) as u32;
                            t.record_kv_hit(k, 2 * k as usize);
                            t.record_isl(2 * (tid as usize + 1) * 100, (tid as usize + 1) * 100);
                        }
                        3 if i % WORKER_EVERY == 3 => {
                            t.record_worker_full(tid, tid as u32 + 1000, WORKER_TYPE_DECODE);
                            worker_calls[tid as usize].fetch_add(1, Ordering::Relaxed);
                        }
                        4 => {
                            if let Some(p) = t.try_set_phase(RequestPhase::Aggregated) {
                                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two permits");
                                inside.fetch_sub(1, Ordering::SeqCst);
                                drop(p);
                            }
                        }
                        _ => {
                            let _ = t.get_timing_info();
                        }
                    }
                }
            })
        })
        .collect();

    let reader = {
        let (t, stop, barrier) = (tracker.clone(), stop.clone(), barrier.clone());
        thread::spawn(move || {
            barrier.wait();
            let (mut ttft, mut total, mut count, mut conflicts) = (None, None, 0u64, 0u32);
            let mut checks = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let timing = t.get_timing_info();
                if let Some(first) = ttft {
                    assert_eq!(timing.ttft_ms, Some(first), "first token changed");
                }
                ttft = timing.ttft_ms.or(ttft);
                if let (Some(a), Some(b)) = (total, timing.total_time_ms) {
                    assert!(b >= a, "finish went backwards: {a} -> {b}");
                }
                assert!(!(total.is_some() && timing.total_time_ms.is_none()));
                total = timing.total_time_ms.or(total);
                if let (Some(f), Some(e)) = (timing.ttft_ms, timing.total_time_ms) {
                    assert!(f <= e, "ttft {f} > total {e}");
                }
                if let Some(rate) = timing.kv_hit_rate {
                    assert_eq!(rate, 0.5, "kv pair mixed");
                }
                let snap = t.snapshot();
                if let (Some(isl), Some(cached)) = (snap.isl_tokens, snap.cached_tokens) {
                    assert_eq!(isl, 2 * cached, "isl pair mixed");
                }
                for (id, rank) in [
                    (snap.prefill_worker_id, snap.prefill_dp_rank),
                    (snap.decode_worker_id, snap.decode_dp_rank),
                ] {
                    if let Some(id) = id {
                        assert_eq!(rank, Some(id as u32 + 1000), "worker triple mixed");
                    }
                }
                assert!(
                    snap.detokenize_count >= count,
                    "detokenize count went backwards"
                );
                count = snap.detokenize_count;
                if let Some(ms) = snap.detokenize_total_ms {
                    assert!(ms * 1e6 >= 100.0 * snap.detokenize_count as f64 - 1.0);
                }
                assert!(
                    snap.worker_conflicts >= conflicts,
                    "conflicts went backwards"
                );
                conflicts = snap.worker_conflicts;
                checks += 1;
            }
            checks
        })
    };

    for w in writers {
        w.join().expect("writer");
    }
    stop.store(true, Ordering::Relaxed);
    let checks = reader.join().expect("reader");
    assert!(checks > 0);

    assert_eq!(
        tracker.detokenize_count(),
        detok_calls.load(Ordering::Relaxed)
    );
    assert_eq!(
        tracker.total_time_ms(),
        Some(max_finish.load(Ordering::Relaxed) as f64 / 1000.0),
        "finish is the maximum recorded"
    );
    let first = tracker.ttft_ms().expect("first token recorded");
    assert!((1.0..1.0 + THREADS as f64 / 1000.0).contains(&first));
    // Aggregated phase throughout: every write hits both slots; every write but the slot
    // winner's own is a conflict (the winner's repeats are identical).
    let writes: Vec<u32> = worker_calls
        .iter()
        .map(|c| c.load(Ordering::Relaxed) as u32)
        .collect();
    let calls: u32 = writes.iter().sum();
    let prefill_winner_writes = writes[tracker.prefill_worker_id().unwrap() as usize];
    let decode_winner_writes = writes[tracker.decode_worker_id().unwrap() as usize];
    assert_eq!(
        tracker.worker_conflicts(),
        (calls - prefill_winner_writes) + (calls - decode_winner_writes)
    );
}
