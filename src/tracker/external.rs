//! Multi-hop merge: the timing and worker info another hop recorded (a standalone router that
//! forwards its `nvext.timing` / `nvext.worker_id` to the frontend), folded into this tracker.
//!
//! # The rule: the tracker's own values win, in either order
//!
//! A merged value fills only what this tracker does not know, and a later own write still wins.
//! So merged values never go into the tracker's own slots (a first-write slot would let a merge
//! that came first beat the tracker's own later write):
//!
//! * **timing** goes into slots of its own ([`MergedTiming`], one [`OnceStamp`] each, first merge
//!   wins per field), read as a fallback: every getter reports its own value if it has one, else
//!   the merged one ([`own_or_merged`]);
//! * **workers** go into the worker slots with a MERGED mark (`slot::worker`): a merge fills only
//!   an unset slot, and an own write replaces a merged triple as if the slot were unset.
//!
//! "Known" is judged per reported value: prefill start, first token, finish, router queue depth,
//! KV hit rate, KV transfer estimate; each worker slot as a whole (an id and its rank always come
//! from the same hop). A derived value may combine both: with its own first token and a merged
//! prefill start, the tracker reports `prefill_time_ms` as own first token minus merged start, on
//! its own time base, as it would had it seen the prefill start itself.
//!
//! # Placing remote durations on this tracker's time base
//!
//! An external [`TimingInfo`] holds durations from *its* `request_received_ms`. They become
//! instants on this tracker's base at `remote_base + duration`, where `remote_base` (ns from this
//! tracker's arrival) is the wall-clock difference of the two arrivals, kept within what
//! causality allows:
//!
//! ```text
//! skew        = (external.request_received_ms - own request_received_ms) * 1e6   (ns, 1 ms resolution)
//! span        = the remote's latest event: max(prefill wait, ttft, total)        (ns)
//! remote_base = clamp(skew, 0, merge_time - span)       (the lower bound wins if they cross)
//! ```
//!
//! * The remote hop received the request after this one forwarded it, so `remote_base >= 0`: a
//!   remote wall clock behind this one places remote events at this tracker's arrival, never
//!   before it.
//! * The remote's last event happened before its timing reached this tracker, so
//!   `remote_base + span <= merge_time` (the instant of the merge call): a remote clock ahead of
//!   this one cannot push remote events into the future.
//!
//! Within those bounds the placement is as good as the two hosts' clock agreement plus the 1 ms
//! resolution of `request_received_ms`. A remote `ttft_ms` places the first token; without it,
//! `prefill_wait_time_ms + prefill_time_ms` does (`prefill_time_ms` is not used otherwise). The
//! KV hit rate, router queue depth and KV transfer estimate are not instants and are taken as
//! they are. Durations are kept to the nanosecond (`derive::nanos_from_ms`).
//!
//! # Bad input
//!
//! NaN, negative or infinite durations, a hit rate outside `0.0..=1.0` and a queue depth of
//! `usize::MAX` are unknown values: skipped, never recorded as 0. Huge durations clamp like the
//! tracker's own (`u64::MAX - 1` ns). Nothing the tracker recorded itself ever changes.
//!
//! # Orderings and the read order
//!
//! The merged slots are [`OnceStamp`]s (`Release` CAS, `Acquire` load). A merge writes them in
//! the order prefill start, first token, finish, then the rest, so a reader that sees a merged
//! finish sees the merged first token (the stream read order of the `read` module).
//!
//! A fallback read loads the **merged slot first, then the own value**. Both are first-write (the
//! own finish only grows, and is never unset again), so if the own value is unset when read, it
//! was unset when the merged one was read too, and the answer "merged" was true at that instant.
//! The other order is wrong: a reader could load the own slot (unset), then the own write and a
//! later merge could both land, and the reader would report the merged value although the own
//! one was there first. The `merged_value_never_shows_after_the_own_write` loom model checks it
//! (and fails with the order reversed).
//!
//! No call here allocates or waits; a merge is a handful of CASes.

use super::RequestTracker;
use super::clock::{MAX_NANOS, offset_since};
use crate::report::derive::nanos_from_ms;
use crate::report::{TimingInfo, WorkerIdInfo};
use crate::slot::{OnceStamp, WorkerInfo, WorkerType};
use std::time::Instant;

/// The slots merged timing lives in: offsets on this tracker's base (ns) for the instants, the
/// other values as they came. Each keeps its first merge.
#[derive(Debug)]
pub(super) struct MergedTiming {
    pub(super) prefill_start: OnceStamp,
    pub(super) first_token: OnceStamp,
    pub(super) finish: OnceStamp,
    /// KV transfer estimate, ns.
    pub(super) kv_transfer: OnceStamp,
    /// KV hit rate, `f64` bits (never `-0.0`, so a stored 0 rate is the bits `0`, encoded as 1).
    pub(super) kv_hit_rate: OnceStamp,
    pub(super) router_queue_depth: OnceStamp,
}

