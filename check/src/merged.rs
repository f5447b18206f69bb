//! The model of the multi-hop merge (README, "Multi-hop timing"), written from the contract:
//! another hop's timing placed on the tracker's time base, kept per value on a first-merge
//! basis, and read only where the tracker's own value is unknown.

use crate::limits::MAX_NANOS;
use reqtrack::{TimingInfo, WorkerIdInfo};

/// Merged timing: offsets (ns) for the instants, the other values as they came.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Merged {
    pub(crate) prefill_start: Option<u64>,
    pub(crate) first_token: Option<u64>,
    pub(crate) finish: Option<u64>,
    /// KV transfer estimate, ns.
    pub(crate) kv_transfer: Option<u64>,
    /// Hit rate, `f64` bits.
    pub(crate) kv_hit_rate: Option<u64>,
    pub(crate) router_queue_depth: Option<u64>,
}

/// Milliseconds as nanoseconds; `None` for what the contract calls unknown.
fn nanos(ms: Option<f64>) -> Option<u64> {
    let ms = ms?;
    if ms.is_nan() || ms < 0.0 || ms.is_infinite() {
        return None;
    }
    let n = (ms * 1e6).round();
    Some(if n >= MAX_NANOS as f64 {
        MAX_NANOS
    } else {
        n as u64
    })
}

/// How many values a merge stores, each in its own slot.
pub(crate) const MERGED_FIELDS: usize = 6;

/// The values a merge of `ext` at offset `now` (ns) would store, in the order the merge writes
/// them: prefill start, first token, finish (placed on the tracker's base), KV transfer (ns),
/// hit rate (`f64` bits), router queue depth. `None`: unknown or invalid, skipped. Depends only
/// on `ext`, the arrival and `now`, never on what is already stored.
pub(crate) fn placed(
    ext: &TimingInfo,
    own_received_ms: u64,
    now: u64,
) -> [Option<u64>; MERGED_FIELDS] {
    let wait = nanos(ext.prefill_wait_time_ms);
    let ttft = match nanos(ext.ttft_ms) {
        Some(t) => Some(t),
        None => match (wait, nanos(ext.prefill_time_ms)) {
            (Some(w), Some(p)) => Some(w.saturating_add(p).min(MAX_NANOS)),
            _ => None,
        },
    };
    let total = nanos(ext.total_time_ms);
    let span = [wait, ttft, total].into_iter().flatten().max().unwrap_or(0);
    // The remote arrival: the wall-clock skew, at least 0, at most `now - span` (the lower
    // bound wins when they cross).
    let skew_ms = ext.request_received_ms.saturating_sub(own_received_ms);
    let skew = u64::try_from(u128::from(skew_ms) * 1_000_000).unwrap_or(u64::MAX);
    let upper = now.saturating_sub(span);
    let base = if skew > upper { upper } else { skew };
    let place = |d: Option<u64>| d.map(|d| base.saturating_add(d).min(MAX_NANOS));
    let rate = ext
        .kv_hit_rate
        .filter(|r| *r >= 0.0 && *r <= 1.0)
        .map(|r| if r == 0.0 { 0 } else { r.to_bits() });
    let depth = ext
        .router_queue_depth
        .and_then(|d| u64::try_from(d).ok())
        .filter(|d| *d <= MAX_NANOS);
    [
        place(wait),
        place(ttft),
        place(total),
        nanos(ext.kv_transfer_estimated_latency_ms),
        rate,
        depth,
    ]
}

impl Merged {
    /// Stores `value` in field `f` (in [`placed`]'s order) if it is known and the field is
    /// still unset (first merge wins); whether it was stored.
    pub(crate) fn fill(&mut self, f: usize, value: Option<u64>) -> bool {
        let slot = match f {
            0 => &mut self.prefill_start,
            1 => &mut self.first_token,
            2 => &mut self.finish,
            3 => &mut self.kv_transfer,
            4 => &mut self.kv_hit_rate,
            _ => &mut self.router_queue_depth,
        };
        match (slot.is_some(), value) {
            (false, Some(v)) => {
                *slot = Some(v);
                true
            }
            _ => false,
        }
    }
}

/// The external timings the merge replay uses: every value known, a partial one whose remote
/// clock is ahead, one whose remote clock is behind, and one with only invalid values.
pub(crate) fn external_timings(own_received_ms: u64) -> [TimingInfo; 4] {
    let at = |skew: i64| own_received_ms.saturating_add_signed(skew);
    let none = TimingInfo {
        request_received_ms: at(0),
        prefill_wait_time_ms: None,
        prefill_time_ms: None,
        ttft_ms: None,
        total_time_ms: None,
        kv_hit_rate: None,
        router_queue_depth: None,
        kv_transfer_estimated_latency_ms: None,
    };
    [
        TimingInfo {
            request_received_ms: at(2),
            prefill_wait_time_ms: Some(5.0),
            prefill_time_ms: Some(20.0),
            ttft_ms: Some(25.123_456_7),
            total_time_ms: Some(60.0),
            kv_hit_rate: Some(0.5),
            router_queue_depth: Some(3),
            kv_transfer_estimated_latency_ms: Some(1.5),
        },
        TimingInfo {
            request_received_ms: at(5_000),
            prefill_wait_time_ms: Some(0.25),
            prefill_time_ms: Some(3.0),
            kv_hit_rate: Some(0.0),
            ..none
        },
        TimingInfo {
            request_received_ms: at(-7),
            total_time_ms: Some(1e300),
            router_queue_depth: Some(0),
            ..none
        },
        TimingInfo {
            prefill_wait_time_ms: Some(f64::NAN),
            ttft_ms: Some(-1.0),
            total_time_ms: Some(f64::INFINITY),
            kv_hit_rate: Some(1.5),
            router_queue_depth: Some(usize::MAX),
            kv_transfer_estimated_latency_ms: Some(-0.5),
            ..none
        },
    ]
}

/// The external worker info the merge replay uses with each timing above.
pub(crate) fn external_workers() -> [WorkerIdInfo; 4] {
    [
        WorkerIdInfo {
            prefill_worker_id: Some(1),
            prefill_dp_rank: Some(0),
            decode_worker_id: Some(2),
            decode_dp_rank: None,
        },
        WorkerIdInfo {
            prefill_worker_id: None,
            prefill_dp_rank: Some(1),
            decode_worker_id: Some(0),
            decode_dp_rank: Some(2),
        },
        WorkerIdInfo {
            prefill_worker_id: Some(0),
            prefill_dp_rank: None,
            decode_worker_id: None,
            decode_dp_rank: None,
        },
        WorkerIdInfo {
            prefill_worker_id: None,
            prefill_dp_rank: None,
            decode_worker_id: None,
            decode_dp_rank: None,
        },
    ]
}
