//! The real primitives: `std`'s atomics, `portable-atomic`'s 128-bit atomic (`cmpxchg16b` on
//! x86-64) and tokio's `Notify`.

pub(crate) use portable_atomic::AtomicU128;
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
pub(crate) use tokio::sync::Notify;

/// The future a `Notify` waiter awaits.
pub(crate) type Waiter<'a> = tokio::sync::futures::Notified<'a>;