impl MergedTiming {
    /// Nothing merged.
    pub(super) fn new() -> Self {
        Self {
            prefill_start: OnceStamp::new(),
            first_token: OnceStamp::new(),
            finish: OnceStamp::new(),
            kv_transfer: OnceStamp::new(),
            kv_hit_rate: OnceStamp::new(),
            router_queue_depth: OnceStamp::new(),
        }
    }
}

/// The own value if known, else the merged one. `merged` is loaded **before** `own` runs; see
/// the module docs for why that order is the one that is correct.
#[inline]
pub(super) fn own_or_merged<T>(
    merged: &OnceStamp,
    decode: impl FnOnce(u64) -> T,
    own: impl FnOnce() -> Option<T>,
) -> Option<T> {
    let merged = merged.get();
    own().or_else(|| merged.map(decode))
}

/// Where the remote arrival lands on this tracker's base, ns: the wall-clock skew clamped to
/// `[0, now - span]`, the lower bound winning if they cross (module docs).
#[inline]
fn remote_base(own_received_ms: u64, remote_received_ms: u64, now: u64, span: u64) -> u64 {
    let skew = remote_received_ms
        .saturating_sub(own_received_ms)
        .saturating_mul(1_000_000);
    skew.min(now.saturating_sub(span))
}

/// Records `value` in `slot` if it is known; `1` if this call set it, else `0`.
#[inline]
fn merge_into(slot: &OnceStamp, value: Option<u64>) -> usize {
    value.is_some_and(|v| slot.set(v)).into()
}

impl RequestTracker {
    /// Merges another hop's `nvext.timing` (e.g. a standalone router's) into this tracker, now.
    /// See [`set_external_timing_at`](Self::set_external_timing_at).
    #[inline]
    pub fn set_external_timing(&self, external: &TimingInfo) -> usize {
        self.set_external_timing_at(external, Instant::now())
    }

    /// Merges another hop's `nvext.timing`, received at `now`.
    ///
    /// Each value fills only what this tracker does not know, now or later: the tracker's own
    /// values win whether they are recorded before or after the merge, and the first merge wins
    /// over a later one, field by field. Merged values appear in every getter,
    /// [`get_timing_info`](Self::get_timing_info) and [`snapshot`](Self::snapshot).
    ///
    /// Returns how many values this call stored (0 when every value was unknown, invalid or
    /// already merged); a stored value stays hidden while the tracker has its own. Lock-free,
    /// no allocation.
    ///
    /// Named after the call sites of newer Dynamo frontends (`set_external_timing`), whose
    /// definition could not be checked.
    ///
    /// # Placing remote durations on this tracker's time base
    ///
    /// `external`'s durations count from *its* `request_received_ms`. Each becomes an instant
    /// at `remote_base + duration` on this tracker's base, where
    ///
    /// ```text
    /// skew        = external.request_received_ms - this request_received_ms   (1 ms resolution)
    /// span        = the remote's latest event: max(prefill wait, ttft, total)
    /// remote_base = clamp(skew, 0, now - span)        (the lower bound wins if they cross)
    /// ```
    ///
    /// The remote hop cannot have received the request before this one, nor had an event after
    /// its timing arrived (`now`), so a remote clock behind or ahead of this one is corrected
    /// as far as causality allows; within that, the placement is as good as the two clocks'
    /// agreement. `ttft_ms` places the first token; without it, `prefill_wait_time_ms +
    /// prefill_time_ms` does (`prefill_time_ms` is not used otherwise). The hit rate, queue
    /// depth and KV transfer estimate are taken as they are. Durations are kept to the
    /// nanosecond and clamp like the tracker's own (`u64::MAX - 1` ns).
    ///
    /// Unknown or invalid values (NaN, negative or infinite durations, a hit rate outside
    /// `0.0..=1.0`, a queue depth of `usize::MAX`) are skipped, never recorded as 0.
    ///
    /// # Example
    ///
    /// ```
    /// use reqtrack::{RequestTracker, TimingInfo};
    /// use std::time::{Duration, Instant};
    ///
    /// let t0 = Instant::now();
    /// let frontend = RequestTracker::with_received_at(t0, 1_700_000_000_000);
    /// frontend.record_first_token_at(t0 + Duration::from_millis(30)); // its own: it wins
    /// let router = TimingInfo {
    ///     request_received_ms: 1_700_000_000_002, // the router got it 2 ms later
    ///     prefill_wait_time_ms: Some(5.0),
    ///     prefill_time_ms: Some(20.0),
    ///     ttft_ms: Some(25.0),
    ///     total_time_ms: None,
    ///     kv_hit_rate: Some(0.5),
    ///     router_queue_depth: Some(3),
    ///     kv_transfer_estimated_latency_ms: None,
    /// };
    /// assert_eq!(frontend.set_external_timing_at(&router, t0 + Duration::from_millis(40)), 4);
    /// let timing = frontend.get_timing_info();
    /// assert_eq!(timing.prefill_wait_time_ms, Some(7.0)); // 2 ms skew + 5 ms
    /// assert_eq!(timing.ttft_ms, Some(30.0)); // own
    /// assert_eq!(timing.prefill_time_ms, Some(23.0)); // own first token - merged start
    /// assert_eq!(timing.kv_hit_rate, Some(0.5));
    /// assert_eq!(timing.router_queue_depth, Some(3));
    /// ```
    pub fn set_external_timing_at(&self, external: &TimingInfo, now: Instant) -> usize {
        let d = |ms: Option<f64>| ms.and_then(|ms| nanos_from_ms(ms, MAX_NANOS));
        let wait = d(external.prefill_wait_time_ms);
        let ttft = d(external.ttft_ms).or_else(|| {
            wait.zip(d(external.prefill_time_ms))
                .map(|(w, p)| w.saturating_add(p).min(MAX_NANOS))
        });
        let total = d(external.total_time_ms);
        let span = wait.max(ttft).max(total).unwrap_or(0);
        let base = remote_base(
            self.received_epoch_ms,
            external.request_received_ms,
            offset_since(self.base, now),
            span,
        );
        let place = |d: Option<u64>| d.map(|d| base.saturating_add(d).min(MAX_NANOS));
        let rate = external
            .kv_hit_rate
            .filter(|r| (0.0..=1.0).contains(r))
            .map(|r| (r + 0.0).to_bits());
        let depth = external
            .router_queue_depth
            .and_then(|n| u64::try_from(n).ok())
            .filter(|&n| n <= MAX_NANOS);
        let m = &self.merged;
        // Start, first token, finish in this order: the stream read order (module docs).
        merge_into(&m.prefill_start, place(wait))
            + merge_into(&m.first_token, place(ttft))
            + merge_into(&m.finish, place(total))
            + merge_into(&m.kv_transfer, d(external.kv_transfer_estimated_latency_ms))
            + merge_into(&m.kv_hit_rate, rate)
            + merge_into(&m.router_queue_depth, depth)
    }

