//! loom models of every protocol in the tracker, run against the real tracker built with
//! `--cfg reqtrack_loom` (loom's atomics, a 128-bit stand-in that honours the orderings it is
//! given, `src/sync/model/u128.rs`, and a loom-visible `Notify` with tokio's semantics).
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

/// Spawns `f` after a store to `started`; the main thread calls [`observe_started`] before it
/// reads.
///
/// Works around tokio-rs/loom#392 (open): when a newly spawned thread's first operation is an
/// atomic load (every first-write slot's `set` starts with one), loom never explores a schedule
/// in which that thread runs ahead of the main thread, so the main thread's reads would only
/// ever see the state before the writers (measured: one execution). A conflicting store/load
/// pair on `started` as each side's first operation gives loom the branch point it needs; with
/// it, these models fail when the fallback read order is reversed.
fn spawn_after_start<T: Send + 'static>(
    started: &Arc<AtomicUsize>,
    f: impl FnOnce() -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let started = Arc::clone(started);
    thread::spawn(move || {
        started.fetch_add(1, Ordering::Relaxed);
        f()
    })
}

/// The main thread's half of [`spawn_after_start`].
fn observe_started(started: &AtomicUsize) {
    started.load(Ordering::Relaxed);
}

/// First-write stamp: exactly one writer wins, and every reader sees unset or the winner.
#[test]
fn once_stamp_has_one_winner_and_readers_see_unset_or_it() {
    static SAW_WRITTEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    loom::model(|| {
        let (t, t0) = tracker();
        let started = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = [1u64, 2]
            .into_iter()
            .map(|n| {
                let t = Arc::clone(&t);
                spawn_after_start(&started, move || (n, t.record_first_token_at(ms(t0, n))))
            })
            .collect();
        observe_started(&started);
        let seen = t.ttft_ms();
        assert!(matches!(seen, None | Some(1.0) | Some(2.0)), "{seen:?}");
        if seen.is_some() {
            SAW_WRITTEN.store(true, std::sync::atomic::Ordering::Relaxed);
        }
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
    assert!(
        SAW_WRITTEN.load(std::sync::atomic::Ordering::Relaxed),
        "some execution lets the reader see a written stamp (tokio-rs/loom#392 workaround)"
    );
}

/// Latest stamp: racing finishes end at the maximum, and a reader never sees it go backwards.
#[test]
fn latest_stamp_never_moves_backwards() {
    loom::model(|| {
        let (t, t0) = tracker();
        let started = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = [5u64, 9]
            .into_iter()
            .map(|n| {
                let t = Arc::clone(&t);
                spawn_after_start(&started, move || t.record_finish_at(ms(t0, n)))
            })
            .collect();
        observe_started(&started);
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
        let started = Arc::new(AtomicUsize::new(0));
        let a = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                (t.record_kv_hit(1, 4), t.record_isl(100, 10))
            })
        };
        let b = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                (t.record_kv_hit(3, 3), t.record_isl(50, 50))
            })
        };
        observe_started(&started);
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
        let started = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = [(1u64, 10u32), (2, 20)]
            .into_iter()
            .map(|(id, rank)| {
                let t = Arc::clone(&t);
                // Aggregated phase: each write hits both slots.
                spawn_after_start(&started, move || {
                    t.record_worker_full(id, rank, WORKER_TYPE_DECODE)
                })
            })
            .collect();
        observe_started(&started);
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
        let started = Arc::new(AtomicUsize::new(0));
        let a = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.record_worker(7, None, WORKER_TYPE_PREFILL)
            })
        };
        let b = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.record_worker(7, Some(3), WORKER_TYPE_PREFILL)
            })
        };
        observe_started(&started);
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
///
/// The holder's write is a prefill start and the next holder reads it without first reading
/// anything else the holder wrote, so only the gate (release `Release`, take or claim
/// `Acquire`) orders the two: the slot's own `Release`/`Acquire` only matter to a reader that
/// already sees the new value, and here the read may return the old one unless the gate
/// synchronised. Weakening the release or the take/claim to `Relaxed` fails this model.
#[test]
fn phase_release_wakes_the_waiter_and_publishes_the_holders_writes() {
    loom::model(|| {
        let (t, t0) = tracker();
        let permit = t.try_set_phase(RequestPhase::Prefill).unwrap();
        let waiter = {
            let t = Arc::clone(&t);
            thread::spawn(move || {
                let p = block_on(t.set_phase(RequestPhase::Decode));
                assert_eq!(
                    t.prefill_wait_time_ms(),
                    Some(5.0),
                    "holder's write is visible to the next holder"
                );
                drop(p);
            })
        };
        t.record_prefill_start_at(ms(t0, 5));
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

/// Polls `fut` once with a no-op waker: a `set_phase` that finds the gate held registers and
/// joins the queue, deterministically, before the concurrent part of a model starts.
/// A tracker in a `std` `Arc`, as `set_phase_owned` takes (the gate's atomics inside are loom's).
fn owned_tracker() -> std::sync::Arc<RequestTracker> {
    std::sync::Arc::new(RequestTracker::with_received_at(Instant::now(), 0))
}

fn poll_queued<F: Future + Unpin>(fut: &mut F) {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(
        std::pin::Pin::new(fut).poll(&mut cx).is_pending(),
        "the gate is held: the waiter queues"
    );
}

/// FIFO handoff: a release hands the gate to the queued waiter; a `try_set_phase` racing the
/// release never takes it (no barging), and the waiter always gets it (no lost wake-up).
#[test]
fn release_hands_the_gate_to_the_queued_waiter_and_nobody_barges() {
    loom::model(|| {
        let t = owned_tracker();
        let holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
        let mut queued = Box::pin(t.set_phase_owned(RequestPhase::Decode));
        poll_queued(&mut queued);
        let waiter = thread::spawn(move || block_on(queued));
        let barger = {
            let t = std::sync::Arc::clone(&t);
            thread::spawn(move || t.try_set_phase(RequestPhase::Aggregated).is_some())
        };
        drop(holder);
        assert!(!barger.join().unwrap(), "barged past a queued waiter");
        let permit = waiter.join().unwrap();
        assert_eq!(t.phase(), RequestPhase::Decode);
        drop(permit);
        assert!(t.try_set_phase(RequestPhase::Aggregated).is_some());
    });
}

/// A waiter cancelled while (or after) the gate is handed to it passes it to the next waiter.
#[test]
fn waiter_cancelled_after_handoff_passes_the_gate_on() {
    loom::model(|| {
        let t = owned_tracker();
        let holder = t.try_set_phase(RequestPhase::Aggregated).unwrap();
        let mut first = Box::pin(t.set_phase_owned(RequestPhase::Prefill));
        let mut second = Box::pin(t.set_phase_owned(RequestPhase::Decode));
        poll_queued(&mut first);
        poll_queued(&mut second);
        let canceller = thread::spawn(move || drop(first));
        let stayer = thread::spawn(move || block_on(second));
        drop(holder);
        canceller.join().unwrap();
        let permit = stayer.join().unwrap();
        assert_eq!(t.phase(), RequestPhase::Decode);
        drop(permit);
        assert!(
            t.try_set_phase(RequestPhase::Aggregated).is_some(),
            "ends free"
        );
    });
}

/// The last waiter cancelled while (or after) the gate is handed to it frees the gate.
#[test]
fn last_waiter_cancelled_after_handoff_frees_the_gate() {
    loom::model(|| {
        let t = owned_tracker();
        let holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
        let mut only = Box::pin(t.set_phase_owned(RequestPhase::Decode));
        poll_queued(&mut only);
        let canceller = thread::spawn(move || drop(only));
        drop(holder);
        canceller.join().unwrap();
        assert_eq!(
            t.phase(),
            RequestPhase::Prefill,
            "the cancelled waiter set nothing"
        );
        assert!(
            t.try_set_phase(RequestPhase::Aggregated).is_some(),
            "ends free"
        );
    });
}

/// Message passing through the stamps: one thread stamps the first token, osl, then the
/// finish; another reads the finish, then the first token and osl. A finish recorded after
/// the first token is never seen without it (ttft <= total), nor without its block's osl.
///
/// The writer starts through `spawn_after_start` (tokio-rs/loom#392: without it loom never runs
/// the writer ahead of the reader, and weakening the stamps to `Relaxed` failed nothing).
/// Weakening the finish slot's `Release` (its write CAS) or `Acquire` (its load) to `Relaxed`
/// fails this model (`check/mutate-orderings.py`); the first-token slot's orderings do not
/// matter here, since the reader loads the finish first. The ordering as built passes.
#[test]
fn finish_is_never_seen_before_its_first_token() {
    loom::model(|| {
        let (t, t0) = tracker();
        let started = Arc::new(AtomicUsize::new(0));
        let stream = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.record_first_token_at(ms(t0, 3));
                t.record_osl(4);
                t.record_finish_at(ms(t0, 9));
            })
        };
        observe_started(&started);
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

/// Block boundary: osl and finish written together are read together; a reader never pairs
/// one block's osl with another block's finish (each pair it sees is one the stream wrote).
#[test]
fn osl_and_finish_are_read_as_one_value() {
    loom::model(|| {
        let (t, t0) = tracker();
        t.record_first_token_at(ms(t0, 0));
        let started = Arc::new(AtomicUsize::new(0));
        let stream = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.record_osl_and_finish_at(2, ms(t0, 10));
                t.record_osl_and_finish_at(3, ms(t0, 40));
            })
        };
        observe_started(&started);
        let itl = t.avg_itl_ms();
        assert!(
            matches!(itl, None | Some(10.0) | Some(20.0)),
            "osl and finish of different blocks paired: {itl:?}"
        );
        stream.join().unwrap();
        assert_eq!(t.avg_itl_ms(), Some(20.0));
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
    let started = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = [a, b]
        .into_iter()
        .map(|d| {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || t.record_detokenize_latency(d))
        })
        .collect();
    observe_started(&started);
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
        let started = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let t = Arc::clone(&t);
                spawn_after_start(&started, move || {
                    t.record_detokenize_latency(Duration::from_nanos(5))
                })
            })
            .collect();
        observe_started(&started);
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

