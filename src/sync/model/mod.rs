//! The model checker's primitives (loom under `--cfg reqtrack_loom`, shuttle under
//! `--cfg reqtrack_shuttle`): its atomics and mutex, and two stand-ins so every access is a
//! scheduling point the checker controls: a `Notify` on the checker's mutex, and a 128-bit
//! atomic (under loom one that honours orderings, `model::u128`; under shuttle, which is
//! sequentially consistent anyway, one on the checker's mutex, `model::u128_mutex`).

mod notify;
#[cfg(reqtrack_loom)]
mod u128;
#[cfg(reqtrack_shuttle)]
mod u128_mutex;

pub(crate) use notify::{Notified as Waiter, Notify};
#[cfg(reqtrack_loom)]
pub(crate) use u128::AtomicU128;
#[cfg(reqtrack_shuttle)]
pub(crate) use u128_mutex::AtomicU128;

#[cfg(reqtrack_loom)]
pub(crate) use loom::sync::Mutex;
#[cfg(reqtrack_loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};

#[cfg(reqtrack_shuttle)]
pub(crate) use shuttle::sync::Mutex;
#[cfg(reqtrack_shuttle)]
pub(crate) use shuttle::sync::atomic::{AtomicU32, AtomicU64, Ordering};
