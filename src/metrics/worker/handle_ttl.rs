//! The gauge-handle TTL: how long a cached handle may go unused before its next use resolves it
//! again through the facade. One process-wide setting.
//!
//! # Why it must sit below the exporter's gauge idle timeout
//!
//! An exporter with a gauge idle timeout (`metrics-exporter-prometheus`'s
//! `idle_timeout(MetricKindMask::GAUGE, Some(d))`) deletes a series that went unwritten for
//! longer than `d`; a handle to it still accepts writes, but they land nowhere. The cache uses
//! a handle only if it was used within the TTL, i.e. its series was written within the TTL. So
//! with `TTL + lag < d` (lag: how long after the tracker's latest stamp the observation runs,
//! see `handle_cache`) a cached handle can never point at a deleted series. With a TTL at or
//! above `d` that guarantee is gone: a worker quiet for between `d` and the TTL would be written
//! through a dead handle and stay missing from `/metrics` until its handle expires.
//!
//! # Why 10 s by default
//!
//! * Below any sensible idle timeout: removing series of live workers between scrapes would make
//!   them flap, so idle timeouts are set to several scrape intervals (Prometheus scrapes every
//!   15 s to 1 min in common setups), i.e. a minute or more; 10 s leaves the margin the lag needs.
//! * Cheap: a worker's handles are resolved again at most once per TTL per thread that observes
//!   it (a registry lookup and a few small allocations), a negligible share for any worker that
//!   serves more than one request per 10 s.
//! * Small: a thread's cache holds the workers it observed in the last one to two TTLs.
//!
//! # Orderings
//!
//! `TTL_NANOS` is read and written `Relaxed`. It is a standalone setting that publishes no other
//! data: a thread that reads the previous value for a few more observations only keeps or
//! resolves a handle a little earlier or later. Set it at start-up, before the first
//! observation, to have every thread use it from the first observation on.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The default gauge-handle TTL: 10 s (see [`set_gauge_handle_ttl`]).
pub const DEFAULT_GAUGE_HANDLE_TTL: Duration = Duration::from_secs(10);

/// The TTL in nanoseconds. `as u64` cannot truncate: the default is 10^10 ns.
static TTL_NANOS: AtomicU64 = AtomicU64::new(DEFAULT_GAUGE_HANDLE_TTL.as_nanos() as u64);

/// Sets how long a cached gauge handle may go unused before its next use resolves it again
/// through the `metrics` facade (default [`DEFAULT_GAUGE_HANDLE_TTL`], 10 s); every thread's
/// cache also drops entries unused for longer than this.
///
/// **Keep it below the exporter's gauge idle timeout** (with margin for how late observations
/// run after the tracker's stamps): an exporter deletes a series unwritten for longer than its
/// timeout, and only a handle used within the TTL is reused, so a reused handle's series is
/// still there. Example: an idle timeout of 5 min with the default TTL.
///
/// A TTL above `u64::MAX` nanoseconds (about 584 years) is stored as that. A TTL of zero
/// resolves a handle again whenever an instant other than its last use is observed.
pub fn set_gauge_handle_ttl(ttl: Duration) {
    let nanos = u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX);
    TTL_NANOS.store(nanos, Ordering::Relaxed);
}

/// The current gauge-handle TTL (see [`set_gauge_handle_ttl`]).
pub fn gauge_handle_ttl() -> Duration {
    Duration::from_nanos(TTL_NANOS.load(Ordering::Relaxed))
}
