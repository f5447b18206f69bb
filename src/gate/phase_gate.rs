//! `PhaseGate`: the current phase plus a one-holder gate that guards phase *changes*, handed
//! over in FIFO order like the reference's one-permit `tokio::sync::Semaphore`.
//!
//! `set_phase` waits while another permit is held, then sets the phase and hands out a permit.
//! Dropping the permit hands the gate straight to the longest waiter: the gate never becomes
//! free while anyone waits, so neither `try_set_phase` nor a newcomer `set_phase` can barge
//! past a queued waiter, and no waiter starves. With nobody waiting, the drop just frees the
//! gate (one CAS, no wake-up call). The phase stays as set after the permit drops: the permit
//! guards the change, not the value. `phase()` never waits.
//!
//! # Encoding
//!
//! One `AtomicU64`:
//!
//! ```text
//! bits 32..64: counted waiters (queued set_phase calls not yet served)
//! bit 7      : HELD    (a permit is out, or the gate is being handed to a waiter)
//! bit 6      : HANDOFF (a release handed the gate to the waiters; one of them takes it)
//! bits 0..2  : phase code (0 = Aggregated, 1 = Prefill, 2 = Decode)
//! ```
//!
//! Invariants: waiters > 0 or HANDOFF implies HELD (a release frees the gate only when nobody
//! is counted), so "not HELD" alone says the gate is free for a newcomer.
//!
//! # Protocol
//!
//! * **Take (newcomer)**: one CAS from "not HELD" to "HELD, new phase". `try_set_phase` is only
//!   this; `set_phase` tries it first.
//! * **Queue**: a `set_phase` that finds the gate held *registers* on the [`GateWaker`]
//!   (tokio's `Notify`, whose `notify_one` wakes registered waiters in FIFO order), then in one
//!   CAS either takes the gate (it was freed meanwhile) or adds itself to the waiter count.
//!   Registering first fixes its place in the queue and means a release after this point wakes
//!   it or a later waiter in order.
//! * **Release**: one CAS. No counted waiter: clear HELD (no wake-up call). Otherwise: set
//!   HANDOFF, keep HELD, then `notify_one`, which wakes the longest-registered waiter.
//! * **Claim**: a woken counted waiter takes a pending HANDOFF in one CAS that clears HANDOFF,
//!   decrements the count and sets its phase (HELD stays). A waiter woken without a HANDOFF
//!   (a stale wake-up left by a cancellation, below) registers again; a handoff issued while
//!   it was between registrations left the waker's permit, which that registration consumes,
//!   so it misses nothing. The phase therefore changes when the served waiter runs, not at the
//!   release: a `phase()` in between reads the old phase with the gate held.
//! * **Cancel**: a counted waiter whose future is dropped uncounts itself in one CAS. If it was
//!   the last counted waiter and a HANDOFF is pending, nobody is left to claim it, so the same
//!   CAS frees the gate. Otherwise a pending HANDOFF stays for the others, and the waker's own
//!   contract (a dropped waiter that was chosen passes its wake-up on) wakes the next one.
//!
//! The waiter count is anonymous: the served waiter is whichever counted waiter claims the
//! HANDOFF first, which is the one `notify_one` woke unless a stale wake-up raced it. FIFO is
//! therefore tokio's registration order; a waiter that loses such a rare race re-queues.
//!
//! # Orderings
//!
//! * Take and claim succeed with `Acquire`, so the new holder sees everything the previous
//!   holder did before releasing (e.g. the prefill task's `record_worker`). Failed CASes are
//!   `Relaxed`: the value is only used to retry or decide. Weakening the take (either one) fails
//!   the loom model `phase_release_wakes_the_waiter_and_publishes_the_holders_writes`. The
//!   claim's `Acquire` fails no model, and is still needed: a claim normally follows the
//!   release's `wake_one`, and the wake-up synchronises on its own (tokio's `Notify`, like
//!   `park`/`unpark`; the models' stand-in is a loom mutex), but a waiter woken by a *stale*
//!   wake-up (a cancelled waiter's, passed on) can claim a HANDOFF before the release that set
//!   it has called `wake_one`, and then only the claim's `Acquire` orders it after that holder.
//! * Release is `Release`, pairing with those `Acquire`s; the HANDOFF it sets carries the
//!   previous holder's writes to whichever waiter claims it.
//! * Queue (count + 1) is `Relaxed` on success: it publishes nothing, and the waiter learns
//!   nothing from it. Its take branch is `Acquire` like any take.
//! * Cancel is `Relaxed`, also when it frees a handed-over gate: the previous holder's writes
//!   still reach the next taker, because every write to `state` after the release is a
//!   read-modify-write and so continues the release's release sequence; a taker whose
//!   `Acquire` reads the cancel's value (or any later one) synchronises with that release.
//!   An `AcqRel` here added nothing (no loom model fails with either).
//! * `phase()` and `is_held()` are `Relaxed` loads: each reports one value on its own, and
//!   an `Acquire` would not publish the setter's writes anyway (the take and claim that set a
//!   phase are `Acquire`-only; there is no `Release` on that side to pair with).

