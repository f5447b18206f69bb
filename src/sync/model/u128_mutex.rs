//! shuttle's stand-in for `portable_atomic::AtomicU128`.
//!
//! shuttle has no 128-bit atomic. The 128-bit slots only need `load` and `compare_exchange` on
//! one location, and a shuttle mutex around a `u128` gives the scheduler exactly that: one
//! location whose every access is a scheduling point. shuttle explores interleavings, not weak
//! memory (every access is sequentially consistent), so ignoring the orderings loses nothing
//! here. loom, which does explore weak memory, uses the ordering-honouring stand-in in
//! `model::u128` instead.

use super::Mutex;
use std::sync::atomic::Ordering;

/// Stand-in for a 128-bit atomic under loom or shuttle.
#[derive(Debug)]
pub(crate) struct AtomicU128(Mutex<u128>);

impl AtomicU128 {
    pub(crate) fn new(v: u128) -> Self {
        Self(Mutex::new(v))
    }

    pub(crate) fn load(&self, _order: Ordering) -> u128 {
        *self.0.lock().unwrap()
    }

    pub(crate) fn compare_exchange(
        &self,
        current: u128,
        new: u128,
        _success: Ordering,
        _failure: Ordering,
    ) -> Result<u128, u128> {
        let mut v = self.0.lock().unwrap();
        if *v == current {
            *v = new;
            Ok(current)
        } else {
            Err(*v)
        }
    }
}
