//! Per-worker "last value" gauges, through the `metrics` facade, with handles kept.
//!
//! Names and labels are the reference's, so dashboards keep working:
//! `worker_id`, `dp_rank` (`none` when unknown) and `worker_type`.
//!
//! # Handle cache
//!
//! Building label strings and asking the recorder for a gauge costs a registry lookup and heap
//! allocations on every call. Instead each thread keeps a map from
//! `(recorder, worker_id, dp_rank, worker_type)` to the three gauge handles, resolved lazily,
//! one metric at a time (so a prefill worker never gets a phantom ITL series). After a worker's
//! first observation under a recorder, an observation is a thread-local hash lookup and the
//! gauge sets: no registry lookup, no allocation, no lock.
//!
//! The recorder is the one current at observation time ([`::metrics::with_recorder`]: a local
//! recorder if one is set on this thread, else the global one), identified by its address. A
//! recorder installed after the first observation gets its own handles on the next one.
//!
//! A recorder is identified by its address only. If a *local* recorder is dropped and another
//! is later created at the same address on the same thread, handles cached for the first would
//! be reused; call [`forget_gauge_handles`] after dropping a local recorder (tests do). The
//! global recorder is installed once and never moves, so production code never needs it.
//!
//! # Orderings
//!
//! The only shared atomic here is the `EPOCH` counter behind [`forget_gauge_handles`]:
//! `Relaxed` both ways. It carries no other data; a thread that sees a new epoch drops its
//! handles and re-resolves through the facade, which does its own synchronisation.

use crate::slot::WorkerInfo;
use ::metrics::{Gauge, Unit};
use rustc_hash::FxBuildHasher;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

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

static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Drops every thread's cached gauge handles (each thread re-resolves on its next observation).
///
/// Needed only when a *local* recorder was dropped and a new one may reuse its address; see the
/// module docs. Costs one atomic increment here and one re-resolution per worker per thread.
pub fn forget_gauge_handles() {
    EPOCH.fetch_add(1, Ordering::Relaxed);
}

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

    const fn index(self) -> usize {
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
    fn resolve(self, w: WorkerInfo) -> Gauge {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct HandleKey {
    recorder: usize,
    worker: WorkerInfo,
}

#[derive(Default)]
struct Handles([Option<Gauge>; 3]);

struct HandleCache {
    epoch: u64,
    map: HashMap<HandleKey, Handles, FxBuildHasher>,
}

thread_local! {
    static CACHE: RefCell<HandleCache> = const {
        RefCell::new(HandleCache { epoch: 0, map: HashMap::with_hasher(FxBuildHasher) })
    };
}

fn current_recorder() -> usize {
    ::metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>() as usize)
}

/// Sets each `(gauge, value)` for worker `w` in the current recorder.
pub(crate) fn set_worker_gauges(w: WorkerInfo, values: &[(WorkerGauge, f64)]) {
    if values.is_empty() {
        return;
    }
    let key = HandleKey {
        recorder: current_recorder(),
        worker: w,
    };
    let cached = CACHE.try_with(|cell| {
        let Ok(mut cache) = cell.try_borrow_mut() else {
            return false;
        };
        let epoch = EPOCH.load(Ordering::Relaxed);
        if cache.epoch != epoch {
            cache.map.clear();
            cache.epoch = epoch;
        }
        let handles = cache.map.entry(key).or_default();
        for &(g, v) in values {
            handles.0[g.index()]
                .get_or_insert_with(|| g.resolve(w))
                .set(v);
        }
        true
    });
    if cached != Ok(true) {
        // Thread-local storage is being torn down (or re-entered): resolve without caching.
        for &(g, v) in values {
            g.resolve(w).set(v);
        }
    }
}
