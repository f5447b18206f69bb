//! Shared by the request-metrics tests: run code under a fresh `DebuggingRecorder`
//! (`reqtrack_check::recorder`) and read back series by metric suffix (under the default
//! prefix) and exact label set.

#![allow(dead_code)]

use reqtrack::{Endpoint, ModelMetrics, Prefix, RequestGuard, RequestTracker, RequestType};
use reqtrack_check::recorder::{self, Labels};
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use reqtrack_check::recorder::Series;

/// The model label every test uses.
pub const MODEL: &str = "llama";

/// Everything a recorder saw, read by metric suffix.
pub struct Recorded(pub recorder::Recorded);

thread_local! {
    /// The recorder of the `record` call running on this thread.
    static CURRENT: RefCell<Option<Arc<dyn metrics::Recorder + Send + Sync>>> =
        const { RefCell::new(None) };
}

/// Runs `f` with a fresh `DebuggingRecorder` as the thread's recorder (the one [`metrics`]
/// builds for, and the facade's local recorder) and returns what it saw.
pub fn record(f: impl FnOnce()) -> Recorded {
    Recorded(recorder::record(|r| {
        let previous = CURRENT.with(|c| c.replace(Some(r.clone())));
        f();
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }))
}

/// `[("model", MODEL)]`.
pub fn model() -> [(&'static str, &'static str); 1] {
    [("model", MODEL)]
}

/// `dynamo_frontend_{suffix}`.
fn name(suffix: &str) -> String {
    Prefix::default().name(suffix)
}

impl Recorded {
    /// The series of `suffix` with exactly these labels.
    pub fn find(&self, suffix: &str, labels: &[(&str, &str)]) -> Option<&Series> {
        self.0.find(&name(suffix), labels)
    }

    /// Every label set of `suffix`.
    pub fn label_sets(&self, suffix: &str) -> Vec<Labels> {
        self.0.label_sets(&name(suffix))
    }

    /// The help text of `suffix`.
    pub fn description(&self, suffix: &str) -> Option<&str> {
        self.0.description(&name(suffix))
    }

    /// A histogram's samples, in order (empty when absent or never recorded).
    pub fn samples(&self, suffix: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        self.0.samples(&name(suffix), labels)
    }

    /// A per-model histogram's samples.
    pub fn model_samples(&self, suffix: &str) -> Vec<f64> {
        self.samples(suffix, &model())
    }

    /// A counter's value, if registered.
    pub fn counter(&self, suffix: &str, labels: &[(&str, &str)]) -> Option<u64> {
        self.0.counter(&name(suffix), labels)
    }

    /// A gauge's value, if registered.
    pub fn gauge(&self, suffix: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.0.gauge(&name(suffix), labels)
    }

    /// Every series.
    pub fn series(&self) -> &[Series] {
        &self.0.0
    }
}

/// The model's metrics under the default prefix, built for the recorder of the `record` call
/// running on this thread (call inside `record`).
pub fn metrics() -> Arc<ModelMetrics> {
    let recorder = CURRENT
        .with(|c| c.borrow().clone())
        .expect("metrics() is called inside record()");
    Arc::new(ModelMetrics::with_recorder(
        &Prefix::default(),
        MODEL,
        recorder,
    ))
}

/// A tracker received at `t0` and a streamed chat request's guard.
pub fn request(m: &Arc<ModelMetrics>, t0: Instant) -> (Arc<RequestTracker>, RequestGuard) {
    let t = Arc::new(RequestTracker::with_received_at(t0, 1_700_000_000_000));
    let g = RequestGuard::new(
        m.clone(),
        t.clone(),
        Endpoint::ChatCompletions,
        RequestType::Stream,
    );
    (t, g)
}

/// `t0 + ms` milliseconds.
pub fn at(t0: Instant, ms: u64) -> Instant {
    t0 + Duration::from_millis(ms)
}

/// `requests_total`'s labels for a chat stream with this status and error type.
pub fn outcome_labels(
    status: &'static str,
    error_type: &'static str,
) -> [(&'static str, &'static str); 5] {
    [
        ("model", MODEL),
        ("endpoint", "chat_completions"),
        ("request_type", "stream"),
        ("status", status),
        ("error_type", error_type),
    ]
}
