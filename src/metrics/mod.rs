//! Metrics layer: what the tracker's stamps feed to a `metrics` recorder.
//!
//! * `worker` (private): the per-worker "last value" gauges and their handle
//!   cache.
//! * `request`: the per-request metrics (counters, gauges, histograms) of Dynamo's frontend.
//!
//! The facade crate is always named `::metrics` here, never this module.

mod request;
mod worker;

pub use request::*;
pub use worker::*;
