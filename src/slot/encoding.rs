//! The `v + 1` encoding shared by the single-word slots ([`OnceStamp`](super::OnceStamp),
//! [`BlockStamp`](super::BlockStamp)'s finish half, and in 32 bits [`OnceU32`](super::OnceU32)).
//!
//! A slot word of `0` means "nothing recorded"; `v + 1` means `v` was recorded. Every value up to
//! [`MAX_STORED`] (`u64::MAX - 1`, about 584 years in nanoseconds) is storable, 0 included, so an
//! event at offset 0 is not confused with "never happened". Because unset is the smallest
//! word, a monotonic max over encoded words is a monotonic max over values.
//!
//! [`PackedPair`](super::PackedPair) uses the same idea on its upper half (`whole + 1`).

/// The largest value a single-word slot stores: `u64::MAX - 1`.
pub(crate) const MAX_STORED: u64 = u64::MAX - 1;

/// The slot word for `value`; values above [`MAX_STORED`] clamp to it, so the `+ 1` can never
/// wrap to "unset".
#[inline]
pub(crate) const fn encode(value: u64) -> u64 {
    if value > MAX_STORED {
        MAX_STORED + 1
    } else {
        value + 1
    }
}

/// The value a slot word holds, `None` for unset.
#[inline]
pub(crate) const fn decode(word: u64) -> Option<u64> {
    word.checked_sub(1)
}

/// The largest value a 32-bit single-word slot ([`OnceU32`](super::OnceU32)) stores:
/// `u32::MAX - 1`.
pub(crate) const MAX_STORED_U32: u32 = u32::MAX - 1;

/// The 32-bit slot word for `value`, or `None` when `value` is above [`MAX_STORED_U32`] (a
/// 32-bit slot refuses such a value rather than clamping it).
#[inline]
pub(crate) fn encode_u32(value: u64) -> Option<u32> {
    u32::try_from(value)
        .ok()
        .filter(|&v| v <= MAX_STORED_U32)
        .map(|v| v + 1)
}

/// The value a 32-bit slot word holds, `None` for unset.
#[inline]
pub(crate) const fn decode_u32(word: u32) -> Option<u32> {
    word.checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_storable_and_distinct_from_unset() {
        assert_eq!(decode(encode(0)), Some(0));
        assert_eq!(decode(0), None);
    }

    #[test]
    fn values_above_the_maximum_clamp_instead_of_wrapping() {
        assert_eq!(decode(encode(u64::MAX)), Some(MAX_STORED));
        assert_eq!(decode(encode(MAX_STORED)), Some(MAX_STORED));
    }

    #[test]
    fn encoding_preserves_order() {
        assert!(encode(3) < encode(4));
        assert!(0 < encode(0));
    }

    #[test]
    fn the_32_bit_encoding_stores_zero_and_its_maximum_and_refuses_beyond() {
        assert_eq!(encode_u32(0).and_then(decode_u32), Some(0));
        assert_eq!(
            encode_u32(u64::from(MAX_STORED_U32)).and_then(decode_u32),
            Some(MAX_STORED_U32)
        );
        assert_eq!(encode_u32(u64::from(u32::MAX)), None);
        assert_eq!(decode_u32(0), None);
    }
}
