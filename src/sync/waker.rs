//! The phase gate's wake-up, as a trait.
//!
//! The gate needs three things from a wake-up primitive, with tokio `Notify`'s semantics:
//!
//! * a waiter future that can be *registered* before it is first polled, so a release that
//!   lands between "the gate is held" and "start waiting" is not lost;
//! * `wake_one`, which wakes one registered waiter or, when none is registered, leaves a
//!   single permit that the next registration consumes;
//! * a waiter that is dropped after being chosen by `wake_one` passes the wake-up on to
//!   another waiter (or back to the permit), so a cancelled `set_phase` loses nothing.

use std::future::Future;
use std::pin::Pin;

/// A wake-up primitive with tokio `Notify`'s `notify_one` semantics.
pub(crate) trait GateWaker: Send + Sync {
    /// The future a waiter awaits.
    type Waiter<'a>: Future<Output = ()> + Send
    where
        Self: 'a;

    /// A new, not yet registered waiter.
    fn waiter(&self) -> Self::Waiter<'_>;

    /// Registers the waiter so that a later `wake_one` can choose it.
    fn register(waiter: Pin<&mut Self::Waiter<'_>>);

    /// Wakes one registered waiter, or stores one permit when none is registered.
    fn wake_one(&self);
}

impl GateWaker for super::Notify {
    type Waiter<'a> = super::Waiter<'a>;

    fn waiter(&self) -> Self::Waiter<'_> {
        self.notified()
    }

    fn register(waiter: Pin<&mut Self::Waiter<'_>>) {
        // tokio's `enable` returns whether a permit was already there; the gate re-checks its
        // own state after registering, so the answer is not needed.
        let _ = waiter.enable();
    }

    fn wake_one(&self) {
        self.notify_one();
    }
}
