//! Every constant of the checker in one place: input sizes, thread counts, and the limits of the
//! contract the model enforces (written out here from the README's contract, not imported from the
//! library, so the model stays an independent specification).

/// The most operations one `model` / `json` input decodes.
pub(crate) const MAX_OPS: usize = 64;

/// Fewest logical threads an `interleave` input runs.
pub(crate) const MIN_THREADS: usize = 2;

/// Most logical threads an `interleave` input runs (sizes the model's per-thread state).
pub(crate) const MAX_THREADS: usize = 4;

/// Most operations one logical thread of an `interleave` input issues (before the release the
/// decoder appends to a thread that still holds the permit).
pub(crate) const MAX_THREAD_OPS: usize = 5;

/// The largest nanosecond offset or duration a slot stores (`u64::MAX - 1`).
pub(crate) const MAX_NANOS: u64 = u64::MAX - 1;

/// The largest conflict count one worker slot holds (`2^28 - 1`).
pub(crate) const MAX_SLOT_CONFLICTS: u32 = (1 << 28) - 1;

/// The largest detokenize sample count (`2^63 - 1`); the count saturates there.
pub(crate) const MAX_DETOKENIZE_COUNT: u64 = (1 << 63) - 1;

/// The largest count a packed pair stores (`2^32 - 2`); the library exports the same value.
pub(crate) const MAX_COUNT: u64 = (u32::MAX - 1) as u64;

/// The largest router queue depth the tracker stores (`2^32 - 2`); a deeper one is refused.
pub(crate) const MAX_QUEUE_DEPTH: u64 = (u32::MAX - 1) as u64;

#[cfg(test)]
mod tests {
    #[test]
    fn the_models_count_limit_is_the_librarys() {
        assert_eq!(super::MAX_COUNT, reqtrack::MAX_COUNT);
    }
}
