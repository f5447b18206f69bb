//! Real-thread smoke tests: first-write races have exactly one winner.

#![cfg(not(reqtrack_model))]

use reqtrack::{RequestTracker, WORKER_TYPE_DECODE};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Runs `f(i)` on 8 threads released together by a barrier; returns their results in order.
fn race<T: Send + 'static>(
    tracker: &Arc<RequestTracker>,
    f: impl Fn(&RequestTracker, u64) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(8));
    let f = Arc::new(f);
    let handles: Vec<_> = (0..8u64)
        .map(|i| {
            let (tracker, barrier, f) = (Arc::clone(tracker), Arc::clone(&barrier), Arc::clone(&f));
            thread::spawn(move || {
                barrier.wait();
                f(&tracker, i)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("racer"))
        .collect()
}

#[test]
fn eight_threads_racing_the_first_token_have_exactly_one_winner() {
    for _ in 0..50 {
        let t0 = Instant::now();
        let tracker = Arc::new(RequestTracker::with_received_at(t0, 0));
        let results = race(&tracker, move |t, i| {
            (
                i,
                t.record_first_token_at(t0 + Duration::from_millis(i + 1)),
            )
        });
        let winners: Vec<_> = results.iter().filter(|(_, won)| *won).collect();
        assert_eq!(winners.len(), 1, "{results:?}");
        let (i, _) = winners[0];
        assert_eq!(
            tracker.ttft_ms(),
            Some((*i + 1) as f64),
            "the winner's value is kept"
        );
    }
}

#[test]
fn racing_finishes_keep_the_maximum() {
    let t0 = Instant::now();
    let tracker = Arc::new(RequestTracker::with_received_at(t0, 0));
    race(&tracker, move |t, i| {
        for k in 0..1000u64 {
            t.record_finish_at(t0 + Duration::from_micros(k * 8 + i));
        }
    });
    assert_eq!(tracker.total_time_ms(), Some((999.0 * 8.0 + 7.0) / 1000.0));
}

/// Regression: this test used to assert that racing Aggregated writes leave the *same* winner
/// in both slots, which `record_worker`'s docs do not promise (the call is a phase read and two
/// slot writes; two racers can each win one slot). What is promised: each slot holds one whole
/// triple, and every loser is counted once per slot.
#[test]
fn racing_conflicting_workers_keep_one_whole_triple_per_slot_and_count_every_loser() {
    for _ in 0..50 {
        let tracker = Arc::new(RequestTracker::new());
        race(&tracker, |t, i| {
            t.record_worker_full(i, i as u32, WORKER_TYPE_DECODE)
        });
        let prefill = tracker.prefill_worker_id().expect("a prefill winner");
        assert_eq!(
            tracker.prefill_dp_rank(),
            Some(prefill as u32),
            "never mixed"
        );
        let decode = tracker.decode_worker_id().expect("a decode winner");
        assert_eq!(tracker.decode_dp_rank(), Some(decode as u32), "never mixed");
        assert_eq!(
            tracker.worker_conflicts(),
            14,
            "7 losers in each of the 2 slots"
        );
    }
}
