//! The simulated disaggregated cluster: prefill workers with a prefix (KV-block) cache, decode
//! workers, and the router's decisions.
//!
//! Routing is by prefix overlap, as a KV-aware router does it: each prefill worker remembers the
//! chained hashes of the prompt blocks it has prefilled (bounded, oldest evicted first); a
//! request goes to the worker holding the longest run of its leading blocks, ties to the least
//! loaded. Decode goes to the least-loaded decode worker. Every assignment is a [`Load`] guard,
//! so a request that ends early (a client disconnect) never leaves a worker looking busy.

use parking_lot::Mutex;
use rustc_hash::FxBuildHasher;
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Prefill worker ids start here, decode worker ids after them (like instance ids).
pub const PREFILL_ID_BASE: u64 = 7_000;

/// Blocks each prefill worker's prefix cache keeps.
const CACHE_BLOCKS: usize = 16_384;

/// One worker's prefix cache: chained block hashes, evicted oldest first.
#[derive(Debug, Default)]
struct PrefixCache {
    blocks: HashSet<u64, FxBuildHasher>,
    order: VecDeque<u64>,
}

impl PrefixCache {
    /// How many of `blocks`, from the first, are cached.
    fn leading_hits(&self, blocks: &[u64]) -> usize {
        blocks
            .iter()
            .take_while(|b| self.blocks.contains(b))
            .count()
    }

    fn insert(&mut self, blocks: &[u64]) {
        for &b in blocks {
            if self.blocks.insert(b) {
                self.order.push_back(b);
            }
        }
        while self.order.len() > CACHE_BLOCKS {
            if let Some(old) = self.order.pop_front() {
                self.blocks.remove(&old);
            }
        }
    }
}

#[derive(Debug)]
struct Worker {
    id: u64,
    load: Arc<AtomicUsize>,
}

impl Worker {
    fn new(id: u64) -> Self {
        Self {
            id,
            load: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// A request's hold on a worker; released on drop.
#[derive(Debug)]
pub struct Load {
    /// The worker's instance id.
    pub worker: u64,
    load: Arc<AtomicUsize>,
}

impl Load {
    fn take(w: &Worker) -> Self {
        w.load.fetch_add(1, Ordering::Relaxed);
        Self {
            worker: w.id,
            load: Arc::clone(&w.load),
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.load.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The prefill worker chosen for a request.
#[derive(Debug)]
pub struct PrefillRoute {
    /// Its hold on the worker.
    pub load: Load,
    /// Leading prompt blocks already in the worker's cache.
    pub overlap_blocks: usize,
    index: usize,
}

/// Workers, ranks, caches and the router's queue.
#[derive(Debug)]
pub struct Cluster {
    prefill: Vec<Worker>,
    caches: Vec<Mutex<PrefixCache>>,
    decode: Vec<Worker>,
    dp_ranks: u32,
    queued: AtomicUsize,
}

impl Cluster {
    /// `prefill_workers` + `decode_workers` workers (each at least one), `dp_ranks` ranks each.
    pub fn new(prefill_workers: u32, decode_workers: u32, dp_ranks: u32) -> Self {
        let prefill_workers = prefill_workers.max(1);
        let prefill = (0..prefill_workers)
            .map(|w| Worker::new(PREFILL_ID_BASE + u64::from(w)))
            .collect();
        let decode = (0..decode_workers.max(1))
            .map(|w| Worker::new(PREFILL_ID_BASE + u64::from(prefill_workers) + u64::from(w)))
            .collect();
        Self {
            prefill,
            caches: (0..prefill_workers).map(|_| Mutex::default()).collect(),
            decode,
            dp_ranks: dp_ranks.max(1),
            queued: AtomicUsize::new(0),
        }
    }

    /// Data-parallel ranks per worker.
    pub fn dp_ranks(&self) -> u32 {
        self.dp_ranks
    }

    /// Joins the router's scheduler queue; returns how many were pending before.
    pub fn enter_queue(&self) -> usize {
        self.queued.fetch_add(1, Ordering::Relaxed)
    }

    /// Leaves the router's scheduler queue.
    pub fn leave_queue(&self) {
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    /// The prefill worker holding the longest cached prefix of `blocks` (ties: least loaded).
    pub fn route_prefill(&self, blocks: &[u64]) -> PrefillRoute {
        let (index, overlap_blocks) = self
            .caches
            .iter()
            .enumerate()
            .map(|(i, cache)| (i, cache.lock().leading_hits(blocks)))
            .max_by(|&(a, oa), &(b, ob)| {
                let load = |i: usize| self.prefill[i].load.load(Ordering::Relaxed);
                oa.cmp(&ob).then(load(b).cmp(&load(a)))
            })
            .unwrap_or((0, 0));
        PrefillRoute {
            load: Load::take(&self.prefill[index]),
            overlap_blocks,
            index,
        }
    }

    /// After prefill: the worker of `route` now caches `blocks`.
    pub fn remember(&self, route: &PrefillRoute, blocks: &[u64]) {
        self.caches[route.index].lock().insert(blocks);
    }

    /// The least-loaded decode worker.
    pub fn route_decode(&self) -> Load {
        let w = self
            .decode
            .iter()
            .min_by_key(|w| w.load.load(Ordering::Relaxed))
            .unwrap_or(&self.decode[0]);
        Load::take(w)
    }

    /// Requests holding any worker (prefill or decode) right now.
    pub fn busy(&self) -> usize {
        self.prefill
            .iter()
            .chain(&self.decode)
            .map(|w| w.load.load(Ordering::Relaxed))
            .sum()
    }
}
