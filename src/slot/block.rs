//! `BlockStamp`: the finish and the output length as one value, so a reader never pairs the
//! osl of one block with the finish of another.
//!
//! At each output block boundary the stream records how many tokens it has produced and when;
//! the average ITL is `(finish - first token) / (osl - 1)`, so a reader that took the osl of
//! block N and the finish of block N - 1 would report a wrong ITL (the reference has that race).
//! This slot keeps both halves in one value: [`record`](BlockStamp::record) writes them
//! together, and [`get`](BlockStamp::get) reads them together.
//!
//! The halves keep their own semantics: the finish never moves backwards (a racing stream's
//! older finish leaves it alone), osl is the last one written. Writing only one half
//! ([`record_finish`](BlockStamp::record_finish), [`record_osl`](BlockStamp::record_osl)) keeps
//! the other as it is; a reader can then see a new osl with the previous finish until the
//! finish follows. That is the only way the two are read apart.
//!
//! # Encoding
//!
//! The value is `(finish word, osl)`: the finish in the shared `v + 1` encoding (0 = unset),
//! osl a `u64`. It lives in one of two places, like [`LatencySum`](super::LatencySum)'s
//! packed and wide states:
//!
//! * **Packed** (`fast` bit 63 clear; the state from `new()`): both halves in one `AtomicU64`,
//!   so every write is one 64-bit CAS and every read one 64-bit load:
//!
//!   ```text
//!   bit  63     : WIDE (clear)
//!   bits 20..63 : finish word, 43 bits: finishes up to 2^43 - 2 ns (about 2 h 26 min)
//!   bits  0..20 : osl, 20 bits: up to 1 048 575 tokens
//!   ```
//!
//! * **Wide** (`fast` bit 63 set; entered at most once, never left): a write whose value does
//!   not fit the packed fields *spills*: the same CAS that would have written the packed value
//!   sets WIDE instead, freezing the packed value in `fast`'s low 63 bits for good (the
//!   *base*). From then on the value is `base ^ wide`, where `wide` is an `AtomicU128`
//!   (`finish word << 64 | osl`, as the base is widened) that starts at 0, so the value right
//!   after the spill is the base, exactly the last packed value, with nothing to copy. Every
//!   later write (the spiller's own first) is a 128-bit CAS on `wide` from the value it read.
//!   The XOR makes `wide == 0` mean "equal to the base", never "unwritten", so no
//!   value needs to be reserved as a marker and no racing spiller can install anything
//!   stale: there is nothing to install.
//!
//! A packed write racing a spill either lands before the freeze (and is in the base) or fails
//! its CAS against the frozen word and redoes itself the wide way; nothing is lost, and the
//! slot never waits for another thread.
//!
//! # Storage
//!
//! The packed word ([`BlockFast`], 8 bytes) and the spill ([`BlockSpill`], 16 bytes, 16-aligned
//! for the 128-bit CAS) are two fields of their owner, and [`BlockStamp`] is a view of both.
//! As one struct they would take 32 bytes (its size rounds up to its 16-byte alignment); apart,
//! the tracker lays them out in 24, beside the phase gate on the line a chunk reader loads.
//! The spill is only read once the packed word says WIDE, so the hot path touches 8 bytes.
//!
//! # Orderings
//!
//! * Packed writes (and the freeze, which is the same CAS) succeed with `Release`, so a reader
//!   that `Acquire`-loads `fast` also sees what the writer did before (its first token).
//!   Failure is `Relaxed`: the value seen is only used to retry. Weakening this `Release` or
//!   `get`'s `Acquire` fails the loom model `finish_is_never_seen_before_its_first_token`
//!   (`check/mutate-orderings.py`).
//! * Writers load `fast` with `Relaxed`: the load only picks the CAS's expected value (a stale
//!   one costs a failed CAS), and a WIDE it sees is final (the base never changes again).
//! * Wide writes are `Release` CASes on `wide` (failure `Relaxed`), for the same reason as the
//!   packed ones; `wide` is loaded `Relaxed` by writers, as `fast` is. Weakening this `Release`
//!   or `get_wide`'s `Acquire` fails the loom model
//!   `a_spilled_finish_is_never_seen_before_its_first_token`.
//! * `get` loads `fast` with `Acquire`; if it is wide, it then loads `wide` with `Acquire`,
//!   pairing with the wide writes' `Release`. A `wide` of 0 means the base, which was published
//!   by the packed writes before the freeze: the freeze is a read-modify-write, so it continues
//!   their release sequence.
//! * `record_finish` first loads `fast` with `Relaxed` and skips the write when it could change
//!   nothing (the finish only grows, so a stale low value only costs a CAS); `record_osl` skips
//!   a write of the osl already there the same way.

