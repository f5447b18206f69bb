//! The formulas every report shares: milliseconds and seconds from nanosecond offsets (and
//! back, for merged values), and the derived figures (prefill time, average ITL, KV hit rate,
//! KV transfer estimate). One formula each, used by the getters,
//! [`TimingInfo`](super::TimingInfo), the snapshot and the metrics alike, so they can never
//! disagree.
//!
//! Milliseconds are `nanos / 1e6` in `f64`, one correctly rounded division, rather than the
//! reference's `as_secs_f64() * 1000.0` (two roundings: it prints `93086.80811499999` where this
//! prints `93086.808115`). Seconds are `nanos / 1e9`, likewise one division.

/// Nanoseconds as milliseconds, `nanos / 1e6`, correctly rounded.
#[inline]
pub(crate) fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000.0
}

/// Nanoseconds as seconds, `nanos / 1e9`, correctly rounded.
#[inline]
pub(crate) fn secs(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000_000.0
}

/// Seconds from a millisecond figure of `nvext.timing`: `ms / 1000.0`. Every seconds metric (the
/// request histograms, the per-worker gauges) converts through here, so its samples equal what a
/// client computes from the JSON it received.
#[inline]
pub(crate) fn secs_from_ms(ms: f64) -> f64 {
    ms / 1000.0
}

/// Milliseconds (another hop's `f64`) as nanoseconds, rounded to the nearest; `None` for NaN,
/// a negative value or infinity (an unknown value is skipped, never recorded as 0). Values past
/// `max_nanos` clamp to it. For any `n` below 2^51 ns (26 days), `nanos_from_ms(ms(n)) == n`.
#[inline]
pub(crate) fn nanos_from_ms(millis: f64, max_nanos: u64) -> Option<u64> {
    if !millis.is_finite() || millis < 0.0 {
        return None;
    }
    // `as` saturates at `u64::MAX`; the `min` brings that down to the storable maximum.
    Some(((millis * 1_000_000.0).round() as u64).min(max_nanos))
}

/// `later - earlier` in nanoseconds, saturating at 0: the one rule for every duration between
/// two stamps (the millisecond figures, the KV transfer estimate, the trace's phase spans).
#[inline]
pub(crate) fn elapsed(earlier: u64, later: u64) -> u64 {
    later.saturating_sub(earlier)
}

/// `later - earlier` in milliseconds, saturating at 0.
#[inline]
pub(crate) fn span_ms(earlier: u64, later: u64) -> f64 {
    ms(elapsed(earlier, later))
}

/// `(finish - first) / (osl - 1)` in ms; `None` without both stamps or with `osl < 2`.
#[inline]
pub(crate) fn avg_itl(first: Option<u64>, finish: Option<u64>, osl: u64) -> Option<f64> {
    match (first, finish) {
        (Some(first), Some(finish)) if osl >= 2 => Some(span_ms(first, finish) / (osl - 1) as f64),
        _ => None,
    }
}

/// Prefill start to first token in ms; `None` without both.
#[inline]
pub(crate) fn prefill_time(start: Option<u64>, first: Option<u64>) -> Option<f64> {
    start.zip(first).map(|(s, f)| span_ms(s, f))
}

/// `overlap / isl_blocks`; `None` for an empty prompt. A whole overlap gives exactly the
/// reference's `overlap as f64 / isl as f64`.
#[inline]
pub(crate) fn hit_rate(overlap_blocks: f64, isl_blocks: u64) -> Option<f64> {
    (isl_blocks != 0).then(|| overlap_blocks / isl_blocks as f64)
}

/// The KV transfer estimate in nanoseconds: decode worker's first token minus prefill
/// complete (an upper bound: dispatch + network + transfer + one decode step), saturating at 0;
/// `None` without both stamps.
#[inline]
pub(crate) fn kv_transfer(prefill_complete: Option<u64>, decode_first: Option<u64>) -> Option<u64> {
    prefill_complete
        .zip(decode_first)
        .map(|(c, d)| elapsed(c, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ms_is_one_correctly_rounded_division_not_the_references_two() {
        let nanos = 93_086_808_115;
        assert_eq!(ms(nanos), 93086.808115);
        assert_eq!(ms(nanos).to_string(), "93086.808115");
        // The reference's formula, for the record: it rounds twice.
        let reference = std::time::Duration::from_nanos(nanos).as_secs_f64() * 1000.0;
        assert_eq!(reference.to_string(), "93086.80811499999");
    }

    #[test]
    fn span_never_goes_negative() {
        assert_eq!(span_ms(10, 5), 0.0);
        assert_eq!(span_ms(1_000_000, 3_000_000), 2.0);
    }

    #[test]
    fn avg_itl_needs_two_tokens_and_both_stamps() {
        assert_eq!(avg_itl(Some(0), Some(10_000_000), 1), None);
        assert_eq!(avg_itl(None, Some(10_000_000), 5), None);
        assert_eq!(avg_itl(Some(0), Some(10_000_000), 11), Some(1.0));
    }

    #[test]
    fn hit_rate_of_an_empty_prompt_is_unknown() {
        assert_eq!(hit_rate(0.0, 0), None);
        assert_eq!(hit_rate(3.0, 4), Some(0.75));
        assert_eq!(hit_rate(2.5, 4), Some(0.625));
    }

    #[test]
    fn secs_is_one_correctly_rounded_division() {
        assert_eq!(secs(1_500_000_000), 1.5);
        assert_eq!(secs(93_086_808_115), 93.086808115);
    }

    #[test]
    fn kv_transfer_needs_both_stamps_and_never_goes_negative() {
        assert_eq!(kv_transfer(Some(6), None), None);
        assert_eq!(kv_transfer(None, Some(8)), None);
        assert_eq!(kv_transfer(Some(6), Some(8)), Some(2));
        assert_eq!(kv_transfer(Some(8), Some(6)), Some(0));
    }

    #[test]
    fn milliseconds_back_to_nanoseconds_round_trip() {
        for n in [0, 1, 999, 1_234_567, 93_086_808_115, (1 << 51) - 1] {
            assert_eq!(nanos_from_ms(ms(n), u64::MAX - 1), Some(n), "{n}");
        }
    }

    #[test]
    fn unknown_milliseconds_are_skipped_and_huge_ones_clamp() {
        for bad in [f64::NAN, -1.0, -0.001, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(nanos_from_ms(bad, 100), None, "{bad}");
        }
        assert_eq!(nanos_from_ms(-0.0, 100), Some(0));
        assert_eq!(nanos_from_ms(1e300, 100), Some(100));
    }
}
