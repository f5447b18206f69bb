//! Helpers shared by the bench binaries.

#![allow(dead_code)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls a future that must be ready at once (an uncontended gate).
pub fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("expected an uncontended, ready future"),
    }
}

// Not every bench binary measures allocations.
#[allow(unused_imports)]
pub use reqtrack_check::alloc::{CountingAlloc, allocations};
