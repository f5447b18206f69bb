//! The request metrics through the real Prometheus exporter: names, types, labels and bucket
//! boundaries as rendered on `/metrics`, and the TTFT sum equal to `nvext.timing`.

#![cfg(not(reqtrack_model))]

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use reqtrack::{
    DEFAULT_BUCKETS, Endpoint, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker,
    RequestType, TimingInfo, names,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One sample line: name, labels, value.
#[derive(Debug)]
struct Line {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the sample lines of an exposition (our label values hold no `,` `"` or `}`).
fn parse(text: &str) -> Vec<Line> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').expect("a value");
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split("\",")
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').expect("k=v");
                    (k.to_owned(), v.trim_matches('"').to_owned())
                })
                .collect();
            Line {
                name: name.to_owned(),
                labels,
                value: value.parse().expect("a number"),
            }
        })
        .collect()
}

fn builder_with_default_buckets(prefix: &Prefix) -> PrometheusBuilder {
    DEFAULT_BUCKETS
        .iter()
        .fold(PrometheusBuilder::new(), |b, (suffix, buckets)| {
            b.set_buckets_for_metric(Matcher::Full(prefix.name(suffix)), buckets)
                .expect("non-empty buckets")
        })
}

/// A request that gives every histogram a sample; returns its `nvext.timing`.
fn full_request(m: &Arc<ModelMetrics>) -> TimingInfo {
    let t0 = Instant::now();
    let at = |ms| t0 + Duration::from_millis(ms);
    let t = Arc::new(RequestTracker::with_received_at(t0, 0));
    let g = RequestGuard::new(
        m.clone(),
        t.clone(),
        Endpoint::ChatCompletions,
        RequestType::Stream,
    );
    t.record_prefill_start_at(at(2));
    t.record_prefill_complete_at(at(30));
    t.record_decode_first_token_at(at(33));
    t.record_kv_hit(5, 8);
    t.record_isl(2000, 1000);
    t.record_tokenize_latency(Duration::from_millis(3));
    t.record_detokenize_latency(Duration::from_micros(90));
    let mut s = g.into_stream();
    t.record_migration();
    s.observe_chunk(1, at(37));
    s.observe_chunk(3, at(52));
    let timing = t.get_timing_info();
    s.finish(Outcome::Success);
    timing
}

/// Renders what `f` records through a fresh Prometheus recorder built from `builder`.
fn render(builder: PrometheusBuilder, f: impl FnOnce()) -> String {
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, f);
    handle.render()
}

#[test]
fn every_histogram_renders_with_its_default_bucket_boundaries() {
    let text = render(builder_with_default_buckets(&Prefix::default()), || {
        full_request(&Arc::new(ModelMetrics::new(&Prefix::default(), "llama")));
    });
    let lines = parse(&text);
    for (suffix, buckets) in DEFAULT_BUCKETS {
        let name = format!("dynamo_frontend_{suffix}");
        assert!(
            text.contains(&format!("# TYPE {name} histogram\n")),
            "{name}:\n{text}"
        );
        let bucket = format!("{name}_bucket");
        let series = lines
            .iter()
            .find(|l| l.name == bucket)
            .expect("a bucket line");
        let mut les: Vec<String> = lines
            .iter()
            .filter(|l| l.name == bucket)
            .filter(|l| {
                let mut other = l.labels.clone();
                other.remove("le");
                let mut first = series.labels.clone();
                first.remove("le");
                other == first
            })
            .map(|l| l.labels["le"].clone())
            .collect();
        assert_eq!(les.pop().as_deref(), Some("+Inf"), "{name}");
        let les: Vec<f64> = les.iter().map(|s| s.parse().unwrap()).collect();
        assert_eq!(les, *buckets, "{name}");
    }
}

#[test]
fn ttft_and_duration_sums_equal_the_requests_nvext_timing() {
    let mut timing = None;
    let text = render(builder_with_default_buckets(&Prefix::default()), || {
        timing = Some(full_request(&Arc::new(ModelMetrics::new(
            &Prefix::default(),
            "llama",
        ))));
    });
    let timing = timing.unwrap();
    let lines = parse(&text);
    let sum = |suffix: &str| {
        let name = format!("dynamo_frontend_{suffix}_sum");
        lines.iter().find(|l| l.name == name).expect("a sum").value
    };
    assert_eq!(
        sum(names::TIME_TO_FIRST_TOKEN_SECONDS),
        timing.ttft_ms.unwrap() / 1000.0
    );
    assert_eq!(
        sum(names::REQUEST_DURATION_SECONDS),
        timing.total_time_ms.unwrap() / 1000.0
    );
    assert_eq!(
        sum(names::PREFILL_WAIT_TIME_SECONDS),
        timing.prefill_wait_time_ms.unwrap() / 1000.0
    );
    assert_eq!(
        sum(names::PREFILL_TIME_SECONDS),
        timing.prefill_time_ms.unwrap() / 1000.0
    );
}

