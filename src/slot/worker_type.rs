//! Worker types and the `(instance_id, dp_rank, worker_type)` triple a worker slot holds.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of worker that served a phase; the `worker_type` gauge label.
///
/// ```
/// use reqtrack::{WorkerType, WORKER_TYPE_PREFILL};
/// assert_eq!(WORKER_TYPE_PREFILL.as_str(), "prefill");
/// assert_eq!(WorkerType::Decode.to_string(), "decode");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum WorkerType {
    /// A prefill worker (disaggregated serving).
    Prefill,
    /// A decode worker; in aggregated serving the one worker is a decode worker.
    Decode,
}

impl WorkerType {
    /// `"prefill"` or `"decode"`, the Prometheus label value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Prefill => "prefill",
            Self::Decode => "decode",
        }
    }
}

impl fmt::Display for WorkerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reference's `WORKER_TYPE_PREFILL`, now typed: calls compile unchanged.
pub const WORKER_TYPE_PREFILL: WorkerType = WorkerType::Prefill;
/// The reference's `WORKER_TYPE_DECODE`, now typed: calls compile unchanged.
pub const WORKER_TYPE_DECODE: WorkerType = WorkerType::Decode;

/// What one worker slot records: which worker, which data-parallel rank, which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct WorkerInfo {
    pub(crate) instance_id: u64,
    pub(crate) dp_rank: Option<u32>,
    pub(crate) worker_type: WorkerType,
}
