//! `WorkerSlot`: a first-write `(instance_id, dp_rank, worker_type)` triple, written as one.
//!
//! A worker id is a full `u64` (0 is an ordinary id) and a dp rank a full `u32` (`u32::MAX` is
//! an ordinary rank), so the triple plus its flags needs 99 bits. It lives in one 128-bit atomic
//! (`portable_atomic::AtomicU128`: `cmpxchg16b` on x86-64, `casp`/LSE2 on aarch64) so a reader
//! never sees a half-written slot and two racing writers never mix halves. No second word, no
//! seqlock: one CAS installs the whole triple.
//!
//! # Encoding
//!
//! ```text
//! bit 127      : SET (the whole word is 0 while unset)
//! bit 126      : MERGED (the triple came from another hop; see below)
//! bits 98..126 : conflicts counted against this slot (28 bits, saturating at 2^28 - 1)
//! bit 97       : worker_type (0 = prefill, 1 = decode)
//! bit 96       : HAS_RANK
//! bits 64..96  : dp_rank (meaningful only with HAS_RANK)
//! bits 0..64   : instance_id
//! ```
//!
//! # Write semantics
//!
//! * unset -> the triple is installed (`Set`);
//! * the same triple again -> nothing changes, not a conflict (`Identical`);
//! * same id and type, the slot has no rank and the write brings one -> the rank is filled in
//!   (`RankFilled`, not a conflict);
//! * anything else -> the triple does not change, and the slot's conflict count goes up by
//!   one (`Conflict`).
//!
//! A *merged* triple (another hop's `nvext.worker_id`, `RequestTracker::set_external_worker_info`)
//! is installed only into an unset slot, with the MERGED bit, and never counts a conflict. The
//! tracker's own values win whatever the order: an own write treats a merged slot as unset and
//! replaces it (`Set`), and a merge into any set slot changes nothing. Merged and own triples
//! share the one word, so a reader sees unset, then possibly the merged triple, then the own
//! one, never the merged triple after the own one.
//!
//! The count lives in the slot's own word so that "this write differs from what the slot
//! holds" and "count it" are one CAS: a conflict is only ever counted against the value it
//! was compared with, and a reader never sees a count without the value that caused it.
//!
//! # Orderings
//!
//! * Every access is `Relaxed`. The triple, its flags and its conflict count are one word, so
//!   one load returns them from one write and one CAS decides each outcome against exactly the
//!   value it compared, whatever the ordering; a value a failed CAS hands back is the word
//!   itself, which needs no ordering to be compared. Nothing else is published through the
//!   slot: the worker recorded under a phase permit reaches the next holder through the
//!   gate's `Release`/`Acquire`, and no reader reads another value after this one relying on
//!   it. (The `Acquire`/`AcqRel`/`Release` this slot had failed no loom model when weakened,
//!   `check/mutate-orderings.py`.) A failed CAS retries with the value it saw (a CAS retry
//!   loop; it never waits for another writer, whose write is always complete in one
//!   instruction).
//! * On x86-64 without AVX, and on CPUs without a 128-bit CAS, `portable-atomic` reads with the
//!   CAS itself or falls back to its own lock; every x86-64 CPU since 2008 has `cmpxchg16b`.

use super::worker_type::{WorkerInfo, WorkerType};
use crate::sync::{AtomicU128, Ordering};

const SET: u128 = 1 << 127;
const MERGED: u128 = 1 << 126;
const DECODE: u128 = 1 << 97;
const HAS_RANK: u128 = 1 << 96;
const RANK_SHIFT: u32 = 64;
const CONFLICT_SHIFT: u32 = 98;
/// The largest conflict count one slot holds: `2^28 - 1`.
pub(crate) const MAX_SLOT_CONFLICTS: u32 = (1 << 28) - 1;
const CONFLICT_MASK: u128 = (MAX_SLOT_CONFLICTS as u128) << CONFLICT_SHIFT;
const CONFLICT_ONE: u128 = 1 << CONFLICT_SHIFT;

/// What a write to a worker slot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotWrite {
    /// The slot was unset and now holds the write.
    Set,
    /// The slot already held exactly this triple.
    Identical,
    /// The slot held the same id and type without a rank; the rank was filled in.
    RankFilled,
    /// The slot holds a different triple; only its conflict count changed.
    Conflict,
}

fn encode(w: WorkerInfo) -> u128 {
    let mut bits = SET | u128::from(w.instance_id);
    if let Some(rank) = w.dp_rank {
        bits |= HAS_RANK | (u128::from(rank) << RANK_SHIFT);
    }
    if w.worker_type == WorkerType::Decode {
        bits |= DECODE;
    }
    bits
}

