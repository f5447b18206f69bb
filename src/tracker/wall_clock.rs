//! The wall-clock arrival (`request_received_epoch_ms`) from the monotonic clock read `new()`
//! already makes, through an anchor instead of a second clock read per request.
//!
//! # The anchor
//!
//! An anchor is a pair of readings of the two clocks taken together: a monotonic `Instant` and
//! the wall clock in nanoseconds since the Unix epoch. The wall time of a later instant `t` is
//! `wall + (t - mono)`, so `new()` costs one `Instant::now()` and a few arithmetic instructions.
//! An anchor older than [`REANCHOR_AFTER`] (1 s of monotonic time) is replaced by a fresh one
//! before it is used, so each thread reads the wall clock at most about once per second.
//!
//! Taking an anchor brackets the wall-clock read between two monotonic reads and keeps the
//! midpoint, retrying (up to [`BRACKET_TRIES`] times, keeping the tightest) when the bracket is
//! wider than [`MAX_BRACKET`] (a preemption between the reads): the anchor's own error is half
//! its bracket, tens of nanoseconds in practice.
//!
//! # Accuracy
//!
//! The derived arrival differs from what `SystemTime::now()` would have said by:
//! * the anchor's error: half its bracket (at most [`MAX_BRACKET`]` / 2` unless every try was
//!   preempted);
//! * the two clocks' rate difference over the anchor's age (at most 1 s): zero on Linux, where
//!   NTP slews `CLOCK_MONOTONIC` and `CLOCK_REALTIME` alike; elsewhere bounded by the slew rate
//!   (at most 500 ppm under NTP, so 0.5 ms);
//! * a wall-clock *step* (`settimeofday`, an NTP step, a suspend on Linux, where the monotonic
//!   clock stops): requests keep the old offset until the anchor ages out, at most
//!   [`REANCHOR_AFTER`] of monotonic time later on each thread, then follow the new wall
//!   clock.
//!
//! Then the result is floored to whole milliseconds, as before. A wall clock before the Unix
//! epoch gives 0, as a direct read did.
//!
//! # The arrival to the nanosecond (the `otel` feature)
//!
//! A trace needs the arrival's wall-clock time finer than `request_received_ms`, and the
//! tracker keeps no more than that millisecond (its 256 bytes have no room for a second
//! timestamp). So the arrival is derived again when a trace is built, from the emitting
//! thread's anchor (fresh within [`REANCHOR_AFTER`] of the emission) and the tracker's base
//! `Instant`: `wall + (base - mono)`, to the nanosecond, at any age of the request. It is kept
//! only where it agrees with `request_received_ms` (`refine_arrival`): a derived arrival
//! within that millisecond, widened by `ARRIVAL_TOLERANCE` either side (the two anchors'
//! errors together) and clamped into it. Anything else, a caller-supplied epoch
//! (`with_received_at`) the clocks do not confirm, or a wall-clock step since arrival, gives
//! `request_received_ms` itself. So the arrival is either within the anchors' errors of the
//! truth (tens of nanoseconds in practice, at most [`MAX_BRACKET`]) or exactly the millisecond
//! the client read in `nvext.timing`, and never disagrees with that millisecond.
//!
//! # Why per thread
//!
//! The anchor lives in a `thread_local!` `Cell` with a `const` initializer and no destructor:
//! reading it is a plain thread-local load, with no lock, no `Once`, no atomic and no
//! allocation, and no cache line shared between threads. A process-wide anchor would need a
//! shared `Instant`, which no atomic can hold (`Instant` has no const constructor and no integer
//! form without `unsafe`), so it would need a `OnceLock`/`LazyLock` whose first use blocks
//! concurrent callers: the contract allows no `Once` on the tracker's paths. The cost of one
//! anchor per thread is one wall-clock read per thread per second, and requests on different
//! threads may differ by their anchors' errors (nanoseconds), not by more.

use std::cell::Cell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// An anchor older than this (monotonic time) is replaced before use.
pub(crate) const REANCHOR_AFTER: Duration = Duration::from_secs(1);

/// A bracket wider than this (monotonic read, wall read, monotonic read) is retried.
pub(crate) const MAX_BRACKET: Duration = Duration::from_micros(20);

/// The most brackets one anchor takes; the tightest is kept.
pub(crate) const BRACKET_TRIES: usize = 3;

/// Nanoseconds in a millisecond.
const NANOS_PER_MS: u64 = 1_000_000;