use super::encoding::{decode, encode};
use crate::sync::{AtomicU64, AtomicU128, Ordering};

/// Bits of the packed osl (the low bits of the fast word).
pub(crate) const PACKED_OSL_BITS: u32 = 20;
/// Bits of the packed finish word (above the osl, below the flag).
pub(crate) const PACKED_FINISH_BITS: u32 = 43;
/// Set in `fast` once the value is wide.
const WIDE: u64 = 1 << 63;
/// The packed osl field; also the largest packed osl.
const OSL_MASK: u64 = (1 << PACKED_OSL_BITS) - 1;
/// The largest packed finish word.
const PACKED_FINISH_MAX: u64 = (1 << PACKED_FINISH_BITS) - 1;

const _: () = assert!(
    PACKED_OSL_BITS + PACKED_FINISH_BITS == 63,
    "finish word and osl fill the 63 bits below the flag"
);

/// The value, in either state: the finish word (`v + 1`, 0 = unset) and osl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    finish: u64,
    osl: u64,
}

impl Block {
    /// The value a packed `fast` word holds (or, with WIDE, the frozen base).
    #[inline]
    fn unpack(fast: u64) -> Self {
        Self {
            finish: (fast & !WIDE) >> PACKED_OSL_BITS,
            osl: fast & OSL_MASK,
        }
    }

    /// The packed word for this value, if both halves fit.
    #[inline]
    fn pack(self) -> Option<u64> {
        (self.finish <= PACKED_FINISH_MAX && self.osl <= OSL_MASK)
            .then_some((self.finish << PACKED_OSL_BITS) | self.osl)
    }

    /// `finish word << 64 | osl`.
    #[inline]
    fn widen(self) -> u128 {
        (u128::from(self.finish) << 64) | u128::from(self.osl)
    }

    /// Inverse of [`widen`](Self::widen).
    #[inline]
    fn narrow(wide: u128) -> Self {
        Self {
            finish: (wide >> 64) as u64,
            osl: wide as u64,
        }
    }
}

/// The packed word of a [`BlockStamp`]: `finish word << 20 | osl`, or `WIDE | base` once wide.
#[derive(Debug)]
pub(crate) struct BlockFast {
    fast: AtomicU64,
}

/// The wide spill of a [`BlockStamp`]: once wide, the value XOR the widened base; 0 until then.
#[derive(Debug)]
pub(crate) struct BlockSpill {
    wide: AtomicU128,
}

impl BlockFast {
    /// No finish, osl 0 (packed).
    pub(crate) fn new() -> Self {
        Self {
            fast: AtomicU64::new(0),
        }
    }
}

impl BlockSpill {
    /// Nothing spilled.
    pub(crate) fn new() -> Self {
        Self {
            wide: AtomicU128::new(0),
        }
    }
}

/// The finish (monotonic max) and the osl (last write), as one value: a view of the packed
/// word and its spill, which the owner stores apart (module docs, "Storage").
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockStamp<'a> {
    fast: &'a AtomicU64,
    wide: &'a AtomicU128,
}

impl<'a> BlockStamp<'a> {
    /// The slot made of `fast` and `spill` (both fresh from `new()` for an empty slot).
    #[inline]
    pub(crate) fn new(fast: &'a BlockFast, spill: &'a BlockSpill) -> Self {
        Self {
            fast: &fast.fast,
            wide: &spill.wide,
        }
    }

