//! `OnceStamp`: a first-write-wins `u64` slot, and `OnceU32`, its 32-bit sibling.
//!
//! `OnceStamp` holds the prefill-start, first-token, decode-first-token and prefill-complete
//! offsets and the tokenize latency; `OnceU32` holds the router queue depth (4 bytes, so that
//! the migration count fits beside it on the tracker's first line).
//!
//! # Encoding
//!
//! One `AtomicU64` in the shared `v + 1` encoding (`slot::encoding`): 0 is unset, every value
//! up to `u64::MAX - 1` is storable, 0 included.
//!
//! # Orderings
//!
//! * `set` first loads with `Relaxed`: a slot that is already set is never written again, so
//!   the common "later phase calls it again" case costs a load, not a contended RMW. The load
//!   decides nothing on its own; the CAS does.
//! * The CAS that sets the slot is `Release` on success, so a reader that `Acquire`-loads the
//!   stamp also sees everything the writer did before recording it. The merge's read order
//!   rests on it (`tracker::external`: a reader that sees a merged value written after the own
//!   one also sees the own one); weakening this `Release` or the `Acquire` below fails the loom
//!   model `merged_value_never_shows_after_the_own_write`. The "never a finish without its
//!   first token" guarantee is *not* this slot's: it rests on the finish slot's `Release`
//!   ([`BlockStamp`](super::BlockStamp)) and on readers loading the finish first
//!   (`tracker::read`). Failure is `Relaxed`: a loser learns only that it lost, and returns
//!   `false`.
//! * `get` is an `Acquire` load, pairing with that `Release`.
//! * `OnceU32` is `Relaxed` throughout: a queue depth publishes nothing (no reader reads
//!   another value after it relying on it), and its first-write rule is decided by the CAS on
//!   its one word, whatever the ordering.

use super::encoding::{decode, decode_u32, encode, encode_u32};
use crate::sync::{AtomicU32, AtomicU64, Ordering};

/// A `u64` that keeps its first write.
#[derive(Debug)]
pub(crate) struct OnceStamp {
    /// `0`: unset; `v + 1`: `v` was recorded first.
    bits: AtomicU64,
}

impl OnceStamp {
    /// An unset slot.
    pub(crate) fn new() -> Self {
        Self {
            bits: AtomicU64::new(0),
        }
    }

    /// Records `value` if the slot is unset. Returns `true` if this call set it.
    ///
    /// `value` above `MAX_STORED` is clamped to it (callers clamp before, this is a backstop so
    /// the `+ 1` can never wrap to "unset").
    #[inline]
    pub(crate) fn set(&self, value: u64) -> bool {
        if self.bits.load(Ordering::Relaxed) != 0 {
            return false;
        }
        let encoded = encode(value);
        self.bits
            .compare_exchange(0, encoded, Ordering::Release, Ordering::Relaxed)
            .is_ok()
    }

    /// Whether a value is recorded (a `Relaxed` hint for skipping work: a `false` may be stale,
    /// a `true` never is, since the slot is never unset again).
    #[inline]
    pub(crate) fn is_set(&self) -> bool {
        self.bits.load(Ordering::Relaxed) != 0
    }

    /// The recorded value, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<u64> {
        decode(self.bits.load(Ordering::Acquire))
    }
}

/// A `u32` that keeps its first write (`v + 1` in one `AtomicU32`; 0 is unset).
#[derive(Debug)]
pub(crate) struct OnceU32 {
    bits: AtomicU32,
}

impl OnceU32 {
    /// An unset slot.
    pub(crate) fn new() -> Self {
        Self {
            bits: AtomicU32::new(0),
        }
    }

    /// Records `value` if the slot is unset and `value` is at most `u32::MAX - 1`. Returns
    /// `true` if this call set it; `false` if the slot was set or `value` does not fit.
    #[inline]
    pub(crate) fn set(&self, value: u64) -> bool {
        let Some(word) = encode_u32(value) else {
            return false;
        };
        self.bits.load(Ordering::Relaxed) == 0
            && self
                .bits
                .compare_exchange(0, word, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }

    /// The recorded value, if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<u64> {
        decode_u32(self.bits.load(Ordering::Relaxed)).map(u64::from)
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;
    use crate::slot::encoding::{MAX_STORED, MAX_STORED_U32};

    #[test]
    fn starts_unset() {
        assert_eq!(OnceStamp::new().get(), None);
    }

    #[test]
    fn first_write_wins_and_reports_it() {
        let s = OnceStamp::new();
        assert!(s.set(7));
        assert!(!s.set(9));
        assert_eq!(s.get(), Some(7));
    }

    #[test]
    fn zero_is_an_ordinary_value() {
        let s = OnceStamp::new();
        assert!(s.set(0));
        assert_eq!(s.get(), Some(0));
        assert!(!s.set(5));
    }

    #[test]
    fn largest_storable_value_round_trips() {
        let s = OnceStamp::new();
        assert!(s.set(MAX_STORED));
        assert_eq!(s.get(), Some(MAX_STORED));
    }

    #[test]
    fn u64_max_clamps_instead_of_wrapping_to_unset() {
        let s = OnceStamp::new();
        assert!(s.set(u64::MAX));
        assert_eq!(s.get(), Some(MAX_STORED));
    }

    #[test]
    fn a_u32_slot_keeps_its_first_write_zero_included() {
        let s = OnceU32::new();
        assert_eq!(s.get(), None);
        assert!(s.set(0));
        assert!(!s.set(3));
        assert_eq!(s.get(), Some(0));
    }

    #[test]
    fn a_u32_slot_stores_its_largest_value() {
        let s = OnceU32::new();
        assert!(s.set(u64::from(MAX_STORED_U32)));
        assert_eq!(s.get(), Some(u64::from(MAX_STORED_U32)));
    }

    #[test]
    fn a_value_past_the_u32_range_is_refused_and_leaves_the_slot_unset() {
        let s = OnceU32::new();
        assert!(!s.set(u64::from(u32::MAX)));
        assert!(!s.set(u64::MAX));
        assert_eq!(s.get(), None);
        assert!(s.set(4));
        assert_eq!(s.get(), Some(4));
    }
}
