//! Nanosecond offsets from a tracker's base `Instant`, and the saturating conversions the
//! tracker uses for durations.
//!
//! Every stored time is `t - base` in nanoseconds. An instant earlier than the base clamps to
//! offset 0, like [`Instant::saturating_duration_since`]; an offset or duration beyond
//! [`MAX_NANOS`] (about 584 years) clamps to it. `MAX_NANOS` is `u64::MAX - 1` so that every
//! storable value, 0 included, still fits after the slots' `+ 1` "set" encoding.

use std::time::{Duration, Instant};

/// The largest number of nanoseconds a slot stores: `u64::MAX - 1` (about 584 years), the
/// limit of the slots' `v + 1` encoding.
pub(crate) const MAX_NANOS: u64 = crate::slot::MAX_STORED;

/// `d` in nanoseconds, saturating at [`MAX_NANOS`].
#[inline]
pub(crate) fn nanos_saturating(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).map_or(MAX_NANOS, |n| n.min(MAX_NANOS))
}

/// The offset of `t` from `base` in nanoseconds; 0 when `t` is earlier than `base`.
#[inline]
pub(crate) fn offset_since(base: Instant, t: Instant) -> u64 {
    nanos_saturating(t.saturating_duration_since(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_of_the_base_itself_is_zero() {
        let base = Instant::now();
        assert_eq!(offset_since(base, base), 0);
    }

    #[test]
    fn instant_before_base_clamps_to_zero() {
        let base = Instant::now() + Duration::from_secs(5);
        assert_eq!(offset_since(base, Instant::now()), 0);
    }

    #[test]
    fn offset_counts_nanoseconds() {
        let base = Instant::now();
        assert_eq!(
            offset_since(base, base + Duration::from_micros(1500)),
            1_500_000
        );
    }

    #[test]
    fn huge_duration_saturates_below_u64_max() {
        assert_eq!(nanos_saturating(Duration::MAX), MAX_NANOS);
        assert_eq!(nanos_saturating(Duration::from_nanos(u64::MAX)), MAX_NANOS);
        assert_eq!(
            nanos_saturating(Duration::from_nanos(MAX_NANOS - 1)),
            MAX_NANOS - 1
        );
    }
}
