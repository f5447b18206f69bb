//! [`Overlap`]: the KV overlap argument of [`RequestTracker::record_kv_hit`], whole (`u32`, the
//! seed's signature) or fractional (`f64`, newest Dynamo's `effective_overlap_blocks`), so code
//! written against either version compiles unchanged. No state, no atomics.

use super::RequestTracker;

/// A KV overlap in blocks, as [`RequestTracker::record_kv_hit`] takes it: build it with `From`
/// (`6`, `x_u32`, `5.5`, `x_f64`), never by hand.
///
/// An integer literal is a `u32` here and a float literal an `f64` (each is the only
/// conversion of its kind), so `record_kv_hit(6, 8)` and `record_kv_hit(5.5, 8)` both compile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Overlap {
    /// Whole blocks: the seed's `record_kv_hit(overlap_blocks: u32, isl_blocks)`.
    Blocks(u32),
    /// A fractional *effective* overlap: newest Dynamo's
    /// `record_kv_hit(effective_overlap_blocks: f64, isl_blocks)`.
    Effective(f64),
}

impl From<u32> for Overlap {
    fn from(blocks: u32) -> Self {
        Self::Blocks(blocks)
    }
}

impl From<f64> for Overlap {
    fn from(effective: f64) -> Self {
        Self::Effective(effective)
    }
}

impl RequestTracker {
    /// Records the KV cache hit `(overlap, isl_blocks)` once; the first valid write wins
    /// (prefill's routing is kept in disaggregated mode). `overlap` is whole blocks (`u32`) or
    /// a fractional effective overlap (`f64`); both write one slot.
    ///
    /// Returns `true` if this call set it, `false` if it was already set **or the input is
    /// rejected**: an overlap above `isl_blocks` (infinity included), `isl_blocks > 2^32 - 2`, a
    /// NaN or negative fractional overlap. A rejected write changes nothing and leaves the slot
    /// free. `(0, 0)` is accepted; its hit rate is `None`. The reason for a rejection:
    /// [`try_record_kv_hit`](Self::try_record_kv_hit) (`u32`) or
    /// [`try_record_kv_hit_effective`](Self::try_record_kv_hit_effective) (`f64`).
    ///
    /// ```
    /// use reqtrack::RequestTracker;
    /// let seed = RequestTracker::new();
    /// assert!(seed.record_kv_hit(6, 8)); // the seed's spelling: a u32 overlap
    /// assert_eq!(seed.kv_hit_rate(), Some(0.75));
    ///
    /// let newest = RequestTracker::new();
    /// assert!(newest.record_kv_hit(5.5, 8)); // newest Dynamo's: a fractional overlap
    /// assert_eq!(newest.kv_hit_rate(), Some(0.6875));
    ///
    /// let (overlap, isl): (u32, usize) = (2, 4);
    /// let typed = RequestTracker::new();
    /// assert!(typed.record_kv_hit(overlap, isl));
    /// assert!(!typed.record_kv_hit(f64::NAN, isl)); // rejected (and already set)
    /// ```
    #[inline]
    pub fn record_kv_hit(&self, overlap: impl Into<Overlap>, isl_blocks: usize) -> bool {
        match overlap.into() {
            Overlap::Blocks(blocks) => {
                matches!(self.try_record_kv_hit(blocks, isl_blocks), Ok(true))
            }
            Overlap::Effective(effective) => matches!(
                self.try_record_kv_hit_effective(effective, isl_blocks),
                Ok(true)
            ),
        }
    }

    /// [`record_kv_hit`](Self::record_kv_hit) with an `f64` overlap: an alias kept for code
    /// written against this crate's earlier releases (before `record_kv_hit` took `f64`).
    /// Pre-1.0: it will be deprecated in the next minor release and removed at 1.0; call
    /// `record_kv_hit` instead.
    #[inline]
    pub fn record_kv_hit_effective(
        &self,
        effective_overlap_blocks: f64,
        isl_blocks: usize,
    ) -> bool {
        self.record_kv_hit(effective_overlap_blocks, isl_blocks)
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    #[test]
    fn record_kv_hit_takes_the_seeds_u32_and_newest_dynamos_f64() {
        let whole = RequestTracker::new();
        assert!(whole.record_kv_hit(6, 8));
        assert_eq!(whole.kv_hit_rate(), Some(0.75));

        let fractional = RequestTracker::new();
        assert!(fractional.record_kv_hit(5.5, 8));
        assert_eq!(fractional.kv_hit_rate(), Some(5.5 / 8.0));

        let x_u32: u32 = 3;
        let n: usize = 4;
        let typed = RequestTracker::new();
        assert!(typed.record_kv_hit(x_u32, n));
        assert!(
            !typed.record_kv_hit(1.5, n),
            "one slot: the first write wins"
        );
        assert_eq!(typed.kv_hit_rate(), Some(0.75));
    }

    #[test]
    fn a_rejected_fractional_overlap_is_false_and_leaves_the_slot_free() {
        let t = RequestTracker::new();
        for bad in [f64::NAN, -1.0, 9.0, f64::INFINITY] {
            assert!(!t.record_kv_hit(bad, 8), "{bad}");
        }
        assert!(!t.record_kv_hit(9, 8));
        assert_eq!(t.kv_hit_rate(), None);
        assert!(
            t.record_kv_hit_effective(2.0, 8),
            "the alias writes the same slot"
        );
        assert_eq!(t.kv_hit_rate(), Some(0.25));
    }
}