// ---- issue 10: multi-hop merge, migrations, effective KV overlap ------------------------------

/// Another hop's timing with only a first token, `ttft` ms after arrival (same wall clock).
fn remote_first_token(ttft: f64) -> reqtrack::TimingInfo {
    reqtrack::TimingInfo {
        request_received_ms: 0,
        prefill_wait_time_ms: None,
        prefill_time_ms: None,
        ttft_ms: Some(ttft),
        total_time_ms: None,
        kv_hit_rate: None,
        router_queue_depth: None,
        kv_transfer_estimated_latency_ms: None,
    }
}

/// The fallback read order: a merge made after the tracker's own write never shows, not even
/// to a reader that started before the own write (it reads the merged slot first).
#[test]
fn merged_value_never_shows_after_the_own_write() {
    loom::model(|| {
        let (t, t0) = tracker();
        let started = Arc::new(AtomicUsize::new(0));
        let writer = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.record_first_token_at(ms(t0, 3));
                t.set_external_timing_at(&remote_first_token(7.0), ms(t0, 10));
            })
        };
        observe_started(&started);
        let seen = t.ttft_ms();
        assert!(matches!(seen, None | Some(3.0)), "{seen:?}");
        writer.join().unwrap();
        assert_eq!(t.ttft_ms(), Some(3.0));
    });
}

