//! The per-thread gauge-handle cache: bounded, and never stale under an exporter that deletes
//! idle series.
//!
//! Building label strings and asking the recorder for a gauge costs a registry lookup and heap
//! allocations on every call. Instead each thread keeps a map from
//! `(recorder, worker_id, dp_rank, worker_type)` to the worker's three gauge handles, each
//! resolved lazily (so a prefill worker never gets a phantom ITL series) and each stamped with
//! its last use. A later observation is a thread-local hash lookup and the gauge sets: no
//! registry lookup, no allocation, no lock.
//!
//! # Time
//!
//! An observation's instant is the tracker's latest stamp (`RequestTracker::latest_stamp_instant`:
//! normally the first token for [`observe_first_token_gauges`], the finish for
//! [`observe_finish_gauges`]); the cache never reads a clock. Stamps taken with the clock are at
//! or before the moment of the observation, so an observation made promptly after its stamp
//! (`lag` = the time between the two) dates a handle's use at most `lag` early.
//!
//! # Never stale
//!
//! A handle is reused only if the observation's instant is at most one TTL
//! ([`gauge_handle_ttl`]) away from the handle's last use, on either side; otherwise it is
//! dropped and resolved again through the facade, which re-registers a series the exporter
//! deleted. A handle's last use is the latest instant it was used at. Both sides, because a
//! stamp from the future cannot pin a handle: a last use dated ahead of now says nothing about
//! when the series was really written, so a present observation more than a TTL before it
//! resolves again (an older request observed within a TTL of the last use still reuses it). A
//! reused handle's series was written within `TTL + lag` of now (for stamps taken with the
//! clock), so an exporter that deletes only series idle for longer than its timeout never
//! deleted it while `TTL + lag` stays below that timeout.
//!
//! # Bounded
//!
//! Amortised, no background thread: when an observation's instant is at least one TTL away from
//! the last sweep's, on either side, the observation first sweeps the map, dropping every handle
//! not used within one TTL of that instant (either side) and every entry left with none, and
//! restarts the sweep clock at that instant; a map then a quarter full or less is shrunk to
//! twice its length, so the memory goes back to the allocator. Every restart of the sweep clock
//! sweeps, so no stamp can stop the sweeps: not a sweep stamped in the future, not a backlog
//! observed newest-first (each step back by a TTL sweeps what lies more than a TTL ahead). A
//! thread's cache therefore holds the workers it observed within two TTLs or so of its latest
//! sweep. The price: a thread that keeps mixing stamps more than a TTL apart sweeps on each
//! such jump. A thread that stops observing keeps its map until its next observation or its
//! exit. [`gauge_handle_cache_stats`] shows this thread's map.
//!
//! # Which recorder
//!
//! The recorder is the one current at observation time ([`::metrics::with_recorder`]: a local
//! recorder if one is set on this thread, else the global one, else the facade's no-op one). It
//! is identified by its data address and size. Two live recorders cannot share both unless one
//! is a same-sized part of the other at the same address.
//!
//! * **Zero-sized recorders are not cached.** Every zero-sized value may sit at the same address,
//!   so the address does not tell two unit-struct recorders apart; their handles are resolved on
//!   every observation (the allocations included).
//! * **No recorder installed: nothing is cached.** The facade's no-op recorder is zero-sized.
//! * **A dropped local recorder.** If a local recorder is dropped and another one of the same
//!   size is later created at the same address, handles cached for the first (at most one TTL
//!   old) would be reused; call [`forget_gauge_handles`] after dropping a local recorder (tests
//!   do). The global recorder is installed once and never moves.
//!
//! # Orderings
//!
//! `EPOCH` (behind [`forget_gauge_handles`]) is read and written `Relaxed`. It carries no other
//! data: a thread that sees a new epoch replaces its map and re-resolves through the facade,
//! which does its own synchronisation. The TTL's ordering is in `handle_ttl`.
//!
//! [`observe_first_token_gauges`]: crate::RequestTracker::observe_first_token_gauges
//! [`observe_finish_gauges`]: crate::RequestTracker::observe_finish_gauges

use super::gauges::WorkerGauge;
use super::handle_ttl::gauge_handle_ttl;
use crate::slot::WorkerInfo;
use ::metrics::Gauge;
use rustc_hash::FxBuildHasher;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

static EPOCH: AtomicU64 = AtomicU64::new(0);