    /// Merges another hop's `nvext.worker_id`: each worker (prefill, decode) fills this
    /// tracker's slot only while the slot is unset, and the tracker's own
    /// [`record_worker`](Self::record_worker) replaces a merged worker later, without a
    /// conflict. A second merge does not replace the first. Merged workers appear in every
    /// worker getter, [`get_worker_info`](Self::get_worker_info), the snapshot and the
    /// per-worker gauges.
    ///
    /// `WorkerIdInfo` carries no worker type, so a merged worker's type is its role: `prefill`
    /// in the prefill slot, `decode` in the decode slot. A rank without an id is skipped.
    ///
    /// Returns how many slots this call filled (0, 1 or 2). Lock-free, no allocation. Named
    /// after newer Dynamo frontends' call sites (`set_external_worker_info`), whose definition
    /// could not be checked.
    ///
    /// ```
    /// use reqtrack::{RequestTracker, WorkerIdInfo, WORKER_TYPE_DECODE};
    /// let t = RequestTracker::new();
    /// let router = WorkerIdInfo {
    ///     prefill_worker_id: Some(7),
    ///     prefill_dp_rank: Some(0),
    ///     decode_worker_id: Some(9),
    ///     decode_dp_rank: None,
    /// };
    /// assert_eq!(t.set_external_worker_info(&router), 2);
    /// t.record_worker(11, Some(2), WORKER_TYPE_DECODE); // Aggregated: own, replaces both
    /// assert_eq!(t.prefill_worker_id(), Some(11));
    /// assert_eq!(t.decode_worker_id(), Some(11));
    /// assert_eq!(t.worker_conflicts(), 0);
    /// ```
    pub fn set_external_worker_info(&self, external: &WorkerIdInfo) -> usize {
        let merge = |slot: &crate::slot::WorkerSlot, id: Option<u64>, rank, worker_type| {
            id.is_some_and(|instance_id| {
                slot.merge(WorkerInfo {
                    instance_id,
                    dp_rank: rank,
                    worker_type,
                })
            })
        };
        usize::from(merge(
            &self.prefill_worker,
            external.prefill_worker_id,
            external.prefill_dp_rank,
            WorkerType::Prefill,
        )) + usize::from(merge(
            &self.decode_worker,
            external.decode_worker_id,
            external.decode_dp_rank,
            WorkerType::Decode,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::remote_base;

    const MS: u64 = 1_000_000;

    #[test]
    fn remote_base_is_the_wall_clock_skew_within_bounds() {
        assert_eq!(remote_base(1000, 1002, 50 * MS, 10 * MS), 2 * MS);
    }

    #[test]
    fn remote_clock_behind_places_the_remote_arrival_at_ours() {
        assert_eq!(remote_base(1000, 990, 50 * MS, 10 * MS), 0);
    }

    #[test]
    fn remote_clock_ahead_cannot_push_events_past_the_merge() {
        assert_eq!(remote_base(1000, 5000, 50 * MS, 10 * MS), 40 * MS);
    }

    #[test]
    fn a_remote_span_longer_than_our_whole_request_keeps_the_lower_bound() {
        assert_eq!(remote_base(1000, 1002, 5 * MS, 10 * MS), 0);
    }

    #[test]
    fn extreme_clocks_saturate_instead_of_overflowing() {
        assert_eq!(remote_base(0, u64::MAX, u64::MAX - 1, 0), u64::MAX - 1);
    }
}
