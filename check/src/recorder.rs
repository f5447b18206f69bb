//! Test recorders, shared by the metrics tests (feature `recorder`).
//!
//! * [`record`] / [`Recorded`]: run code under a fresh `metrics_util` `DebuggingRecorder` and read
//!   back every series (name, sorted labels, unit, help, value) by exact name and label set.
//! * [`TallyRecorder`]: a non-zero-sized recorder that counts registrations per kind (how often a
//!   handle was resolved: a registry lookup) and tallies what its handles receive, handing out
//!   shared handles so registering allocates nothing of its own.

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Sorted `(label, value)` pairs.
pub type Labels = Vec<(String, String)>;

/// One series a recorder saw.
#[derive(Debug)]
pub struct Series {
    /// The full metric name.
    pub name: String,
    /// Its labels, sorted.
    pub labels: Labels,
    /// The unit it was described with.
    pub unit: Option<Unit>,
    /// The help text it was described with.
    pub description: Option<String>,
    /// Its value.
    pub value: DebugValue,
}

/// Every series a recorder saw.
#[derive(Debug)]
pub struct Recorded(pub Vec<Series>);

/// `labels` as sorted owned pairs.
pub fn sorted(labels: &[(&str, &str)]) -> Labels {
    let mut v: Labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    v.sort();
    v
}

/// Runs `f` with a fresh `DebuggingRecorder` as this thread's local recorder and returns what
/// it saw. `f` gets the recorder too, e.g. to build a value bound to it.
pub fn record(f: impl FnOnce(&Arc<DebuggingRecorder>)) -> Recorded {
    let recorder = Arc::new(DebuggingRecorder::new());
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&*recorder, || f(&recorder));
    Recorded::from_snapshotter(&snapshotter)
}

impl Recorded {
    /// Everything `snapshotter`'s recorder holds now.
    pub fn from_snapshotter(snapshotter: &Snapshotter) -> Self {
        let series = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(ck, unit, description, value)| {
                let key = ck.key();
                let mut labels: Labels = key
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
        Self(series)
    }

    /// The series `name` with exactly these labels.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Series> {
        let labels = sorted(labels);
        self.0.iter().find(|s| s.name == name && s.labels == labels)
    }

    /// The help text `name` was described with (any of its series).
    pub fn description(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.description.as_deref())
    }

    /// Every label set of `name`, sorted.
    pub fn label_sets(&self, name: &str) -> Vec<Labels> {
        let mut v: Vec<_> = self
            .0
            .iter()
            .filter(|s| s.name == name)
            .map(|s| s.labels.clone())
            .collect();
        v.sort();
        v
    }

    /// A histogram's samples, in order (empty when absent).
    ///
    /// # Panics
    ///
    /// If the series is not a histogram (a test's mistake).
    pub fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        match self.find(name, labels).map(|s| &s.value) {
            Some(DebugValue::Histogram(v)) => v.iter().map(|x| x.into_inner()).collect(),
            Some(_) => panic!("{name} is not a histogram"),
            None => Vec::new(),
        }
    }

    /// A counter's value, if registered.
    ///
    /// # Panics
    ///
    /// If the series is not a counter (a test's mistake).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        match self.find(name, labels).map(|s| &s.value) {
            Some(DebugValue::Counter(c)) => Some(*c),
            Some(_) => panic!("{name} is not a counter"),
            None => None,
        }
    }

    /// A gauge's value, if registered.
    ///
    /// # Panics
    ///
    /// If the series is not a gauge (a test's mistake).
    pub fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        match self.find(name, labels).map(|s| &s.value) {
            Some(DebugValue::Gauge(g)) => Some(g.into_inner()),
            Some(_) => panic!("{name} is not a gauge"),
            None => None,
        }
    }

    /// Every gauge as `(name, sorted labels, value)`, sorted by name.
    pub fn gauges(&self) -> Vec<(String, Labels, f64)> {
        let mut out: Vec<_> = self
            .0
            .iter()
            .filter_map(|s| match s.value {
                DebugValue::Gauge(g) => Some((s.name.clone(), s.labels.clone(), g.into_inner())),
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// A count of operations: counters add their increments, gauges and histograms count calls
/// (histograms: samples).
#[derive(Debug, Default)]
pub struct Tally(AtomicU64);

impl Tally {
    /// The count so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

impl CounterFn for Tally {
    fn increment(&self, value: u64) {
        self.add(value);
    }
    fn absolute(&self, value: u64) {
        self.0.store(value, Ordering::Relaxed);
    }
}

impl GaugeFn for Tally {
    fn increment(&self, _: f64) {
        self.add(1);
    }
    fn decrement(&self, _: f64) {
        self.add(1);
    }
    fn set(&self, _: f64) {
        self.add(1);
    }
}

impl HistogramFn for Tally {
    fn record(&self, _: f64) {
        self.add(1);
    }
    fn record_many(&self, _: f64, count: usize) {
        self.add(u64::try_from(count).unwrap_or(u64::MAX));
    }
}

/// A recorder (never zero-sized) whose counters, gauges and histograms each share one
/// [`Tally`] per kind; registering hands out an `Arc` clone (no allocation) and counts the
/// registration.
#[derive(Debug, Default)]
pub struct TallyRecorder {
    /// What every counter received.
    pub counters: Arc<Tally>,
    /// What every gauge received.
    pub gauges: Arc<Tally>,
    /// What every histogram received.
    pub histograms: Arc<Tally>,
    counters_registered: Tally,
    gauges_registered: Tally,
    histograms_registered: Tally,
}

impl TallyRecorder {
    /// Registrations of any kind so far (registry lookups).
    pub fn registered(&self) -> u64 {
        self.counters_registered.get()
            + self.gauges_registered.get()
            + self.histograms_registered.get()
    }

    /// Gauge registrations so far.
    pub fn gauges_registered(&self) -> u64 {
        self.gauges_registered.get()
    }
}

impl Recorder for TallyRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, _: &Key, _: &Metadata<'_>) -> Counter {
        self.counters_registered.add(1);
        Counter::from_arc(self.counters.clone())
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        self.gauges_registered.add(1);
        Gauge::from_arc(self.gauges.clone())
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        self.histograms_registered.add(1);
        Histogram::from_arc(self.histograms.clone())
    }
}
