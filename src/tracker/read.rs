//! Derived timings and reports, and the helpers that read each value in the right order.
//!
//! # The read order
//!
//! A reader that combines the finish with the first token or osl reads them through
//! [`RequestTracker::stream_stamps`]: the finish first (`Acquire`), then the first token, then
//! osl. The finish's `Release` (`BlockStamp`) publishes everything its writer did before it, so
//! a finish recorded after the first token and the block's osl (the normal order) is never seen
//! without them. Reading in another order would let a reader see a finish whose first token or
//! osl it then misses; the `finish_is_never_seen_before_its_first_token` loom model checks it.
//!
//! Every value another hop can fill (`external`) is read through one helper per value below
//! (`prefill_start_ns`, `first_token_ns`, `finish_ns`, `kv_transfer_ns`, `kv_hit_rate`,
//! `router_queue_depth`), which loads the merged slot before the tracker's own (the order the
//! `external` module explains). Getters, [`TimingInfo`], the snapshot and the metrics all read
//! through them, so a merged value shows everywhere or nowhere.

use super::RequestTracker;
use super::external::own_or_merged;
use crate::report::derive::{avg_itl, hit_rate, kv_transfer, ms, prefill_time, secs};
use crate::report::{RequestSnapshot, TimingInfo};

impl RequestTracker {
    /// The finish, the first token and osl, read in the order the module docs require (each
    /// own-or-merged). Every reader that combines them goes through here.
    #[inline]
    pub(crate) fn stream_stamps(&self) -> StreamStamps {
        let mut osl = 0;
        let finish = own_or_merged(
            &self.merged.finish,
            |v| v,
            || {
                let (own_finish, own_osl) = self.block().get();
                osl = own_osl;
                own_finish
            },
        );
        let first = self.first_token_ns();
        StreamStamps { finish, first, osl }
    }

    /// Every stamp a trace places (ns offsets from arrival), read in the order the module docs
    /// require: the stream's stamps (finish first), then the prefill start, then the KV
    /// transfer's two own stamps, then the other hop's merged instants as merged. The
    /// `otel` export reads through here, so its spans use the very values [`TimingInfo`]
    /// reports.
    #[cfg(feature = "otel")]
    pub(crate) fn phase_stamps(&self) -> PhaseStamps {
        let stream = self.stream_stamps();
        PhaseStamps {
            stream,
            prefill_start: self.prefill_start_ns(),
            prefill_complete: self.prefill_complete.get(),
            decode_first_token: self.decode_first_token.get(),
            merged: [
                self.merged.prefill_start.get(),
                self.merged.first_token.get(),
                self.merged.finish.get(),
            ],
        }
    }

    // ---- own-or-merged reads ------------------------------------------------------

    /// Prefill start offset, ns (own, else merged).
    #[inline]
    fn prefill_start_ns(&self) -> Option<u64> {
        own_or_merged(
            &self.merged.prefill_start,
            |v| v,
            || self.prefill_start.get(),
        )
    }

    /// First token offset, ns (own, else merged).
    #[inline]
    fn first_token_ns(&self) -> Option<u64> {
        own_or_merged(&self.merged.first_token, |v| v, || self.first_token.get())
    }

    /// Latest finish offset, ns (own, else merged).
    #[inline]
    fn finish_ns(&self) -> Option<u64> {
        own_or_merged(&self.merged.finish, |v| v, || self.block().get().0)
    }

    /// Whether the tracker has a finish of its own (a merged one does not count): for a caller
    /// that stamps the finish only when the request has none yet, so another hop's shorter
    /// total never stands in for this request's own duration. One `Acquire` load of the block.
    #[inline]
    pub(crate) fn has_own_finish(&self) -> bool {
        self.block().get().0.is_some()
    }

    /// KV transfer estimate, ns (own stamps, else merged).
    #[inline]
    fn kv_transfer_ns(&self) -> Option<u64> {
        own_or_merged(
            &self.merged.kv_transfer,
            |v| v,
            || kv_transfer(self.prefill_complete.get(), self.decode_first_token.get()),
        )
    }

    // ---- derived timings ----------------------------------------------------------

    /// Received to prefill start, ms.
    #[inline]
    pub fn prefill_wait_time_ms(&self) -> Option<f64> {
        self.prefill_start_ns().map(ms)
    }

    /// Prefill start to first token, ms (0 if the first token was recorded earlier).
    #[inline]
    pub fn prefill_time_ms(&self) -> Option<f64> {
        prefill_time(self.prefill_start_ns(), self.first_token_ns())
    }

    /// Received to first token, ms.
    #[inline]
    pub fn ttft_ms(&self) -> Option<f64> {
        self.first_token_ns().map(ms)
    }

    /// Received to the latest finish, ms.
    #[inline]
    pub fn total_time_ms(&self) -> Option<f64> {
        self.finish_ns().map(ms)
    }

    /// Average inter-token latency, ms: `(finish - first token) / (osl - 1)`; `None` while
    /// either stamp is missing or `osl < 2`.
    #[inline]
    pub fn avg_itl_ms(&self) -> Option<f64> {
        self.stream_stamps().avg_itl_ms()
    }

