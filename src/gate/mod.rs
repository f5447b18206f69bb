//! Gate layer: the request's phase and the one-holder gate that guards phase changes.
//!
//! * `phase`: [`RequestPhase`].
//! * `phase_gate`: [`PhaseGate`], the phase, held and handoff bits and the waiter count in one
//!   `AtomicU64`, with the waiters' FIFO wake-up (its module docs give the protocol and every
//!   ordering).
//! * `permit`: [`PhasePermit`] / [`OwnedPhasePermit`], which release the gate on drop.

mod permit;
mod phase;
mod phase_gate;

pub use permit::{OwnedPhasePermit, PhasePermit};
pub use phase::RequestPhase;
pub(crate) use phase_gate::PhaseGate;
