//! The real primitives: `std`'s atomics, `portable-atomic`'s 128-bit atomic and tokio's
//! `Notify`.
//!
//! `portable_atomic::AtomicU128` is lock-free where the CPU has a 128-bit CAS. On x86-64 that
//! is `cmpxchg16b`, which the crate detects at run time (no `-C target-feature=+cmpxchg16b`
//! needed; with that flag, or on Apple/Windows/Fuchsia targets where it is on by default, the
//! check is made at compile time instead); loads are one `vmovdqa` where AVX is detected, else
//! a `cmpxchg16b`. On AArch64 it is `casp` (LSE, detected at run time) or an `ldxp`/`stxp`
//! loop; riscv64 (`zacas`), powerpc64, s390x are native too. Everywhere else, and on an x86-64
//! CPU without `cmpxchg16b` (none since 2008), it falls back to a global lock table: still
//! correct, no longer lock-free. The test below pins lock-freedom on the targets CI runs.

pub(crate) use portable_atomic::AtomicU128;
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
pub(crate) use tokio::sync::Notify;

/// The future a `Notify` waiter awaits.
pub(crate) type Waiter<'a> = tokio::sync::futures::Notified<'a>;

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    /// CI runs on x86-64 Linux: there the 128-bit slots must be one lock-free instruction
    /// (`cmpxchg16b`, found by run-time detection), not `portable-atomic`'s lock fallback.
    #[test]
    fn atomic_u128_is_lock_free_on_ci_targets() {
        assert!(super::AtomicU128::is_lock_free());
    }
}
