//! `KvHitSlot`: the first valid KV cache hit `(overlap_blocks, isl_blocks)`, where the overlap
//! may be fractional (an *effective* overlap), written and read as one.
//!
//! Both `record_kv_hit(u32, usize)` and `record_kv_hit_effective(f64, usize)` write this one
//! slot, so they share its first-valid-write-wins rule: whichever valid write comes first is
//! kept, whatever method made it.
//!
//! # Encoding
//!
//! ```text
//!  127        96 95              64 63                              0
//! +------------+------------------+---------------------------------+
//! |     0      |  isl_blocks + 1  |   overlap, f64 bits (>= +0.0)   |     0 = unset
//! +------------+------------------+---------------------------------+
//! ```
//!
//! The overlap is stored as the caller's `f64`, bit for bit (a `u32` overlap converts to `f64`
//! exactly), so nothing is rounded: the hit rate is `overlap / isl_blocks` computed from exactly
//! what was passed. `-0.0` is stored as `+0.0`. `isl_blocks + 1` is never 0 once set, so the
//! all-zero word means unset and `(0, 0)` is an ordinary value; `isl_blocks` may be at most
//! [`MAX_COUNT`] = `2^32 - 2`, as for the other pairs.
//!
//! The slot is 128 bits because a fractional overlap does not fit the 32-bit half of a
//! [`PackedPair`](super::PackedPair) next to a 32-bit `isl_blocks` without giving up either the
//! `u32` method's full range or exactness.
//!
//! # Orderings
//!
//! * Every access is `Relaxed`, as in [`PackedPair`](super::PackedPair): overlap and
//!   `isl_blocks` are one word, so one load returns them from the same write and one CAS
//!   decides the winner, and no reader relies on the slot publishing its writer's other
//!   writes (weakening a `Release`/`Acquire` pair here failed no loom model). A `Relaxed`
//!   pre-load skips the CAS when the slot is already set; it decides nothing on its own.

use super::pair::{MAX_COUNT, PairRejected};
use crate::sync::{AtomicU128, Ordering};
use std::fmt;

/// Why an effective (fractional) KV overlap was not recorded. Nothing already recorded changes
/// when a write is rejected, and a rejected write never uses up the first-write slot.
///
/// Checked in this order; the first failing check is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverlapRejected {
    /// The overlap is NaN.
    NotANumber,
    /// The overlap is negative (`-0.0` is not: it is recorded as `0.0`).
    Negative,
    /// `isl_blocks` is larger than [`MAX_COUNT`] (`2^32 - 2`), the stored width.
    TooLarge,
    /// The overlap is larger than `isl_blocks` (infinity included).
    ExceedsIsl,
}

impl fmt::Display for OverlapRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotANumber => "overlap is NaN",
            Self::Negative => "overlap is negative",
            Self::TooLarge => "isl_blocks exceeds the stored width (2^32 - 2)",
            Self::ExceedsIsl => "overlap exceeds isl_blocks",
        })
    }
}

impl std::error::Error for OverlapRejected {}

const ISL_SHIFT: u32 = 64;

/// A recorded KV hit: the overlap in blocks (possibly fractional) and the prompt in blocks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct KvHit {
    /// Overlap in blocks, `0.0..=isl_blocks`, finite, never `-0.0`.
    pub(crate) overlap_blocks: f64,
    /// Prompt length in blocks, at most [`MAX_COUNT`].
    pub(crate) isl_blocks: u64,
}

impl KvHit {
    /// The overlap when it is a whole number of blocks.
    #[inline]
    pub(crate) fn whole_overlap(self) -> Option<u64> {
        // At most `MAX_COUNT`, so the cast is exact.
        (self.overlap_blocks.fract() == 0.0).then_some(self.overlap_blocks as u64)
    }

    /// The overlap when it is not a whole number of blocks.
    #[inline]
    pub(crate) fn fractional_overlap(self) -> Option<f64> {
        (self.overlap_blocks.fract() != 0.0).then_some(self.overlap_blocks)
    }
}

/// The KV hit slot: first valid write wins.
#[derive(Debug)]
pub(crate) struct KvHitSlot {
    /// `0`: unset; otherwise the encoding in the module docs.
    bits: AtomicU128,
}

impl KvHitSlot {
    /// An unset slot.
    pub(crate) fn new() -> Self {
        Self {
            bits: AtomicU128::new(0),
        }
    }

