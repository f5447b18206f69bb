//! loom models of every protocol in the tracker, run against the real tracker built with
//! `--cfg reqtrack_loom` (loom's atomics, a loom mutex standing in for the 128-bit atomic, and
//! a loom-visible `Notify` with tokio's semantics).
//!
//! ```text
//! RUSTFLAGS="--cfg reqtrack_loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test --release --test loom --target-dir target/loom
//! ```

#![cfg(reqtrack_loom)]

use loom::future::block_on;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL};
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

fn tracker() -> (Arc<RequestTracker>, Instant) {
    let t0 = Instant::now();
    (Arc::new(RequestTracker::with_received_at(t0, 0)), t0)
}

fn ms(t0: Instant, n: u64) -> Instant {
    t0 + Duration::from_millis(n)
}

/// First-write stamp: exactly one writer wins, and every reader sees unset or the winner.
#[test]
fn once_stamp_has_one_winner_and_readers_see_unset_or_it() {
    loom::model(|| {
        let (t, t0) = tracker();
        let writers: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|n| {
                let t = Arc::clone(&t);
                thread::spawn(move || (n, t.record_first_token_at(ms(t0, n))))
            })
            .collect();
        let seen = t.ttft_ms();
        assert!(matches!(seen, None | Some(1.0) | Some(2.0)), "{seen:?}");
        let results: Vec<_> = writers.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<_> = results.iter().filter(|(_, won)| *won).collect();
        assert_eq!(winners.len(), 1);
        let final_ttft = t.ttft_ms().unwrap();
        assert_eq!(final_ttft, winners[0].0 as f64);
        if let Some(s) = seen {
            assert_eq!(
                s, final_ttft,
                "a reader never sees a value that is later replaced"
            );
        }
    });
}

/// Latest stamp: racing finishes end at the maximum, and a reader never sees it go backwards.
#[test]
fn latest_stamp_never_moves_backwards() {
    loom::model(|| {
        let (t, t0) = tracker();
        let writers: Vec<_> = [5u64, 9]
            .into_iter()
            .map(|n| {
                let t = Arc::clone(&t);
                thread::spawn(move || t.record_finish_at(ms(t0, n)))
            })
            .collect();
        let a = t.total_time_ms();
        let b = t.total_time_ms();
        if let (Some(a), Some(b)) = (a, b) {
            assert!(b >= a, "finish went backwards: {a} then {b}");
        }
        assert!(!(a.is_some() && b.is_none()));
        for h in writers {
            h.join().unwrap();
        }
        assert_eq!(t.total_time_ms(), Some(9.0));
    });
}

/// Packed pairs: racing writers never mix halves, and readers see unset or one whole write.
#[test]
fn packed_pairs_are_never_mixed() {
    loom::model(|| {
        let (t, _) = tracker();
        let a = {
            let t = Arc::clone(&t);
            thread::spawn(move || (t.record_kv_hit(1, 4), t.record_isl(100, 10)))
        };
        let b = {
            let t = Arc::clone(&t);
            thread::spawn(move || (t.record_kv_hit(3, 3), t.record_isl(50, 50)))
        };
        let rate = t.kv_hit_rate();
        assert!(matches!(rate, None | Some(0.25) | Some(1.0)), "{rate:?}");
        let (isl, cached) = (t.isl_tokens(), t.cached_tokens());
        assert!(
            matches!(
                (isl, cached),
                (None, _) | (Some(100), Some(10)) | (Some(50), Some(50)) | (Some(_), None)
            ),
            "{isl:?} {cached:?}"
        );
        let (ra, rb) = (a.join().unwrap(), b.join().unwrap());
        assert!(ra.0 ^ rb.0, "exactly one kv writer wins");
        assert!(ra.1 ^ rb.1, "exactly one isl writer wins");
        let expect_isl = if ra.1 { (100, 10) } else { (50, 50) };
        assert_eq!(
            (t.isl_tokens(), t.cached_tokens()),
            (Some(expect_isl.0), Some(expect_isl.1))
        );
        assert_eq!(t.kv_hit_rate(), Some(if ra.0 { 0.25 } else { 1.0 }));
    });
}

