//! `LatencySum`: a saturating sum of durations plus a count of samples, added with one atomic
//! read-modify-write per sample while both fit in one word.
//!
//! Used for detokenize latency, recorded once per generated token.
//!
//! # Encoding
//!
//! Two `AtomicU64`s, `word` and `wide_sum` (16 bytes, as two plain counters would be).
//!
//! * **Packed** (bits 63 and 39 of `word` clear; the state from `new()`):
//!   `word = count << 40 | sum`, a [`PACKED_SUM_BITS`]-bit sum in nanoseconds in bits 0..39
//!   (up to 2^39 − 1 ns, about 9 minutes) and a [`PACKED_COUNT_BITS`]-bit count in bits 40..63
//!   (up to 2^23 − 1 = 8 388 607 samples). Bit 39 is a guard: a sample under 2^39 ns added to
//!   a packed sum can carry into it and no further, and a count at its maximum plus one
//!   carries into bit 63; so `next = word + (1 << 40 | nanos)` fits exactly when neither
//!   `word` nor `next` has bit 63 or 39 set, one test on the fast path. `wide_sum` is not
//!   read. One sample is one CAS on `word`, and a reader sees sum and count of the same
//!   samples.
//! * **Wide** (bit 63 set; entered at most once, never left): the low 63 bits of `word` are
//!   the count, saturating at [`MAX_SAMPLES`] (2^63 − 1), and `wide_sum` is the sum, saturating
//!   at `u64::MAX` nanoseconds (about 584 years). One sample is two RMWs, as before this
//!   encoding: a request reaches this state only after 9 minutes of detokenizing, 8 M tokens,
//!   or one sample of 9 minutes or more.
//!
//! A sample that would overflow either packed field (the sample alone 2^39 ns or more, the
//! sum, or the count) *spills*: the spilling thread raises `wide_sum` to the packed sum with
//! `fetch_max`, then CASes `word` from that packed value to `WIDE | count`, and adds its
//! sample the wide way. Packed sums only grow, so every packed value a racing spiller read
//! holds at most the sum of the one that won the CAS: a loser's `fetch_max` changes nothing,
//! whenever it lands. Nothing saturates while packed (what does not fit spills), so the
//! saturating add of the wide state is the only one; there is no unchecked `fetch_add` on a
//! sum anywhere (a `load` + `fetch_add` fast path racing a saturating add wrapped the sum: the
//! `interleave` fuzz target found it, `fuzz/regressions/interleave/
//! detokenize_fast_add_wraps_after_saturation`).
//!
//! A `fetch_add` fast path (one RMW, no load) was weighed and left out: it cannot refuse an add
//! that does not fit, so it needs headroom for every add in flight past the threshold, and
//! those are bounded only by the number of threads in the process.
//!
//! # Orderings
//!
//! * Packed add: `word` CAS with `Relaxed` success: the pair is one word, and nothing else is
//!   published through it. Loads of `word` (the first one and every CAS failure) are `Acquire`,
//!   so a writer that finds the slot wide *happens after* the spill's `fetch_max`, and its own
//!   `wide_sum` add lands after it in `wide_sum`'s modification order (with a `Relaxed` load
//!   there the memory model would let the add be ordered before the `fetch_max` and be
//!   swallowed by it).
//! * Spill: `wide_sum.fetch_max` `Relaxed`, then the `word` CAS with `Release`, publishing it.
//! * Wide add: the `wide_sum` CAS loop (`fetch_update`, `Relaxed`), then the count bump on
//!   `word` with `Release`. Every write to `word` after the spill is a read-modify-write, so
//!   each one continues the release sequences of the earlier ones.
//! * Read: `word` with `Acquire`, then (wide only) `wide_sum` with `Relaxed`. A reader that
//!   sees a count sees a sum that covers at least those samples: the spill's `fetch_max` and
//!   each counted wide sample's add happen before the `word` value it read. It may include a
//!   racing wide sample whose count is not visible yet; while packed it is exact.
//!
//! The loom models in `tests/loom.rs` (`detokenize_*`) check the protocol under every
//! interleaving: one-word reads while packed, a spill racing a packed add, two racing spills, a
//! saturating sample racing another. `check/mutate-orderings.py` weakens each ordering here to
//! `Relaxed` in turn: the spill CAS's `Release` fails two of those models
//! (`detokenize_spill_to_wide_words_keeps_every_sample`,
//! `detokenize_saturating_sample_racing_another_never_wraps`); the `Acquire` loads of `word`
//! (first loads and CAS failures) fail none, because loom orders the read-modify-writes on one
//! location by the order it runs them in, so it never builds the execution in which a wide add
//! lands before the spill's `fetch_max` in `wide_sum`'s modification order. Those `Acquire`s rest
//! on the argument above, not on a model.

use crate::sync::{AtomicU64, Ordering};

