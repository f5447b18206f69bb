//! Every atomic and the phase gate's wake-up are imported through this module, and this is the
//! one place that chooses between the real ones and a model checker's.
//!
//! * Normal builds ([`real`]): `std`'s atomics, `portable-atomic`'s `AtomicU128` and tokio's
//!   `Notify`.
//! * `--cfg reqtrack_loom` or `--cfg reqtrack_shuttle` (`model`, under the derived
//!   `cfg(reqtrack_model)` that `build.rs` sets): the checker's atomics, plus two
//!   checker-visible stand-ins, a 128-bit atomic (under loom one that honours the orderings it
//!   is given, under shuttle a cell on shuttle's mutex) and a `Notify` with tokio's semantics. tokio's own `Notify` is invisible to a model checker (loom would report
//!   false deadlocks), and tokio is never built with plain `cfg(loom)`, which is why the crate
//!   uses cfgs of its own. shuttle has its own cfg rather than cargo-fuzz's `fuzzing`, so the
//!   `model` and `json` fuzz targets run on the real atomics at full speed.
//!
//! The gate's wake-up goes through the small [`GateWaker`] trait so a stand-in can replace
//! tokio without touching the gate.

#[cfg(all(reqtrack_loom, reqtrack_shuttle))]
compile_error!(
    "reqtrack: --cfg reqtrack_loom and --cfg reqtrack_shuttle are exclusive; set one of them"
);

mod waker;

pub(crate) use waker::GateWaker;

#[cfg(not(reqtrack_model))]
mod real;
#[cfg(not(reqtrack_model))]
pub(crate) use real::{AtomicU32, AtomicU64, AtomicU128, Notify, Ordering, Waiter};

#[cfg(reqtrack_model)]
mod model;
#[cfg(reqtrack_model)]
pub(crate) use model::{AtomicU32, AtomicU64, AtomicU128, Notify, Ordering, Waiter};
