//! Shared by the request-metrics tests: run code under a fresh `DebuggingRecorder` and read
//! back series by metric suffix and exact label set.

#![allow(dead_code)]

use metrics::Unit;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use reqtrack::{Endpoint, ModelMetrics, Prefix, RequestGuard, RequestTracker, RequestType};
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The model label every test uses.
pub const MODEL: &str = "llama";

/// One series: name, sorted labels, unit, description, value.
pub struct Series {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub unit: Option<Unit>,
    pub description: Option<String>,
    pub value: DebugValue,
}

/// Everything a recorder saw.
pub struct Recorded(pub Vec<Series>);

thread_local! {
    /// The recorder of the `record` call running on this thread.
    static CURRENT: RefCell<Option<Arc<DebuggingRecorder>>> = const { RefCell::new(None) };
}

/// Runs `f` with a fresh `DebuggingRecorder` as the thread's recorder (the one [`metrics`]
/// builds for, and the facade's local recorder) and returns what it saw.
pub fn record(f: impl FnOnce()) -> Recorded {
    let recorder = Arc::new(DebuggingRecorder::new());
    let snapshotter = recorder.snapshotter();
    let previous = CURRENT.with(|c| c.replace(Some(recorder.clone())));
    metrics::with_local_recorder(&*recorder, f);
    CURRENT.with(|c| *c.borrow_mut() = previous);
    let series = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(ck, unit, description, value)| {
            let key = ck.key();
            let mut labels: Vec<_> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            labels.sort();
            Series {
                name: key.name().to_owned(),
                labels,
                unit,
                description: description.map(|d| d.to_string()),
                value,
            }
        })
        .collect();
    Recorded(series)
}

fn sorted(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<_> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    v.sort();
    v
}

/// `[("model", MODEL)]`.
pub fn model() -> [(&'static str, &'static str); 1] {
    [("model", MODEL)]
}

impl Recorded {
    /// The series of `dynamo_frontend_{suffix}` with exactly these labels.
    pub fn find(&self, suffix: &str, labels: &[(&str, &str)]) -> Option<&Series> {
        let name = format!("dynamo_frontend_{suffix}");
        let labels = sorted(labels);
        self.0.iter().find(|s| s.name == name && s.labels == labels)
    }

    /// Every label set of `dynamo_frontend_{suffix}`.
    pub fn label_sets(&self, suffix: &str) -> Vec<Vec<(String, String)>> {
        let name = format!("dynamo_frontend_{suffix}");
        let mut v: Vec<_> = self
            .0
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.labels.clone())
            .collect();
        v.sort();
        v
    }

    /// A histogram's samples, in order (empty when absent or never recorded).
    pub fn samples(&self, suffix: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.find(suffix, labels).map(|s| &s.value) {
            Some(DebugValue::Histogram(v)) => v.iter().map(|x| x.into_inner()).collect(),
            Some(_) => panic!("{suffix} is not a histogram"),
            None => Vec::new(),
        }
    }

    /// A per-model histogram's samples.
    pub fn model_samples(&self, suffix: &str) -> Vec<f64> {
        self.samples(suffix, &model())
    }

    /// A counter's value, if registered.
    pub fn counter(&self, suffix: &str, labels: &[(&str, &str)]) -> Option<u64> {
        match self.find(suffix, labels).map(|s| &s.value) {
            Some(DebugValue::Counter(c)) => Some(*c),
            Some(_) => panic!("{suffix} is not a counter"),
            None => None,
        }
    }

    /// A gauge's value, if registered.
    pub fn gauge(&self, suffix: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.find(suffix, labels).map(|s| &s.value) {
            Some(DebugValue::Gauge(g)) => Some(g.into_inner()),
            Some(_) => panic!("{suffix} is not a gauge"),
            None => None,
        }
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
