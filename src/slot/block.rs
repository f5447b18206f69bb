//! `BlockStamp`: the finish and the output length as one value, so a reader never pairs the
//! osl of one block with the finish of another.
//!
//! At each output block boundary the stream records how many tokens it has produced and when;
//! the average ITL is `(finish - first token) / (osl - 1)`, so a reader that took the osl of
//! block N and the finish of block N - 1 would report a wrong ITL (the reference has that race).
//! This slot keeps both halves in one word: [`record`](BlockStamp::record) writes them together,
//! and [`get`](BlockStamp::get) reads them together.
//!
//! # Encoding
//!
//! One 128-bit atomic (`portable_atomic::AtomicU128`: `cmpxchg16b` on x86-64; loads are one
//! `vmovdqa` where AVX is present, so readers do not write the line):
//!
//! ```text
//! bits 64..128: finish, in the shared `v + 1` encoding (0 = unset), monotonic max
//! bits  0..64 : osl, last write
//! ```
//!
//! The halves keep their own semantics: the finish never moves backwards (a racing stream's
//! older finish leaves it alone), osl is the last one written. Writing only one half
//! ([`record_finish`](BlockStamp::record_finish), [`record_osl`](BlockStamp::record_osl)) keeps
//! the other as it is; a reader can then see a new osl with the previous finish until the
//! finish follows. That is the only way the two are read apart.
//!
//! # Orderings
//!
//! * Every write is a CAS with `Release` on success, so a reader that `Acquire`-loads the word
//!   also sees what the writer did before (its first token). Failure is `Relaxed`: the value
//!   seen is only used to retry. Weakening this `Release` or `get`'s `Acquire` fails the loom
//!   model `finish_is_never_seen_before_its_first_token`.
//! * Every write loads the word once with `Relaxed`, as the CAS's first expected value (a stale
//!   one only costs a failed CAS). `record_finish` skips the CAS when that value's finish is
//!   already as late (the finish only grows, so a stale low value only costs a CAS), and every
//!   write skips it when it would write the word it read (`record_osl` of the osl already
//!   there).
//! * `get` is an `Acquire` load, pairing with those `Release`s.

use super::encoding::{decode, encode};
use crate::sync::{AtomicU128, Ordering};

const FINISH_SHIFT: u32 = 64;
const OSL_MASK: u128 = u64::MAX as u128;

/// The finish (monotonic max) and the osl (last write), as one value.
#[derive(Debug)]
pub(crate) struct BlockStamp {
    /// `finish_word << 64 | osl`, as in the module docs.
    bits: AtomicU128,
}

#[inline]
fn finish_word(bits: u128) -> u64 {
    (bits >> FINISH_SHIFT) as u64
}

#[inline]
fn pack(finish_word: u64, osl: u64) -> u128 {
    (u128::from(finish_word) << FINISH_SHIFT) | u128::from(osl)
}

impl BlockStamp {
    /// No finish, osl 0.
    pub(crate) fn new() -> Self {
        Self {
            bits: AtomicU128::new(0),
        }
    }

    /// Applies `f` (old word → new word) with a `Release` CAS loop starting from `cur`, a word
    /// the caller just loaded; skips the write when `f` changes nothing.
    #[inline]
    fn update(&self, mut cur: u128, f: impl Fn(u128) -> u128) {
        loop {
            let next = f(cur);
            if next == cur {
                return;
            }
            match self
                .bits
                .compare_exchange(cur, next, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Raises the finish to `offset` (if later) and sets osl, as one write.
    #[inline]
    pub(crate) fn record(&self, osl: u64, offset: u64) {
        let word = encode(offset);
        let cur = self.bits.load(Ordering::Relaxed);
        self.update(cur, |cur| pack(finish_word(cur).max(word), osl));
    }

    /// Raises the finish to `offset` if it is unset or earlier; osl unchanged.
    #[inline]
    pub(crate) fn record_finish(&self, offset: u64) {
        let word = encode(offset);
        let cur = self.bits.load(Ordering::Relaxed);
        if finish_word(cur) >= word {
            return;
        }
        self.update(cur, |cur| pack(finish_word(cur).max(word), cur as u64));
    }

    /// Sets osl; the finish unchanged.
    #[inline]
    pub(crate) fn record_osl(&self, osl: u64) {
        let cur = self.bits.load(Ordering::Relaxed);
        self.update(cur, |cur| (cur & !OSL_MASK) | u128::from(osl));
    }

    /// `(finish, osl)`, read together.
    #[inline]
    pub(crate) fn get(&self) -> (Option<u64>, u64) {
        let bits = self.bits.load(Ordering::Acquire);
        (decode(finish_word(bits)), bits as u64)
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;
    use crate::slot::encoding::MAX_STORED;

    #[test]
    fn starts_without_finish_and_zero_osl() {
        assert_eq!(BlockStamp::new().get(), (None, 0));
    }

    #[test]
    fn record_writes_both_halves() {
        let b = BlockStamp::new();
        b.record(16, 5_000);
        assert_eq!(b.get(), (Some(5_000), 16));
    }

    #[test]
    fn an_older_finish_keeps_the_later_one_but_osl_is_the_last_write() {
        let b = BlockStamp::new();
        b.record(32, 9_000);
        b.record(16, 5_000);
        assert_eq!(b.get(), (Some(9_000), 16));
    }

    #[test]
    fn record_finish_alone_keeps_osl() {
        let b = BlockStamp::new();
        b.record_osl(7);
        b.record_finish(3);
        b.record_finish(1);
        assert_eq!(b.get(), (Some(3), 7));
    }

    #[test]
    fn record_osl_alone_keeps_the_finish() {
        let b = BlockStamp::new();
        b.record_finish(0);
        b.record_osl(u64::MAX);
        assert_eq!(b.get(), (Some(0), u64::MAX));
    }

    #[test]
    fn finish_saturates_instead_of_wrapping_into_osl() {
        let b = BlockStamp::new();
        b.record(1, u64::MAX);
        assert_eq!(b.get(), (Some(MAX_STORED), 1));
    }
}