    /// Applies `f` (old value → new value) from the `fast` word `seen`: a packed CAS loop
    /// while the value fits, the spill when it stops fitting, the wide CAS loop once wide.
    /// Skips the write when `f` changes nothing.
    #[inline]
    fn update(&self, mut seen: u64, f: impl Fn(Block) -> Block) {
        while seen & WIDE == 0 {
            let cur = Block::unpack(seen);
            let next = f(cur);
            if next == cur {
                return;
            }
            // Does not fit: the same CAS freezes `seen` as the wide base instead.
            let new = next.pack().unwrap_or(seen | WIDE);
            match self
                .fast
                .compare_exchange(seen, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) if new & WIDE == 0 => return,
                Ok(_) => seen = new,
                Err(now) => seen = now,
            }
        }
        self.update_wide(seen, f);
    }

    /// [`update`](Self::update) once `fast` (= `WIDE | base`) is wide.
    #[cold]
    #[inline(never)]
    fn update_wide(&self, fast: u64, f: impl Fn(Block) -> Block) {
        let base = Block::unpack(fast).widen();
        let mut cur = self.wide.load(Ordering::Relaxed);
        loop {
            let next = f(Block::narrow(base ^ cur)).widen() ^ base;
            if next == cur {
                return;
            }
            match self
                .wide
                .compare_exchange(cur, next, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => cur = now,
            }
        }
    }

    /// Raises the finish to `offset` (if later) and sets osl, as one write.
    #[inline]
    pub(crate) fn record(&self, osl: u64, offset: u64) {
        let word = encode(offset);
        self.update(self.fast.load(Ordering::Relaxed), |cur| Block {
            finish: cur.finish.max(word),
            osl,
        });
    }

    /// Raises the finish to `offset` if it is unset or earlier; osl unchanged.
    #[inline]
    pub(crate) fn record_finish(&self, offset: u64) {
        let word = encode(offset);
        let seen = self.fast.load(Ordering::Relaxed);
        if seen & WIDE == 0 && Block::unpack(seen).finish >= word {
            return;
        }
        self.update(seen, |cur| Block {
            finish: cur.finish.max(word),
            ..cur
        });
    }

    /// Sets osl; the finish unchanged.
    #[inline]
    pub(crate) fn record_osl(&self, osl: u64) {
        self.update(self.fast.load(Ordering::Relaxed), |cur| Block {
            osl,
            ..cur
        });
    }

    /// `(finish, osl)`, read together.
    #[inline]
    pub(crate) fn get(&self) -> (Option<u64>, u64) {
        let fast = self.fast.load(Ordering::Acquire);
        let b = if fast & WIDE == 0 {
            Block::unpack(fast)
        } else {
            self.get_wide(fast)
        };
        (decode(b.finish), b.osl)
    }

    /// The value once wide: the base (`fast`'s low bits) XOR `wide`.
    #[cold]
    #[inline(never)]
    fn get_wide(&self, fast: u64) -> Block {
        Block::narrow(Block::unpack(fast).widen() ^ self.wide.load(Ordering::Acquire))
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;
    use crate::slot::encoding::MAX_STORED;

    /// The largest finish offset the packed word holds (its word is `PACKED_FINISH_MAX`).
    const PACKED_FINISH: u64 = PACKED_FINISH_MAX - 1;

    /// A slot's two parts, owned together (the tracker stores them apart).
    struct Owned {
        fast: BlockFast,
        spill: BlockSpill,
    }

    impl Owned {
        fn new() -> Self {
            Self {
                fast: BlockFast::new(),
                spill: BlockSpill::new(),
            }
        }

        fn slot(&self) -> BlockStamp<'_> {
            BlockStamp::new(&self.fast, &self.spill)
        }
    }

    fn is_wide(b: &BlockStamp) -> bool {
        b.fast.load(Ordering::Relaxed) & WIDE != 0
    }

    #[test]
    fn starts_without_finish_and_zero_osl() {
        assert_eq!(Owned::new().slot().get(), (None, 0));
    }

    #[test]
    fn record_writes_both_halves() {
        let o = Owned::new();
        let b = o.slot();
        b.record(16, 5_000);
        assert_eq!(b.get(), (Some(5_000), 16));
    }

    #[test]
    fn an_older_finish_keeps_the_later_one_but_osl_is_the_last_write() {
        let o = Owned::new();
        let b = o.slot();
        b.record(32, 9_000);
        b.record(16, 5_000);
        assert_eq!(b.get(), (Some(9_000), 16));
    }

    #[test]
    fn record_finish_alone_keeps_osl() {
        let o = Owned::new();
        let b = o.slot();
        b.record_osl(7);
        b.record_finish(3);
        b.record_finish(1);
        assert_eq!(b.get(), (Some(3), 7));
    }

    #[test]
    fn record_osl_alone_keeps_the_finish() {
        let o = Owned::new();
        let b = o.slot();
        b.record_finish(0);
        b.record_osl(u64::MAX);
        assert_eq!(b.get(), (Some(0), u64::MAX));
    }

    #[test]
    fn finish_saturates_instead_of_wrapping_into_osl() {
        let o = Owned::new();
        let b = o.slot();
        b.record(1, u64::MAX);
        assert_eq!(b.get(), (Some(MAX_STORED), 1));
    }

    #[test]
    fn the_largest_packed_values_stay_packed() {
        let o = Owned::new();
        let b = o.slot();
        b.record(OSL_MASK, PACKED_FINISH);
        assert!(!is_wide(&b));
        assert_eq!(b.get(), (Some(PACKED_FINISH), OSL_MASK));
    }

    #[test]
    fn an_osl_past_the_packed_range_spills_and_keeps_the_finish() {
        let o = Owned::new();
        let b = o.slot();
        b.record_finish(42);
        b.record_osl(OSL_MASK + 1);
        assert!(is_wide(&b));
        assert_eq!(b.get(), (Some(42), OSL_MASK + 1));
    }

    #[test]
    fn a_finish_past_the_packed_range_spills_and_keeps_osl() {
        let o = Owned::new();
        let b = o.slot();
        b.record_osl(9);
        b.record_finish(PACKED_FINISH + 1);
        assert!(is_wide(&b));
        assert_eq!(b.get(), (Some(PACKED_FINISH + 1), 9));
    }

    #[test]
    fn after_the_spill_the_halves_keep_their_semantics() {
        let o = Owned::new();
        let b = o.slot();
        b.record(3, 100);
        b.record(OSL_MASK + 5, 200);
        b.record(4, 150);
        assert_eq!(
            b.get(),
            (Some(200), 4),
            "older finish ignored, osl last write"
        );
        b.record_finish(50);
        assert_eq!(b.get(), (Some(200), 4));
        b.record_finish(PACKED_FINISH + 9);
        b.record_osl(2);
        assert_eq!(b.get(), (Some(PACKED_FINISH + 9), 2));
    }

    /// The wide word holds the value XOR the base, so a value equal to the base (here osl back
    /// to the frozen 5, no finish) is a wide word of 0 and still reads right, as does one that
    /// differs from it in every bit the wide word can hold.
    #[test]
    fn a_wide_value_equal_to_the_base_reads_as_itself() {
        let o = Owned::new();
        let b = o.slot();
        b.record_osl(5);
        b.record_osl(OSL_MASK + 1);
        b.record_osl(5);
        assert_eq!(b.wide.load(Ordering::Relaxed), 0);
        assert_eq!(b.get(), (None, 5));
        b.record_osl(0);
        assert_eq!(b.get(), (None, 0));
        b.record(u64::MAX, u64::MAX);
        assert_eq!(b.get(), (Some(MAX_STORED), u64::MAX));
    }

    #[test]
    fn a_spill_happens_once_and_the_base_never_changes() {
        let o = Owned::new();
        let b = o.slot();
        b.record(7, 70);
        b.record_osl(OSL_MASK + 1);
        let frozen = b.fast.load(Ordering::Relaxed);
        b.record(1, 10);
        b.record_finish(PACKED_FINISH + 1);
        assert_eq!(b.fast.load(Ordering::Relaxed), frozen);
        assert_eq!(b.get(), (Some(PACKED_FINISH + 1), 1));
    }
}
