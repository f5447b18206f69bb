//! Dynamo's frontend request metrics as Dynamo holds them (the `prometheus` crate's `*Vec`s, a
//! `with_label_values` lookup per observation): the side-by-side reference of the request-metrics
//! benches.

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts};
use reqtrack::{DEFAULT_BUCKETS, Prefix, RequestTracker, names};
use std::time::Duration;

/// Dynamo's frontend metrics as Dynamo holds them: `*Vec`s, a label lookup per observation.
pub struct DynamoWay {
    model: &'static str,
    requests_total: IntCounterVec,
    gauges: [IntGaugeVec; 3],
    output_tokens: IntCounterVec,
    /// Indexed like `DEFAULT_BUCKETS`.
    histograms: Vec<HistogramVec>,
}

impl DynamoWay {
    /// Dynamo's series for `model`, registered in a fresh registry.
    pub fn new(model: &'static str) -> Self {
        let registry = prometheus::Registry::new();
        let name = |s: &str| Prefix::default().name(s);
        let requests_total = IntCounterVec::new(
            Opts::new(name(names::REQUESTS_TOTAL), "requests"),
            &["model", "endpoint", "request_type", "status", "error_type"],
        )
        .unwrap();
        let gauge = |s: &str| IntGaugeVec::new(Opts::new(name(s), s), &["model"]).unwrap();
        let gauges = [
            gauge(names::INFLIGHT_REQUESTS),
            gauge(names::ACTIVE_REQUESTS),
            gauge(names::QUEUED_REQUESTS),
        ];
        let output_tokens = IntCounterVec::new(
            Opts::new(name(names::OUTPUT_TOKENS_TOTAL), "tokens"),
            &["model"],
        )
        .unwrap();
        let histograms: Vec<_> = DEFAULT_BUCKETS
            .iter()
            .map(|(suffix, buckets)| {
                let label = if *suffix == names::TOKENIZER_LATENCY_MS {
                    "operation"
                } else {
                    "model"
                };
                let opts = HistogramOpts::new(name(suffix), *suffix).buckets(buckets.to_vec());
                HistogramVec::new(opts, &[label]).unwrap()
            })
            .collect();
        registry.register(Box::new(requests_total.clone())).unwrap();
        registry.register(Box::new(output_tokens.clone())).unwrap();
        for g in &gauges {
            registry.register(Box::new(g.clone())).unwrap();
        }
        for h in &histograms {
            registry.register(Box::new(h.clone())).unwrap();
        }
        Self {
            model,
            requests_total,
            gauges,
            output_tokens,
            histograms,
        }
    }

    fn histogram(&self, suffix: &str) -> &HistogramVec {
        let i = DEFAULT_BUCKETS
            .iter()
            .position(|(s, _)| *s == suffix)
            .unwrap();
        &self.histograms[i]
    }

    /// One later chunk of `tokens` tokens, `gap` after the previous one.
    pub fn chunk(&self, tokens: u64, gap: Duration) {
        self.output_tokens
            .with_label_values(&[self.model])
            .inc_by(tokens);
        let itl = gap.as_secs_f64() / tokens as f64;
        let h = self
            .histogram(names::INTER_TOKEN_LATENCY_SECONDS)
            .with_label_values(&[self.model]);
        for _ in 0..tokens {
            h.observe(itl);
        }
    }

    /// The end-of-request observations `finish` makes, the same figures, Dynamo's way.
    pub fn end(&self, t: &RequestTracker) {
        self.requests_total
            .with_label_values(&[self.model, "chat_completions", "stream", "success", ""])
            .inc();
        for g in &self.gauges[..2] {
            g.with_label_values(&[self.model]).dec();
        }
        let timing = t.get_timing_info();
        let obs = |suffix: &str, v: Option<f64>| {
            if let Some(v) = v {
                self.histogram(suffix)
                    .with_label_values(&[self.model])
                    .observe(v);
            }
        };
        let s = |ms: Option<f64>| ms.map(|ms| ms / 1000.0);
        obs(names::REQUEST_DURATION_SECONDS, s(timing.total_time_ms));
        obs(
            names::PREFILL_WAIT_TIME_SECONDS,
            s(timing.prefill_wait_time_ms),
        );
        obs(names::PREFILL_TIME_SECONDS, s(timing.prefill_time_ms));
        obs(
            names::DECODE_TIME_SECONDS,
            s(timing.total_time_ms.zip(timing.ttft_ms).map(|(a, b)| a - b)),
        );
        obs(names::KV_HIT_RATE, timing.kv_hit_rate);
        obs(
            names::KV_TRANSFER_ESTIMATED_LATENCY_SECONDS,
            s(t.kv_transfer_estimated_latency_ms()),
        );
        obs(names::OUTPUT_SEQUENCE_TOKENS, Some(t.osl_tokens() as f64));
        obs(
            names::INPUT_SEQUENCE_TOKENS,
            t.isl_tokens().map(|n| n as f64),
        );
        obs(names::CACHED_TOKENS, t.cached_tokens().map(|n| n as f64));
        let tok = self.histogram(names::TOKENIZER_LATENCY_MS);
        if let Some(d) = t.tokenize_latency() {
            tok.with_label_values(&["tokenize"])
                .observe(d.as_secs_f64() * 1000.0);
        }
        if let Some(d) = t.detokenize_total_latency() {
            tok.with_label_values(&["detokenize"])
                .observe(d.as_secs_f64() * 1000.0 / t.detokenize_count() as f64);
        }
        obs(names::MIGRATIONS_PER_REQUEST, Some(0.0));
    }
}
