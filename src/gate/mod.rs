//! Gate layer: the request's phase and the one-holder gate that guards phase changes.
//!
//! * `phase`: [`RequestPhase`].
//! * `phase_gate`: [`PhaseGate`], the phase and held bit in one `AtomicU8`, with the waiters'
//!   wake-up (its module docs give the protocol and every ordering).
//! * `permit`: [`PhasePermit`] / [`OwnedPhasePermit`], which release the gate on drop.

mod permit;
mod phase;
mod phase_gate;

pub use permit::{OwnedPhasePermit, PhasePermit};
pub use phase::RequestPhase;
pub(crate) use phase_gate::PhaseGate;
