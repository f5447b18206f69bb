//! The two recorders the request-metrics benches compare: the stock exporter and a pre-bucketed
//! one, each with the library's default buckets.

use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use prometheus::{HistogramOpts, HistogramVec};
use reqtrack::{DEFAULT_BUCKETS, Prefix, names};

/// The stock `metrics-exporter-prometheus` recorder with the library's default buckets, and its
/// handle (whose `run_upkeep` drains the raw samples, as a scrape would).
pub fn exporter() -> (PrometheusRecorder, PrometheusHandle) {
    let prefix = Prefix::default();
    let recorder = DEFAULT_BUCKETS
        .iter()
        .fold(PrometheusBuilder::new(), |b, (suffix, buckets)| {
            b.set_buckets_for_metric(Matcher::Full(prefix.name(suffix)), buckets)
                .expect("valid buckets")
        })
        .build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

/// `metrics-prometheus` with every request histogram registered with its default buckets
/// (`prometheus` cannot change a histogram's buckets after registration): a sample is a bucket
/// search and a few atomic adds, nothing to drain.
pub fn prebucketed() -> metrics_prometheus::Recorder {
    let prefix = Prefix::default();
    let recorder = metrics_prometheus::Recorder::builder()
        .with_registry(prometheus::Registry::new())
        .build();
    for (suffix, buckets) in DEFAULT_BUCKETS {
        let label = if *suffix == names::TOKENIZER_LATENCY_MS {
            "operation"
        } else {
            "model"
        };
        let opts = HistogramOpts::new(prefix.name(suffix), *suffix).buckets(buckets.to_vec());
        recorder.register_metric(HistogramVec::new(opts, &[label]).expect("valid histogram"));
    }
    recorder
}
