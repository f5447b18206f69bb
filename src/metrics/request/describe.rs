//! Help texts and units of the request metrics: Dynamo's help strings verbatim where it has
//! the metric.

use super::names;
use ::metrics::{KeyName, Recorder, Unit};

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// `(suffix, kind, unit, help)` of every request metric (a ratio has no unit).
const HELP: &[(&str, Kind, Option<Unit>, &str)] = &[
    (
        names::REQUESTS_TOTAL,
        Kind::Counter,
        Some(Unit::Count),
        "Total number of LLM requests processed",
    ),
    (
        names::REQUESTS_STARTED_TOTAL,
        Kind::Counter,
        Some(Unit::Count),
        "Total number of LLM requests accepted by the frontend handler",
    ),
    (
        names::INFLIGHT_REQUESTS,
        Kind::Gauge,
        Some(Unit::Count),
        "Number of inflight requests",
    ),
    (
        names::ACTIVE_REQUESTS,
        Kind::Gauge,
        Some(Unit::Count),
        "Number of requests currently being handled by the frontend, from HTTP handler entry to response completion",
    ),
    (
        names::QUEUED_REQUESTS,
        Kind::Gauge,
        Some(Unit::Count),
        "Number of requests in HTTP processing queue",
    ),
    (
        names::DISCONNECTED_CLIENTS,
        Kind::Gauge,
        Some(Unit::Count),
        "Number of disconnected clients",
    ),
    (
        names::OUTPUT_TOKENS_TOTAL,
        Kind::Counter,
        Some(Unit::Count),
        "Total number of output tokens generated (updates in real-time)",
    ),
    (
        names::MODEL_CANCELLATION_TOTAL,
        Kind::Counter,
        Some(Unit::Count),
        "Total number of request cancellations",
    ),
    (
        names::MODEL_REJECTION_TOTAL,
        Kind::Counter,
        Some(Unit::Count),
        "Total number of requests rejected due to resource exhaustion",
    ),
    (
        names::REQUEST_DURATION_SECONDS,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Duration of LLM requests",
    ),
    (
        names::TIME_TO_FIRST_TOKEN_SECONDS,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time to first token in seconds",
    ),
    (
        names::INTER_TOKEN_LATENCY_SECONDS,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Inter-token latency in seconds",
    ),
    (
        names::INPUT_SEQUENCE_TOKENS,
        Kind::Histogram,
        Some(Unit::Count),
        "Input sequence length in tokens",
    ),
    (
        names::CACHED_TOKENS,
        Kind::Histogram,
        Some(Unit::Count),
        "Number of cached tokens (prefix cache hits) per request",
    ),
    (
        names::OUTPUT_SEQUENCE_TOKENS,
        Kind::Histogram,
        Some(Unit::Count),
        "Output sequence length in tokens",
    ),
    (
        names::TOKENIZER_LATENCY_MS,
        Kind::Histogram,
        Some(Unit::Milliseconds),
        "Tokenizer latency in milliseconds",
    ),
    (
        names::PREFILL_WAIT_TIME_SECONDS,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time from request received to prefill start in seconds (nvext.timing prefill_wait_time_ms / 1000)",
    ),
    (
        names::PREFILL_TIME_SECONDS,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time from prefill start to first token in seconds (nvext.timing prefill_time_ms / 1000)",
    ),
    (
        names::DECODE_TIME_SECONDS,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Time from first token to request finish in seconds",
    ),
    (
        names::KV_HIT_RATE,
        Kind::Histogram,
        None,
        "KV cache hit rate at routing time (0.0-1.0)",
    ),
    (
        names::KV_TRANSFER_ESTIMATED_LATENCY_SECONDS,
        Kind::Histogram,
        Some(Unit::Seconds),
        "Upper-bound estimation of KV cache transfer latency in disaggregated serving (prefill_complete to first_token)",
    ),
    (
        names::MIGRATIONS_PER_REQUEST,
        Kind::Histogram,
        Some(Unit::Count),
        "Number of migrations per request",
    ),
];

/// Describes the metric `name` (the full name of `suffix`) to `r`: its help text and unit.
/// Called at each series' first use, just before it is registered.
pub(super) fn describe(r: &dyn Recorder, name: &str, suffix: &str) {
    let Some(&(_, kind, unit, help)) = HELP.iter().find(|(s, ..)| *s == suffix) else {
        return;
    };
    let name = KeyName::from(name.to_owned());
    match kind {
        Kind::Counter => r.describe_counter(name, unit, help.into()),
        Kind::Gauge => r.describe_gauge(name, unit, help.into()),
        Kind::Histogram => r.describe_histogram(name, unit, help.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::HELP;

    #[test]
    fn every_metric_is_described_once() {
        for (i, (suffix, ..)) in HELP.iter().enumerate() {
            assert!(
                HELP[..i].iter().all(|(s, ..)| s != suffix),
                "{suffix} twice"
            );
        }
    }
}
