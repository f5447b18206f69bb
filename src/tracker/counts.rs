//! Counts and durations: KV hit (whole or effective overlap), prompt length and cache share,
//! output length, migrations, tokenizer latencies, router queue depth.

use super::RequestTracker;
use super::clock::nanos_saturating;
use crate::slot::{MAX_COUNT, OverlapRejected, PairRejected};
use crate::sync::Ordering;
use std::time::Duration;

impl RequestTracker {
    // ---- counts ---------------------------------------------------------------------

    /// [`record_kv_hit`](Self::record_kv_hit) with a `u32` overlap, and the reason for a
    /// rejection.
    ///
    /// `Ok(true)`: set by this call; `Ok(false)`: already set; `Err(_)`: rejected.
    ///
    /// ```
    /// use reqtrack::{PairRejected, RequestTracker};
    /// let t = RequestTracker::new();
    /// assert_eq!(t.try_record_kv_hit(5, 4), Err(PairRejected::PartExceedsWhole));
    /// assert_eq!(t.try_record_kv_hit(3, 4), Ok(true));
    /// assert_eq!(t.try_record_kv_hit(1, 4), Ok(false));
    /// assert_eq!(t.kv_hit_rate(), Some(0.75));
    /// ```
    #[inline]
    pub fn try_record_kv_hit(
        &self,
        overlap_blocks: u32,
        isl_blocks: usize,
    ) -> Result<bool, PairRejected> {
        let whole = u64::try_from(isl_blocks).map_err(|_| PairRejected::TooLarge)?;
        // `u32::MAX` overlaps are `TooLarge`, whatever `isl_blocks` is, as they always were.
        if u64::from(overlap_blocks) > MAX_COUNT {
            return Err(PairRejected::TooLarge);
        }
        self.kv_hit.set(f64::from(overlap_blocks), whole)
    }

    /// [`record_kv_hit`](Self::record_kv_hit) with an `f64` (effective, fractional) overlap, and
    /// the reason for a rejection (the first failing check, in [`OverlapRejected`]'s order).
    ///
    /// The overlap is kept exactly as passed (its `f64` bits; an `f32` converts losslessly with
    /// `f64::from`), so [`kv_hit_rate`](Self::kv_hit_rate) is `effective_overlap_blocks /
    /// isl_blocks` with no rounding of the stored value; `-0.0` is recorded as `0.0`.
    ///
    /// `Ok(true)`: set by this call; `Ok(false)`: already set (by either method); `Err(_)`:
    /// rejected.
    ///
    /// ```
    /// use reqtrack::{OverlapRejected, RequestTracker};
    /// let t = RequestTracker::new();
    /// assert_eq!(t.try_record_kv_hit_effective(f64::NAN, 4), Err(OverlapRejected::NotANumber));
    /// assert_eq!(t.try_record_kv_hit_effective(4.5, 4), Err(OverlapRejected::ExceedsIsl));
    /// assert_eq!(t.try_record_kv_hit_effective(2.5, 4), Ok(true));
    /// assert_eq!(t.try_record_kv_hit(3, 4), Ok(false)); // one slot for both methods
    /// assert_eq!(t.kv_hit_rate(), Some(0.625));
    /// ```
    #[inline]
    pub fn try_record_kv_hit_effective(
        &self,
        effective_overlap_blocks: f64,
        isl_blocks: usize,
    ) -> Result<bool, OverlapRejected> {
        let whole = u64::try_from(isl_blocks).map_err(|_| OverlapRejected::TooLarge)?;
        self.kv_hit.set_effective(effective_overlap_blocks, whole)
    }

    /// Records the prompt length and the cached share `(isl_tokens, cached_tokens)` once.
    ///
    /// Returns `true` if this call set it, `false` if it was already set **or the input is
    /// rejected**: `cached_tokens > isl_tokens`, or a count above `2^32 - 2`. A rejected write
    /// changes nothing and leaves the slot free.
    #[inline]
    pub fn record_isl(&self, isl_tokens: usize, cached_tokens: usize) -> bool {
        matches!(self.try_record_isl(isl_tokens, cached_tokens), Ok(true))
    }

