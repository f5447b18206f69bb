//! The formulas every report shares: milliseconds from nanosecond offsets, and the derived
//! figures (prefill time, average ITL, KV hit rate). One formula each, used by the getters,
//! [`TimingInfo`](super::TimingInfo), the snapshot and the metrics alike, so they can never
//! disagree.
//!
//! Milliseconds are `nanos / 1e6` in `f64`, one correctly rounded division, rather than the
//! reference's `as_secs_f64() * 1000.0` (two roundings: it prints `93086.80811499999` where this
//! prints `93086.808115`).

/// Nanoseconds as milliseconds, `nanos / 1e6`, correctly rounded.
#[inline]
pub(crate) fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000.0
}

/// `later - earlier` in milliseconds, saturating at 0.
#[inline]
pub(crate) fn span_ms(earlier: u64, later: u64) -> f64 {
    ms(later.saturating_sub(earlier))
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

/// `overlap / isl_blocks`; `None` for an empty prompt.
#[inline]
pub(crate) fn hit_rate((overlap, isl): (u64, u64)) -> Option<f64> {
    (isl != 0).then(|| overlap as f64 / isl as f64)
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
        assert_eq!(hit_rate((0, 0)), None);
        assert_eq!(hit_rate((3, 4)), Some(0.75));
    }
}
