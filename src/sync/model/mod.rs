//! The model checker's primitives (loom under `--cfg reqtrack_loom`, shuttle under
//! `--cfg reqtrack_shuttle`): its atomics and mutex, and two stand-ins built on that mutex so
//! every access is a scheduling point the checker controls.

mod notify;
mod u128;

pub(crate) use notify::{Notified as Waiter, Notify};
pub(crate) use u128::AtomicU128;

#[cfg(reqtrack_loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(reqtrack_loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};

#[cfg(reqtrack_shuttle)]
pub(crate) use shuttle::sync::Mutex;
#[cfg(reqtrack_shuttle)]
pub(crate) use shuttle::sync::atomic::{AtomicU32, AtomicU64, Ordering};
