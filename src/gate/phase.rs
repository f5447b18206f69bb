//! `RequestPhase`: which part of a disaggregated request is being routed.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The phase of a request in disaggregated serving; decides which worker slot
/// [`record_worker`](crate::RequestTracker::record_worker) writes.
///
/// ```
/// use reqtrack::RequestPhase;
/// assert_eq!(RequestPhase::default(), RequestPhase::Aggregated);
/// assert_eq!(RequestPhase::Prefill.as_str(), "prefill");
/// assert_eq!(RequestPhase::Aggregated.to_string(), "aggregated");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub enum RequestPhase {
    /// Prefill-only phase: `record_worker` writes the prefill slot.
    Prefill,
    /// Decode phase: `record_worker` writes the decode slot.
    Decode,
    /// One worker does both: `record_worker` writes both slots.
    #[default]
    Aggregated,
}

impl RequestPhase {
    /// `"prefill"`, `"decode"` or `"aggregated"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Prefill => "prefill",
            Self::Decode => "decode",
            Self::Aggregated => "aggregated",
        }
    }

    /// The 2-bit code stored in the phase gate.
    pub(crate) const fn code(self) -> u8 {
        match self {
            Self::Aggregated => 0,
            Self::Prefill => 1,
            Self::Decode => 2,
        }
    }

    /// Inverse of [`code`](Self::code); the gate never stores 3, which reads as the default.
    pub(crate) const fn from_code(code: u8) -> Self {
        match code {
            1 => Self::Prefill,
            2 => Self::Decode,
            _ => Self::Aggregated,
        }
    }
}

impl fmt::Display for RequestPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_round_trips_every_phase() {
        for p in [
            RequestPhase::Prefill,
            RequestPhase::Decode,
            RequestPhase::Aggregated,
        ] {
            assert_eq!(RequestPhase::from_code(p.code()), p);
        }
    }
}
