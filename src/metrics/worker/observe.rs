//! The tracker's per-worker gauge observations: one call at the first token, one at the finish.
//!
//! Each observation is dated by the tracker's latest stamp (no clock read); the handle cache
//! uses that instant for its TTL (see `handle_cache`).

use super::gauges::WorkerGauge;
use super::handle_cache::set_worker_gauges;
use crate::RequestTracker;
use crate::report::derive::secs_from_ms;

impl RequestTracker {
    /// Sets TTFT and ISL on the prefill worker's gauges (labels from the prefill slot, its
    /// recorded type). Does nothing with no prefill worker recorded; skips a value not yet
    /// known. No allocation or registry lookup when this thread used the worker's handles
    /// under the same (non-zero-sized) recorder within the gauge-handle TTL
    /// ([`set_gauge_handle_ttl`](crate::set_gauge_handle_ttl)). Call it promptly after the
    /// first token is stamped: the observation is dated by the tracker's latest stamp.
    pub fn observe_first_token_gauges(&self) {
        let Some(w) = self.prefill_worker_info() else {
            return;
        };
        let mut values = [(WorkerGauge::Ttft, 0.0); 2];
        let mut n = 0;
        if let Some(ttft) = self.ttft_ms() {
            values[n] = (WorkerGauge::Ttft, secs_from_ms(ttft));
            n += 1;
        }
        if let Some(isl) = self.isl_tokens() {
            values[n] = (WorkerGauge::Isl, isl as f64);
            n += 1;
        }
        if n > 0 {
            set_worker_gauges(w, &values[..n], self.latest_stamp_instant());
        }
    }

    /// Sets the average ITL on the decode worker's gauge (labels from the decode slot). Does
    /// nothing with no decode worker recorded or while the ITL is unknown. Call it promptly
    /// after the finish is stamped; caching as for
    /// [`observe_first_token_gauges`](Self::observe_first_token_gauges).
    pub fn observe_finish_gauges(&self) {
        let Some(w) = self.decode_worker_info() else {
            return;
        };
        if let Some(itl) = self.avg_itl_ms() {
            set_worker_gauges(
                w,
                &[(WorkerGauge::Itl, secs_from_ms(itl))],
                self.latest_stamp_instant(),
            );
        }
    }
}