/// A merge racing the own write: the own value ends up reported, and once a reader has seen
/// it, it never sees the merged value again.
#[test]
fn merge_racing_the_own_write_never_flips_back() {
    loom::model(|| {
        let (t, t0) = tracker();
        let started = Arc::new(AtomicUsize::new(0));
        let own = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || t.record_first_token_at(ms(t0, 3)))
        };
        let merge = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.set_external_timing_at(&remote_first_token(7.0), ms(t0, 10))
            })
        };
        observe_started(&started);
        let a = t.ttft_ms();
        let b = t.ttft_ms();
        assert!(matches!(a, None | Some(3.0) | Some(7.0)), "{a:?}");
        assert!(!(a == Some(3.0) && b != Some(3.0)), "{a:?} then {b:?}");
        assert!(own.join().unwrap(), "the own write always sets its slot");
        assert_eq!(
            merge.join().unwrap(),
            1,
            "the merge always fills its own slot"
        );
        assert_eq!(t.ttft_ms(), Some(3.0));
    });
}

/// A merged worker racing the own write: the own triple wins without a conflict, and once seen
/// it is never replaced by the merged one.
#[test]
fn merged_worker_gives_way_to_the_own_write_for_good() {
    loom::model(|| {
        let (t, _) = tracker();
        let started = Arc::new(AtomicUsize::new(0));
        let merge = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.set_external_worker_info(&reqtrack::WorkerIdInfo {
                    prefill_worker_id: Some(7),
                    prefill_dp_rank: Some(0),
                    decode_worker_id: None,
                    decode_dp_rank: None,
                })
            })
        };
        let own = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.record_worker_full(11, 1, WORKER_TYPE_DECODE)
            })
        };
        observe_started(&started);
        let a = (t.prefill_worker_id(), t.prefill_dp_rank());
        let b = t.prefill_worker_id();
        assert!(
            matches!(a, (None, _) | (Some(7), _) | (Some(11), _)),
            "{a:?}"
        );
        assert!(!(a.0 == Some(11) && b != Some(11)), "{a:?} then {b:?}");
        merge.join().unwrap();
        own.join().unwrap();
        assert_eq!(
            (t.prefill_worker_id(), t.prefill_dp_rank()),
            (Some(11), Some(1))
        );
        assert_eq!(t.worker_conflicts(), 0);
    });
}

