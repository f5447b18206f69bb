//! The phase gate hands over like the reference's one-permit FIFO semaphore: while anyone
//! waits, a release hands the gate to the longest waiter; nobody barges; a waiter cancelled
//! after it was handed the gate passes it on.

#![cfg(not(reqtrack_model))]

use reqtrack::{PhasePermit, RequestPhase, RequestTracker};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(f).poll(&mut cx)
}

/// `set_phase(phase)` polled once and still pending: queued behind whoever holds the gate.
fn queued(
    t: &RequestTracker,
    phase: RequestPhase,
) -> Pin<Box<impl Future<Output = PhasePermit<'_>> + '_>> {
    let mut waiter = Box::pin(t.set_phase(phase));
    assert!(poll_once(&mut waiter).is_pending(), "queued");
    waiter
}

/// Regression: `release` cleared HELD and woke a waiter, so a `try_set_phase` arriving before
/// the woken waiter ran took the gate from under it.
#[test]
fn try_set_phase_barges_past_a_queued_waiter() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let mut waiter = queued(&t, RequestPhase::Decode);
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
    let mut waiter = queued(&t, RequestPhase::Decode);
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
    let mut first = queued(&t, RequestPhase::Prefill);
    let mut second = queued(&t, RequestPhase::Decode);
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
    let first = queued(&t, RequestPhase::Prefill);
    let mut second = queued(&t, RequestPhase::Decode);
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
    let only = queued(&t, RequestPhase::Decode);
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
    let quitter = queued(&t, RequestPhase::Decode);
    drop(quitter);
    drop(holder);
    assert!(t.try_set_phase(RequestPhase::Aggregated).is_some());
}

/// A queued waiter cancelled before any handoff leaves the gate with its holder: the cancel
/// uncounts the waiter and frees nothing.
#[test]
fn waiter_cancelled_before_handoff_leaves_the_gate_held() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let quitter = queued(&t, RequestPhase::Decode);
    drop(quitter);
    assert!(
        t.try_set_phase(RequestPhase::Aggregated).is_none(),
        "the holder still holds the gate"
    );
    assert_eq!(t.phase(), RequestPhase::Prefill);
    drop(holder);
}

/// The last waiter cancelled after the handoff frees the gate with no waiter left counted: a
/// newcomer's permit, once dropped, frees it again instead of handing it to nobody.
#[test]
fn last_waiter_cancelled_after_handoff_leaves_no_waiter_counted() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let only = queued(&t, RequestPhase::Decode);
    drop(holder);
    drop(only);
    let newcomer = t.try_set_phase(RequestPhase::Aggregated).unwrap();
    drop(newcomer);
    assert!(
        t.try_set_phase(RequestPhase::Prefill).is_some(),
        "the newcomer's release freed the gate"
    );
}

/// The last waiter cancelled after the handoff leaves the previous holder's phase in place,
/// whichever phase that is (here Decode, the code no other bit pattern decodes to by chance).
#[test]
fn last_waiter_cancelled_after_handoff_keeps_the_decode_phase() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Decode).unwrap();
    let only = queued(&t, RequestPhase::Prefill);
    drop(holder);
    drop(only);
    assert_eq!(t.phase(), RequestPhase::Decode);
}

/// A waiter served by a handoff holds the gate until it drops its permit.
#[test]
fn served_waiter_holds_the_gate() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let mut waiter = queued(&t, RequestPhase::Decode);
    drop(holder);
    let Poll::Ready(permit) = poll_once(&mut waiter) else {
        panic!("the waiter was handed the gate")
    };
    assert!(
        t.try_set_phase(RequestPhase::Aggregated).is_none(),
        "held by the served waiter"
    );
    drop(permit);
    assert!(t.try_set_phase(RequestPhase::Aggregated).is_some());
}

/// A cancelled waiter's passed-on wake-up (stored by the waker when nobody else waited) wakes
/// the next waiter at once, while a newcomer holds the gate: with no handoff to claim, that
/// waiter keeps waiting, and is served when the holder releases.
#[test]
fn stale_wake_up_does_not_serve_a_waiter_while_the_gate_is_held() {
    let t = RequestTracker::new();
    let first_holder = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let cancelled = queued(&t, RequestPhase::Prefill);
    drop(first_holder); // handed to `cancelled`, which is woken
    drop(cancelled); // frees the gate; its wake-up stays with the waker
    let holder = t.try_set_phase(RequestPhase::Aggregated).unwrap();
    let mut waiter = Box::pin(t.set_phase(RequestPhase::Decode));
    assert!(
        poll_once(&mut waiter).is_pending(),
        "woken by the stale wake-up, but nothing was handed over"
    );
    assert_eq!(t.phase(), RequestPhase::Aggregated);
    drop(holder);
    let Poll::Ready(permit) = poll_once(&mut waiter) else {
        panic!("served at the holder's release")
    };
    assert_eq!(t.phase(), RequestPhase::Decode);
    drop(permit);
}

/// Three waiters, the middle one cancelled before the handoff: the other two are served in
/// order and the gate ends free.
#[test]
fn middle_waiter_cancelled_before_handoff_leaves_the_others_in_order() {
    let t = RequestTracker::new();
    let holder = t.try_set_phase(RequestPhase::Aggregated).unwrap();
    let mut first = queued(&t, RequestPhase::Prefill);
    let middle = queued(&t, RequestPhase::Aggregated);
    let mut last = queued(&t, RequestPhase::Decode);
    drop(middle);
    drop(holder);
    assert!(poll_once(&mut last).is_pending(), "last waits its turn");
    let Poll::Ready(p1) = poll_once(&mut first) else {
        panic!("first served")
    };
    assert_eq!(t.phase(), RequestPhase::Prefill);
    drop(p1);
    let Poll::Ready(p3) = poll_once(&mut last) else {
        panic!("last served next")
    };
    assert_eq!(t.phase(), RequestPhase::Decode);
    drop(p3);
    assert!(
        t.try_set_phase(RequestPhase::Prefill).is_some(),
        "and ends free"
    );
}