/// A monotonic instant and the wall clock at that instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Anchor {
    /// The monotonic reading (midpoint of the bracket).
    mono: Instant,
    /// The wall clock at `mono`, ns since the Unix epoch; `None` if it was before the epoch.
    wall_ns: Option<u64>,
}

/// `d` in nanoseconds, saturating at `u64::MAX` (without a 128-bit multiply).
#[inline]
fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

impl Anchor {
    /// Reads the clocks through `mono_now` and `wall_now`: up to [`BRACKET_TRIES`] brackets,
    /// stopping at the first no wider than [`MAX_BRACKET`], keeping the tightest.
    pub(crate) fn take(
        mut mono_now: impl FnMut() -> Instant,
        mut wall_now: impl FnMut() -> SystemTime,
    ) -> Self {
        let mut best: Option<(Duration, Self)> = None;
        for _ in 0..BRACKET_TRIES {
            let before = mono_now();
            let wall = wall_now();
            let after = mono_now();
            let width = after.saturating_duration_since(before);
            let anchor = Self {
                mono: before + width / 2,
                wall_ns: wall.duration_since(UNIX_EPOCH).ok().map(nanos),
            };
            if best.is_none_or(|(w, _)| width < w) {
                best = Some((width, anchor));
            }
            if width <= MAX_BRACKET {
                break;
            }
        }
        best.expect("BRACKET_TRIES > 0").1
    }

    /// The wall clock at `t` in ms since the Unix epoch, floored (0 if the anchor's wall clock
    /// was before the epoch); `None` if `t` is more than [`REANCHOR_AFTER`] from the anchor,
    /// either side. The common case (`t` after the anchor) is one instant subtraction.
    #[inline]
    pub(crate) fn epoch_ms_at(&self, t: Instant) -> Option<u64> {
        let ns = match t.checked_duration_since(self.mono) {
            Some(after) if after <= REANCHOR_AFTER => {
                self.wall_ns.map(|w| w.saturating_add(nanos(after)))
            }
            Some(_) => return None,
            None => {
                let before = self.mono.saturating_duration_since(t);
                if before > REANCHOR_AFTER {
                    return None;
                }
                self.wall_ns.map(|w| w.saturating_sub(nanos(before)))
            }
        };
        Some(ns.map_or(0, |ns| ns / NANOS_PER_MS))
    }
}

#[cfg(feature = "otel")]
impl Anchor {
    /// The wall clock at `t`, ns since the Unix epoch, at any distance from the anchor; `None`
    /// if the anchor's wall clock was before the epoch or the result does not fit.
    fn wall_ns_at(&self, t: Instant) -> Option<u64> {
        let wall = self.wall_ns?;
        match t.checked_duration_since(self.mono) {
            Some(after) => wall.checked_add(nanos(after)),
            None => wall.checked_sub(nanos(self.mono.saturating_duration_since(t))),
        }
    }
}

/// How far outside `request_received_ms`'s millisecond a derived arrival may fall and still be
/// the same instant: two anchors' errors (at most half a [`MAX_BRACKET`] each).
#[cfg(feature = "otel")]
pub(crate) const ARRIVAL_TOLERANCE: Duration = MAX_BRACKET;

/// The arrival in ns since the Unix epoch: `derived_ns` clamped into `received_ms`'s
/// millisecond when it lies within [`ARRIVAL_TOLERANCE`] of it, else `received_ms` exactly.
#[cfg(feature = "otel")]
pub(crate) fn refine_arrival(received_ms: u64, derived_ns: Option<u64>) -> u128 {
    let lo = u128::from(received_ms) * u128::from(NANOS_PER_MS);
    let hi = lo + u128::from(NANOS_PER_MS) - 1;
    let tolerance = ARRIVAL_TOLERANCE.as_nanos();
    match derived_ns.map(u128::from) {
        Some(d) if d + tolerance >= lo && d <= hi + tolerance => d.clamp(lo, hi),
        _ => lo,
    }
}

