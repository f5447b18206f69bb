//! The phase gate: permits, waiting, cancellation, owned permits.

#![cfg(not(reqtrack_model))]

use reqtrack::{RequestPhase, RequestTracker};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use tokio::sync::oneshot;

fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(f).poll(&mut cx)
}

fn assert_send<T: Send>(_: &T) {}
fn assert_static<T: 'static>(_: &T) {}

#[test]
fn phase_defaults_to_aggregated() {
    assert_eq!(RequestTracker::new().phase(), RequestPhase::Aggregated);
}

#[test]
fn phase_display_and_as_str_agree() {
    for p in [
        RequestPhase::Prefill,
        RequestPhase::Decode,
        RequestPhase::Aggregated,
    ] {
        assert_eq!(p.to_string(), p.as_str());
    }
}

#[tokio::test]
async fn set_phase_sets_and_phase_stays_after_drop() {
    let t = RequestTracker::new();
    let permit = t.set_phase(RequestPhase::Prefill).await;
    assert_eq!(t.phase(), RequestPhase::Prefill);
    drop(permit);
    assert_eq!(t.phase(), RequestPhase::Prefill);
}

#[test]
fn try_set_phase_fails_while_a_permit_is_held() {
    let t = RequestTracker::new();
    let p = t.try_set_phase(RequestPhase::Prefill).unwrap();
    assert!(t.try_set_phase(RequestPhase::Decode).is_none());
    assert_eq!(t.phase(), RequestPhase::Prefill);
    drop(p);
    assert!(t.try_set_phase(RequestPhase::Decode).is_some());
    assert_eq!(t.phase(), RequestPhase::Decode);
}

#[test]
fn set_phase_waits_while_held_and_proceeds_on_drop() {
    let t = RequestTracker::new();
    let p = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let mut waiting = Box::pin(t.set_phase(RequestPhase::Decode));
    assert!(poll_once(&mut waiting).is_pending());
    assert_eq!(
        t.phase(),
        RequestPhase::Prefill,
        "phase() never waits and is unchanged"
    );
    drop(p);
    let Poll::Ready(p2) = poll_once(&mut waiting) else {
        panic!("waiter not admitted")
    };
    assert_eq!(t.phase(), RequestPhase::Decode);
    drop(p2);
}

#[test]
fn dropped_waiter_passes_its_wake_up_on() {
    let t = RequestTracker::new();
    let p = t.try_set_phase(RequestPhase::Prefill).unwrap();
    let mut a = Box::pin(t.set_phase(RequestPhase::Decode));
    let mut b = Box::pin(t.set_phase(RequestPhase::Aggregated));
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    drop(p); // wakes `a`
    drop(a); // `a` never ran: its wake-up must reach `b`
    let Poll::Ready(pb) = poll_once(&mut b) else {
        panic!("b stranded")
    };
    assert_eq!(t.phase(), RequestPhase::Aggregated);
    drop(pb);
}

#[test]
fn set_phase_futures_are_send() {
    let t = Arc::new(RequestTracker::new());
    let f = t.set_phase(RequestPhase::Prefill);
    assert_send(&f);
    let g = t.set_phase_owned(RequestPhase::Decode);
    assert_send(&g);
    assert_static(&g);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_permit_moves_into_a_spawned_task() {
    let t = Arc::new(RequestTracker::new());
    let permit = t.set_phase_owned(RequestPhase::Prefill).await;
    let (tx, rx) = oneshot::channel();
    let task = tokio::spawn(async move {
        let _ = rx.await;
        permit
            .tracker()
            .record_worker_full(7, 0, reqtrack::WORKER_TYPE_PREFILL);
        drop(permit);
    });
    let decode = t.set_phase(RequestPhase::Decode);
    tx.send(()).unwrap();
    let p = decode.await;
    // The prefill task recorded before releasing; the decode phase sees it.
    assert_eq!(t.prefill_worker_id(), Some(7));
    assert_eq!(t.phase(), RequestPhase::Decode);
    drop(p);
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn permits_are_mutually_exclusive_under_real_tasks() {
    let t = Arc::new(RequestTracker::new());
    let inside = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let t = Arc::clone(&t);
        let inside = Arc::clone(&inside);
        tasks.push(tokio::spawn(async move {
            for _ in 0..200 {
                let phase = if i % 2 == 0 {
                    RequestPhase::Prefill
                } else {
                    RequestPhase::Decode
                };
                let p = t.set_phase_owned(phase).await;
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two permits at once"
                );
                assert_eq!(t.phase(), phase, "holder sees the phase it set");
                tokio::task::yield_now().await;
                inside.fetch_sub(1, Ordering::SeqCst);
                drop(p);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(t.try_set_phase(RequestPhase::Aggregated).is_some());
}

#[tokio::test]
async fn permits_show_their_phase_when_debugged() {
    let t = Arc::new(RequestTracker::new());
    let p = t.set_phase(RequestPhase::Prefill).await;
    assert_eq!(format!("{p:?}"), "PhasePermit { phase: Prefill }");
    drop(p);
    let owned = t.set_phase_owned(RequestPhase::Decode).await;
    assert_eq!(format!("{owned:?}"), "OwnedPhasePermit { phase: Decode }");
    assert!(Arc::ptr_eq(owned.tracker(), &t));
}

#[test]
fn phase_names_are_the_references() {
    assert_eq!(RequestPhase::Prefill.as_str(), "prefill");
    assert_eq!(RequestPhase::Decode.as_str(), "decode");
    assert_eq!(RequestPhase::Aggregated.as_str(), "aggregated");
}
