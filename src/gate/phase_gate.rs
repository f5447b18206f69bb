//! `PhaseGate`: the current phase plus a one-holder gate that guards phase *changes*.
//!
//! `set_phase` waits while another permit is held, then sets the phase and hands out a permit;
//! dropping the permit lets the next waiter in. The phase stays as set after the permit drops:
//! the permit guards the change, not the value. `phase()` never waits.
//!
//! # Encoding
//!
//! One `AtomicU8`:
//!
//! ```text
//! bit 7    : HELD (a permit is out)
//! bits 0..2: phase code (0 = Aggregated, 1 = Prefill, 2 = Decode)
//! ```
//!
//! Acquiring is one CAS from "not held, any phase" to "held, new phase", so the phase a permit
//! holder sees is the one it set, and no reader ever sees a phase without its change being
//! owned by a permit.
//!
//! # Wake-ups
//!
//! Waiters park on a [`GateWaker`] (tokio's `Notify`; a loom stand-in under `reqtrack_loom`).
//! A waiter *registers* before re-checking the state, so a release between its failed attempt
//! and its registration is seen by the re-check, and a release after registration wakes it:
//! no lost wake-up. A release wakes one waiter; a woken waiter that loses the race to a newcomer
//! registers again. A waiter dropped after being chosen passes the wake-up on (the waker's
//! contract), so cancelling a `set_phase` future strands nobody.
//!
//! # Orderings
//!
//! * Acquire CAS: `Acquire` on success, so the new holder sees everything the previous holder
//!   did before releasing (e.g. the prefill task's `record_worker` before it drops its permit);
//!   `Relaxed` on failure (the value is only used to retry or to decide "held").
//! * Release: `fetch_and(!HELD, Release)`, pairing with that `Acquire`.
//! * `phase()`: an `Acquire` load, so a reader that sees a phase also sees what its setter did
//!   before acquiring.

use super::phase::RequestPhase;
use crate::sync::{AtomicU8, GateWaker, Notify, Ordering};
use std::pin::pin;

const HELD: u8 = 0x80;
const PHASE_MASK: u8 = 0x03;

/// The phase and its gate.
#[derive(Debug)]
pub(crate) struct PhaseGate<W: GateWaker = Notify> {
    /// `HELD` bit and phase code, as in the module docs.
    state: AtomicU8,
    waker: W,
}

impl PhaseGate<Notify> {
    /// Phase `Aggregated`, no permit out.
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicU8::new(RequestPhase::Aggregated.code()),
            waker: Notify::new(),
        }
    }
}

impl<W: GateWaker> PhaseGate<W> {
    /// The current phase; never waits.
    #[inline]
    pub(crate) fn phase(&self) -> RequestPhase {
        RequestPhase::from_code(self.state.load(Ordering::Acquire) & PHASE_MASK)
    }

    /// Takes the gate and sets `phase` if no permit is out. Returns whether it did.
    #[inline]
    pub(crate) fn try_acquire(&self, phase: RequestPhase) -> bool {
        let held = HELD | phase.code();
        let mut cur = self.state.load(Ordering::Relaxed);
        loop {
            if cur & HELD != 0 {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(cur, held, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Waits until no permit is out, then takes the gate and sets `phase`.
    pub(crate) async fn acquire(&self, phase: RequestPhase) {
        loop {
            if self.try_acquire(phase) {
                return;
            }
            let mut waiter = pin!(self.waker.waiter());
            W::register(waiter.as_mut());
            // Re-check after registering: a release that happened before registration is seen
            // here; one after it wakes `waiter`. If this succeeds while `waiter` was already
            // chosen, dropping it passes that wake-up on.
            if self.try_acquire(phase) {
                return;
            }
            waiter.await;
        }
    }

    /// Gives the gate back and wakes one waiter. Called only by a permit's drop.
    #[inline]
    pub(crate) fn release(&self) {
        self.state.fetch_and(!HELD, Ordering::Release);
        self.waker.wake_one();
    }

    /// Whether a permit is out (the snapshot's `phase_held`).
    pub(crate) fn is_held(&self) -> bool {
        self.state.load(Ordering::Acquire) & HELD != 0
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
}