/// Bits of the packed nanosecond sum (the low bits of the word).
pub(crate) const PACKED_SUM_BITS: u32 = 39;
/// Bits of the packed count (above the sum's guard bit, below the wide flag).
pub(crate) const PACKED_COUNT_BITS: u32 = 23;
/// The largest count: 2^63 − 1 (the wide word's 63 bits); the count saturates there.
pub(crate) const MAX_SAMPLES: u64 = !WIDE;

/// Set in `word` once the slot is wide; while packed, the count's guard bit.
const WIDE: u64 = 1 << 63;
/// The packed sum's guard bit, just above it.
const SUM_GUARD: u64 = 1 << PACKED_SUM_BITS;
/// Where the packed count starts.
const COUNT_SHIFT: u32 = PACKED_SUM_BITS + 1;
/// The packed count field, shifted down.
const PACKED_COUNT_MASK: u64 = (1 << PACKED_COUNT_BITS) - 1;
/// The largest packed sum, in nanoseconds; also the packed sum field's mask.
const PACKED_SUM_MAX: u64 = SUM_GUARD - 1;

const _: () = assert!(
    COUNT_SHIFT + PACKED_COUNT_BITS == 63,
    "sum, its guard and the count fill the 63 bits below the flag"
);

/// The packed word after adding one sample of `nanos`, or `None` if it does not fit (or the
/// word is wide).
#[inline]
fn packed_add(word: u64, nanos: u64) -> Option<u64> {
    if nanos > PACKED_SUM_MAX {
        return None;
    }
    // `word` packed: the sum stays below 2^40 (at most into its guard) and the count at most
    // carries into the flag, so the add cannot wrap; `word` wide: it may wrap, and is refused
    // for its own flag.
    let next = word.wrapping_add((1 << COUNT_SHIFT) | nanos);
    ((word | next) & (WIDE | SUM_GUARD) == 0).then_some(next)
}

/// `word` for a packed `(sum, count)` (tests and the spill's inverse).
#[cfg(all(test, not(reqtrack_model)))]
const fn pack(sum: u64, count: u64) -> u64 {
    count << COUNT_SHIFT | sum
}

/// `(sum, count)` of a packed word.
#[inline]
fn unpack(word: u64) -> (u64, u64) {
    (
        word & PACKED_SUM_MAX,
        (word >> COUNT_SHIFT) & PACKED_COUNT_MASK,
    )
}

/// A saturating nanosecond sum and a sample count.
#[derive(Debug)]
pub(crate) struct LatencySum {
    /// Packed `count << 40 | sum`, or `WIDE | count` once wide.
    word: AtomicU64,
    /// The sum once wide, saturating at `u64::MAX`; unused while packed.
    wide_sum: AtomicU64,
}

impl LatencySum {
    /// Nothing recorded (packed, zero).
    pub(crate) fn new() -> Self {
        Self {
            word: AtomicU64::new(0),
            wide_sum: AtomicU64::new(0),
        }
    }

    /// Adds one sample of `nanos` nanoseconds: one CAS while packed.
    ///
    /// The fast path is one load, the fit check and one CAS, with everything else (a lost
    /// race, a spill, the wide state) out of line, so it needs no saved registers.
    #[inline]
    pub(crate) fn add(&self, nanos: u64) {
        let word = self.word.load(Ordering::Acquire);
        if let Some(next) = packed_add(word, nanos) {
            if self
                .word
                .compare_exchange_weak(word, next, Ordering::Relaxed, Ordering::Acquire)
                .is_ok()
            {
                return;
            }
        }
        self.add_slow(nanos);
    }

    /// [`add`](Self::add) after its first attempt: retries the packed CAS, spills when the
    /// sample does not fit, or adds to the wide words.
    #[cold]
    #[inline(never)]
    fn add_slow(&self, nanos: u64) {
        let mut word = self.word.load(Ordering::Acquire);
        while word & WIDE == 0 {
            match packed_add(word, nanos) {
                Some(next) => match self.word.compare_exchange_weak(
                    word,
                    next,
                    Ordering::Relaxed,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return,
                    Err(now) => word = now,
                },
                None => match self.spill(word) {
                    Ok(_) => break,
                    Err(now) => word = now,
                },
            }
        }
        self.add_wide(nanos);
    }

    /// Moves the packed `word` to the wide words; `Err` with the current word if it changed.
    fn spill(&self, word: u64) -> Result<u64, u64> {
        let (sum, count) = unpack(word);
        self.wide_sum.fetch_max(sum, Ordering::Relaxed);
        self.word
            .compare_exchange(word, WIDE | count, Ordering::Release, Ordering::Acquire)
    }