    /// Upper bound on the KV cache transfer latency in disaggregated serving, ms: the decode
    /// worker's first token minus prefill complete (router dispatch + network + KV transfer +
    /// one decode step), saturating at 0; `None` until both are recorded (or merged).
    #[inline]
    pub fn kv_transfer_estimated_latency_ms(&self) -> Option<f64> {
        self.kv_transfer_ns().map(ms)
    }

    /// [`kv_transfer_estimated_latency_ms`](Self::kv_transfer_estimated_latency_ms) in seconds,
    /// Dynamo's accessor (`nanos / 1e9`, one correctly rounded division).
    ///
    /// ```
    /// use reqtrack::RequestTracker;
    /// use std::time::{Duration, Instant};
    /// let t0 = Instant::now();
    /// let t = RequestTracker::with_received_at(t0, 0);
    /// t.record_prefill_complete_at(t0 + Duration::from_millis(10));
    /// t.record_decode_first_token_at(t0 + Duration::from_millis(35));
    /// assert_eq!(t.kv_transfer_estimated_latency_secs(), Some(0.025));
    /// assert_eq!(t.kv_transfer_estimated_latency_ms(), Some(25.0));
    /// ```
    #[inline]
    pub fn kv_transfer_estimated_latency_secs(&self) -> Option<f64> {
        self.kv_transfer_ns().map(secs)
    }

    /// Wall clock at arrival, ms since the Unix epoch.
    #[inline]
    pub fn request_received_epoch_ms(&self) -> u64 {
        self.received_epoch_ms
    }

    /// `overlap_blocks / isl_blocks`, `0.0..=1.0` (the overlap may be fractional); `None` if
    /// unrecorded or `isl_blocks == 0`, unless a merged hit rate fills it.
    #[inline]
    pub fn kv_hit_rate(&self) -> Option<f64> {
        own_or_merged(&self.merged.kv_hit_rate, f64::from_bits, || {
            self.kv_hit
                .get()
                .and_then(|k| hit_rate(k.overlap_blocks, k.isl_blocks))
        })
    }

    /// Router queue depth at routing time, if recorded (or merged).
    #[inline]
    pub fn router_queue_depth(&self) -> Option<usize> {
        own_or_merged(
            &self.merged.router_queue_depth,
            |v| v,
            || self.router_queue_depth.get(),
        )
        .and_then(|d| usize::try_from(d).ok())
    }

    // ---- reports ------------------------------------------------------------------

    /// `nvext.timing`.
    #[inline]
    pub fn get_timing_info(&self) -> TimingInfo {
        let StreamStamps { finish, first, .. } = self.stream_stamps();
        let start = self.prefill_start_ns();
        TimingInfo {
            request_received_ms: self.received_epoch_ms,
            prefill_wait_time_ms: start.map(ms),
            prefill_time_ms: prefill_time(start, first),
            ttft_ms: first.map(ms),
            total_time_ms: finish.map(ms),
            kv_hit_rate: self.kv_hit_rate(),
            router_queue_depth: self.router_queue_depth(),
            kv_transfer_estimated_latency_ms: self.kv_transfer_estimated_latency_ms(),
        }
    }

    /// Every recorded and derived value, in one call, without allocating.
    pub fn snapshot(&self) -> RequestSnapshot {
        let stream = self.stream_stamps();
        let StreamStamps { finish, first, osl } = stream;
        let start = self.prefill_start_ns();
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
            decode_first_token_ms: self.decode_first_token.get().map(ms),
            prefill_complete_ms: self.prefill_complete.get().map(ms),
            finish_ms: finish.map(ms),
            prefill_wait_time_ms: start.map(ms),
            prefill_time_ms: prefill_time(start, first),
            ttft_ms: first.map(ms),
            total_time_ms: finish.map(ms),
            avg_itl_ms: stream.avg_itl_ms(),
            kv_transfer_estimated_latency_ms: self.kv_transfer_estimated_latency_ms(),
            kv_overlap_blocks: kv.and_then(|k| k.whole_overlap()),
            kv_effective_overlap_blocks: kv.and_then(|k| k.fractional_overlap()),
            isl_blocks: kv.map(|k| k.isl_blocks),
            kv_hit_rate: self.kv_hit_rate(),
            isl_tokens: isl.map(|(_, t)| t),
            cached_tokens: isl.map(|(c, _)| c),
            osl_tokens: osl,
            router_queue_depth: self.router_queue_depth().map(|d| d as u64),
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
            migrations: self.migrations(),
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

/// Every stamp a trace places, one read ([`RequestTracker::phase_stamps`]); ns offsets from
/// arrival.
#[cfg(feature = "otel")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PhaseStamps {
    /// Finish, first token (own or merged) and osl.
    pub(crate) stream: StreamStamps,
    /// Prefill start (own or merged).
    pub(crate) prefill_start: Option<u64>,
    /// Prefill complete (own only: another hop reports no such instant).
    pub(crate) prefill_complete: Option<u64>,
    /// The decode worker's first token (own only).
    pub(crate) decode_first_token: Option<u64>,
    /// The other hop's prefill start, first token and finish as merged (placed on this
    /// tracker's base), whether or not the tracker has its own.
    pub(crate) merged: [Option<u64>; 3],
}
