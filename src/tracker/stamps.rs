//! Timestamps: the first-write stamps (prefill start, first token, decode first token,
//! prefill complete) and the latest-wins finish, each with its `_at(Instant)` twin.
//!
//! The clock-reading calls skip the clock read when their first-write slot is already set (a
//! later phase's call costs one `Relaxed` load).
//!
//! [`RequestTracker::latest_stamp_instant`] turns the stamps back into an `Instant`: the gauge
//! observations use it as their "now" instead of reading the clock.

use super::RequestTracker;
use std::time::{Duration, Instant};

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
        self.block().record_finish(self.offset(t));
    }

    /// Records a block boundary now: the output length so far and a finish, as **one** value.
    ///
    /// The same as [`record_osl`](Self::record_osl) then [`record_finish`](Self::record_finish)
    /// (osl: last write; finish: the latest, never backwards), except that no reader can see
    /// one without the other: [`avg_itl_ms`](Self::avg_itl_ms), [`snapshot`](Self::snapshot)
    /// and the metrics never pair this block's osl with the previous block's finish. Written
    /// with the two separate calls, the pair can be read apart between them (the reference's
    /// race). One 128-bit CAS.
    ///
    /// ```
    /// use reqtrack::RequestTracker;
    /// use std::time::{Duration, Instant};
    /// let t0 = Instant::now();
    /// let t = RequestTracker::with_received_at(t0, 0);
    /// t.record_first_token_at(t0 + Duration::from_millis(10));
    /// t.record_osl_and_finish_at(17, t0 + Duration::from_millis(42));
    /// assert_eq!(t.osl_tokens(), 17);
    /// assert_eq!(t.avg_itl_ms(), Some(2.0));
    /// ```
    #[inline]
    pub fn record_osl_and_finish(&self, osl: usize) {
        self.record_osl_and_finish_at(osl, Instant::now());
    }

    /// [`record_osl_and_finish`](Self::record_osl_and_finish) with the finish at `t`.
    #[inline]
    pub fn record_osl_and_finish_at(&self, osl: usize, t: Instant) {
        self.block().record(osl as u64, self.offset(t));
    }

    // ---- instants for observers -------------------------------------------------------

    /// The latest instant this tracker stamped (prefill start, first token, decode first
    /// token, prefill complete, finish), or its arrival instant when none is set: the closest
    /// the tracker knows to "now" for an observation made right after a stamp. Reads the five
    /// stamps (their own orderings); no clock read.
    pub(crate) fn latest_stamp_instant(&self) -> Instant {
        let latest = [
            self.prefill_start.get(),
            self.first_token.get(),
            self.decode_first_token.get(),
            self.prefill_complete.get(),
            self.block().get().0,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        // An offset came from an instant `base + offset`, so the sum fits unless the offset
        // was clamped at ~584 years; the arrival instant stands in then.
        self.base
            .checked_add(Duration::from_nanos(latest))
            .unwrap_or(self.base)
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    #[test]
    fn latest_stamp_instant_is_the_arrival_while_nothing_is_stamped() {
        let t0 = Instant::now();
        let t = RequestTracker::with_received_at(t0, 0);
        t.record_isl(10, 0);
        assert_eq!(t.latest_stamp_instant(), t0);
    }

    #[test]
    fn latest_stamp_instant_is_the_latest_of_the_stamps() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let t = RequestTracker::with_received_at(t0, 0);
        t.record_first_token_at(at(40));
        assert_eq!(t.latest_stamp_instant(), at(40));
        t.record_prefill_start_at(at(10)); // earlier: no change
        assert_eq!(t.latest_stamp_instant(), at(40));
        t.record_finish_at(at(90));
        assert_eq!(t.latest_stamp_instant(), at(90));
        t.record_prefill_complete_at(at(95));
        assert_eq!(t.latest_stamp_instant(), at(95));
        t.record_decode_first_token_at(at(120));
        assert_eq!(t.latest_stamp_instant(), at(120));
    }

    #[test]
    fn latest_stamp_instant_of_an_instant_before_arrival_is_the_arrival() {
        let t0 = Instant::now() + Duration::from_secs(5);
        let t = RequestTracker::with_received_at(t0, 0);
        t.record_first_token_at(Instant::now());
        assert_eq!(t.latest_stamp_instant(), t0);
    }
}
