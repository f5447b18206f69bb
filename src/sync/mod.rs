//! Every atomic and the phase gate's wake-up are imported through this module.
//!
//! * Normal builds: `std`'s atomics, `portable-atomic`'s `AtomicU128` and tokio's
//!   `Notify`.
//! * `--cfg reqtrack_loom`: loom's atomics, plus two loom-visible stand-ins: a 128-bit cell on a
//!   loom mutex (`model_u128`) and a `Notify` with tokio's semantics on loom primitives
//!   (`model_notify`). tokio's own `Notify` is invisible to loom (loom would report false
//!   deadlocks), and tokio is never built with plain `cfg(loom)`, which is why the crate uses a
//!   cfg of its own.
//! * `--cfg reqtrack_shuttle` (the `interleave` fuzz target and CI's step-level corpus replay):
//!   shuttle's atomics and the same two stand-ins on shuttle's mutex, so a byte-driven scheduler
//!   controls every atomic step. A cfg of its own rather than cargo-fuzz's `fuzzing`, so the
//!   `model` and `json` targets run on the real atomics at full speed.
//!
//! The gate's wake-up goes through the small [`GateWaker`] trait so a stand-in can replace
//! tokio without touching the gate.

mod waker;

pub(crate) use waker::GateWaker;

#[cfg(not(any(reqtrack_loom, reqtrack_shuttle)))]
pub(crate) use portable_atomic::AtomicU128;
#[cfg(not(any(reqtrack_loom, reqtrack_shuttle)))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
#[cfg(not(any(reqtrack_loom, reqtrack_shuttle)))]
pub(crate) use tokio::sync::Notify;

#[cfg(any(reqtrack_loom, reqtrack_shuttle))]
mod model_notify;
#[cfg(any(reqtrack_loom, reqtrack_shuttle))]
mod model_u128;
#[cfg(any(reqtrack_loom, reqtrack_shuttle))]
pub(crate) use model_notify::Notify;
#[cfg(any(reqtrack_loom, reqtrack_shuttle))]
pub(crate) use model_u128::AtomicU128;

#[cfg(reqtrack_loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, Ordering};

#[cfg(all(reqtrack_shuttle, not(reqtrack_loom)))]
pub(crate) use shuttle::sync::atomic::{AtomicU8, AtomicU64, Ordering};
