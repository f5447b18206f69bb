//! The slots' `Relaxed` pre-check loads, and the loom-only switch that turns them off.
//!
//! [`OnceStamp::set`](super::OnceStamp) and [`LatestStamp::record`](super::LatestStamp) first
//! load their word with `Relaxed` and skip the RMW when it could change nothing (the slot is
//! already set, or already at least as late). The load decides nothing visible: skipping is
//! correct whatever it returns, because the words only ever move one way.
//!
//! # Why loom models can turn them off
//!
//! loom does not produce every stale read it should once the writing thread has *loaded* the
//! location it then writes: a two-location message-passing model (`a = 1; b = 1` against
//! `if b == 1 { assert a == 1 }`, all `Relaxed`) fails under loom as it must, but passes as soon
//! as the writer loads `b` before storing it, which is exactly what a pre-check does. With the
//! pre-checks on, weakening the stamps' `Release`/`Acquire` to `Relaxed` failed no model. The
//! ordering models therefore run with the pre-checks off ([`without_prechecks`]), where loom
//! does find the reordering: the weakened build fails
//! `finish_is_never_seen_before_its_first_token` and the built one passes. Other models keep
//! them on, so the skip paths are checked too. Normal builds have no switch: `enabled()` is
//! the constant `true`.

#[cfg(reqtrack_loom)]
std::thread_local! {
    /// Set by [`without_prechecks`]. A loom model runs all its simulated threads on the test's
    /// own OS thread, so a thread-local covers the whole model and no other test.
    static OFF: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the slots run their `Relaxed` pre-checks (always, outside loom models).
#[inline(always)]
pub(crate) fn enabled() -> bool {
    #[cfg(reqtrack_loom)]
    {
        !OFF.with(std::cell::Cell::get)
    }
    #[cfg(not(reqtrack_loom))]
    {
        true
    }
}

/// Runs `f` (a whole `loom::model`) with the slots' pre-checks off; loom builds only.
#[cfg(reqtrack_loom)]
pub fn without_prechecks<T>(f: impl FnOnce() -> T) -> T {
    OFF.with(|off| off.set(true));
    let out = f();
    OFF.with(|off| off.set(false));
    out
}
