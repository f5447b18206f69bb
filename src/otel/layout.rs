//! Where each span starts and ends, as nanosecond offsets from arrival: a pure function of one
//! read of the tracker's stamps ([`PhaseStamps`]).
//!
//! | span | from | to | equals |
//! |---|---|---|---|
//! | root | arrival (0) | finish (else the emission instant) | `total_time_ms` |
//! | [`QUEUE_SPAN`] | arrival | prefill start | `prefill_wait_time_ms` |
//! | [`PREFILL_SPAN`] | prefill start | first token | `prefill_time_ms` |
//! | [`KV_TRANSFER_SPAN`] | prefill complete | decode worker's first token | `kv_transfer_estimated_latency_ms` |
//! | [`DECODE_SPAN`] | first token | finish | the decode-time histogram's sample |
//! | [`EXTERNAL_SPAN`] | the other hop's first merged instant | its last | |
//!
//! A span is placed only when both its ends are known. Its duration is the crate's one rule for
//! the time between two stamps (`report::derive::elapsed`: saturating at 0), so it equals the
//! `nvext.timing` figure to the nanosecond; a later stamp recorded before an earlier one (a
//! first token before the prefill start) gives a zero-length span at the earlier stamp, as the
//! figure is 0. Prefill start, first token and finish are the tracker's own where known, else
//! another hop's merged ones, exactly as `nvext.timing` reports them; the KV transfer span needs
//! the tracker's own two stamps (a merged estimate is a duration without instants, so it stays
//! an attribute).
//!
//! The other hop's span: a merge places the hop's reported instants (prefill start, first
//! token, finish) on this tracker's base by the merge's time-base rule
//! (`RequestTracker::set_external_timing_at`); the span runs from the first of them to the last
//! and is placed when at least two are merged. It cannot start at the hop's own arrival: the
//! tracker does not keep it (its 256 bytes have no room), so the hop's own queueing before its
//! first reported instant is not shown.

use crate::report::derive::elapsed;
use crate::tracker::PhaseStamps;

/// The child span from arrival to prefill start.
pub const QUEUE_SPAN: &str = "queue";
/// The child span from prefill start to the first token.
pub const PREFILL_SPAN: &str = "prefill";
/// The child span from prefill complete to the decode worker's first token.
pub const KV_TRANSFER_SPAN: &str = "kv_transfer";
/// The child span from the first token to the finish.
pub const DECODE_SPAN: &str = "decode";
/// The child span covering another hop's merged instants (`set_external_timing`).
pub const EXTERNAL_SPAN: &str = "external";

/// One child span: name, start and end offsets (ns from arrival).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Placed {
    pub(super) name: &'static str,
    pub(super) start: u64,
    pub(super) end: u64,
}

/// `name` from `start` for the stamps' elapsed time to `end`; `None` unless both are known.
#[inline]
fn between(name: &'static str, start: Option<u64>, end: Option<u64>) -> Option<Placed> {
    let (start, end) = start.zip(end)?;
    Some(Placed {
        name,
        start,
        end: start.saturating_add(elapsed(start, end)),
    })
}

/// The other hop's span: its first merged instant to its last, if at least two are merged.
fn external(merged: [Option<u64>; 3]) -> Option<Placed> {
    let known = merged.iter().flatten();
    if known.clone().count() < 2 {
        return None;
    }
    between(
        EXTERNAL_SPAN,
        known.clone().min().copied(),
        known.max().copied(),
    )
}

/// The root span's end: the finish, else `now` (the emission instant's offset).
#[inline]
pub(super) fn root_end(stamps: &PhaseStamps, now: u64) -> u64 {
    stamps.stream.finish.unwrap_or(now)
}

/// Every child span the stamps place, in the table's order.
pub(super) fn children(s: &PhaseStamps) -> [Option<Placed>; 5] {
    let (first, finish) = (s.stream.first, s.stream.finish);
    [
        between(QUEUE_SPAN, Some(0), s.prefill_start),
        between(PREFILL_SPAN, s.prefill_start, first),
        between(KV_TRANSFER_SPAN, s.prefill_complete, s.decode_first_token),
        between(DECODE_SPAN, first, finish),
        external(s.merged),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracker::RequestTracker;
    use std::time::{Duration, Instant};

    const MS: u64 = 1_000_000;

    fn placed(t: &RequestTracker) -> Vec<(&'static str, u64, u64)> {
        children(&t.phase_stamps())
            .into_iter()
            .flatten()
            .map(|p| (p.name, p.start, p.end))
            .collect()
    }

    #[test]
    fn a_fresh_tracker_places_no_child_and_the_root_ends_now() {
        let t = RequestTracker::new();
        assert!(placed(&t).is_empty());
        assert_eq!(root_end(&t.phase_stamps(), 42), 42);
    }

    #[test]
    fn each_phase_runs_between_its_two_stamps() {
        let t0 = Instant::now();
        let t = RequestTracker::with_received_at(t0, 0);
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        t.record_prefill_start_at(at(2));
        t.record_prefill_complete_at(at(9));
        t.record_first_token_at(at(10));
        t.record_decode_first_token_at(at(14));
        t.record_finish_at(at(50));
        assert_eq!(
            placed(&t),
            [
                (QUEUE_SPAN, 0, 2 * MS),
                (PREFILL_SPAN, 2 * MS, 10 * MS),
                (KV_TRANSFER_SPAN, 9 * MS, 14 * MS),
                (DECODE_SPAN, 10 * MS, 50 * MS),
            ]
        );
        assert_eq!(root_end(&t.phase_stamps(), 0), 50 * MS);
    }

    #[test]
    fn a_stamp_out_of_order_gives_a_zero_length_span_like_its_figure() {
        let t0 = Instant::now();
        let t = RequestTracker::with_received_at(t0, 0);
        t.record_first_token_at(t0 + Duration::from_millis(3));
        t.record_prefill_start_at(t0 + Duration::from_millis(5));
        assert_eq!(t.prefill_time_ms(), Some(0.0));
        assert!(placed(&t).contains(&(PREFILL_SPAN, 5 * MS, 5 * MS)));
    }

    #[test]
    fn the_other_hop_spans_its_merged_instants_when_two_are_known() {
        assert_eq!(external([None, Some(5), None]), None);
        assert_eq!(
            external([Some(4), None, Some(9)]),
            Some(Placed {
                name: EXTERNAL_SPAN,
                start: 4,
                end: 9
            })
        );
    }
}
