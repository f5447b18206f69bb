//! The simulated workers and the router's routing decisions.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Workers, ranks, and the router's queue.
#[derive(Debug)]
pub struct Cluster {
    pub prefill_workers: u32,
    pub decode_workers: u32,
    pub dp_ranks: u32,
    queued: AtomicUsize,
}

/// Prefill worker ids start here, decode worker ids after them (like instance ids).
pub const PREFILL_ID_BASE: u64 = 7_000;

impl Cluster {
    pub fn new(prefill_workers: u32, decode_workers: u32, dp_ranks: u32) -> Self {
        Self {
            prefill_workers,
            decode_workers,
            dp_ranks,
            queued: AtomicUsize::new(0),
        }
    }

    /// Joins the router's scheduler queue; returns how many were pending before.
    pub fn enter_queue(&self) -> usize {
        self.queued.fetch_add(1, Ordering::Relaxed)
    }

    pub fn leave_queue(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    /// The prefill worker with the largest prefix-cache overlap (in blocks), and that overlap.
    pub fn route_prefill(&self, rng: &mut fastrand::Rng, isl_blocks: usize) -> (u64, usize) {
        (0..self.prefill_workers)
            .map(|w| {
                // Each worker holds some prefix of the prompt; skewed towards small overlaps.
                let share = rng.f64() * rng.f64();
                (
                    PREFILL_ID_BASE + u64::from(w),
                    (share * isl_blocks as f64) as usize,
                )
            })
            .max_by_key(|&(_, overlap)| overlap)
            .expect("at least one prefill worker")
    }

    /// A decode worker, least-loaded by a random tie-break in this simulation.
    pub fn route_decode(&self, rng: &mut fastrand::Rng) -> u64 {
        PREFILL_ID_BASE
            + u64::from(self.prefill_workers)
            + u64::from(rng.u32(0..self.decode_workers))
    }
}
