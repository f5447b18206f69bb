//! `LatencySum`: a saturating sum of durations plus a count of samples.
//!
//! Used for detokenize latency, recorded once per generated token.
//!
//! # Encoding
//!
//! Two `AtomicU64`s: `sum` in nanoseconds, saturating at `u64::MAX` (about 584 years) instead
//! of wrapping, and `count`, the number of samples. `count == 0` means "nothing recorded".
//! `count` wraps only after 2^64 samples, which at one per nanosecond takes 584 years.
//!
//! # Orderings
//!
//! * `sum` is raised first with a CAS loop (`fetch_update`, `Relaxed`): saturation needs the
//!   old value, and no other memory is published through it. A cheaper `load` + `fetch_add`
//!   fast path was tried and is wrong: racing a saturating add it can wrap (the `interleave`
//!   fuzz target found it).
//! * `count` is then bumped with `Release`, and readers load `count` with `Acquire` before
//!   `sum`. So a reader that sees `n` samples sees a sum that includes at least those `n`
//!   contributions (it may include a racing sample whose count is not visible yet; the pair is
//!   not a "written together" pair in the contract, only a monotone sum and count).

use crate::sync::{AtomicU64, Ordering};

/// A saturating nanosecond sum and a sample count.
#[derive(Debug)]
pub(crate) struct LatencySum {
    /// Sum of recorded nanoseconds, saturating at `u64::MAX`.
    sum: AtomicU64,
    /// Number of samples recorded.
    count: AtomicU64,
}

impl LatencySum {
    /// Nothing recorded.
    pub(crate) fn new() -> Self {
        Self {
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    /// Adds one sample of `nanos` nanoseconds.
    #[inline]
    pub(crate) fn add(&self, nanos: u64) {
        // A CAS loop, not `load` + `fetch_add`: a fast `fetch_add` racing a saturating add of a
        // huge sample can wrap past `u64::MAX` (found by the `interleave` fuzz target; regression
        // input `fuzz/regressions/interleave/detokenize_fast_add_wraps_after_saturation`).
        // The closure always returns `Some`, so `fetch_update` cannot fail.
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some(s.saturating_add(nanos))
            });
        self.count.fetch_add(1, Ordering::Release);
    }

    /// `(sum_nanos, count)`; the sum covers at least the `count` samples.
    #[inline]
    pub(crate) fn get(&self) -> (u64, u64) {
        let count = self.count.load(Ordering::Acquire);
        let sum = self.sum.load(Ordering::Relaxed);
        (sum, count)
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    #[test]
    fn starts_empty() {
        assert_eq!(LatencySum::new().get(), (0, 0));
    }

    #[test]
    fn sums_and_counts() {
        let l = LatencySum::new();
        l.add(5);
        l.add(7);
        l.add(0);
        assert_eq!(l.get(), (12, 3));
    }

    #[test]
    fn sum_past_2_63_keeps_adding_until_it_saturates() {
        let l = LatencySum::new();
        l.add(1 << 63);
        l.add(5);
        assert_eq!(l.get(), ((1 << 63) + 5, 2));
        l.add(u64::MAX - 1);
        assert_eq!(l.get(), (u64::MAX, 3));
        l.add(1);
        assert_eq!(l.get(), (u64::MAX, 4));
    }

    #[test]
    fn sum_saturates_instead_of_wrapping() {
        let l = LatencySum::new();
        l.add(u64::MAX - 1);
        l.add(10);
        assert_eq!(l.get(), (u64::MAX, 2));
    }
}