use super::phase::RequestPhase;
use crate::sync::{AtomicU64, GateWaker, Notify, Ordering};
use std::pin::pin;

const PHASE_MASK: u64 = 0x03;
const HANDOFF: u64 = 1 << 6;
const HELD: u64 = 1 << 7;
/// One counted waiter.
const WAITER: u64 = 1 << 32;

/// The phase and its gate.
#[derive(Debug)]
pub(crate) struct PhaseGate<W: GateWaker = Notify> {
    /// Waiter count, `HELD`, `HANDOFF` and phase code, as in the module docs.
    state: AtomicU64,
    waker: W,
}

/// `state` with its phase replaced by `phase`.
#[inline]
fn with_phase(state: u64, phase: RequestPhase) -> u64 {
    (state & !PHASE_MASK) | u64::from(phase.code())
}

impl PhaseGate<Notify> {
    /// Phase `Aggregated`, no permit out.
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU64::new(u64::from(RequestPhase::Aggregated.code())),
            waker: Notify::new(),
        }
    }
}

impl<W: GateWaker> PhaseGate<W> {
    /// The current phase; never waits.
    #[inline]
    pub(crate) fn phase(&self) -> RequestPhase {
        RequestPhase::from_code((self.state.load(Ordering::Relaxed) & PHASE_MASK) as u8)
    }

    /// Takes the gate and sets `phase` if it is free (no permit out, nobody waiting). Returns
    /// whether it did.
    #[inline]
    pub(crate) fn try_acquire(&self, phase: RequestPhase) -> bool {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & HELD != 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                cur,
                with_phase(cur, phase) | HELD,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Waits, after [`try_acquire`](Self::try_acquire) found the gate held, until the gate is
    /// free or handed to this caller, then sets `phase`. A future of its own, so the
    /// uncontended path (the caller's `try_acquire`) never builds the waiter's state.
    #[inline(never)]
    pub(crate) async fn acquire_queued(&self, phase: RequestPhase) {
        let mut waiter = pin!(self.waker.waiter());
        W::register(waiter.as_mut());
        if !self.queue_or_take(phase) {
            return;
        }
        // Counted from here on: a drop of this future uncounts it (and frees a handed gate
        // nobody else can claim). Declared after `waiter`, so it drops first.
        let queued = Queued { gate: self };
        loop {
            waiter.as_mut().await;
            if self.try_claim(phase) {
                break;
            }
            // Woken without a handoff (a stale wake-up): queue again on the waker. A handoff
            // issued before this registration is not missed: its `wake_one` found no
            // registered waiter (this one was between waiters) and left the waker's single
            // permit, which this registration consumes.
            waiter.set(self.waker.waiter());
            W::register(waiter.as_mut());
        }
        queued.served();
    }

    /// After registering: takes the gate if it is free (returns `false`: done), or counts this
    /// caller as a waiter (returns `true`: wait).
    fn queue_or_take(&self, phase: RequestPhase) -> bool {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let (next, success) = if cur & HELD == 0 {
                (with_phase(cur, phase) | HELD, Ordering::Acquire)
            } else {
                (cur + WAITER, Ordering::Relaxed)
            };
            match self
                .state
                .compare_exchange_weak(cur, next, success, Ordering::Relaxed)
            {
                Ok(_) => return cur & HELD != 0,
                Err(seen) => cur = seen,
            }
        }
    }

