//! The tracker's own CPU time: each group of tracker calls is timed with a pair of clock
//! reads, and the pair's own cost (calibrated once at start-up) is subtracted.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

static PAIR_OVERHEAD_NS: AtomicU64 = AtomicU64::new(0);

/// Measures the cost of an empty timed region (median of many), once per process.
pub fn calibrate() {
    let mut samples: Vec<u64> = (0..20_001)
        .map(|_| {
            let a = Instant::now();
            let b = Instant::now();
            (b - a).as_nanos() as u64
        })
        .collect();
    samples.sort_unstable();
    PAIR_OVERHEAD_NS.store(samples[samples.len() / 2], Ordering::Relaxed);
}

/// Nanoseconds spent inside tracker calls for one request.
#[derive(Debug, Default)]
pub struct Meter {
    nanos: u64,
}

impl Meter {
    /// Runs `f`, adding its time (less the clock-pair overhead) to the meter.
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let out = f();
        let spent = start.elapsed().as_nanos() as u64;
        self.nanos += spent.saturating_sub(PAIR_OVERHEAD_NS.load(Ordering::Relaxed));
        out
    }

    /// Adds another meter (the prefill task's).
    pub fn add(&mut self, other: &Meter) {
        self.nanos += other.nanos;
    }

    pub fn nanos(&self) -> u64 {
        self.nanos
    }
}

/// Process CPU time (user + system) in nanoseconds, from `/proc/self/stat` (Linux; clock ticks
/// at the usual 100 Hz). `None` elsewhere.
pub fn process_cpu_nanos() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) * 10_000_000)
}