fn decode(bits: u128) -> Option<WorkerInfo> {
    if bits & SET == 0 {
        return None;
    }
    Some(WorkerInfo {
        instance_id: bits as u64,
        dp_rank: (bits & HAS_RANK != 0).then_some((bits >> RANK_SHIFT) as u32),
        worker_type: if bits & DECODE != 0 {
            WorkerType::Decode
        } else {
            WorkerType::Prefill
        },
    })
}

/// One worker slot (prefill or decode).
#[derive(Debug)]
pub(crate) struct WorkerSlot {
    /// `0`: unset; otherwise the encoding in the module docs.
    bits: AtomicU128,
}

impl WorkerSlot {
    /// An unset slot.
    pub(crate) fn new() -> Self {
        Self {
            bits: AtomicU128::new(0),
        }
    }

    /// Writes `w` with the slot's semantics (module docs). A merged triple counts as unset.
    pub(crate) fn write(&self, w: WorkerInfo) -> SlotWrite {
        let new = encode(w);
        let mut cur = self.bits.load(Ordering::Relaxed);
        loop {
            // A merged word never carries conflicts (merges install only into 0), so replacing
            // it with `new` drops nothing.
            let own = if cur & MERGED == 0 { decode(cur) } else { None };
            let (next, outcome) = match own {
                None => (new, SlotWrite::Set),
                Some(old) if old == w => return SlotWrite::Identical,
                Some(old)
                    if old.instance_id == w.instance_id
                        && old.worker_type == w.worker_type
                        && old.dp_rank.is_none()
                        && w.dp_rank.is_some() =>
                {
                    (new | (cur & CONFLICT_MASK), SlotWrite::RankFilled)
                }
                Some(_) if cur & CONFLICT_MASK == CONFLICT_MASK => return SlotWrite::Conflict,
                Some(_) => (cur + CONFLICT_ONE, SlotWrite::Conflict),
            };
            match self
                .bits
                .compare_exchange(cur, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return outcome,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Installs another hop's `w` as a merged triple if the slot is unset. `true` if this call
    /// installed it; `false` (nothing changed) if the slot holds an own or merged triple.
    ///
    /// Orderings: `Relaxed`, like an own write (module docs).
    pub(crate) fn merge(&self, w: WorkerInfo) -> bool {
        if self.bits.load(Ordering::Relaxed) != 0 {
            return false;
        }
        self.bits
            .compare_exchange(0, encode(w) | MERGED, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    }

    /// The recorded triple (own, else merged), if any.
    #[inline]
    pub(crate) fn get(&self) -> Option<WorkerInfo> {
        decode(self.bits.load(Ordering::Relaxed))
    }

    /// Conflicting writes counted against this slot (saturating at `2^28 - 1`).
    #[inline]
    pub(crate) fn conflicts(&self) -> u32 {
        ((self.bits.load(Ordering::Relaxed) & CONFLICT_MASK) >> CONFLICT_SHIFT) as u32
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    fn w(id: u64, rank: Option<u32>, t: WorkerType) -> WorkerInfo {
        WorkerInfo {
            instance_id: id,
            dp_rank: rank,
            worker_type: t,
        }
    }

    #[test]
    fn starts_unset() {
        assert_eq!(WorkerSlot::new().get(), None);
    }

    #[test]
    fn id_zero_and_rank_max_are_ordinary_values() {
        let s = WorkerSlot::new();
        let v = w(0, Some(u32::MAX), WorkerType::Prefill);
        assert_eq!(s.write(v), SlotWrite::Set);
        assert_eq!(s.get(), Some(v));
    }

    #[test]
    fn id_max_without_rank_round_trips() {
        let s = WorkerSlot::new();
        let v = w(u64::MAX, None, WorkerType::Decode);
        assert_eq!(s.write(v), SlotWrite::Set);
        assert_eq!(s.get(), Some(v));
    }

    #[test]
    fn identical_second_write_is_not_a_conflict() {
        let s = WorkerSlot::new();
        let v = w(7, Some(1), WorkerType::Decode);
        s.write(v);
        assert_eq!(s.write(v), SlotWrite::Identical);
    }

    #[test]
    fn later_rank_fills_in_a_missing_rank() {
        let s = WorkerSlot::new();
        s.write(w(7, None, WorkerType::Prefill));
        assert_eq!(
            s.write(w(7, Some(3), WorkerType::Prefill)),
            SlotWrite::RankFilled
        );
        assert_eq!(s.get(), Some(w(7, Some(3), WorkerType::Prefill)));
    }

    #[test]
    fn different_id_is_a_conflict_and_changes_nothing() {
        let s = WorkerSlot::new();
        s.write(w(7, Some(1), WorkerType::Prefill));
        assert_eq!(
            s.write(w(8, Some(1), WorkerType::Prefill)),
            SlotWrite::Conflict
        );
        assert_eq!(s.get(), Some(w(7, Some(1), WorkerType::Prefill)));
    }

    #[test]
    fn conflicts_are_counted_in_the_slot() {
        let s = WorkerSlot::new();
        s.write(w(7, None, WorkerType::Prefill));
        s.write(w(8, None, WorkerType::Prefill));
        s.write(w(9, None, WorkerType::Prefill));
        s.write(w(7, None, WorkerType::Prefill));
        assert_eq!(s.conflicts(), 2);
    }

    #[test]
    fn rank_fill_keeps_the_conflict_count() {
        let s = WorkerSlot::new();
        s.write(w(7, None, WorkerType::Prefill));
        s.write(w(8, None, WorkerType::Prefill));
        assert_eq!(
            s.write(w(7, Some(2), WorkerType::Prefill)),
            SlotWrite::RankFilled
        );
        assert_eq!(s.conflicts(), 1);
        assert_eq!(s.get(), Some(w(7, Some(2), WorkerType::Prefill)));
    }

    #[test]
    fn conflict_count_saturates() {
        let s = WorkerSlot::new();
        s.write(w(7, None, WorkerType::Prefill));
        s.bits
            .compare_exchange(
                s.bits.load(Ordering::Acquire),
                encode(w(7, None, WorkerType::Prefill)) | CONFLICT_MASK,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .unwrap();
        assert_eq!(
            s.write(w(8, None, WorkerType::Prefill)),
            SlotWrite::Conflict
        );
        assert_eq!(s.conflicts(), MAX_SLOT_CONFLICTS);
        assert_eq!(s.get(), Some(w(7, None, WorkerType::Prefill)));
    }

    #[test]
    fn different_rank_is_a_conflict() {
        let s = WorkerSlot::new();
        s.write(w(7, Some(1), WorkerType::Prefill));
        assert_eq!(
            s.write(w(7, Some(2), WorkerType::Prefill)),
            SlotWrite::Conflict
        );
    }

    #[test]
    fn dropping_a_known_rank_is_a_conflict() {
        let s = WorkerSlot::new();
        s.write(w(7, Some(1), WorkerType::Prefill));
        assert_eq!(
            s.write(w(7, None, WorkerType::Prefill)),
            SlotWrite::Conflict
        );
        assert_eq!(s.get(), Some(w(7, Some(1), WorkerType::Prefill)));
    }

    #[test]
    fn merge_fills_an_unset_slot() {
        let s = WorkerSlot::new();
        assert!(s.merge(w(7, Some(1), WorkerType::Prefill)));
        assert_eq!(s.get(), Some(w(7, Some(1), WorkerType::Prefill)));
    }

    #[test]
    fn own_write_replaces_a_merged_triple_without_a_conflict() {
        let s = WorkerSlot::new();
        s.merge(w(7, Some(1), WorkerType::Prefill));
        assert_eq!(s.write(w(8, None, WorkerType::Decode)), SlotWrite::Set);
        assert_eq!(s.get(), Some(w(8, None, WorkerType::Decode)));
        assert_eq!(s.conflicts(), 0);
    }

    #[test]
    fn merge_never_replaces_an_own_triple() {
        let s = WorkerSlot::new();
        s.write(w(8, None, WorkerType::Decode));
        assert!(!s.merge(w(7, Some(1), WorkerType::Decode)));
        assert_eq!(s.get(), Some(w(8, None, WorkerType::Decode)));
        assert_eq!(s.conflicts(), 0);
    }

    #[test]
    fn first_merge_wins_over_a_later_merge() {
        let s = WorkerSlot::new();
        assert!(s.merge(w(7, None, WorkerType::Prefill)));
        assert!(!s.merge(w(7, Some(2), WorkerType::Prefill)));
        assert_eq!(s.get(), Some(w(7, None, WorkerType::Prefill)));
    }

    #[test]
    fn own_write_identical_to_the_merged_triple_is_an_own_set() {
        let s = WorkerSlot::new();
        s.merge(w(7, Some(1), WorkerType::Prefill));
        assert_eq!(s.write(w(7, Some(1), WorkerType::Prefill)), SlotWrite::Set);
        // Now own: a later merge cannot take its place, and a different own write conflicts.
        assert_eq!(
            s.write(w(9, Some(1), WorkerType::Prefill)),
            SlotWrite::Conflict
        );
    }

    #[test]
    fn different_type_is_a_conflict_even_when_filling_a_rank() {
        let s = WorkerSlot::new();
        s.write(w(7, None, WorkerType::Prefill));
        assert_eq!(
            s.write(w(7, Some(1), WorkerType::Decode)),
            SlotWrite::Conflict
        );
        assert_eq!(s.get(), Some(w(7, None, WorkerType::Prefill)));
    }
}
