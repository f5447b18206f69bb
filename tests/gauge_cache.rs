//! The per-thread gauge-handle cache: its TTL, its sweep, its memory, and the recipe for the
//! series of removed workers (the exporter's gauge idle timeout with the TTL below it).
//!
//! These tests change the process-wide TTL, so they live in their own test binary and take
//! turns ([`ttl_for_test`]); each restores the TTL it found.

#![cfg(not(reqtrack_model))]

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use metrics_util::MetricKindMask;
use reqtrack::{
    GaugeHandleCacheStats, RequestTracker, WORKER_TYPE_PREFILL, forget_gauge_handles,
    gauge_handle_cache_stats, gauge_handle_ttl, set_gauge_handle_ttl,
};
use reqtrack_check::recorder::TallyRecorder;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

static TURN: Mutex<()> = Mutex::new(());

/// Holds the TTL at `ttl` (and every other test of this binary off) until dropped; then
/// restores the previous TTL. Starts and ends with no cached handles on any thread.
struct TtlForTest {
    previous: Duration,
    _turn: MutexGuard<'static, ()>,
}

fn ttl_for_test(ttl: Duration) -> TtlForTest {
    let turn = TURN.lock().unwrap_or_else(PoisonError::into_inner);
    let previous = gauge_handle_ttl();
    set_gauge_handle_ttl(ttl);
    forget_gauge_handles();
    TtlForTest {
        previous,
        _turn: turn,
    }
}

impl Drop for TtlForTest {
    fn drop(&mut self) {
        set_gauge_handle_ttl(self.previous);
        forget_gauge_handles();
    }
}

/// A recorder with state (so it is not zero-sized) that counts gauge registrations, i.e. how
/// often the cache resolved a handle through the facade ([`resolved`]).
type CountingRecorder = TallyRecorder;

/// How often `recorder` registered a gauge.
fn resolved(recorder: &CountingRecorder) -> usize {
    usize::try_from(recorder.gauges_registered()).unwrap_or(usize::MAX)
}

/// A request served by prefill worker `worker`, its first token stamped at `at`.
fn first_token_at(worker: u64, at: Instant) -> RequestTracker {
    let t = RequestTracker::with_received_at(at, 0);
    t.record_worker_full(worker, 0, WORKER_TYPE_PREFILL);
    t.record_first_token_at(at);
    t
}

/// A request served by prefill worker `worker`, its first token stamped now.
fn first_token_now(worker: u64) -> RequestTracker {
    let t = RequestTracker::new();
    t.record_worker_full(worker, 0, WORKER_TYPE_PREFILL);
    t.record_first_token();
    t
}

