//! Dynamo's `model_cancellation_total{model, endpoint, request_type}`: one model's cancellation
//! counters, resolved at the first cancellation of each label set.
//!
//! Kept beside the [`ServedModels`](crate::ServedModels) registry, which counts a cancellation
//! with every client disconnect it ends; when [`RequestGuard`](crate::RequestGuard) counts it
//! itself, this file goes.
//!
//! # Synchronisation
//!
//! One `OnceLock` per label set: `get` is an `Acquire` load pairing with the `Release` of the
//! initialising `set`, so a thread that sees the handle sees it built.

use super::labels::{Endpoint, RequestType};
use super::names::{self, Prefix};
use ::metrics::{Counter, SharedString, Unit};
use std::sync::OnceLock;

/// Suffix of Dynamo's `model_cancellation_total` counter.
pub const MODEL_CANCELLATION_TOTAL: &str = "model_cancellation_total";

const LABEL_SETS: usize = Endpoint::COUNT * RequestType::COUNT;

/// One model's `model_cancellation_total` series.
#[derive(Debug)]
pub(super) struct Cancellations {
    name: SharedString,
    model: SharedString,
    counters: [OnceLock<Counter>; LABEL_SETS],
}

impl Cancellations {
    /// The series of `model` under `prefix`, described (help text) in the current recorder.
    pub(super) fn new(prefix: &Prefix, model: SharedString) -> Self {
        let name = prefix.name(MODEL_CANCELLATION_TOTAL);
        ::metrics::describe_counter!(
            name.clone(),
            Unit::Count,
            "Total number of request cancellations"
        );
        Self {
            name: SharedString::from_owned(name),
            model,
            counters: [const { OnceLock::new() }; LABEL_SETS],
        }
    }

    /// Counts one cancellation (resolving the label set's handle from the current recorder at
    /// its first use).
    pub(super) fn increment(&self, endpoint: Endpoint, request_type: RequestType) {
        let i = endpoint.index() * RequestType::COUNT + request_type.index();
        self.counters[i]
            .get_or_init(|| {
                ::metrics::counter!(
                    self.name.clone(),
                    names::MODEL_LABEL => self.model.clone(),
                    names::ENDPOINT_LABEL => endpoint.as_str(),
                    names::REQUEST_TYPE_LABEL => request_type.as_str()
                )
            })
            .increment(1);
    }
}
