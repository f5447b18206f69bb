//! Phase permits: holding one keeps every other `set_phase` waiting; dropping it lets the next
//! waiter in. The phase itself stays as set after the drop.

use super::phase_gate::PhaseGate;
use crate::RequestTracker;
use std::fmt;
use std::sync::Arc;

/// A held phase gate, borrowed from its tracker; releases the gate on drop.
///
/// Returned by [`RequestTracker::set_phase`] and [`RequestTracker::try_set_phase`].
#[must_use = "dropping the permit at once lets the next phase change in at once"]
pub struct PhasePermit<'a> {
    gate: &'a PhaseGate,
}

impl<'a> PhasePermit<'a> {
    pub(crate) fn new(gate: &'a PhaseGate) -> Self {
        Self { gate }
    }
}

impl Drop for PhasePermit<'_> {
    fn drop(&mut self) {
        self.gate.release();
    }
}

impl fmt::Debug for PhasePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhasePermit")
            .field("phase", &self.gate.phase())
            .finish()
    }
}

/// A held phase gate that owns an `Arc` of its tracker: `'static + Send`, so it can move into
/// `tokio::spawn`ed work (the background prefill task holds it while it records its worker).
///
/// Returned by [`RequestTracker::set_phase_owned`]; releases the gate on drop.
#[must_use = "dropping the permit at once lets the next phase change in at once"]
pub struct OwnedPhasePermit {
    tracker: Arc<RequestTracker>,
}

impl OwnedPhasePermit {
    pub(crate) fn new(tracker: Arc<RequestTracker>) -> Self {
        Self { tracker }
    }

    /// The tracker this permit belongs to.
    pub fn tracker(&self) -> &Arc<RequestTracker> {
        &self.tracker
    }
}

impl Drop for OwnedPhasePermit {
    fn drop(&mut self) {
        self.tracker.gate().release();
    }
}

impl fmt::Debug for OwnedPhasePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPhasePermit")
            .field("phase", &self.tracker.phase())
            .finish()
    }
}