/// Prometheus' recorder with the gauge idle timeout `idle`, and its render handle.
fn prometheus_with_gauge_idle_timeout(idle: Duration) -> (PrometheusRecorder, PrometheusHandle) {
    let recorder = PrometheusBuilder::new()
        .idle_timeout(MetricKindMask::GAUGE, Some(idle))
        .build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

/// Whether the exposition has worker `worker`'s TTFT series.
fn has_ttft_series(text: &str, worker: u64) -> bool {
    text.contains(&format!(
        "dynamo_frontend_worker_last_time_to_first_token_seconds{{worker_id=\"{worker}\",dp_rank=\"0\",worker_type=\"prefill\"}}"
    ))
}

// ---- issue 9, item 1: handles must not outlive the exporter's series ------------------------

/// Observes worker 7 through `first` under a 50 ms TTL and a 100 ms gauge idle timeout, waits
/// until the exporter evicted the series, then observes it at the present: the series must be
/// back in the exposition.
fn evicted_series_returns_on_a_present_observation(first: RequestTracker) {
    let _ttl = ttl_for_test(Duration::from_millis(50));
    let (recorder, prometheus) = prometheus_with_gauge_idle_timeout(Duration::from_millis(100));
    metrics::with_local_recorder(&recorder, || first.observe_first_token_gauges());
    assert!(has_ttft_series(&prometheus.render(), 7));
    // The exporter's idle clock is real time: nothing else makes it evict.
    std::thread::sleep(Duration::from_millis(250));
    let evicted = prometheus.render();
    assert!(
        !has_ttft_series(&evicted, 7),
        "precondition: the exporter evicted it\n{evicted}"
    );

    metrics::with_local_recorder(&recorder, || {
        first_token_now(7).observe_first_token_gauges()
    });
    let text = prometheus.render();
    assert!(has_ttft_series(&text, 7), "{text}");
}

#[test]
fn cached_handle_goes_dead_after_exporter_evicts_idle_series() {
    evicted_series_returns_on_a_present_observation(first_token_now(7));
}

#[test]
fn removed_worker_series_disappears_after_idle_timeout_and_returns_on_next_observation() {
    // The recipe, scaled down: gauge idle timeout 100 ms, handle TTL 50 ms (below it).
    let _ttl = ttl_for_test(Duration::from_millis(50));
    let idle = Duration::from_millis(100);
    let (recorder, prometheus) = prometheus_with_gauge_idle_timeout(idle);
    metrics::with_local_recorder(&recorder, || {
        first_token_now(7).observe_first_token_gauges();
        first_token_now(8).observe_first_token_gauges();
    });
    let text = prometheus.render();
    assert!(
        has_ttft_series(&text, 7) && has_ttft_series(&text, 8),
        "{text}"
    );

    // Worker 7 leaves; worker 8 keeps serving (and being scraped) for over 2.5 timeouts.
    let quiet_since = Instant::now();
    while quiet_since.elapsed() <= idle * 5 / 2 {
        metrics::with_local_recorder(&recorder, || {
            first_token_now(8).observe_first_token_gauges()
        });
        drop(prometheus.render());
        std::thread::sleep(Duration::from_millis(10));
    }
    let text = prometheus.render();
    assert!(!has_ttft_series(&text, 7), "{text}");
    assert!(has_ttft_series(&text, 8), "{text}");

    // Worker 7 comes back: its next observation brings its series back.
    metrics::with_local_recorder(&recorder, || {
        first_token_now(7).observe_first_token_gauges()
    });
    let text = prometheus.render();
    assert!(has_ttft_series(&text, 7), "{text}");
}

#[test]
fn handle_unused_for_longer_than_the_ttl_is_resolved_on_its_next_use() {
    let ttl = Duration::from_secs(1);
    let _ttl = ttl_for_test(ttl);
    let recorder = CountingRecorder::default();
    let t0 = Instant::now();
    metrics::with_local_recorder(&recorder, || {
        first_token_at(7, t0).observe_first_token_gauges();
        first_token_at(7, t0 + ttl).observe_first_token_gauges();
        assert_eq!(resolved(&recorder), 1, "used again within the TTL: kept");
        first_token_at(7, t0 + 2 * ttl + Duration::from_nanos(1)).observe_first_token_gauges();
        assert_eq!(
            resolved(&recorder),
            2,
            "unused for longer than the TTL: resolved"
        );
    });
}

/// How often worker 7's TTFT handle is resolved when it is observed at `t0 + offset` for each
/// offset in turn, under a 1 s TTL.
fn resolutions_of_worker_7_at(offsets: &[Duration]) -> usize {
    let _ttl = ttl_for_test(Duration::from_secs(1));
    let recorder = CountingRecorder::default();
    let t0 = Instant::now();
    metrics::with_local_recorder(&recorder, || {
        for &offset in offsets {
            first_token_at(7, t0 + offset).observe_first_token_gauges();
        }
    });
    resolved(&recorder)
}

#[test]
fn a_stamp_within_the_ttl_of_the_last_use_either_side_keeps_the_handle() {
    let s = Duration::from_secs;
    // Last use at 5 s; 4 s is older and 6 s newer, each within the 1 s TTL of the last use.
    assert_eq!(resolutions_of_worker_7_at(&[s(5), s(4), s(6)]), 1);
}

#[test]
fn a_stamp_more_than_a_ttl_from_the_last_use_either_side_resolves_again() {
    let s = Duration::from_secs;
    // 0 s is 5 TTLs before the last use (resolved); 5 s is then 5 TTLs after it (resolved).
    assert_eq!(resolutions_of_worker_7_at(&[s(5), s(0), s(5)]), 3);
}

// ---- round three, finding 1: stamps that pin a handle or stop the sweeps ---------------------

#[test]
fn a_future_stamp_pins_a_handle_whose_series_the_exporter_evicted() {
    // Deterministic half: a handle last used a year ahead is not reused by a present stamp.
    let year = Duration::from_secs(365 * 86_400);
    assert_eq!(
        resolutions_of_worker_7_at(&[year, Duration::ZERO]),
        2,
        "the present observation resolves again"
    );
}

#[test]
fn a_future_stamp_keeps_an_evicted_series_missing_from_the_exposition() {
    // The symptom, with the real exporter: the first observation is dated an hour ahead.
    let future = Instant::now() + Duration::from_secs(3600);
    evicted_series_returns_on_a_present_observation(first_token_at(7, future));
}

#[test]
fn a_backlog_observed_newest_first_never_sweeps() {
    const WORKERS: u32 = 20_000;
    let ttl = Duration::from_secs(1);
    let _ttl = ttl_for_test(ttl);
    let recorder = CountingRecorder::default();
    let t0 = Instant::now();
    let mut most = 0;
    metrics::with_local_recorder(&recorder, || {
        // One worker per millisecond of a 20 s backlog, observed from its newest stamp back.
        for i in 0..WORKERS {
            let at = t0 + Duration::from_millis(u64::from(WORKERS - i));
            first_token_at(u64::from(i), at).observe_first_token_gauges();
            most = most.max(gauge_handle_cache_stats().entries);
        }
    });
    eprintln!(
        "{WORKERS} workers observed newest-first, one per ms, TTL {ttl:?}: at most {most} entries"
    );
    assert!(most <= 2 * 1000 + 2, "{most} entries under a 1 s TTL");
}

#[test]
fn a_gauge_set_rarely_is_re_resolved_even_while_its_worker_stays_busy() {
    let ttl = Duration::from_secs(1);
    let _ttl = ttl_for_test(ttl);
    let recorder = CountingRecorder::default();
    let t0 = Instant::now();
    metrics::with_local_recorder(&recorder, || {
        let with_isl = first_token_at(7, t0);
        with_isl.record_isl(64, 0);
        with_isl.observe_first_token_gauges(); // TTFT and ISL
        assert_eq!(resolved(&recorder), 2);
        for tenths in 1..=15 {
            // TTFT only, every 0.1 TTL: the TTFT handle stays fresh, the ISL one does not.
            first_token_at(7, t0 + ttl * tenths / 10).observe_first_token_gauges();
        }
        assert_eq!(resolved(&recorder), 2);
        let again = first_token_at(7, t0 + ttl * 16 / 10);
        again.record_isl(64, 0);
        again.observe_first_token_gauges();
    });
    assert_eq!(
        resolved(&recorder),
        3,
        "only the ISL handle was resolved again"
    );
}

#[test]
fn a_sweep_keeps_only_entries_used_within_the_ttl() {
    let ttl = Duration::from_secs(1);
    let _ttl = ttl_for_test(ttl);
    let recorder = CountingRecorder::default();
    let t0 = Instant::now();
    metrics::with_local_recorder(&recorder, || {
        for worker in 1..=100 {
            first_token_at(worker, t0).observe_first_token_gauges();
        }
        first_token_at(1000, t0 + ttl / 2).observe_first_token_gauges();
        assert_eq!(
            gauge_handle_cache_stats().entries,
            101,
            "no sweep within one TTL"
        );
        first_token_at(1001, t0 + ttl + Duration::from_millis(1)).observe_first_token_gauges();
    });
    assert_eq!(
        gauge_handle_cache_stats().entries,
        2,
        "workers 1000 and 1001"
    );
}

#[test]
fn a_sweep_returns_the_table_memory_once_the_workers_are_gone() {
    let ttl = Duration::from_secs(1);
    let _ttl = ttl_for_test(ttl);
    let recorder = CountingRecorder::default();
    let t0 = Instant::now();
    metrics::with_local_recorder(&recorder, || {
        for worker in 0..10_000 {
            first_token_at(worker, t0).observe_first_token_gauges();
        }
        let busy = gauge_handle_cache_stats();
        assert!(busy.capacity >= 10_000, "{busy:?}");
        first_token_at(1, t0 + 2 * ttl).observe_first_token_gauges();
    });
    let quiet = gauge_handle_cache_stats();
    assert_eq!(quiet.entries, 1);
    assert!(quiet.capacity < 100, "{quiet:?}");
}

// ---- issue 9, item 2: memory bounded by the workers of the last TTLs, not by history --------

#[test]
fn handle_cache_grows_without_bound_as_workers_churn() {
    const WORKERS: u64 = 200_000;
    const STEP: Duration = Duration::from_millis(1);
    let ttl = Duration::from_secs(1);
    let _ttl = ttl_for_test(ttl);
    let workers_per_ttl = (ttl.as_nanos() / STEP.as_nanos()) as usize;
    let recorder = CountingRecorder::default();
    let t0 = Instant::now();
    let mut most = GaugeHandleCacheStats::default();
    metrics::with_local_recorder(&recorder, || {
        // Every worker is new (instance ids change on restart); one arrives per millisecond.
        for worker in 0..WORKERS {
            let at = t0 + STEP * u32::try_from(worker).unwrap();
            first_token_at(worker, at).observe_first_token_gauges();
            let now = gauge_handle_cache_stats();
            most.entries = most.entries.max(now.entries);
            most.capacity = most.capacity.max(now.capacity);
            most.table_bytes = most.table_bytes.max(now.table_bytes);
        }
    });
    let end = gauge_handle_cache_stats();
    eprintln!(
        "{WORKERS} workers, one per {STEP:?}, TTL {ttl:?}: at the end {end:?}; at most {most:?}"
    );
    assert_eq!(
        resolved(&recorder),
        WORKERS as usize,
        "one resolution per worker"
    );
    let bound = 2 * workers_per_ttl + 2;
    assert!(most.entries <= bound, "{most:?} > {bound} entries");
    assert!(
        most.capacity <= 2 * bound,
        "capacity {} for at most {bound} entries",
        most.capacity
    );

    forget_gauge_handles();
    let freed = gauge_handle_cache_stats();
    assert_eq!(
        freed,
        GaugeHandleCacheStats::default(),
        "forget_gauge_handles frees this thread's table"
    );
}

#[test]
fn a_far_future_stamp_does_not_stop_the_sweeps() {
    let ttl = Duration::from_secs(1);
    let _ttl = ttl_for_test(ttl);
    let recorder = CountingRecorder::default();
    let t0 = Instant::now();
    metrics::with_local_recorder(&recorder, || {
        first_token_at(1, t0 + Duration::from_secs(365 * 86_400)).observe_first_token_gauges();
        for ms in 0..10_000u32 {
            first_token_at(10 + u64::from(ms), t0 + Duration::from_millis(ms.into()))
                .observe_first_token_gauges();
        }
    });
    let entries = gauge_handle_cache_stats().entries;
    assert!(entries <= 2 * 1000 + 2, "{entries} entries");
}

#[test]
fn forget_gauge_handles_frees_other_threads_tables_at_their_next_observation() {
    let ttl = Duration::from_secs(1);
    let _ttl = ttl_for_test(ttl);
    let recorder = CountingRecorder::default();
    let t0 = Instant::now();
    let (to_worker, from_main) = std::sync::mpsc::channel::<()>();
    let (to_main, from_worker) = std::sync::mpsc::channel::<GaugeHandleCacheStats>();
    let recorder = &recorder;
    std::thread::scope(|s| {
        s.spawn(move || {
            metrics::with_local_recorder(recorder, || {
                for worker in 0..1000 {
                    first_token_at(worker, t0).observe_first_token_gauges();
                }
                to_main.send(gauge_handle_cache_stats()).unwrap();
                from_main.recv().unwrap(); // main forgets
                to_main.send(gauge_handle_cache_stats()).unwrap();
                first_token_at(5000, t0).observe_first_token_gauges();
                to_main.send(gauge_handle_cache_stats()).unwrap();
            });
        });
        assert_eq!(from_worker.recv().unwrap().entries, 1000);
        forget_gauge_handles();
        to_worker.send(()).unwrap();
        assert_eq!(
            from_worker.recv().unwrap().entries,
            1000,
            "until its next observation"
        );
        let after = from_worker.recv().unwrap();
        assert_eq!(after.entries, 1);
        assert!(after.capacity < 100, "{after:?}");
    });
}

#[test]
fn gauge_handle_ttl_is_what_was_set_saturating_at_u64_max_nanoseconds() {
    let _ttl = ttl_for_test(Duration::from_millis(1500));
    assert_eq!(gauge_handle_ttl(), Duration::from_millis(1500));
    set_gauge_handle_ttl(Duration::MAX);
    assert_eq!(gauge_handle_ttl(), Duration::from_nanos(u64::MAX));
}
