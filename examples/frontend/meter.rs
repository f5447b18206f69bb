//! CPU accounting: time spent inside tracker and request-metrics calls, and the process's CPU.
//!
//! Each group of calls is timed with a pair of clock reads and the pair's own cost (calibrated
//! once per process: the median of many empty pairs) is subtracted, as the router example did.
//! A request accumulates into a local [`Meter`] and adds it to the shared [`Spent`] once, when
//! it ends, so the hot path touches no shared counter.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Cost of an empty timed region, ns (median of 20 001 pairs).
fn pair_overhead_ns() -> u64 {
    static OVERHEAD: OnceLock<u64> = OnceLock::new();
    *OVERHEAD.get_or_init(|| {
        let mut samples: Vec<u64> = (0..20_001)
            .map(|_| {
                let a = Instant::now();
                let b = Instant::now();
                nanos(b - a)
            })
            .collect();
        samples.sort_unstable();
        samples[samples.len() / 2]
    })
}

fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Runs `f` and adds its time, less the clock-pair overhead, to `acc`.
#[inline]
fn timed<T>(acc: &mut u64, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let spent = nanos(start.elapsed()).saturating_sub(pair_overhead_ns());
    *acc = acc.saturating_add(spent);
    out
}

/// One request's (or one task's) time inside tracker and metrics calls.
#[derive(Debug, Default)]
pub struct Meter {
    tracker_ns: u64,
    metrics_ns: u64,
}

impl Meter {
    /// Runs tracker calls, timing them.
    #[inline]
    pub fn tracker<T>(&mut self, f: impl FnOnce() -> T) -> T {
        timed(&mut self.tracker_ns, f)
    }

    /// Runs request-metrics calls, timing them.
    #[inline]
    pub fn metrics<T>(&mut self, f: impl FnOnce() -> T) -> T {
        timed(&mut self.metrics_ns, f)
    }
}

/// Totals over every finished meter.
#[derive(Debug, Default)]
pub struct Spent {
    tracker_ns: AtomicU64,
    metrics_ns: AtomicU64,
}

/// A read of [`Spent`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpentTotals {
    /// Nanoseconds inside tracker calls.
    pub tracker_ns: u64,
    /// Nanoseconds inside request-metrics calls.
    pub metrics_ns: u64,
}

impl Spent {
    /// Adds a meter and empties it. `Relaxed`: these are statistics read after the run.
    pub fn absorb(&self, meter: &mut Meter) {
        let m = std::mem::take(meter);
        self.tracker_ns.fetch_add(m.tracker_ns, Ordering::Relaxed);
        self.metrics_ns.fetch_add(m.metrics_ns, Ordering::Relaxed);
    }

    /// The totals so far.
    pub fn totals(&self) -> SpentTotals {
        SpentTotals {
            tracker_ns: self.tracker_ns.load(Ordering::Relaxed),
            metrics_ns: self.metrics_ns.load(Ordering::Relaxed),
        }
    }
}

/// Process CPU time (user + system, all threads) in nanoseconds, from `/proc/self/stat`
/// (Linux; its clock ticks are `USER_HZ`, 100 per second on Linux). `None` elsewhere.
pub fn process_cpu_nanos() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime).saturating_mul(10_000_000))
}