    /// Adds one sample to the wide words (the slot is wide).
    fn add_wide(&self, nanos: u64) {
        // The closures return `Some` (sum) or stop at the ceiling (count): no wrap either way.
        let _ = self
            .wide_sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some(s.saturating_add(nanos))
            });
        let _ = self
            .word
            .fetch_update(Ordering::Release, Ordering::Relaxed, |w| {
                (w != WIDE | MAX_SAMPLES).then(|| w + 1)
            });
    }

    /// `(sum_nanos, count)`; the sum covers at least the `count` samples (exactly them while
    /// packed).
    #[inline]
    pub(crate) fn get(&self) -> (u64, u64) {
        let word = self.word.load(Ordering::Acquire);
        if word & WIDE == 0 {
            unpack(word)
        } else {
            (self.wide_sum.load(Ordering::Relaxed), word & !WIDE)
        }
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    const PACKED_COUNT_MAX: u64 = PACKED_COUNT_MASK;

    fn is_wide(l: &LatencySum) -> bool {
        l.word.load(Ordering::Relaxed) & WIDE != 0
    }

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
        assert!(!is_wide(&l), "small samples stay packed");
    }

    #[test]
    fn packed_sum_fills_to_its_last_nanosecond() {
        let l = LatencySum::new();
        l.add(PACKED_SUM_MAX - 1);
        l.add(1);
        assert_eq!(l.get(), (PACKED_SUM_MAX, 2));
        assert!(!is_wide(&l));
    }

    /// The largest sample the packed field holds (2^39 - 1 ns) is one packed add, not a spill:
    /// only a sample of 2^39 ns or more is too large on its own.
    #[test]
    fn a_sample_of_the_largest_packed_sum_stays_packed() {
        let l = LatencySum::new();
        l.add(PACKED_SUM_MAX);
        assert_eq!(l.get(), (PACKED_SUM_MAX, 1));
        assert!(!is_wide(&l));
    }

    #[test]
    fn sum_past_the_packed_field_spills_and_keeps_counting() {
        let l = LatencySum::new();
        l.add(PACKED_SUM_MAX);
        l.add(1);
        assert!(is_wide(&l));
        assert_eq!(l.get(), (PACKED_SUM_MAX + 1, 2));
        l.add(10);
        assert_eq!(l.get(), (PACKED_SUM_MAX + 11, 3));
    }

    #[test]
    fn one_sample_too_large_for_the_packed_field_spills() {
        let l = LatencySum::new();
        l.add(3);
        l.add(PACKED_SUM_MAX + 1);
        assert!(is_wide(&l));
        assert_eq!(l.get(), (PACKED_SUM_MAX + 4, 2));
    }

    #[test]
    fn count_past_the_packed_field_spills_and_keeps_the_sum() {
        let l = LatencySum::new();
        // Fill the packed count without 8 M calls: the word is the state.
        l.word.store(pack(100, PACKED_COUNT_MAX), Ordering::Relaxed);
        assert_eq!(l.get(), (100, PACKED_COUNT_MAX));
        l.add(5);
        assert!(is_wide(&l));
        assert_eq!(l.get(), (105, PACKED_COUNT_MAX + 1));
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

    #[test]
    fn wide_count_saturates_instead_of_wrapping_into_the_flag() {
        let l = LatencySum::new();
        l.add(u64::MAX);
        l.word.store(WIDE | (MAX_SAMPLES - 1), Ordering::Relaxed);
        l.add(1);
        assert_eq!(l.get(), (u64::MAX, MAX_SAMPLES));
        l.add(1);
        assert_eq!(l.get(), (u64::MAX, MAX_SAMPLES));
        assert!(is_wide(&l), "the flag survives a saturated count");
    }

    #[test]
    fn a_wide_word_never_takes_the_packed_path() {
        for word in [
            WIDE,
            WIDE | 5,
            WIDE | PACKED_SUM_MAX,
            u64::MAX,
            u64::MAX - 3,
        ] {
            for nanos in [0, 1, PACKED_SUM_MAX] {
                assert_eq!(packed_add(word, nanos), None, "{word:#x} + {nanos}");
            }
        }
    }

    #[test]
    fn packed_add_moves_both_fields_by_exactly_one_sample() {
        let word = pack(PACKED_SUM_MAX - 9, PACKED_COUNT_MAX - 1);
        assert_eq!(
            packed_add(word, 9).map(unpack),
            Some((PACKED_SUM_MAX, PACKED_COUNT_MAX))
        );
        assert_eq!(packed_add(word, 10), None, "the sum would reach its guard");
        assert_eq!(
            packed_add(pack(0, PACKED_COUNT_MAX), 0),
            None,
            "the count is full"
        );
        assert_eq!(
            packed_add(0, PACKED_SUM_MAX + 1),
            None,
            "the sample alone is too large"
        );
    }

    #[test]
    fn a_stale_spill_never_lowers_the_wide_sum() {
        let l = LatencySum::new();
        l.add(PACKED_SUM_MAX + 1);
        l.add(7);
        // A racing spiller that read the empty packed word: its CAS fails, its `fetch_max`
        // of the old packed sum (0) must change nothing.
        assert_eq!(l.spill(0), Err(l.word.load(Ordering::Relaxed)));
        assert_eq!(l.get(), (PACKED_SUM_MAX + 8, 2));
    }
}
