//! Default histogram buckets, as a `const` table of `(metric suffix, buckets)`.
//!
//! The facade has no notion of buckets: the exporter decides. With
//! `metrics-exporter-prometheus`, a histogram without buckets is rendered as a *summary*, so
//! apply the table to the builder, either by hand (no dependency of this crate on the
//! exporter):
//!
//! ```
//! # fn main() -> Result<(), metrics_exporter_prometheus::BuildError> {
//! use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
//! use reqtrack::{DEFAULT_BUCKETS, Prefix};
//!
//! let prefix = Prefix::default();
//! let mut builder = PrometheusBuilder::new();
//! for (suffix, buckets) in DEFAULT_BUCKETS {
//!     builder = builder.set_buckets_for_metric(Matcher::Full(prefix.name(suffix)), buckets)?;
//! }
//! # Ok(()) }
//! ```
//!
//! or, with this crate's optional `prometheus` feature, in one call:
//! `with_default_buckets(PrometheusBuilder::new(), &prefix)?`.
//!
//! # Where the numbers come from
//!
//! Dynamo's metrics are Dynamo's defaults, `generate_log_buckets(min, max, count)`: `0.0`, then
//! `count - 1` log-spaced values from one step above `min` to `max`, rounded to 2 significant
//! figures (so `min` itself is never a bucket). The metrics beyond Dynamo's frontend use:
//!
//! * prefill wait and prefill time: the TTFT buckets (they are the two parts of TTFT, so the
//!   three histograms line up bucket for bucket);
//! * decode time: the request-duration buckets (it is the tail of the duration);
//! * KV hit rate and KV-transfer estimate: Dynamo's router's buckets for its histograms of the
//!   same name, `linear_buckets(0, 0.05, 21)` (written as exact decimals) and
//!   `generate_log_buckets(0.001, 10, 15)`;
//! * migrations per request: `0..=5` and `10` (Dynamo's per-request count histograms use the
//!   same small-integer style).

use super::names;

/// `request_duration_seconds`: `generate_log_buckets(1, 512, 10)`.
pub const REQUEST_DURATION_BUCKETS: &[f64] =
    &[0.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 130.0, 260.0, 510.0];
/// `time_to_first_token_seconds`: `generate_log_buckets(0.001, 480, 18)`.
pub const TTFT_BUCKETS: &[f64] = &[
    0.0, 0.0022, 0.0047, 0.01, 0.022, 0.047, 0.1, 0.22, 0.47, 1.0, 2.2, 4.7, 10.0, 22.0, 48.0,
    100.0, 220.0, 480.0,
];
/// `inter_token_latency_seconds`: `generate_log_buckets(0.001, 2, 13)`.
pub const ITL_BUCKETS: &[f64] = &[
    0.0, 0.0019, 0.0035, 0.0067, 0.013, 0.024, 0.045, 0.084, 0.16, 0.3, 0.56, 1.1, 2.0,
];
/// `input_sequence_tokens` and `cached_tokens`: `generate_log_buckets(50, 128000, 12)`.
pub const INPUT_SEQUENCE_BUCKETS: &[f64] = &[
    0.0, 100.0, 210.0, 430.0, 870.0, 1800.0, 3600.0, 7400.0, 15000.0, 31000.0, 63000.0, 130000.0,
];
/// `output_sequence_tokens`: `generate_log_buckets(50, 32000, 10)`.
pub const OUTPUT_SEQUENCE_BUCKETS: &[f64] = &[
    0.0, 100.0, 210.0, 430.0, 880.0, 1800.0, 3700.0, 7600.0, 16000.0, 32000.0,
];
/// `tokenizer_latency_ms`: Dynamo's fixed list, 0.5 ms doubling to 512 ms.
pub const TOKENIZER_LATENCY_BUCKETS: &[f64] = &[
    0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
];
/// `kv_hit_rate`: `0, 0.05, ..., 1` (Dynamo's router: `linear_buckets(0.0, 0.05, 21)`).
pub const KV_HIT_RATE_BUCKETS: &[f64] = &[
    0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8,
    0.85, 0.9, 0.95, 1.0,
];
/// `kv_transfer_estimated_latency_seconds`: Dynamo's router's
/// `generate_log_buckets(0.001, 10, 15)`.
pub const KV_TRANSFER_BUCKETS: &[f64] = &[
    0.0, 0.0019, 0.0037, 0.0072, 0.014, 0.027, 0.052, 0.1, 0.19, 0.37, 0.72, 1.4, 2.7, 5.2, 10.0,
];
/// `migrations_per_request`.
pub const MIGRATION_BUCKETS: &[f64] = &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0];

