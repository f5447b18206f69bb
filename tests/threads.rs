//! Real-thread smoke tests: first-write races have exactly one winner.

#![cfg(not(reqtrack_loom))]

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

#[test]
fn racing_conflicting_workers_keep_one_and_count_the_rest() {
    let tracker = Arc::new(RequestTracker::new());
    race(&tracker, |t, i| {
        t.record_worker_full(i, i as u32, WORKER_TYPE_DECODE)
    });
    let id = tracker.prefill_worker_id().unwrap();
    assert_eq!(tracker.prefill_dp_rank(), Some(id as u32), "never mixed");
    assert_eq!(
        tracker.decode_worker_id(),
        Some(id),
        "aggregated: same winner in both"
    );
    assert_eq!(tracker.worker_conflicts(), 14, "7 losers, both slots each");
}
