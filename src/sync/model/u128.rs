//! A model-checker-visible stand-in for `portable_atomic::AtomicU128` (loom or shuttle).
//!
//! Neither loom nor shuttle has a 128-bit atomic. The worker slot only needs `load` and `compare_exchange` on one
//! 128-bit location, and a model mutex around a `u128` gives the checker exactly that: one location
//! whose every access is a scheduling point. It models the slot's protocol (who wins, what a
//! reader can see), with sequentially consistent access, which is at least as strong as the
//! orderings the real slot requests; the orderings of the slot's other atomics stay real.

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