/// Racing migrations are all counted (the CAS loop loses no increment).
#[test]
fn racing_migrations_are_all_counted() {
    loom::model(|| {
        let (t, _) = tracker();
        let started = Arc::new(AtomicUsize::new(0));
        let other = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || t.record_migration())
        };
        observe_started(&started);
        t.record_migration();
        let seen = t.migrations();
        assert!((1..=2).contains(&seen), "{seen}");
        other.join().unwrap();
        assert_eq!(t.migrations(), 2);
    });
}

/// A whole and an effective KV hit race to the one first-write slot: one wins, readers see
/// unset or the winner's whole pair.
#[test]
fn whole_and_effective_kv_hits_share_one_first_write() {
    loom::model(|| {
        let (t, _) = tracker();
        let started = Arc::new(AtomicUsize::new(0));
        let whole = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || t.record_kv_hit(1, 4))
        };
        let effective = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || t.record_kv_hit_effective(2.5, 4))
        };
        observe_started(&started);
        let rate = t.kv_hit_rate();
        assert!(matches!(rate, None | Some(0.25) | Some(0.625)), "{rate:?}");
        let (w, e) = (whole.join().unwrap(), effective.join().unwrap());
        assert!(w ^ e, "exactly one writer wins");
        assert_eq!(t.kv_hit_rate(), Some(if w { 0.25 } else { 0.625 }));
    });
}

// ---- osl + finish past 2^20 tokens / 2^43 ns ------------------------------------------------
//
// The block slot is a 43-bit finish and a 20-bit osl in one 64-bit word; a write that does not
// fit freezes the packed value as the base of a 128-bit wide word (src/slot/block.rs). These
// models race a spill with a packed write, two spills, and a reader across the spill.

/// More than the packed osl holds (2^20 tokens).
const OSL_SPILLS: usize = 1 << 20;
/// A finish later than the packed finish holds (2^43 ns is about 2 h 26 min), in ms.
const FINISH_SPILLS_MS: u64 = 9_000_000;

/// Two writers, one (`a`) or both spilling, and a reader taking one `(finish, osl)` read;
/// returns what the reader saw (as `(total_time_ms, osl)`) and the end value.
fn race_block_writes(
    a: impl FnOnce(&RequestTracker, Instant) + Send + 'static,
    b: impl FnOnce(&RequestTracker, Instant) + Send + 'static,
) -> ((Option<f64>, u64), (Option<f64>, u64)) {
    let (t, t0) = tracker();
    let started = Arc::new(AtomicUsize::new(0));
    let wa = {
        let t = Arc::clone(&t);
        spawn_after_start(&started, move || a(&t, t0))
    };
    let wb = {
        let t = Arc::clone(&t);
        spawn_after_start(&started, move || b(&t, t0))
    };
    observe_started(&started);
    let s = t.snapshot();
    let seen = (s.total_time_ms, s.osl_tokens);
    wa.join().unwrap();
    wb.join().unwrap();
    let s = t.snapshot();
    (seen, (s.total_time_ms, s.osl_tokens))
}