/// Worker slot: a reader never sees a half-written triple; conflicts are counted exactly.
#[test]
fn worker_slot_is_whole_and_conflicts_are_exact() {
    loom::model(|| {
        let (t, _) = tracker();
        let writers: Vec<_> = [(1u64, 10u32), (2, 20)]
            .into_iter()
            .map(|(id, rank)| {
                let t = Arc::clone(&t);
                // Aggregated phase: each write hits both slots.
                thread::spawn(move || t.record_worker_full(id, rank, WORKER_TYPE_DECODE))
            })
            .collect();
        if let Some(info) = t.get_worker_info() {
            for (id, rank) in [
                (info.prefill_worker_id, info.prefill_dp_rank),
                (info.decode_worker_id, info.decode_dp_rank),
            ] {
                assert!(
                    matches!(
                        (id, rank),
                        (None, None) | (Some(1), Some(10)) | (Some(2), Some(20))
                    ),
                    "mixed triple {id:?} {rank:?}"
                );
            }
        }
        for h in writers {
            h.join().unwrap();
        }
        assert_eq!(
            t.worker_conflicts(),
            2,
            "the loser conflicts once in each slot"
        );
    });
}

/// Worker slot: a racing rank fill-in and first write end with the rank, never mixed.
#[test]
fn worker_rank_fill_in_races_cleanly() {
    loom::model(|| {
        let (t, _) = tracker();
        let a = {
            let t = Arc::clone(&t);
            thread::spawn(move || t.record_worker(7, None, WORKER_TYPE_PREFILL))
        };
        let b = {
            let t = Arc::clone(&t);
            thread::spawn(move || t.record_worker(7, Some(3), WORKER_TYPE_PREFILL))
        };
        // One read of the slot (separate getters are separate reads).
        let seen = t
            .get_worker_info()
            .map_or((None, None), |i| (i.prefill_worker_id, i.prefill_dp_rank));
        assert!(
            matches!(seen, (None, None) | (Some(7), None) | (Some(7), Some(3))),
            "{seen:?}"
        );
        a.join().unwrap();
        b.join().unwrap();
        assert_eq!(t.prefill_dp_rank(), Some(3), "the rank is never lost");
        // None-after-Some is a different write (the contract's letter): 0 or 1 conflict per
        // slot depending on the order, never more.
        assert!(t.worker_conflicts() <= 2);
    });
}

/// Phase gate: two tasks never hold a permit at once, and each sees the phase it set.
#[test]
fn phase_permits_are_mutually_exclusive() {
    loom::model(|| {
        let (t, _) = tracker();
        let inside = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = [RequestPhase::Prefill, RequestPhase::Decode]
            .into_iter()
            .map(|phase| {
                let t = Arc::clone(&t);
                let inside = Arc::clone(&inside);
                thread::spawn(move || {
                    let permit = block_on(t.set_phase(phase));
                    assert_eq!(
                        inside.fetch_add(1, Ordering::SeqCst),
                        0,
                        "two permits at once"
                    );
                    assert_eq!(t.phase(), phase);
                    inside.fetch_sub(1, Ordering::SeqCst);
                    drop(permit);
                })
            })
            .collect();
        for h in tasks {
            h.join().unwrap();
        }
    });
}

/// Phase gate: a waiter is always woken by the holder's release (loom reports a deadlock if a
/// wake-up is lost), and what the holder recorded is visible to the next holder.
#[test]
fn phase_release_wakes_the_waiter_and_publishes_the_holders_writes() {
    loom::model(|| {
        let (t, _) = tracker();
        let permit = t.try_set_phase(RequestPhase::Prefill).unwrap();
        let waiter = {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                let p = block_on(t.set_phase(RequestPhase::Decode));
                // osl is a Relaxed store: only the gate's Release/Acquire makes it visible.
                assert_eq!(
                    t.osl_tokens(),
                    5,
                    "holder's write is visible to the next holder"
                );
                drop(p);
            })
        };
        t.record_osl(5);
        drop(permit);
        waiter.join().unwrap();
        assert_eq!(t.phase(), RequestPhase::Decode);
    });
}