#[test]
fn counters_and_gauges_render_with_their_types_and_labels() {
    let text = render(PrometheusBuilder::new(), || {
        let m = Arc::new(ModelMetrics::new(&Prefix::default(), "llama"));
        full_request(&m);
        let t = Arc::new(RequestTracker::new());
        let g = RequestGuard::new(m, t, Endpoint::Completions, RequestType::Unary);
        drop(g.into_stream()); // a disconnect
    });
    for (name, kind) in [
        ("requests_total", "counter"),
        ("requests_started_total", "counter"),
        ("output_tokens_total", "counter"),
        ("inflight_requests", "gauge"),
        ("active_requests", "gauge"),
        ("queued_requests", "gauge"),
        ("disconnected_clients", "gauge"),
    ] {
        assert!(
            text.contains(&format!("# TYPE dynamo_frontend_{name} {kind}\n")),
            "{name}:\n{text}"
        );
    }
    let lines = parse(&text);
    let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let value = |name: &str, l: BTreeMap<String, String>| {
        let name = format!("dynamo_frontend_{name}");
        lines
            .iter()
            .find(|x| x.name == name && x.labels == l)
            .map(|x| x.value)
    };
    let success = labels(&[
        ("model", "llama"),
        ("endpoint", "chat_completions"),
        ("request_type", "stream"),
        ("status", "success"),
        ("error_type", ""),
    ]);
    let cancelled = labels(&[
        ("model", "llama"),
        ("endpoint", "completions"),
        ("request_type", "unary"),
        ("status", "error"),
        ("error_type", "cancelled"),
    ]);
    assert_eq!(value("requests_total", success), Some(1.0));
    assert_eq!(value("requests_total", cancelled), Some(1.0));
    assert_eq!(value("disconnected_clients", labels(&[])), Some(1.0));
    assert_eq!(
        value("output_tokens_total", labels(&[("model", "llama")])),
        Some(4.0)
    );
    for g in ["inflight_requests", "active_requests", "queued_requests"] {
        assert_eq!(value(g, labels(&[("model", "llama")])), Some(0.0), "{g}");
    }
}

#[test]
fn help_lines_are_dynamos() {
    let text = render(PrometheusBuilder::new(), || {
        let m = Arc::new(ModelMetrics::new(&Prefix::default(), "llama"));
        full_request(&m);
        let t = Arc::new(RequestTracker::new());
        RequestGuard::new(m, t, Endpoint::Completions, RequestType::Unary).reject();
    });
    for line in [
        "# HELP dynamo_frontend_requests_total Total number of LLM requests processed",
        "# HELP dynamo_frontend_time_to_first_token_seconds Time to first token in seconds",
        "# HELP dynamo_frontend_inter_token_latency_seconds Inter-token latency in seconds",
        "# HELP dynamo_frontend_tokenizer_latency_ms Tokenizer latency in milliseconds",
        "# HELP dynamo_frontend_model_rejection_total Total number of requests rejected due to resource exhaustion",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
}

#[cfg(feature = "prometheus")]
#[test]
fn with_default_buckets_applies_the_whole_table() {
    let prefix = Prefix::new("edge").unwrap();
    let run = || {
        full_request(&Arc::new(ModelMetrics::new(&prefix, "llama")));
    };
    let one_call = reqtrack::with_default_buckets(PrometheusBuilder::new(), &prefix).unwrap();
    let text = render(one_call, run);
    for (suffix, buckets) in DEFAULT_BUCKETS {
        let name = format!("edge_{suffix}_bucket");
        let n = parse(&text).iter().filter(|l| l.name == name).count();
        // Every label set of the histogram has one line per bucket plus +Inf.
        assert!(n > 0 && n % (buckets.len() + 1) == 0, "{name}: {n}\n{text}");
    }
}