    /// A counted waiter claims a pending handoff: clears HANDOFF, uncounts itself, sets its
    /// phase (HELD stays). Returns whether there was one to claim.
    fn try_claim(&self, phase: RequestPhase) -> bool {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & HANDOFF == 0 {
                return false;
            }
            let next = with_phase(cur - WAITER, phase) & !HANDOFF;
            match self
                .state
                .compare_exchange_weak(cur, next, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Gives the gate back: hands it to the waiters if any is counted, else frees it. Called
    /// only by a permit's drop.
    #[inline]
    pub(crate) fn release(&self) {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let handoff = cur >= WAITER;
            let next = if handoff { cur | HANDOFF } else { cur & !HELD };
            match self
                .state
                .compare_exchange_weak(cur, next, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => {
                    if handoff {
                        self.waker.wake_one();
                    }
                    return;
                }
                Err(seen) => cur = seen,
            }
        }
    }

    /// A counted waiter gives up: uncounts itself, and frees the gate if it was handed over
    /// with nobody else left to claim it.
    fn cancel_waiter(&self) {
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            let last_with_handoff = cur & HANDOFF != 0 && cur < 2 * WAITER;
            let next = if last_with_handoff {
                (cur - WAITER) & !(HANDOFF | HELD)
            } else {
                cur - WAITER
            };
            // Relaxed even when it frees the gate: the release sequence (module docs).
            match self
                .state
                .compare_exchange_weak(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Whether a permit is out or being handed over (the snapshot's `phase_held`).
    pub(crate) fn is_held(&self) -> bool {
        self.state.load(Ordering::Relaxed) & HELD != 0
    }
}

/// A counted waiter; uncounts itself if dropped before it is served.
struct Queued<'a, W: GateWaker> {
    gate: &'a PhaseGate<W>,
}

impl<W: GateWaker> Queued<'_, W> {
    /// The waiter claimed the gate (its claim already uncounted it).
    fn served(self) {
        std::mem::forget(self);
    }
}

impl<W: GateWaker> Drop for Queued<'_, W> {
    fn drop(&mut self) {
        self.gate.cancel_waiter();
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    #[test]
    fn starts_aggregated_and_free() {
        let g = PhaseGate::new();
        assert_eq!(g.phase(), RequestPhase::Aggregated);
        assert!(!g.is_held());
    }

    #[test]
    fn try_acquire_sets_phase_and_excludes_others() {
        let g = PhaseGate::new();
        assert!(g.try_acquire(RequestPhase::Prefill));
        assert_eq!(g.phase(), RequestPhase::Prefill);
        assert!(!g.try_acquire(RequestPhase::Decode));
        assert_eq!(g.phase(), RequestPhase::Prefill);
    }

    #[test]
    fn release_keeps_phase_and_frees_gate() {
        let g = PhaseGate::new();
        assert!(g.try_acquire(RequestPhase::Decode));
        g.release();
        assert!(!g.is_held());
        assert_eq!(g.phase(), RequestPhase::Decode);
        assert!(g.try_acquire(RequestPhase::Prefill));
    }

    #[test]
    fn release_with_a_counted_waiter_keeps_the_gate_held_for_it() {
        let g = PhaseGate::new();
        assert!(g.try_acquire(RequestPhase::Decode));
        assert!(g.queue_or_take(RequestPhase::Prefill), "counted, not taken");
        g.release();
        assert!(g.is_held());
        assert!(!g.try_acquire(RequestPhase::Aggregated), "no barging");
        assert!(g.try_claim(RequestPhase::Prefill));
        assert_eq!(g.phase(), RequestPhase::Prefill);
        g.release();
        assert!(!g.is_held(), "nobody left: freed");
    }

    /// The race `queue_or_take` exists for: the gate was freed between the caller's failed
    /// `try_acquire` and its registration, so it takes the gate instead of counting itself.
    #[test]
    fn queue_or_take_takes_a_gate_freed_before_it_counted() {
        let g = PhaseGate::new();
        assert!(!g.queue_or_take(RequestPhase::Decode), "taken, not counted");
        assert!(g.is_held());
        assert_eq!(g.phase(), RequestPhase::Decode);
        g.release();
        assert!(!g.is_held(), "nobody was counted: the release frees it");
    }
}
