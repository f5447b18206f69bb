//! The process's CPU time, for the load generator's summary.

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