/// Every request histogram's default buckets, by metric suffix (prepend the prefix with
/// [`Prefix::name`](crate::Prefix::name)). Each list is non-empty and strictly increasing.
pub const DEFAULT_BUCKETS: &[(&str, &[f64])] = &[
    (names::REQUEST_DURATION_SECONDS, REQUEST_DURATION_BUCKETS),
    (names::TIME_TO_FIRST_TOKEN_SECONDS, TTFT_BUCKETS),
    (names::INTER_TOKEN_LATENCY_SECONDS, ITL_BUCKETS),
    (names::INPUT_SEQUENCE_TOKENS, INPUT_SEQUENCE_BUCKETS),
    (names::CACHED_TOKENS, INPUT_SEQUENCE_BUCKETS),
    (names::OUTPUT_SEQUENCE_TOKENS, OUTPUT_SEQUENCE_BUCKETS),
    (names::TOKENIZER_LATENCY_MS, TOKENIZER_LATENCY_BUCKETS),
    (names::PREFILL_WAIT_TIME_SECONDS, TTFT_BUCKETS),
    (names::PREFILL_TIME_SECONDS, TTFT_BUCKETS),
    (names::DECODE_TIME_SECONDS, REQUEST_DURATION_BUCKETS),
    (names::KV_HIT_RATE, KV_HIT_RATE_BUCKETS),
    (
        names::KV_TRANSFER_ESTIMATED_LATENCY_SECONDS,
        KV_TRANSFER_BUCKETS,
    ),
    (names::MIGRATIONS_PER_REQUEST, MIGRATION_BUCKETS),
];

/// The default buckets of the histogram with this suffix; `None` for a suffix that is not a
/// request histogram.
pub fn default_buckets(suffix: &str) -> Option<&'static [f64]> {
    DEFAULT_BUCKETS
        .iter()
        .find(|(s, _)| *s == suffix)
        .map(|(_, b)| *b)
}

/// Applies [`DEFAULT_BUCKETS`] under `prefix` to a Prometheus exporter builder (one
/// [`set_buckets_for_metric`](metrics_exporter_prometheus::PrometheusBuilder::set_buckets_for_metric)
/// with a full-name matcher per histogram). Needs the `prometheus` feature.
///
/// Errors only as the builder does (an empty bucket list, which the table never has).
#[cfg(feature = "prometheus")]
pub fn with_default_buckets(
    builder: metrics_exporter_prometheus::PrometheusBuilder,
    prefix: &crate::Prefix,
) -> Result<metrics_exporter_prometheus::PrometheusBuilder, metrics_exporter_prometheus::BuildError>
{
    DEFAULT_BUCKETS
        .iter()
        .try_fold(builder, |b, (suffix, buckets)| {
            b.set_buckets_for_metric(
                metrics_exporter_prometheus::Matcher::Full(prefix.name(suffix)),
                buckets,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_buckets_finds_each_histograms_list_by_its_suffix_and_nothing_else() {
        for (suffix, b) in DEFAULT_BUCKETS {
            assert_eq!(default_buckets(suffix), Some(*b), "{suffix}");
        }
        assert_eq!(default_buckets(names::REQUESTS_TOTAL), None);
        assert_eq!(default_buckets(""), None);
    }

    #[test]
    fn every_list_is_non_empty_and_strictly_increasing() {
        for (suffix, b) in DEFAULT_BUCKETS {
            assert!(!b.is_empty(), "{suffix}");
            assert!(b.windows(2).all(|w| w[0] < w[1]), "{suffix}");
        }
    }

    #[test]
    fn suffixes_are_unique() {
        for (i, (a, _)) in DEFAULT_BUCKETS.iter().enumerate() {
            assert!(DEFAULT_BUCKETS[i + 1..].iter().all(|(b, _)| a != b), "{a}");
        }
    }

    /// Dynamo's `generate_log_buckets` + `round_to_sig_figs`, transcribed, to pin the lists.
    fn generate_log_buckets(min: f64, max: f64, count: usize) -> Vec<f64> {
        let round2 = |v: f64| {
            let scale = 10f64.powf(1.0 - v.abs().log10().floor());
            (v * scale).round() / scale
        };
        let mut b = vec![0.0];
        for i in 1..count {
            let l = min.ln() + (max.ln() - min.ln()) * i as f64 / (count - 1) as f64;
            b.push(round2(l.exp()));
        }
        b.dedup();
        b
    }

    #[test]
    fn lists_are_dynamos_generated_defaults() {
        assert_eq!(
            generate_log_buckets(1.0, 512.0, 10),
            REQUEST_DURATION_BUCKETS
        );
        assert_eq!(generate_log_buckets(0.001, 480.0, 18), TTFT_BUCKETS);
        assert_eq!(generate_log_buckets(0.001, 2.0, 13), ITL_BUCKETS);
        assert_eq!(
            generate_log_buckets(50.0, 128000.0, 12),
            INPUT_SEQUENCE_BUCKETS
        );
        assert_eq!(
            generate_log_buckets(50.0, 32000.0, 10),
            OUTPUT_SEQUENCE_BUCKETS
        );
        assert_eq!(generate_log_buckets(0.001, 10.0, 15), KV_TRANSFER_BUCKETS);
    }
}
