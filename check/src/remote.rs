//! Another hop's `nvext.timing` and `nvext.worker_id` as fuzz operations carry them: `Copy`
//! stand-ins for [`TimingInfo`] and [`WorkerIdInfo`] (which are not `Copy`), decoded from bytes
//! biased towards what the merge must skip (NaN, negative and infinite durations, hit rates
//! outside `0..=1`, a queue depth of `usize::MAX`) and towards clocks far ahead or behind.

use crate::bytes::Bytes;
use reqtrack::{TimingInfo, WorkerIdInfo};

/// Another hop's timing; its arrival is given relative to this tracker's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemoteTiming {
    /// The remote `request_received_ms` minus this tracker's (saturating when applied).
    pub skew_ms: i64,
    /// `prefill_wait_time_ms`.
    pub prefill_wait_time_ms: Option<f64>,
    /// `prefill_time_ms`.
    pub prefill_time_ms: Option<f64>,
    /// `ttft_ms`.
    pub ttft_ms: Option<f64>,
    /// `total_time_ms`.
    pub total_time_ms: Option<f64>,
    /// `kv_hit_rate`.
    pub kv_hit_rate: Option<f64>,
    /// `router_queue_depth`.
    pub router_queue_depth: Option<usize>,
    /// `kv_transfer_estimated_latency_ms`.
    pub kv_transfer_estimated_latency_ms: Option<f64>,
}

/// Another hop's workers: `(id, rank)` for the prefill and the decode slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteWorkers {
    /// `prefill_worker_id`, `prefill_dp_rank`.
    pub prefill: (Option<u64>, Option<u32>),
    /// `decode_worker_id`, `decode_dp_rank`.
    pub decode: (Option<u64>, Option<u32>),
}

/// A remote duration in ms: unknown in a quarter of the cases, else [`Bytes::float`].
fn duration_ms(b: &mut Bytes<'_>) -> Option<f64> {
    (b.below(4) != 0).then(|| b.float())
}

fn hit_rate(b: &mut Bytes<'_>) -> Option<f64> {
    match b.u8() % 8 {
        0 | 1 => None,
        2 => Some(0.0),
        3 => Some(1.0),
        4 => Some(f64::from(b.u8()) / 255.0),
        // The smallest rate above 1: rejected.
        5 => Some(f64::from_bits(1.0f64.to_bits() + 1)),
        _ => Some(b.float()),
    }
}

/// Few distinct ids and ranks, so a merged worker often meets an own write of the same one.
fn worker(b: &mut Bytes<'_>) -> (Option<u64>, Option<u32>) {
    let id = match b.u8() % 4 {
        0 => None,
        1 => Some(b.u64()),
        _ => Some(u64::from(b.u8() % 3)),
    };
    let rank = b.bool().then(|| b.u32() % 3);
    (id, rank)
}

impl RemoteTiming {
    /// Decodes one remote timing.
    pub fn decode(b: &mut Bytes<'_>) -> Self {
        let skew_ms = match b.u8() % 6 {
            0 => 0,
            1 => b.u8().into(),
            2 => -i64::from(b.u8()),
            3 => i64::MAX,
            4 => i64::MIN,
            _ => i64::from(b.u32()),
        };
        Self {
            skew_ms,
            prefill_wait_time_ms: duration_ms(b),
            prefill_time_ms: duration_ms(b),
            ttft_ms: duration_ms(b),
            total_time_ms: duration_ms(b),
            kv_hit_rate: hit_rate(b),
            router_queue_depth: b.bool().then(|| b.count()),
            kv_transfer_estimated_latency_ms: duration_ms(b),
        }
    }

    /// The `TimingInfo` the remote hop sent, for a tracker that received the request at
    /// `own_received_ms`.
    pub fn timing(&self, own_received_ms: u64) -> TimingInfo {
        TimingInfo {
            request_received_ms: own_received_ms.saturating_add_signed(self.skew_ms),
            prefill_wait_time_ms: self.prefill_wait_time_ms,
            prefill_time_ms: self.prefill_time_ms,
            ttft_ms: self.ttft_ms,
            total_time_ms: self.total_time_ms,
            kv_hit_rate: self.kv_hit_rate,
            router_queue_depth: self.router_queue_depth,
            kv_transfer_estimated_latency_ms: self.kv_transfer_estimated_latency_ms,
        }
    }
}

impl RemoteWorkers {
    /// Decodes one remote worker info.
    pub fn decode(b: &mut Bytes<'_>) -> Self {
        Self {
            prefill: worker(b),
            decode: worker(b),
        }
    }

    /// The `WorkerIdInfo` the remote hop sent.
    pub fn info(&self) -> WorkerIdInfo {
        WorkerIdInfo {
            prefill_worker_id: self.prefill.0,
            prefill_dp_rank: self.prefill.1,
            decode_worker_id: self.decode.0,
            decode_dp_rank: self.decode.1,
        }
    }
}