/// Drops every thread's cached gauge handles and frees their memory: this thread's at once,
/// every other thread's at its next observation (each then resolves its handles again).
///
/// Needed after dropping a *local* recorder when a new one may reuse its address (see the
/// `handle_cache` module docs), or to hand a thread's memory back at once. Costs one atomic
/// increment, and one re-resolution per worker per thread afterwards.
pub fn forget_gauge_handles() {
    let epoch = EPOCH.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    // Swap under the borrow, drop outside it: dropping a handle runs the recorder's code.
    let old = CACHE.try_with(|cell| {
        cell.try_borrow_mut()
            .ok()
            .map(|mut cache| std::mem::replace(&mut *cache, HandleCache::empty(epoch)))
    });
    drop(old);
}

/// This thread's gauge-handle cache, as [`gauge_handle_cache_stats`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct GaugeHandleCacheStats {
    /// Cached `(recorder, worker)` entries.
    pub entries: usize,
    /// Entries the map holds room for without reallocating.
    pub capacity: usize,
    /// The map's table, estimated as `capacity × (entry size + 1 control byte)`; the
    /// allocation is up to 1/7 larger (the table's load factor). The gauges' own storage
    /// belongs to the recorder and is not counted.
    pub table_bytes: usize,
}

/// This thread's gauge-handle cache: entries, capacity and table size. A diagnostic (the
/// cache's bound is documented in the `handle_cache` module docs); all zeros on a thread that
/// never cached a handle, or while thread-local storage is being torn down.
pub fn gauge_handle_cache_stats() -> GaugeHandleCacheStats {
    CACHE
        .try_with(|cell| {
            cell.try_borrow().map_or_else(
                |_| GaugeHandleCacheStats::default(),
                |cache| {
                    let capacity = cache.map.capacity();
                    GaugeHandleCacheStats {
                        entries: cache.map.len(),
                        capacity,
                        table_bytes: capacity * (std::mem::size_of::<(HandleKey, Handles)>() + 1),
                    }
                },
            )
        })
        .unwrap_or_default()
}

/// A recorder as the cache tells recorders apart: its data address and its nonzero size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct RecorderId {
    address: usize,
    size: usize,
}