#[cfg(feature = "otel")]
impl super::RequestTracker {
    /// The arrival's wall-clock time to the nanosecond where this thread's clock anchor
    /// confirms `request_received_ms`, else that millisecond exactly (module docs). `now`
    /// (an instant just read) judges the anchor's age; a stale or missing anchor is taken
    /// anew (one wall-clock read). No allocation.
    pub(crate) fn received_wall_time_at(&self, now: Instant) -> SystemTime {
        let anchor = ANCHOR
            .try_with(|cell| match cell.get() {
                Some(anchor) if anchor.epoch_ms_at(now).is_some() => anchor,
                _ => {
                    let anchor = Anchor::take(Instant::now, SystemTime::now);
                    cell.set(Some(anchor));
                    anchor
                }
            })
            .unwrap_or_else(|_| Anchor::take(Instant::now, SystemTime::now));
        let ns = refine_arrival(self.received_epoch_ms, anchor.wall_ns_at(self.base));
        let secs = u64::try_from(ns / 1_000_000_000).unwrap_or(u64::MAX);
        // `ns % 1e9` < 1e9 fits a u32.
        let sub = (ns % 1_000_000_000) as u32;
        UNIX_EPOCH
            .checked_add(Duration::new(secs, sub))
            .unwrap_or(UNIX_EPOCH)
    }
}

thread_local! {
    /// This thread's anchor; `None` until its first tracker.
    static ANCHOR: Cell<Option<Anchor>> = const { Cell::new(None) };
}

/// The wall clock at `t` (an instant just read), ms since the Unix epoch, from this thread's
/// anchor, taking a fresh anchor first when it is missing or older than [`REANCHOR_AFTER`].
#[inline]
pub(crate) fn epoch_ms_at(t: Instant) -> u64 {
    ANCHOR
        .try_with(|cell| {
            cell.get()
                .and_then(|anchor| anchor.epoch_ms_at(t))
                .unwrap_or_else(|| reanchor(Some(cell), t))
        })
        // Only while this thread's locals are being torn down: an anchor for this call alone.
        .unwrap_or_else(|_| reanchor(None, t))
}