/// Phase gate: a waiter whose future is dropped after registering passes its wake-up on, so
/// the other waiter still gets in.
#[test]
fn dropped_waiter_passes_its_wake_up_on() {
    loom::model(|| {
        let (t, _) = tracker();
        let permit = t.try_set_phase(RequestPhase::Prefill).unwrap();
        let quitter = {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                let mut fut = pin!(t.set_phase(RequestPhase::Aggregated));
                // Poll once (registering if the gate is held), then give up.
                block_on(std::future::poll_fn(|cx| {
                    Poll::Ready(fut.as_mut().poll(cx).is_ready())
                }))
            })
        };
        let stayer = {
            let t = Arc::clone(&t);
            thread::spawn(move || drop(block_on(t.set_phase(RequestPhase::Decode))))
        };
        drop(permit);
        let _ = quitter.join().unwrap();
        stayer.join().unwrap();
        assert!(
            t.try_set_phase(RequestPhase::Aggregated).is_some(),
            "gate ends free"
        );
    });
}

/// `phase()` during a handoff: never waits, and only ever shows a phase some holder set, in
/// order.
#[test]
fn phase_during_handoff_is_old_or_new_in_order() {
    loom::model(|| {
        let (t, _) = tracker();
        let permit = t.try_set_phase(RequestPhase::Prefill).unwrap();
        let next = {
            let t = Arc::clone(&t);
            thread::spawn(move || drop(block_on(t.set_phase(RequestPhase::Decode))))
        };
        let reader = {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                let a = t.phase();
                let b = t.phase();
                assert!(matches!(a, RequestPhase::Prefill | RequestPhase::Decode));
                assert!(!(a == RequestPhase::Decode && b == RequestPhase::Prefill));
            })
        };
        drop(permit);
        next.join().unwrap();
        reader.join().unwrap();
        assert_eq!(t.phase(), RequestPhase::Decode);
    });
}

/// A finish recorded after the first token is never seen without it (ttft <= total).
#[test]
fn finish_is_never_seen_before_its_first_token() {
    loom::model(|| {
        let (t, t0) = tracker();
        let stream = {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                t.record_first_token_at(ms(t0, 3));
                t.record_osl(4);
                t.record_finish_at(ms(t0, 9));
            })
        };
        let timing = t.get_timing_info();
        if timing.total_time_ms.is_some() {
            assert_eq!(timing.ttft_ms, Some(3.0));
            assert!(timing.ttft_ms <= timing.total_time_ms);
        }
        if let Some(itl) = t.avg_itl_ms() {
            assert_eq!(itl, 2.0, "osl published with its finish");
        }
        stream.join().unwrap();
    });
}

// ---- detokenize latency: one word while it fits, two wide words after ----------------------
//
// The slot (src/slot/sum.rs) packs a 39-bit nanosecond sum and a 23-bit count in one word and
// adds a sample with one CAS; a sample that does not fit moves the slot, once, to a wide sum
// word plus a 63-bit count. These models race the packed adds, the move, and the wide adds.

/// More than the packed 39-bit sum holds (2^39 ns is about 550 s): recording it moves the
/// slot to its wide words.
const SPILLS: Duration = Duration::from_secs(1100);

/// One read of the pair (`snapshot()` reads sum and count with one `get()`): `(sum in ns,
/// count)`. The snapshot's f64 milliseconds hold these sums exactly enough to round back.
fn detok_pair(t: &RequestTracker) -> (Option<u128>, u64) {
    let s = t.snapshot();
    let sum = s.detokenize_total_ms.map(|ms| (ms * 1e6).round() as u128);
    (sum, s.detokenize_count)
}

/// Two writers add `a` and `b` while a reader takes one pair read; returns what the reader saw
/// and the final `(sum, count)`.
fn race_two_samples(a: Duration, b: Duration) -> ((Option<u128>, u64), (Duration, u64)) {
    let (t, _) = tracker();
    let writers: Vec<_> = [a, b]
        .into_iter()
        .map(|d| {
            let t = Arc::clone(&t);
            thread::spawn(move || t.record_detokenize_latency(d))
        })
        .collect();
    let seen = detok_pair(&t);
    for h in writers {
        h.join().unwrap();
    }
    let total = t.detokenize_total_latency().expect("two samples recorded");
    (seen, (total, t.detokenize_count()))
}

