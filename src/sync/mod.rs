//! Every atomic and the phase gate's wake-up are imported through this module.
//!
//! In a normal build these are `std`'s atomics, `portable-atomic`'s `AtomicU128` and
//! tokio's [`Notify`](tokio::sync::Notify). Under `--cfg reqtrack_loom` they are loom's
//! atomics plus two loom-visible stand-ins: a 128-bit atomic cell built on a loom mutex, and a
//! `Notify` with tokio's semantics built on loom primitives. tokio's own `Notify` is invisible to
//! loom (loom would report false deadlocks), and tokio is never built with plain `cfg(loom)`,
//! which is why the crate uses a cfg of its own.
//!
//! The gate's wake-up goes through the small [`GateWaker`] trait so the stand-in can replace
//! tokio without touching the gate.

mod waker;

pub(crate) use waker::GateWaker;

#[cfg(not(reqtrack_loom))]
pub(crate) use portable_atomic::AtomicU128;
#[cfg(not(reqtrack_loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
#[cfg(not(reqtrack_loom))]
pub(crate) use tokio::sync::Notify;

#[cfg(reqtrack_loom)]
mod loom_notify;
#[cfg(reqtrack_loom)]
mod loom_u128;
#[cfg(reqtrack_loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicU64, Ordering};
#[cfg(reqtrack_loom)]
pub(crate) use loom_notify::Notify;
#[cfg(reqtrack_loom)]
pub(crate) use loom_u128::AtomicU128;