impl RecorderId {
    /// The current recorder's identity; `None` for a zero-sized recorder (not cached).
    fn current() -> Option<Self> {
        ::metrics::with_recorder(|r| {
            let size = std::mem::size_of_val(r);
            (size != 0).then(|| Self {
                address: std::ptr::from_ref(r).cast::<()>().addr(),
                size,
            })
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct HandleKey {
    recorder: RecorderId,
    worker: WorkerInfo,
}

/// An instant as signed nanoseconds from the cache's origin (the instant of the map's first
/// observation): the cache compares integers, not `Instant`s, so an observation converts its
/// instant once.
type Nanos = i64;

/// `t` as [`Nanos`] from `origin` (negative before it; saturating).
fn nanos_since(origin: Instant, t: Instant) -> Nanos {
    match t.checked_duration_since(origin) {
        Some(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        None => i64::try_from(origin.duration_since(t).as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// A resolved gauge and the latest instant it was used at.
struct Handle {
    gauge: Gauge,
    last_used: Nanos,
}

/// A worker's three gauges, indexed by [`WorkerGauge::index`].
#[derive(Default)]
struct Handles([Option<Handle>; 3]);

/// Whether `b` is at most `ttl` ns away from `a`, either side.
fn within(a: Nanos, b: Nanos, ttl: u64) -> bool {
    a.abs_diff(b) <= ttl
}

struct HandleCache {
    /// The `EPOCH` this map was made in.
    epoch: u64,
    /// The instant every [`Nanos`] of this map counts from; `None` for a new map.
    origin: Option<Instant>,
    /// The instant of the last sweep (or of the first observation); `None` for a new map.
    last_sweep: Option<Nanos>,
    map: HashMap<HandleKey, Handles, FxBuildHasher>,
}

thread_local! {
    static CACHE: RefCell<HandleCache> = const { RefCell::new(HandleCache::empty(0)) };
}

impl HandleCache {
    const fn empty(epoch: u64) -> Self {
        Self {
            epoch,
            origin: None,
            last_sweep: None,
            map: HashMap::with_hasher(FxBuildHasher),
        }
    }

    /// Sets each `(gauge, value)` of `key`'s worker at `now`, resolving a handle that is
    /// missing or unused for longer than `ttl`.
    fn set(&mut self, key: HandleKey, values: &[(WorkerGauge, f64)], now: Instant, ttl: Duration) {
        let ttl = u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX);
        let now = nanos_since(*self.origin.get_or_insert(now), now);
        self.sweep_if_due(now, ttl);
        let handles = self.map.entry(key).or_default();
        for &(g, v) in values {
            let slot = &mut handles.0[g.index()];
            // Both sides: a last use dated in the future says nothing about when the series
            // was really written, so it cannot keep the handle fresh.
            slot.take_if(|h| !within(h.last_used, now, ttl));
            let handle = slot.get_or_insert_with(|| Handle {
                gauge: g.resolve(key.worker),
                last_used: now,
            });
            handle.last_used = handle.last_used.max(now);
            handle.gauge.set(v);
        }
    }

    /// Sweeps, and restarts the sweep clock at `now`, when `now` is at least `ttl` away from the
    /// last sweep on either side: every restart of the sweep clock sweeps.
    fn sweep_if_due(&mut self, now: Nanos, ttl: u64) {
        let Some(last) = self.last_sweep else {
            self.last_sweep = Some(now);
            return;
        };
        if last.abs_diff(now) >= ttl {
            self.sweep(now, ttl);
            self.last_sweep = Some(now);
        }
    }

    /// Drops handles not used within `ttl` of `now` and entries left empty; shrinks a map a
    /// quarter full or less to twice its length.
    fn sweep(&mut self, now: Nanos, ttl: u64) {
        self.map.retain(|_, handles| {
            for slot in &mut handles.0 {
                slot.take_if(|h| !within(now, h.last_used, ttl));
            }
            handles.0.iter().any(Option::is_some)
        });
        if self.map.capacity() / 4 > self.map.len() {
            self.map.shrink_to(2 * self.map.len());
        }
    }
}

/// Sets each `(gauge, value)` for worker `w` in the current recorder; `now` is the
/// observation's instant (the tracker's latest stamp).
pub(crate) fn set_worker_gauges(w: WorkerInfo, values: &[(WorkerGauge, f64)], now: Instant) {
    if values.is_empty() {
        return;
    }
    let Some(recorder) = RecorderId::current() else {
        set_uncached(w, values);
        return;
    };
    let key = HandleKey {
        recorder,
        worker: w,
    };
    let ttl = gauge_handle_ttl();
    let cached = CACHE.try_with(|cell| {
        let Ok(mut cache) = cell.try_borrow_mut() else {
            return false;
        };
        let epoch = EPOCH.load(Ordering::Relaxed);
        if cache.epoch != epoch {
            *cache = HandleCache::empty(epoch);
        }
        cache.set(key, values, now, ttl);
        true
    });
    if cached != Ok(true) {
        // Thread-local storage is being torn down, or a recorder re-entered: no caching.
        set_uncached(w, values);
    }
}

/// Resolves and sets each gauge without caching the handles.
fn set_uncached(w: WorkerInfo, values: &[(WorkerGauge, f64)]) {
    for &(g, v) in values {
        g.resolve(w).set(v);
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;
    use crate::slot::WorkerType;
    use metrics_util::debugging::DebuggingRecorder;

    #[test]
    fn an_instant_before_the_origin_is_negative() {
        let origin = Instant::now() + Duration::from_secs(1);
        assert_eq!(nanos_since(origin, origin - Duration::from_nanos(5)), -5);
        assert_eq!(nanos_since(origin, origin + Duration::from_nanos(5)), 5);
    }

    #[test]
    fn table_bytes_is_capacity_times_entry_size_plus_a_control_byte() {
        std::thread::spawn(|| {
            let recorder = DebuggingRecorder::new();
            let worker = WorkerInfo {
                instance_id: 7,
                dp_rank: Some(0),
                worker_type: WorkerType::Prefill,
            };
            ::metrics::with_local_recorder(&recorder, || {
                set_worker_gauges(worker, &[(WorkerGauge::Ttft, 1.0)], Instant::now());
            });
            let stats = gauge_handle_cache_stats();
            assert_eq!(stats.entries, 1);
            assert!(stats.capacity >= 1, "{stats:?}");
            let entry = std::mem::size_of::<(HandleKey, Handles)>();
            assert_eq!(stats.table_bytes, stats.capacity * (entry + 1), "{stats:?}");
        })
        .join()
        .unwrap();
    }
}