/// Detokenize sum and count: a reader that sees n samples sees at least their sum, and the
/// getters agree at the end.
#[test]
fn detokenize_count_never_runs_ahead_of_the_sum() {
    loom::model(|| {
        let (t, _) = tracker();
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let t = Arc::clone(&t);
                thread::spawn(move || t.record_detokenize_latency(Duration::from_nanos(5)))
            })
            .collect();
        let total = t.detokenize_total_latency();
        let count = t.detokenize_count();
        if let Some(total) = total {
            assert!(total.as_nanos() >= 5);
        }
        assert!(count <= 2);
        for h in writers {
            h.join().unwrap();
        }
        assert_eq!(t.detokenize_total_latency(), Some(Duration::from_nanos(10)));
        assert_eq!(t.detokenize_count(), 2);
    });
}

/// Packed: sum and count are one word, so one read sees the sum and the count of the same
/// samples, exactly.
#[test]
fn detokenize_packed_pair_is_read_whole() {
    loom::model(|| {
        let (seen, end) = race_two_samples(Duration::from_nanos(5), Duration::from_nanos(7));
        assert!(
            matches!(
                seen,
                (None, 0) | (Some(5), 1) | (Some(7), 1) | (Some(12), 2)
            ),
            "{seen:?}"
        );
        assert_eq!(end, (Duration::from_nanos(12), 2));
    });
}

/// A sample too large for the packed word races a small one: the move to the wide words loses
/// nothing, and a reader never sees a count whose samples the sum does not cover.
#[test]
fn detokenize_spill_to_wide_words_keeps_every_sample() {
    loom::model(|| {
        let big = SPILLS.as_nanos();
        let (seen, end) = race_two_samples(SPILLS, Duration::from_nanos(5));
        match seen {
            (None, 0) => {}
            (Some(sum), 1) => assert!([5, big, big + 5].contains(&sum), "{seen:?}"),
            (Some(sum), 2) => assert_eq!(sum, big + 5, "{seen:?}"),
            _ => panic!("count ahead of the sum: {seen:?}"),
        }
        assert_eq!(end, (SPILLS + Duration::from_nanos(5), 2));
    });
}

/// Two writers both move the slot to its wide words at once: exactly one move wins, and the
/// loser's sample lands in the wide sum.
#[test]
fn detokenize_racing_spills_count_both_samples() {
    loom::model(|| {
        let big = SPILLS.as_nanos();
        let (seen, end) = race_two_samples(SPILLS, SPILLS);
        match seen {
            (None, 0) => {}
            (Some(sum), 1) => assert!(sum == big || sum == 2 * big, "{seen:?}"),
            (Some(sum), 2) => assert_eq!(sum, 2 * big, "{seen:?}"),
            _ => panic!("count ahead of the sum: {seen:?}"),
        }
        assert_eq!(end, (SPILLS * 2, 2));
    });
}

/// The bug `fuzz/regressions/interleave/detokenize_fast_add_wraps_after_saturation` recorded:
/// a sample that saturates the sum on its own, racing another sample. The sum stays at
/// `u64::MAX` ns and never wraps.
#[test]
fn detokenize_saturating_sample_racing_another_never_wraps() {
    loom::model(|| {
        let (seen, end) = race_two_samples(Duration::MAX, Duration::from_nanos(5));
        let max = u128::from(u64::MAX);
        match seen {
            (None, 0) => {}
            // The snapshot's f64 ms rounds u64::MAX ns up to 2^64.
            (Some(sum), 1) => assert!(sum == 5 || sum >= max, "{seen:?}"),
            (Some(sum), 2) => assert!(sum >= max, "{seen:?}"),
            _ => panic!("count ahead of the sum: {seen:?}"),
        }
        assert_eq!(end, (Duration::from_nanos(u64::MAX), 2));
    });
}
