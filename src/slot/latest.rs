//! `LatestStamp`: a `u64` that only moves forward (monotonic max).
//!
//! Used for the finish offset: two streams race at block boundaries and the last event is the
//! finish, so the slot keeps the largest offset ever recorded and never moves backwards.
//!
//! # Encoding
//!
//! One `AtomicU64` in the shared `v + 1` encoding (`slot::encoding`): 0 is unset, `v + 1` means
//! the largest recorded value is `v`. Because unset is the smallest word, a monotonic max over
//! words is the whole protocol.
//!
//! # Shape: a CAS loop that gives up when it is beaten
//!
//! `record` is a `compare_exchange_weak` loop (`fetch_update`) that stops, without writing, as
//! soon as the slot holds a value at least as large: before the first CAS and after every
//! failed one. `AtomicU64::fetch_max` is a CAS loop on x86 too, but one that, having lost the
//! race to a *later* finish, still CASes that larger value back over itself: a useless write
//! that takes the cache line from the readers and the other writers again. With racing finishes
//! (two streams at a block boundary, or the oversubscribed tail bench) the loser here costs one
//! failed CAS and returns.
//!
//! # Orderings
//!
//! * The loads (the first one and each CAS failure) are `Relaxed`: they decide only whether to
//!   write, and the value only grows, so a stale load is stale-low and at worst costs a CAS that
//!   fails; a skip is always correct.
//! * The successful CAS is `Release` so a reader that `Acquire`-loads the finish sees what the
//!   finishing thread recorded before it (its first token, its osl).
//! * `get` is `Acquire`, pairing with it.

use super::encoding::{decode, encode};
use crate::sync::{AtomicU64, Ordering};

/// A `u64` that keeps the largest value written.
#[derive(Debug)]
pub(crate) struct LatestStamp {
    /// `0`: unset; `v + 1`: the largest value recorded is `v`.
    bits: AtomicU64,
}

impl LatestStamp {
    /// An unset slot.
    pub(crate) fn new() -> Self {
        Self {
            bits: AtomicU64::new(0),
        }
    }

    /// Raises the slot to `value` if it is unset or lower (values above `MAX_STORED` clamp).
    #[inline]
    pub(crate) fn record(&self, value: u64) {
        let encoded = encode(value);
        // `Err` means a value at least as large is already there: nothing to write.
        let _ = self
            .bits
            .fetch_update(Ordering::Release, Ordering::Relaxed, |word| {
                (word < encoded).then_some(encoded)
            });
    }

    /// The largest value recorded, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<u64> {
        decode(self.bits.load(Ordering::Acquire))
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;
    use crate::slot::encoding::MAX_STORED;

    #[test]
    fn starts_unset() {
        assert_eq!(LatestStamp::new().get(), None);
    }

    #[test]
    fn keeps_the_largest_value() {
        let s = LatestStamp::new();
        s.record(10);
        s.record(4);
        assert_eq!(s.get(), Some(10));
        s.record(12);
        assert_eq!(s.get(), Some(12));
    }

    #[test]
    fn zero_is_recorded() {
        let s = LatestStamp::new();
        s.record(0);
        assert_eq!(s.get(), Some(0));
    }

    #[test]
    fn u64_max_clamps() {
        let s = LatestStamp::new();
        s.record(u64::MAX);
        assert_eq!(s.get(), Some(MAX_STORED));
    }
}