    /// [`record_isl`](Self::record_isl) with the reason for a rejection.
    #[inline]
    pub fn try_record_isl(
        &self,
        isl_tokens: usize,
        cached_tokens: usize,
    ) -> Result<bool, PairRejected> {
        let whole = u64::try_from(isl_tokens).map_err(|_| PairRejected::TooLarge)?;
        let part = u64::try_from(cached_tokens).map_err(|_| PairRejected::TooLarge)?;
        self.isl.set(part, whole)
    }

    /// Prompt length in tokens, if recorded.
    #[inline]
    pub fn isl_tokens(&self) -> Option<usize> {
        self.isl.get().map(|(_, whole)| whole as usize)
    }

    /// Prompt tokens found in the KV cache, if recorded.
    #[inline]
    pub fn cached_tokens(&self) -> Option<usize> {
        self.isl.get().map(|(part, _)| part as usize)
    }

    /// Records the output length so far (last write wins; called at each block boundary).
    #[inline]
    pub fn record_osl(&self, osl: usize) {
        self.block().record_osl(osl as u64);
    }

    /// Output tokens recorded so far (0 before any).
    #[inline]
    pub fn osl_tokens(&self) -> u64 {
        self.block().get().1
    }

    // ---- migrations ---------------------------------------------------------------

    /// Counts one migration of the request to another worker (e.g. after its worker went away
    /// mid-stream). Saturates at `u32::MAX` instead of wrapping. Lock-free (a `Relaxed` CAS
    /// loop: the count publishes nothing else), no allocation.
    #[inline]
    pub fn record_migration(&self) {
        // The closure returns `None` only at `u32::MAX`, where the count stays as it is.
        let _ = self
            .migrations
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1));
    }

    /// Migrations recorded so far (0 before any; at most `u32::MAX`).
    #[inline]
    pub fn migrations(&self) -> u32 {
        self.migrations.load(Ordering::Relaxed)
    }

    // ---- tokenizer ----------------------------------------------------------------

    /// Records the tokenize latency once (first write wins). Saturates at `u64::MAX - 1`
    /// nanoseconds (about 584 years).
    #[inline]
    pub fn record_tokenize_latency(&self, l: Duration) {
        self.tokenize.set(nanos_saturating(l));
    }

    /// Tokenize latency, if recorded.
    #[inline]
    pub fn tokenize_latency(&self) -> Option<Duration> {
        self.tokenize.get().map(Duration::from_nanos)
    }

    /// Adds one detokenize sample (once per generated token): one atomic CAS while the sum is
    /// under 2^39 ns (about 9 minutes) and the count under 2^23; two RMWs after. The sum
    /// saturates at `u64::MAX` nanoseconds and the count at 2^63 − 1 instead of wrapping.
    #[inline]
    pub fn record_detokenize_latency(&self, l: Duration) {
        self.detokenize
            .add(u64::try_from(l.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Sum of detokenize samples; `None` before the first.
    #[inline]
    pub fn detokenize_total_latency(&self) -> Option<Duration> {
        self.detokenize_total_and_count().map(|(total, _)| total)
    }

    /// Number of detokenize samples (saturates at 2^63 − 1).
    #[inline]
    pub fn detokenize_count(&self) -> u64 {
        self.detokenize.get().1
    }

    /// The detokenize sum and count as one value (one read of the slot: exactly the same
    /// samples while packed, a sum covering at least the count's after a spill); `None` before
    /// the first sample. For averages: two calls to the public getters could read the sum and
    /// the count at different moments of a concurrent `record_detokenize_latency`.
    #[inline]
    pub(crate) fn detokenize_total_and_count(&self) -> Option<(Duration, u64)> {
        let (sum, count) = self.detokenize.get();
        (count != 0).then(|| (Duration::from_nanos(sum), count))
    }

    // ---- router -------------------------------------------------------------------

    /// Records the router queue depth at routing time, once. `true` if this call set it;
    /// `false` if already set, or for a depth above `u32::MAX - 1` (4 294 967 294: not
    /// storable, nothing changes; no router queues that many).
    #[inline]
    pub fn record_router_queue_depth(&self, depth: usize) -> bool {
        u64::try_from(depth).is_ok_and(|d| self.router_queue_depth.set(d))
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    #[test]
    fn migrations_saturate_instead_of_wrapping() {
        let t = RequestTracker::new();
        t.migrations.store(u32::MAX - 1, Ordering::Relaxed);
        t.record_migration();
        assert_eq!(t.migrations(), u32::MAX);
        t.record_migration();
        assert_eq!(t.migrations(), u32::MAX);
    }
}
