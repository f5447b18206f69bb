//! The phase (set under the phase permit) and the prefill / decode worker slots it routes
//! `record_worker` to.

use super::RequestTracker;
use crate::gate::{OwnedPhasePermit, PhasePermit, RequestPhase};
use crate::report::WorkerIdInfo;
use crate::slot::{WorkerInfo, WorkerType};
use std::future::Future;
use std::sync::Arc;

impl RequestTracker {
    // ---- phase --------------------------------------------------------------------

    /// Waits until no phase permit is out, sets `phase`, and returns a permit. The phase stays
    /// as set after the permit drops.
    ///
    /// Waiters are served in FIFO order, like the reference's one-permit semaphore: dropping a
    /// permit while anyone waits hands the gate straight to the longest waiter (its phase is
    /// set when it runs), so neither [`try_set_phase`](Self::try_set_phase) nor a later
    /// `set_phase` can barge in, and no waiter starves.
    ///
    /// Dropping this future while it waits loses no wake-up for other waiters; dropping it
    /// after the gate was handed to it passes the gate on (or frees it). The future is `Send`.
    ///
    /// **Calling `set_phase` while the same task holds a permit waits forever**, as in the
    /// reference: drop the permit first, or use [`try_set_phase`](Self::try_set_phase).
    #[inline]
    pub async fn set_phase(&self, phase: RequestPhase) -> PhasePermit<'_> {
        // The uncontended take in this future's own first poll; only a held gate builds the
        // waiter's state (`acquire_queued`).
        if !self.gate.try_acquire(phase) {
            self.gate.acquire_queued(phase).await;
        }
        PhasePermit::new(&self.gate)
    }

    /// [`set_phase`](Self::set_phase) with a permit that owns an `Arc` of the tracker, so it is
    /// `'static + Send` and can move into a spawned task. The future itself is `'static`.
    pub fn set_phase_owned(
        self: &Arc<Self>,
        phase: RequestPhase,
    ) -> impl Future<Output = OwnedPhasePermit> + Send + 'static {
        let this = Arc::clone(self);
        async move {
            if !this.gate.try_acquire(phase) {
                this.gate.acquire_queued(phase).await;
            }
            OwnedPhasePermit::new(this)
        }
    }

    /// Sets `phase` and returns a permit if no permit is out and nobody waits; `None` otherwise
    /// (never waits, never jumps the queue).
    #[inline]
    pub fn try_set_phase(&self, phase: RequestPhase) -> Option<PhasePermit<'_>> {
        self.gate
            .try_acquire(phase)
            .then(|| PhasePermit::new(&self.gate))
    }

    /// The current phase; never waits.
    #[inline]
    pub fn phase(&self) -> RequestPhase {
        self.gate.phase()
    }

    // ---- workers ------------------------------------------------------------------

    /// [`record_worker`](Self::record_worker) with a known dp rank.
    #[inline]
    pub fn record_worker_full(&self, instance_id: u64, dp_rank: u32, worker_type: WorkerType) {
        self.record_worker(instance_id, Some(dp_rank), worker_type);
    }

    /// Records which worker serves the current phase: the prefill slot in `Prefill`, the decode
    /// slot in `Decode`, both in `Aggregated`.
    ///
    /// Each slot keeps its first `(instance_id, dp_rank, worker_type)` as one value. A later
    /// write with the same id and type that brings a rank where the slot had none fills the
    /// rank in. Any other different write changes nothing and counts one conflict per slot it
    /// hits ([`worker_conflicts`](Self::worker_conflicts)); an identical write is not a conflict.
    ///
    /// Atomicity: each slot's write is one atomic step, so a slot never holds a mixed triple.
    /// The call itself is three steps: read the phase, write the prefill slot, write the decode
    /// slot. Made by the phase permit's holder (the intended protocol) it is indistinguishable
    /// from one atomic step. Racing a phase change, or another `Aggregated` write of a
    /// different worker, each slot still ends with one whole triple and every conflict is
    /// counted, but the two slots may end with different writers' triples.
    #[inline]
    pub fn record_worker(&self, instance_id: u64, dp_rank: Option<u32>, worker_type: WorkerType) {
        let w = WorkerInfo {
            instance_id,
            dp_rank,
            worker_type,
        };
        // The slot counts its own conflicts; the outcome is not needed here.
        match self.phase() {
            RequestPhase::Prefill => {
                self.prefill_worker.write(w);
            }
            RequestPhase::Decode => {
                self.decode_worker.write(w);
            }
            RequestPhase::Aggregated => {
                self.prefill_worker.write(w);
                self.decode_worker.write(w);
            }
        }
    }

    /// Conflicting worker writes seen so far: one per slot a conflicting write hit (each slot
    /// counts up to `2^28 - 1`).
    #[inline]
    pub fn worker_conflicts(&self) -> u32 {
        self.prefill_worker.conflicts() + self.decode_worker.conflicts()
    }

    /// Prefill worker instance id.
    #[inline]
    pub fn prefill_worker_id(&self) -> Option<u64> {
        self.prefill_worker.get().map(|w| w.instance_id)
    }

    /// Prefill worker dp rank.
    #[inline]
    pub fn prefill_dp_rank(&self) -> Option<u32> {
        self.prefill_worker.get().and_then(|w| w.dp_rank)
    }

    /// Decode worker instance id.
    #[inline]
    pub fn decode_worker_id(&self) -> Option<u64> {
        self.decode_worker.get().map(|w| w.instance_id)
    }

    /// Decode worker dp rank.
    #[inline]
    pub fn decode_dp_rank(&self) -> Option<u32> {
        self.decode_worker.get().and_then(|w| w.dp_rank)
    }

    /// Prefill worker type.
    #[inline]
    pub fn prefill_worker_type(&self) -> Option<WorkerType> {
        self.prefill_worker.get().map(|w| w.worker_type)
    }

    /// Decode worker type.
    #[inline]
    pub fn decode_worker_type(&self) -> Option<WorkerType> {
        self.decode_worker.get().map(|w| w.worker_type)
    }

    /// `nvext.worker_id`, or `None` while neither worker is recorded. Each slot is read once,
    /// so an id and its rank always come from the same write.
    #[inline]
    pub fn get_worker_info(&self) -> Option<WorkerIdInfo> {
        let prefill = self.prefill_worker.get();
        let decode = self.decode_worker.get();
        if prefill.is_none() && decode.is_none() {
            return None;
        }
        Some(WorkerIdInfo {
            prefill_worker_id: prefill.map(|w| w.instance_id),
            prefill_dp_rank: prefill.and_then(|w| w.dp_rank),
            decode_worker_id: decode.map(|w| w.instance_id),
            decode_dp_rank: decode.and_then(|w| w.dp_rank),
        })
    }

    /// The prefill slot's whole triple (the gauges' labels).
    #[inline]
    pub(crate) fn prefill_worker_info(&self) -> Option<WorkerInfo> {
        self.prefill_worker.get()
    }

    /// The decode slot's whole triple (the gauges' labels).
    #[inline]
    pub(crate) fn decode_worker_info(&self) -> Option<WorkerInfo> {
        self.decode_worker.get()
    }
}
