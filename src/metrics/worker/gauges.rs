//! Per-worker "last value" gauges: their names, labels and registration through the `metrics`
//! facade.
//!
//! Names and labels are the reference's, so dashboards keep working:
//! `worker_id`, `dp_rank` (`none` when unknown) and `worker_type`.
//!
//! [`WorkerGauge::resolve`] is the slow path (label strings, a registry lookup, allocations); the
//! per-thread handle cache (`handle_cache`) calls it once per worker, gauge and recorder per
//! TTL. This file holds no state and no atomics.

use crate::slot::WorkerInfo;
use ::metrics::{Gauge, Unit};

/// Last time to first token of a worker, seconds (prefill worker's labels).
pub const WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE: &str =
    "dynamo_frontend_worker_last_time_to_first_token_seconds";
/// Last input sequence length of a worker, tokens (prefill worker's labels).
pub const WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE: &str =
    "dynamo_frontend_worker_last_input_sequence_tokens";
/// Last average inter-token latency of a worker, seconds (decode worker's labels).
pub const WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE: &str =
    "dynamo_frontend_worker_last_inter_token_latency_seconds";

/// The `dp_rank` label value when the rank is unknown.
pub const UNSET_DP_RANK_LABEL: &str = "none";

/// One of the three gauges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WorkerGauge {
    Ttft,
    Isl,
    Itl,
}

impl WorkerGauge {
    const fn name(self) -> &'static str {
        match self {
            Self::Ttft => WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE,
            Self::Isl => WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE,
            Self::Itl => WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE,
        }
    }

    pub(super) const fn index(self) -> usize {
        self as usize
    }

    fn describe(self) {
        match self {
            Self::Ttft => ::metrics::describe_gauge!(
                WORKER_LAST_TIME_TO_FIRST_TOKEN_GAUGE,
                Unit::Seconds,
                "Last observed time to first token per worker"
            ),
            Self::Isl => ::metrics::describe_gauge!(
                WORKER_LAST_INPUT_SEQUENCE_TOKENS_GAUGE,
                Unit::Count,
                "Last observed input sequence length in tokens per worker"
            ),
            Self::Itl => ::metrics::describe_gauge!(
                WORKER_LAST_INTER_TOKEN_LATENCY_GAUGE,
                Unit::Seconds,
                "Last observed average inter-token latency per worker"
            ),
        }
    }

    /// Registers this gauge for `w` with the current recorder (the slow path).
    pub(super) fn resolve(self, w: WorkerInfo) -> Gauge {
        self.describe();
        let rank = match w.dp_rank {
            Some(r) => r.to_string(),
            None => UNSET_DP_RANK_LABEL.to_owned(),
        };
        ::metrics::gauge!(
            self.name(),
            "worker_id" => w.instance_id.to_string(),
            "dp_rank" => rank,
            "worker_type" => w.worker_type.as_str()
        )
    }
}
