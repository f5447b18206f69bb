//! The tracker's per-worker gauge observations: one call at the first token, one at the finish.

use super::gauges::{WorkerGauge, set_worker_gauges};
use crate::RequestTracker;

impl RequestTracker {
    /// Sets TTFT and ISL on the prefill worker's gauges (labels from the prefill slot, its
    /// recorded type). Does nothing with no prefill worker recorded; skips a value not yet
    /// known. No allocation or registry lookup after the worker's first observation.
    pub fn observe_first_token_gauges(&self) {
        let Some(w) = self.prefill_worker_info() else {
            return;
        };
        let mut values = [(WorkerGauge::Ttft, 0.0); 2];
        let mut n = 0;
        if let Some(ttft) = self.ttft_ms() {
            values[n] = (WorkerGauge::Ttft, ttft / 1000.0);
            n += 1;
        }
        if let Some(isl) = self.isl_tokens() {
            values[n] = (WorkerGauge::Isl, isl as f64);
            n += 1;
        }
        set_worker_gauges(w, &values[..n]);
    }

    /// Sets the average ITL on the decode worker's gauge (labels from the decode slot). Does
    /// nothing with no decode worker recorded or while the ITL is unknown.
    pub fn observe_finish_gauges(&self) {
        let Some(w) = self.decode_worker_info() else {
            return;
        };
        if let Some(itl) = self.avg_itl_ms() {
            set_worker_gauges(w, &[(WorkerGauge::Itl, itl / 1000.0)]);
        }
    }
}