    /// Records `(overlap_blocks, isl_blocks)` if the slot is unset and the values are valid.
    ///
    /// `overlap_blocks` must not be NaN or negative (the callers check that and report it in
    /// their own terms). `Ok(true)`: this call set it; `Ok(false)`: already set, nothing
    /// changed; `Err(TooLarge)`: `isl_blocks > MAX_COUNT`; `Err(PartExceedsWhole)`:
    /// `overlap_blocks > isl_blocks` (infinity included). A rejected write changes nothing.
    #[inline]
    pub(crate) fn set(&self, overlap_blocks: f64, isl_blocks: u64) -> Result<bool, PairRejected> {
        debug_assert!(!overlap_blocks.is_nan() && overlap_blocks >= 0.0);
        if isl_blocks > MAX_COUNT {
            return Err(PairRejected::TooLarge);
        }
        // `isl_blocks` is at most 2^32 - 2, so it converts to `f64` exactly.
        if overlap_blocks > isl_blocks as f64 {
            return Err(PairRejected::PartExceedsWhole);
        }
        if self.bits.load(Ordering::Relaxed) != 0 {
            return Ok(false);
        }
        // `+ 0.0` turns `-0.0` into `+0.0`, so the stored bits of a zero overlap are 0.
        let overlap = u128::from((overlap_blocks + 0.0).to_bits());
        let encoded = (u128::from(isl_blocks + 1) << ISL_SHIFT) | overlap;
        Ok(self
            .bits
            .compare_exchange(0, encoded, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok())
    }

    /// [`set`](Self::set) for a caller-supplied `f64` overlap: NaN and negative overlaps are
    /// rejected first, then the slot's own checks, each reported as an [`OverlapRejected`].
    #[inline]
    pub(crate) fn set_effective(
        &self,
        overlap_blocks: f64,
        isl_blocks: u64,
    ) -> Result<bool, OverlapRejected> {
        if overlap_blocks.is_nan() {
            return Err(OverlapRejected::NotANumber);
        }
        if overlap_blocks < 0.0 {
            return Err(OverlapRejected::Negative);
        }
        self.set(overlap_blocks, isl_blocks).map_err(|e| match e {
            PairRejected::TooLarge => OverlapRejected::TooLarge,
            PairRejected::PartExceedsWhole => OverlapRejected::ExceedsIsl,
        })
    }

    /// The recorded hit, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<KvHit> {
        let bits = self.bits.load(Ordering::Relaxed);
        if bits == 0 {
            return None;
        }
        Some(KvHit {
            overlap_blocks: f64::from_bits(bits as u64),
            isl_blocks: (bits >> ISL_SHIFT) as u64 - 1,
        })
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    fn hit(overlap_blocks: f64, isl_blocks: u64) -> Option<KvHit> {
        Some(KvHit {
            overlap_blocks,
            isl_blocks,
        })
    }

    #[test]
    fn starts_unset() {
        assert_eq!(KvHitSlot::new().get(), None);
    }

    #[test]
    fn first_valid_write_wins() {
        let s = KvHitSlot::new();
        assert_eq!(s.set(2.5, 4), Ok(true));
        assert_eq!(s.set(1.0, 4), Ok(false));
        assert_eq!(s.get(), hit(2.5, 4));
    }

    #[test]
    fn zero_zero_is_an_ordinary_value() {
        let s = KvHitSlot::new();
        assert_eq!(s.set(0.0, 0), Ok(true));
        assert_eq!(s.get(), hit(0.0, 0));
    }

    #[test]
    fn negative_zero_is_stored_as_zero() {
        let s = KvHitSlot::new();
        assert_eq!(s.set(-0.0, 3), Ok(true));
        let got = s.get().unwrap().overlap_blocks;
        assert!(got == 0.0 && got.is_sign_positive());
    }

    #[test]
    fn the_overlap_is_kept_bit_for_bit() {
        let s = KvHitSlot::new();
        let overlap = 0.1 + 0.2; // not a short decimal: any rounding would show
        assert_eq!(s.set(overlap, 1), Ok(true));
        assert_eq!(s.get().unwrap().overlap_blocks.to_bits(), overlap.to_bits());
    }

    #[test]
    fn max_count_fits() {
        let s = KvHitSlot::new();
        let max = MAX_COUNT as f64;
        assert_eq!(s.set(max, MAX_COUNT), Ok(true));
        assert_eq!(s.get(), hit(max, MAX_COUNT));
        assert_eq!(s.get().unwrap().whole_overlap(), Some(MAX_COUNT));
    }

    #[test]
    fn isl_past_the_width_is_rejected() {
        let s = KvHitSlot::new();
        assert_eq!(s.set(0.0, MAX_COUNT + 1), Err(PairRejected::TooLarge));
        assert_eq!(s.get(), None);
    }

    #[test]
    fn overlap_above_isl_is_rejected_and_keeps_slot_free() {
        let s = KvHitSlot::new();
        assert_eq!(s.set(4.000_001, 4), Err(PairRejected::PartExceedsWhole));
        assert_eq!(s.set(f64::INFINITY, 4), Err(PairRejected::PartExceedsWhole));
        assert_eq!(s.get(), None);
        assert_eq!(s.set(4.0, 4), Ok(true));
    }

    #[test]
    fn effective_writes_reject_nan_and_negatives_before_anything_else() {
        let s = KvHitSlot::new();
        assert_eq!(
            s.set_effective(f64::NAN, MAX_COUNT + 1),
            Err(OverlapRejected::NotANumber)
        );
        assert_eq!(
            s.set_effective(-0.5, MAX_COUNT + 1),
            Err(OverlapRejected::Negative)
        );
        assert_eq!(
            s.set_effective(f64::NEG_INFINITY, 4),
            Err(OverlapRejected::Negative)
        );
        assert_eq!(
            s.set_effective(0.5, MAX_COUNT + 1),
            Err(OverlapRejected::TooLarge)
        );
        assert_eq!(s.set_effective(4.5, 4), Err(OverlapRejected::ExceedsIsl));
        assert_eq!(s.get(), None);
        assert_eq!(s.set_effective(3.5, 4), Ok(true));
    }

    #[test]
    fn whole_and_fractional_overlaps_are_told_apart() {
        let whole = KvHit {
            overlap_blocks: 3.0,
            isl_blocks: 4,
        };
        let part = KvHit {
            overlap_blocks: 2.75,
            isl_blocks: 4,
        };
        assert_eq!(
            (whole.whole_overlap(), whole.fractional_overlap()),
            (Some(3), None)
        );
        assert_eq!(
            (part.whole_overlap(), part.fractional_overlap()),
            (None, Some(2.75))
        );
    }
}
