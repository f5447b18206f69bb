//! The end-of-request observation: every per-request histogram, read from the tracker's
//! stamps, once per request.
//!
//! # The equality guarantee
//!
//! The timing histograms take their samples from [`RequestTracker::get_timing_info`], the very
//! value a client receives as `nvext.timing`, converted by [`seconds`]: `ms / 1000.0`, the
//! division a client would do. So for any single request the TTFT histogram's sum is exactly
//! `ttft_ms / 1000` of its `nvext.timing`, the duration histogram's `total_time_ms / 1000`, and
//! likewise prefill wait and prefill time, bit for bit. Decode time and osl combine the finish
//! with the first token / osl, so they are read through the tracker's one consistent read
//! (`stream_stamps`: finish first). The detokenize average divides a sum by a count read as
//! one value (`detokenize_total_and_count`), so a concurrent sample never splits them.
//!
//! Unknown values are skipped, never recorded as 0: a request without a first token has no TTFT,
//! decode-time or prefill-time sample; osl is recorded only when above 0 (Dynamo's rule).

use super::model_metrics::{Hist, ModelMetrics};
use crate::RequestTracker;
use crate::report::derive::{ms, secs_from_ms as seconds, span_ms};
use std::time::Duration;

/// A duration in milliseconds, by the crate's one formula (`nanos / 1e6`).
#[inline]
fn duration_ms(d: Duration) -> f64 {
    ms(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Records every end-of-request histogram of `t` into `m`.
///
/// `ttft_pending`: the stream has not recorded TTFT (no token-bearing chunk went through a
/// [`StreamMetrics`](crate::StreamMetrics)), so it is recorded here if the tracker knows it.
pub(super) fn observe_end(m: &ModelMetrics, t: &RequestTracker, ttft_pending: bool) {
    let timing = t.get_timing_info();
    let stream = t.stream_stamps();

    m.record(Hist::Duration, timing.total_time_ms.map(seconds));
    if ttft_pending {
        m.record(Hist::Ttft, timing.ttft_ms.map(seconds));
    }
    m.record(Hist::PrefillWait, timing.prefill_wait_time_ms.map(seconds));
    m.record(Hist::PrefillTime, timing.prefill_time_ms.map(seconds));
    let decode = stream.first.zip(stream.finish);
    m.record(
        Hist::DecodeTime,
        decode.map(|(first, finish)| seconds(span_ms(first, finish))),
    );
    m.record(Hist::KvHitRate, timing.kv_hit_rate);
    m.record(
        Hist::KvTransfer,
        timing.kv_transfer_estimated_latency_ms.map(seconds),
    );

    m.record(Hist::Osl, (stream.osl > 0).then_some(stream.osl as f64));
    m.record(Hist::Isl, t.isl_tokens().map(|n| n as f64));
    m.record(Hist::Cached, t.cached_tokens().map(|n| n as f64));

    m.record(Hist::Tokenize, t.tokenize_latency().map(duration_ms));
    // Sum and count from one read: two reads could pair a sum with a later, larger count.
    let detokenize = t.detokenize_total_and_count();
    m.record(
        Hist::Detokenize,
        detokenize.map(|(total, count)| duration_ms(total) / count as f64),
    );

    // Always known: a request that never migrated records 0.
    m.record(Hist::Migrations, Some(f64::from(t.migrations())));
}
