//! The `nvext` object of an OpenAI-compatible response, as Dynamo's `NvExtResponse` renders it.

use super::{TimingInfo, WorkerIdInfo};
use crate::RequestTracker;
use serde::{Deserialize, Serialize};

/// The response's `nvext` object: `worker_id` and `timing`, each present only when the client
/// asked for it (`"nvext": {"extra_fields": ["worker_id", "timing"]}`) and known.
///
/// Field names, order and omission rules are Dynamo's `NvExtResponse` (its `token_ids` and
/// `routed_experts` are not a tracker's to fill). Timing goes on the final chunk of a stream.
///
/// ```
/// use reqtrack::{NvExtResponse, RequestTracker};
/// let t = RequestTracker::with_received_at(std::time::Instant::now(), 1_700_000_000_000);
/// let nvext = NvExtResponse::from_tracker(&t, true, true);
/// assert_eq!(
///     serde_json::to_string(&nvext).unwrap(),
///     r#"{"timing":{"request_received_ms":1700000000000}}"#
/// );
/// assert!(NvExtResponse::from_tracker(&t, false, false).is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NvExtResponse {
    /// Which workers served the request (`nvext.worker_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<WorkerIdInfo>,
    /// The request's timing (`nvext.timing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<TimingInfo>,
}

impl NvExtResponse {
    /// The fields the client asked for, read from `tracker` now.
    pub fn from_tracker(tracker: &RequestTracker, timing: bool, worker_id: bool) -> Self {
        Self {
            worker_id: if worker_id {
                tracker.get_worker_info()
            } else {
                None
            },
            timing: timing.then(|| tracker.get_timing_info()),
        }
    }

    /// Whether there is nothing to send (the response then carries no `nvext`).
    pub fn is_empty(&self) -> bool {
        self.worker_id.is_none() && self.timing.is_none()
    }
}
