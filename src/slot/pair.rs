//! `PackedPair`: a first-write-wins `(part, whole)` pair of counts, written and read as one.
//!
//! Used for `(overlap_blocks, isl_blocks)` and `(cached_tokens, isl_tokens)`: a reader never
//! sees one half without the other, and two racing writers never mix halves, because both
//! halves live in one `AtomicU64` and are installed by one CAS.
//!
//! # Encoding
//!
//! ```text
//!  63            32 31             0
//! +----------------+----------------+
//! |   whole + 1    |      part      |     0 = unset
//! +----------------+----------------+
//! ```
//!
//! `whole + 1` is never 0 once set, so the all-zero word means unset and `(0, 0)` is an
//! ordinary value. Hence `whole` (and `part <= whole`) may be at most
//! [`MAX_COUNT`] = `2^32 - 2`.
//!
//! # Orderings
//!
//! * Every access is `Relaxed`. Both halves live in one word, so one load always returns
//!   them from the same write and one CAS decides the single winner, whatever the ordering.
//!   The slot publishes nothing else: no reader reads another value after this one and relies
//!   on seeing what the pair's writer did before (a `Release` CAS / `Acquire` load pair here
//!   failed no loom model when weakened, `check/mutate-orderings.py`). A `Relaxed` pre-load
//!   skips the RMW when the slot is already set; it decides nothing on its own.

use crate::sync::{AtomicU64, Ordering};
use std::fmt;

/// The largest count either half of a pair can hold: `2^32 - 2`.
pub const MAX_COUNT: u64 = (u32::MAX - 1) as u64;

/// Why a pair was not recorded. Nothing already recorded changes when a write is rejected, and a
/// rejected write never uses up the first-write slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PairRejected {
    /// The part (overlap blocks, cached tokens) is larger than the whole (isl blocks, isl tokens).
    PartExceedsWhole,
    /// A count is larger than [`MAX_COUNT`] (`2^32 - 2`), the packed width.
    TooLarge,
}

impl fmt::Display for PairRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::PartExceedsWhole => "part exceeds whole (overlap > isl or cached > isl)",
            Self::TooLarge => "count exceeds the packed width (2^32 - 2)",
        })
    }
}

impl std::error::Error for PairRejected {}

/// A `(part, whole)` pair of counts that keeps its first valid write.
#[derive(Debug)]
pub(crate) struct PackedPair {
    /// `0`: unset; otherwise `(whole + 1) << 32 | part`.
    bits: AtomicU64,
}

impl PackedPair {
    /// An unset pair.
    pub(crate) fn new() -> Self {
        Self {
            bits: AtomicU64::new(0),
        }
    }

    /// Records `(part, whole)` if the pair is unset and the values are valid.
    ///
    /// `Ok(true)`: this call set it. `Ok(false)`: it was already set (nothing changed).
    /// `Err(_)`: rejected, nothing changed, the slot stays available.
    #[inline]
    pub(crate) fn set(&self, part: u64, whole: u64) -> Result<bool, PairRejected> {
        if whole > MAX_COUNT || part > MAX_COUNT {
            return Err(PairRejected::TooLarge);
        }
        if part > whole {
            return Err(PairRejected::PartExceedsWhole);
        }
        if self.bits.load(Ordering::Relaxed) != 0 {
            return Ok(false);
        }
        let encoded = ((whole + 1) << 32) | part;
        Ok(self
            .bits
            .compare_exchange(0, encoded, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok())
    }

    /// The recorded `(part, whole)`, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<(u64, u64)> {
        let bits = self.bits.load(Ordering::Relaxed);
        if bits == 0 {
            return None;
        }
        Some((bits & u64::from(u32::MAX), (bits >> 32) - 1))
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    #[test]
    fn starts_unset() {
        assert_eq!(PackedPair::new().get(), None);
    }

    #[test]
    fn first_valid_write_wins() {
        let p = PackedPair::new();
        assert_eq!(p.set(3, 10), Ok(true));
        assert_eq!(p.set(1, 2), Ok(false));
        assert_eq!(p.get(), Some((3, 10)));
    }

    #[test]
    fn zero_zero_is_an_ordinary_value() {
        let p = PackedPair::new();
        assert_eq!(p.set(0, 0), Ok(true));
        assert_eq!(p.get(), Some((0, 0)));
    }

    #[test]
    fn max_count_fits_in_both_halves() {
        let p = PackedPair::new();
        assert_eq!(p.set(MAX_COUNT, MAX_COUNT), Ok(true));
        assert_eq!(p.get(), Some((MAX_COUNT, MAX_COUNT)));
    }

    #[test]
    fn part_above_whole_is_rejected_and_keeps_slot_free() {
        let p = PackedPair::new();
        assert_eq!(p.set(11, 10), Err(PairRejected::PartExceedsWhole));
        assert_eq!(p.get(), None);
        assert_eq!(p.set(5, 10), Ok(true));
    }

    #[test]
    fn counts_past_the_width_are_rejected() {
        let p = PackedPair::new();
        assert_eq!(p.set(0, MAX_COUNT + 1), Err(PairRejected::TooLarge));
        assert_eq!(
            p.set(MAX_COUNT + 1, MAX_COUNT + 1),
            Err(PairRejected::TooLarge)
        );
        assert_eq!(p.get(), None);
    }

    #[test]
    fn rejected_write_after_a_set_changes_nothing() {
        let p = PackedPair::new();
        assert_eq!(p.set(2, 4), Ok(true));
        assert_eq!(p.set(9, 4), Err(PairRejected::PartExceedsWhole));
        assert_eq!(p.get(), Some((2, 4)));
    }
}
