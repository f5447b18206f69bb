//! The phase gate hands over like the reference's one-permit FIFO semaphore: while anyone
//! waits, a release hands the gate to the longest waiter; nobody barges; a waiter cancelled
//! after it was handed the gate passes it on.

#![cfg(not(reqtrack_model))]

use reqtrack::{RequestPhase, RequestTracker};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(f).poll(&mut cx)
}

/// Regression: `release` cleared HELD and woke a waiter, so a `try_set_phase` arriving before
/// the woken waiter ran took the gate from under it.
#[test]
fn try_set_phase_barges_past_a_queued_waiter() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let mut waiter = Box::pin(t.set_phase(RequestPhase::Decode));
    assert!(poll_once(&mut waiter).is_pending());
    drop(holder);
    assert!(
        t.try_set_phase(RequestPhase::Aggregated).is_none(),
        "the gate belongs to the queued waiter"
    );
    let Poll::Ready(permit) = poll_once(&mut waiter) else {
        panic!("the waiter was handed the gate")
    };
    assert_eq!(t.phase(), RequestPhase::Decode);
    drop(permit);
}

/// Regression: a holder that dropped and re-took the permit in a loop starved a queued
/// `set_phase(Decode)` for all 10,000 releases.
#[test]
fn holder_reacquiring_in_a_loop_starves_a_queued_waiter() {
    let t = RequestTracker::new();
    let mut holder = t.try_set_phase(RequestPhase::Prefill);
    let mut waiter = Box::pin(t.set_phase(RequestPhase::Decode));
    assert!(poll_once(&mut waiter).is_pending());
    let mut waiter_got_it_after = None;
    for round in 0..10_000 {
        drop(holder.take());
        holder = t.try_set_phase(RequestPhase::Prefill);
        if holder.is_none() {
            waiter_got_it_after = Some(round);
            break;
        }
    }
    assert_eq!(
        waiter_got_it_after,
        Some(0),
        "handed over at the first release"
    );
    let Poll::Ready(permit) = poll_once(&mut waiter) else {
        panic!("the waiter holds the gate")
    };
    assert_eq!(t.phase(), RequestPhase::Decode);
    drop(permit);
}

/// A newcomer `set_phase` queues behind an earlier waiter instead of taking the gate.
#[test]
fn waiters_are_served_in_arrival_order() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Aggregated).unwrap();
    let mut first = Box::pin(t.set_phase(RequestPhase::Prefill));
    let mut second = Box::pin(t.set_phase(RequestPhase::Decode));
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    drop(holder);
    assert!(poll_once(&mut second).is_pending(), "second waits its turn");
    let Poll::Ready(p1) = poll_once(&mut first) else {
        panic!("first in, first served")
    };
    assert_eq!(t.phase(), RequestPhase::Prefill);
    drop(p1);
    let Poll::Ready(p2) = poll_once(&mut second) else {
        panic!("second served next")
    };
    assert_eq!(t.phase(), RequestPhase::Decode);
    drop(p2);
}

/// A waiter dropped after it was handed the gate (before it ran) passes it to the next one.
#[test]
fn waiter_cancelled_after_handoff_passes_the_gate_on() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Aggregated).unwrap();
    let mut first = Box::pin(t.set_phase(RequestPhase::Prefill));
    let mut second = Box::pin(t.set_phase(RequestPhase::Decode));
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    drop(holder); // handed to `first`
    drop(first); // cancelled before it ran
    let Poll::Ready(p2) = poll_once(&mut second) else {
        panic!("the gate reached the next waiter")
    };
    assert_eq!(t.phase(), RequestPhase::Decode);
    drop(p2);
    assert!(
        t.try_set_phase(RequestPhase::Prefill).is_some(),
        "and ends free"
    );
}

/// The last waiter dropped after it was handed the gate frees it: nobody is left holding it.
#[test]
fn last_waiter_cancelled_after_handoff_frees_the_gate() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let mut only = Box::pin(t.set_phase(RequestPhase::Decode));
    assert!(poll_once(&mut only).is_pending());
    drop(holder);
    drop(only);
    assert_eq!(
        t.phase(),
        RequestPhase::Prefill,
        "the cancelled waiter set nothing"
    );
    assert!(t.try_set_phase(RequestPhase::Aggregated).is_some());
}

/// A queued waiter cancelled before any handoff leaves the queue: the holder's release then
/// frees the gate.
#[test]
fn waiter_cancelled_before_handoff_leaves_the_queue() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let mut quitter = Box::pin(t.set_phase(RequestPhase::Decode));
    assert!(poll_once(&mut quitter).is_pending());
    drop(quitter);
    drop(holder);
    assert!(t.try_set_phase(RequestPhase::Aggregated).is_some());
}