/// A spill (osl past the packed range) racing a packed finish: neither write is lost, whether
/// the finish lands before the freeze (it is in the base) or after (it fails its CAS against
/// the frozen word and is redone the wide way). The mutant "the wide value ignores the base"
/// fails it.
#[test]
fn block_spill_racing_a_packed_write_loses_neither() {
    loom::model(|| {
        let (seen, end) = race_block_writes(
            |t, _| t.record_osl(OSL_SPILLS),
            |t, t0| t.record_finish_at(ms(t0, 7)),
        );
        let big = OSL_SPILLS as u64;
        assert!(matches!(seen.0, None | Some(7.0)), "{seen:?}");
        assert!(seen.1 == 0 || seen.1 == big, "{seen:?}");
        assert_eq!(end, (Some(7.0), big));
    });
}

/// Message passing through the spill: the block slot spilled before the threads start (an osl
/// past the packed range), so the finish the stream records after its first token is a write
/// of the wide word only. A reader that sees that finish also sees the first token. Weakening
/// the wide write's `Release` or the wide load's `Acquire` to `Relaxed` fails this model
/// (`check/mutate-orderings.py`); the packed word does not change here, so it cannot carry the
/// ordering.
#[test]
fn a_spilled_finish_is_never_seen_before_its_first_token() {
    loom::model(|| {
        let (t, t0) = tracker();
        t.record_osl(OSL_SPILLS);
        let started = Arc::new(AtomicUsize::new(0));
        let stream = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.record_first_token_at(ms(t0, 3));
                t.record_finish_at(ms(t0, 9));
            })
        };
        observe_started(&started);
        let timing = t.get_timing_info();
        if timing.total_time_ms.is_some() {
            assert_eq!(
                timing.ttft_ms,
                Some(3.0),
                "a wide finish before its first token"
            );
        }
        stream.join().unwrap();
    });
}

/// Two spills at once (a finish and an osl past their packed ranges): one freezes the packed
/// word, the other's CAS fails against it and it writes the wide way; both land.
#[test]
fn block_racing_spills_keep_both_halves() {
    loom::model(|| {
        let far = FINISH_SPILLS_MS as f64;
        let (seen, end) = race_block_writes(
            |t, _| t.record_osl(OSL_SPILLS),
            move |t, t0| t.record_finish_at(ms(t0, FINISH_SPILLS_MS)),
        );
        let big = OSL_SPILLS as u64;
        assert!(seen.0.is_none_or(|f| f == far), "{seen:?}");
        assert!(seen.1 == 0 || seen.1 == big, "{seen:?}");
        assert_eq!(end, (Some(far), big));
    });
}

/// Block boundaries across the spill: a packed block, then one past the packed range. A reader
/// never pairs one block's osl with the other's finish, and never sees the finish go backwards.
#[test]
fn osl_and_finish_stay_one_value_across_the_spill() {
    loom::model(|| {
        let (t, t0) = tracker();
        t.record_first_token_at(ms(t0, 0));
        let started = Arc::new(AtomicUsize::new(0));
        // Block 2: osl 2^20 + 1 over 2^20 * 20 ms, the ITL 20 ms (past both packed ranges).
        let far_osl = OSL_SPILLS + 1;
        let far_ms = OSL_SPILLS as u64 * 20;
        let stream = {
            let t = Arc::clone(&t);
            spawn_after_start(&started, move || {
                t.record_osl_and_finish_at(2, ms(t0, 10));
                t.record_osl_and_finish_at(far_osl, ms(t0, far_ms));
            })
        };
        observe_started(&started);
        let a = t.snapshot();
        let b = t.snapshot();
        for s in [&a, &b] {
            assert!(
                matches!(s.avg_itl_ms, None | Some(10.0) | Some(20.0)),
                "osl and finish of different blocks paired: {:?}",
                s.avg_itl_ms
            );
        }
        if let (Some(x), Some(y)) = (a.total_time_ms, b.total_time_ms) {
            assert!(y >= x, "finish went backwards: {x} then {y}");
        }
        stream.join().unwrap();
        assert_eq!(t.avg_itl_ms(), Some(20.0));
        assert_eq!(t.osl_tokens(), far_osl as u64);
    });
}