/// Takes a fresh anchor (into `cell` when given) and derives `t` from it: at most about once
/// per second per thread.
#[cold]
#[inline(never)]
fn reanchor(cell: Option<&Cell<Option<Anchor>>>, t: Instant) -> u64 {
    let anchor = Anchor::take(Instant::now, SystemTime::now);
    if let Some(cell) = cell {
        cell.set(Some(anchor));
    }
    // `t` was read just before the anchor, so it is within the bound unless this thread was
    // preempted for longer than that in between; then the anchor's wall clock is the answer.
    anchor
        .epoch_ms_at(t)
        .unwrap_or_else(|| anchor.wall_ns.map_or(0, |ns| ns / NANOS_PER_MS))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// 2026-01-01T00:00:00Z.
    fn wall0() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_767_225_600)
    }

    fn wall0_ms() -> u64 {
        1_767_225_600_000
    }

    /// An anchor at `mono` whose clocks read exactly `wall` (a zero-width bracket).
    fn anchor_at(mono: Instant, wall: SystemTime) -> Anchor {
        Anchor::take(|| mono, || wall)
    }

    #[test]
    fn derived_time_is_the_anchor_plus_elapsed_monotonic_time() {
        let t0 = Instant::now();
        let a = anchor_at(t0, wall0());
        assert_eq!(a.epoch_ms_at(t0), Some(wall0_ms()));
        assert_eq!(a.epoch_ms_at(t0 + 1500 * MS / 1000), Some(wall0_ms() + 1));
        assert_eq!(a.epoch_ms_at(t0 + 250 * MS), Some(wall0_ms() + 250));
    }

    #[test]
    fn an_instant_before_the_anchor_is_derived_backwards() {
        let t0 = Instant::now() + Duration::from_secs(1);
        let a = anchor_at(t0, wall0() + 10 * MS);
        assert_eq!(a.epoch_ms_at(t0 - 4 * MS), Some(wall0_ms() + 6));
    }

    #[test]
    fn a_wall_clock_before_the_epoch_gives_zero() {
        let t0 = Instant::now();
        let a = anchor_at(t0, UNIX_EPOCH - Duration::from_secs(5));
        assert_eq!(a.epoch_ms_at(t0 + 600 * MS), Some(0));
    }

    #[test]
    fn an_anchor_serves_one_second_either_side_and_no_more() {
        let t0 = Instant::now() + Duration::from_secs(5);
        let a = anchor_at(t0, wall0());
        assert_eq!(a.epoch_ms_at(t0 + REANCHOR_AFTER), Some(wall0_ms() + 1000));
        assert_eq!(a.epoch_ms_at(t0 - REANCHOR_AFTER), Some(wall0_ms() - 1000));
        assert_eq!(a.epoch_ms_at(t0 + REANCHOR_AFTER + MS), None);
        assert_eq!(a.epoch_ms_at(t0 - REANCHOR_AFTER - MS), None);
    }

    #[test]
    fn a_wall_clock_step_is_followed_once_the_anchor_ages_out() {
        let t0 = Instant::now();
        let a = anchor_at(t0, wall0());
        // The wall clock steps forward 5 s right after the anchor. Within the bound the old
        // offset is kept (the documented lag) ...
        let stepped = |mono: Instant| wall0() + Duration::from_secs(5) + (mono - t0);
        let soon = t0 + 900 * MS;
        assert_eq!(a.epoch_ms_at(soon), Some(wall0_ms() + 900));
        // ... and once it ages out, the fresh anchor reads the stepped clock.
        let later = t0 + 1100 * MS;
        assert_eq!(a.epoch_ms_at(later), None, "aged out");
        let b = anchor_at(later, stepped(later));
        assert_eq!(b.epoch_ms_at(later), Some(wall0_ms() + 5000 + 1100));
    }

    #[test]
    fn a_preempted_bracket_is_retried_and_the_tightest_kept() {
        let t0 = Instant::now();
        // Monotonic reads: a 5 ms bracket (preempted), then a 1 us one.
        let reads = [t0, t0 + 5 * MS, t0 + 10 * MS, t0 + 10 * MS + MS / 1000];
        let mut mono = reads.into_iter();
        let mut walls = [wall0(), wall0() + 10 * MS].into_iter();
        let a = Anchor::take(|| mono.next().unwrap(), || walls.next().unwrap());
        assert_eq!(a.mono, t0 + 10 * MS + MS / 2000);
        assert_eq!(a.epoch_ms_at(t0 + 10 * MS), Some(wall0_ms() + 9));
        assert!(mono.next().is_none(), "stopped at the first tight bracket");
    }

    #[test]
    fn every_bracket_wide_keeps_the_tightest_after_all_tries() {
        let t0 = Instant::now();
        let widths = [7u32, 3, 5];
        let mut at = t0;
        let mut mono_reads = Vec::new();
        for w in widths {
            mono_reads.push(at);
            at += MS * w;
            mono_reads.push(at);
            at += MS;
        }
        let mut mono = mono_reads.into_iter();
        let a = Anchor::take(|| mono.next().unwrap(), wall0);
        // The 3 ms bracket: starts at 8 ms, midpoint 9.5 ms.
        assert_eq!(a.mono, t0 + 8 * MS + 3 * MS / 2);
    }

    #[test]
    fn equally_wide_brackets_keep_the_first() {
        // Only a strictly tighter bracket replaces the one kept: of three 7 ms brackets (all
        // retried), the first stays.
        let t0 = Instant::now();
        let mut mono_reads = Vec::new();
        let mut at = t0;
        for _ in 0..BRACKET_TRIES {
            mono_reads.push(at);
            at += 7 * MS;
            mono_reads.push(at);
            at += MS;
        }
        let mut mono = mono_reads.into_iter();
        let a = Anchor::take(|| mono.next().unwrap(), wall0);
        assert_eq!(a.mono, t0 + 7 * MS / 2);
    }

    #[test]
    fn epoch_ms_at_now_is_within_a_millisecond_of_the_wall_clock() {
        // A correctness check of the derived arrival against direct reads around it, not a
        // timing assertion: it fails only if the derivation is wrong or the wall clock steps
        // during the test.
        for _ in 0..3 {
            let before = wall_ms(SystemTime::now());
            let derived = epoch_ms_at(Instant::now());
            let after = wall_ms(SystemTime::now());
            assert!(
                before.saturating_sub(1) <= derived && derived <= after + 1,
                "{before} <= {derived} <= {after} (within 1 ms)"
            );
        }
    }

    #[test]
    fn a_thread_reuses_its_anchor_while_fresh() {
        std::thread::spawn(|| {
            let t = Instant::now();
            epoch_ms_at(t);
            let first = ANCHOR.with(Cell::get).expect("anchored");
            epoch_ms_at(t + 10 * MS);
            assert_eq!(
                ANCHOR.with(Cell::get),
                Some(first),
                "no re-anchor within 1 s"
            );
            epoch_ms_at(t + REANCHOR_AFTER * 2);
            assert_ne!(
                ANCHOR.with(Cell::get),
                Some(first),
                "re-anchored once stale"
            );
        })
        .join()
        .unwrap();
    }

    #[cfg(feature = "otel")]
    #[test]
    fn an_arrival_is_derived_at_any_distance_from_the_anchor() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let a = anchor_at(t0, wall0());
        let wall0_ns = wall0_ms() * NANOS_PER_MS;
        assert_eq!(
            a.wall_ns_at(t0 - Duration::from_secs(60)),
            Some(wall0_ns - 60_000_000_000)
        );
        assert_eq!(
            a.wall_ns_at(t0 + Duration::from_nanos(7)),
            Some(wall0_ns + 7)
        );
        let before_epoch = anchor_at(t0, UNIX_EPOCH - Duration::from_secs(5));
        assert_eq!(before_epoch.wall_ns_at(t0), None);
    }

    #[cfg(feature = "otel")]
    #[test]
    fn a_derived_arrival_refines_its_millisecond_and_never_leaves_it() {
        let ms = 1_767_225_600_123;
        let lo = u128::from(ms) * 1_000_000;
        let tol = ARRIVAL_TOLERANCE.as_nanos() as u64;
        let lo64 = ms * 1_000_000;
        // Inside: kept to the nanosecond.
        assert_eq!(refine_arrival(ms, Some(lo64 + 456_789)), lo + 456_789);
        // Just outside, within the anchors' errors: clamped into the millisecond.
        assert_eq!(refine_arrival(ms, Some(lo64 - tol)), lo);
        assert_eq!(refine_arrival(ms, Some(lo64 + 999_999 + tol)), lo + 999_999);
        // Further out (a caller's own epoch, a wall-clock step), or unknown: the millisecond.
        assert_eq!(refine_arrival(ms, Some(lo64 - tol - 1)), lo);
        assert_eq!(refine_arrival(ms, Some(lo64 + 5_000_000)), lo);
        assert_eq!(refine_arrival(ms, None), lo);
        // Extremes do not overflow.
        assert_eq!(
            refine_arrival(u64::MAX, Some(u64::MAX)),
            u128::from(u64::MAX) * 1_000_000
        );
        assert_eq!(refine_arrival(0, Some(0)), 0);
    }

    #[cfg(feature = "otel")]
    #[test]
    fn a_derived_arrival_just_after_its_millisecond_starts_is_kept_to_the_nanosecond() {
        let ms = 1_767_225_600_123;
        let lo = u128::from(ms) * 1_000_000;
        assert_eq!(refine_arrival(ms, Some(ms * 1_000_000 + 1)), lo + 1);
    }

    /// On a fresh thread, two trace arrivals `gap` apart: the anchor after the first and
    /// after the second.
    #[cfg(feature = "otel")]
    fn anchors_around_two_arrivals(gap: Duration) -> (Option<Anchor>, Option<Anchor>) {
        std::thread::spawn(move || {
            let t = super::super::RequestTracker::new();
            let now = Instant::now();
            t.received_wall_time_at(now);
            let first = ANCHOR.with(Cell::get);
            t.received_wall_time_at(now + gap);
            (first, ANCHOR.with(Cell::get))
        })
        .join()
        .unwrap()
    }

    #[cfg(feature = "otel")]
    #[test]
    fn a_trace_arrival_reuses_the_threads_anchor_while_fresh() {
        let (first, second) = anchors_around_two_arrivals(10 * MS);
        assert!(first.is_some(), "anchored");
        assert_eq!(second, first, "no re-anchor within 1 s");
    }

    #[cfg(feature = "otel")]
    #[test]
    fn a_trace_arrival_reanchors_a_stale_anchor() {
        let (first, second) = anchors_around_two_arrivals(REANCHOR_AFTER * 2);
        assert!(first.is_some(), "anchored");
        assert_ne!(second, first, "re-anchored once stale");
    }

    #[test]
    fn an_instant_too_old_for_a_fresh_anchor_reads_the_anchors_wall_clock() {
        // `t` more than `REANCHOR_AFTER` before the fresh anchor (a thread preempted that
        // long): the answer is the anchor's own wall clock, so within a millisecond of a
        // direct read around it (a correctness check, not a timing assertion).
        let Some(old) = Instant::now().checked_sub(REANCHOR_AFTER * 5) else {
            return;
        };
        let before = wall_ms(SystemTime::now());
        let derived = reanchor(None, old);
        let after = wall_ms(SystemTime::now());
        assert!(
            before.saturating_sub(1) <= derived && derived <= after + 1,
            "{before} <= {derived} <= {after} (within 1 ms)"
        );
    }

    fn wall_ms(w: SystemTime) -> u64 {
        w.duration_since(UNIX_EPOCH)
            .map_or(0, |d| nanos(d) / NANOS_PER_MS)
    }
}
