//! `OnceStamp`: a first-write-wins `u64` slot.
//!
//! Used for the prefill-start, first-token, decode-first-token and prefill-complete offsets,
//! the tokenize latency and the router queue depth.
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

use super::encoding::{decode, encode};
use crate::sync::{AtomicU64, Ordering};

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

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;
    use crate::slot::encoding::MAX_STORED;

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
}
