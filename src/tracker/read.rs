//! Derived timings and reports, and the one helper that reads the stream's stamps in order.
//!
//! # The read order
//!
//! A reader that combines the finish with the first token or osl reads them through
//! [`RequestTracker::stream_stamps`]: the finish first (`Acquire`), then the first token, then
//! osl. The finish's `Release` (`LatestStamp`) publishes everything its writer did before it, so
//! a finish recorded after the first token and the block's osl (the normal order) is never seen
//! without them. Reading in another order would let a reader see a finish whose first token or
//! osl it then misses; the `finish_is_never_seen_without_its_first_token` loom model checks it.

use super::RequestTracker;
use crate::report::derive::{avg_itl, hit_rate, ms, prefill_time, span_ms};
use crate::report::{RequestSnapshot, TimingInfo};

impl RequestTracker {
    /// The finish, the first token and osl, read in the order the module docs require. Every
    /// reader that combines them goes through here.
    #[inline]
    pub(crate) fn stream_stamps(&self) -> StreamStamps {
        let finish = self.finish.get();
        let first = self.first_token.get();
        let osl = self.osl.load(crate::sync::Ordering::Relaxed);
        StreamStamps { finish, first, osl }
    }

    // ---- derived timings ----------------------------------------------------------

    /// Received to prefill start, ms.
    #[inline]
    pub fn prefill_wait_time_ms(&self) -> Option<f64> {
        self.prefill_start.get().map(ms)
    }

    /// Prefill start to first token, ms (0 if the first token was recorded earlier).
    #[inline]
    pub fn prefill_time_ms(&self) -> Option<f64> {
        prefill_time(self.prefill_start.get(), self.first_token.get())
    }

    /// Received to first token, ms.
    #[inline]
    pub fn ttft_ms(&self) -> Option<f64> {
        self.first_token.get().map(ms)
    }

    /// Received to the latest finish, ms.
    #[inline]
    pub fn total_time_ms(&self) -> Option<f64> {
        self.finish.get().map(ms)
    }

    /// Average inter-token latency, ms: `(finish - first token) / (osl - 1)`; `None` while
    /// either stamp is missing or `osl < 2`.
    #[inline]
    pub fn avg_itl_ms(&self) -> Option<f64> {
        self.stream_stamps().avg_itl_ms()
    }

    /// Decode worker's first token minus prefill complete, ms: an upper bound on KV transfer.
    #[inline]
    pub fn kv_transfer_estimated_latency_ms(&self) -> Option<f64> {
        let first = self.decode_first_token.get()?;
        let complete = self.prefill_complete.get()?;
        Some(span_ms(complete, first))
    }

    /// Wall clock at arrival, ms since the Unix epoch.
    #[inline]
    pub fn request_received_epoch_ms(&self) -> u64 {
        self.received_epoch_ms
    }

    /// `overlap_blocks / isl_blocks`, `0.0..=1.0`; `None` if unrecorded or `isl_blocks == 0`.
    #[inline]
    pub fn kv_hit_rate(&self) -> Option<f64> {
        hit_rate(self.kv_hit.get()?)
    }

    // ---- reports ------------------------------------------------------------------

    /// `nvext.timing`.
    #[inline]
    pub fn get_timing_info(&self) -> TimingInfo {
        let StreamStamps { finish, first, .. } = self.stream_stamps();
        let start = self.prefill_start.get();
        TimingInfo {
            request_received_ms: self.received_epoch_ms,
            prefill_wait_time_ms: start.map(ms),
            prefill_time_ms: prefill_time(start, first),
            ttft_ms: first.map(ms),
            total_time_ms: finish.map(ms),
            kv_hit_rate: self.kv_hit_rate(),
            router_queue_depth: self.router_queue_depth(),
        }
    }

    /// Every recorded and derived value, in one call, without allocating.
    pub fn snapshot(&self) -> RequestSnapshot {
        let stream = self.stream_stamps();
        let StreamStamps { finish, first, osl } = stream;
        let start = self.prefill_start.get();
        let decode_first = self.decode_first_token.get();
        let complete = self.prefill_complete.get();
        let kv = self.kv_hit.get();
        let isl = self.isl.get();
        let (detok_sum, detok_count) = self.detokenize.get();
        let prefill = self.prefill_worker.get();
        let decode = self.decode_worker.get();
        RequestSnapshot {
            request_received_ms: self.received_epoch_ms,
            phase: self.gate.phase(),
            phase_held: self.gate.is_held(),
            prefill_start_ms: start.map(ms),
            first_token_ms: first.map(ms),
            decode_first_token_ms: decode_first.map(ms),
            prefill_complete_ms: complete.map(ms),
            finish_ms: finish.map(ms),
            prefill_wait_time_ms: start.map(ms),
            prefill_time_ms: prefill_time(start, first),
            ttft_ms: first.map(ms),
            total_time_ms: finish.map(ms),
            avg_itl_ms: stream.avg_itl_ms(),
            kv_transfer_estimated_latency_ms: complete
                .zip(decode_first)
                .map(|(c, d)| span_ms(c, d)),
            kv_overlap_blocks: kv.map(|(o, _)| o),
            isl_blocks: kv.map(|(_, b)| b),
            kv_hit_rate: kv.and_then(hit_rate),
            isl_tokens: isl.map(|(_, t)| t),
            cached_tokens: isl.map(|(c, _)| c),
            osl_tokens: osl,
            router_queue_depth: self.router_queue_depth.get(),
            tokenize_latency_ms: self.tokenize.get().map(ms),
            detokenize_total_ms: (detok_count != 0).then(|| ms(detok_sum)),
            detokenize_count: detok_count,
            prefill_worker_id: prefill.map(|w| w.instance_id),
            prefill_dp_rank: prefill.and_then(|w| w.dp_rank),
            prefill_worker_type: prefill.map(|w| w.worker_type),
            decode_worker_id: decode.map(|w| w.instance_id),
            decode_dp_rank: decode.and_then(|w| w.dp_rank),
            decode_worker_type: decode.map(|w| w.worker_type),
            worker_conflicts: self.worker_conflicts(),
        }
    }
}

/// The stream's stamps as one consistent read ([`RequestTracker::stream_stamps`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamStamps {
    /// Latest finish offset, ns.
    pub(crate) finish: Option<u64>,
    /// First token offset, ns.
    pub(crate) first: Option<u64>,
    /// Output tokens.
    pub(crate) osl: u64,
}

impl StreamStamps {
    /// `(finish - first) / (osl - 1)`, ms.
    #[inline]
    pub(crate) fn avg_itl_ms(self) -> Option<f64> {
        avg_itl(self.first, self.finish, self.osl)
    }
}
