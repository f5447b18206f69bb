//! Timestamps: the first-write stamps (prefill start, first token, decode first token,
//! prefill complete) and the latest-wins finish, each with its `_at(Instant)` twin.
//!
//! The clock-reading calls skip the clock read when their first-write slot is already set (a
//! later phase's call costs one `Relaxed` load).

use super::RequestTracker;
use std::time::Instant;

impl RequestTracker {
    // ---- timestamps -------------------------------------------------------------------

    /// Records prefill start now. `true` if this call set it (first write wins).
    #[inline]
    pub fn record_prefill_start(&self) -> bool {
        // Already set: skip the clock read (the later phase's call costs one load).
        !self.prefill_start.is_set() && self.record_prefill_start_at(Instant::now())
    }

    /// Records prefill start at `t` (an instant before the request clamps to offset 0).
    /// `true` if this call set it.
    #[inline]
    pub fn record_prefill_start_at(&self, t: Instant) -> bool {
        self.prefill_start.set(self.offset(t))
    }

    /// Records the first token now. `true` if this call set it: in disaggregated serving the
    /// prefill phase's first token is kept and the decode phase's later call returns `false`.
    #[inline]
    pub fn record_first_token(&self) -> bool {
        // Already set: skip the clock read (the later phase's call costs one load).
        !self.first_token.is_set() && self.record_first_token_at(Instant::now())
    }

    /// Records the first token at `t`. `true` if this call set it.
    #[inline]
    pub fn record_first_token_at(&self, t: Instant) -> bool {
        self.first_token.set(self.offset(t))
    }

    /// Records the decode worker's first token now (KV transfer estimate). `true` if this call
    /// set it.
    #[inline]
    pub fn record_decode_first_token(&self) -> bool {
        // Already set: skip the clock read (the later phase's call costs one load).
        !self.decode_first_token.is_set() && self.record_decode_first_token_at(Instant::now())
    }

    /// Records the decode worker's first token at `t`. `true` if this call set it.
    #[inline]
    pub fn record_decode_first_token_at(&self, t: Instant) -> bool {
        self.decode_first_token.set(self.offset(t))
    }

    /// Records when the prefill result reached the router, now. `true` if this call set it.
    #[inline]
    pub fn record_prefill_complete(&self) -> bool {
        // Already set: skip the clock read (the later phase's call costs one load).
        !self.prefill_complete.is_set() && self.record_prefill_complete_at(Instant::now())
    }

    /// Records when the prefill result reached the router, at `t`. `true` if this call set it.
    #[inline]
    pub fn record_prefill_complete_at(&self, t: Instant) -> bool {
        self.prefill_complete.set(self.offset(t))
    }

    /// Records a finish now. The finish is the latest one recorded; it never moves backwards.
    #[inline]
    pub fn record_finish(&self) {
        self.record_finish_at(Instant::now());
    }

    /// Records a finish at `t`; ignored if a later finish is already recorded.
    #[inline]
    pub fn record_finish_at(&self, t: Instant) {
        self.finish.record(self.offset(t));
    }
}
