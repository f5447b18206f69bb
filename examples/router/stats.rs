//! Collecting finished requests: the live progress line and the final summary table.

use crate::request::Done;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

/// Everything the summary needs.
#[derive(Debug, Default)]
pub struct Stats {
    pub ttft: Vec<f64>,
    pub itl: Vec<f64>,
    pub total: Vec<f64>,
    pub kv_rate_sum: f64,
    pub kv_rate_n: u64,
    pub conflicts: u64,
    pub tracker_ns: u64,
    pub sample_json: Option<String>,
}

/// `p` in `0.0..=1.0` of an already sorted slice.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

/// Receives finished requests until every sender is gone, printing a progress line each second.
pub async fn collect(mut rx: UnboundedReceiver<Done>, start: Instant) -> Stats {
    let mut stats = Stats::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let tty = std::io::stderr().is_terminal();
    loop {
        tokio::select! {
            done = rx.recv() => match done {
                Some(d) => stats.add(d),
                None => break,
            },
            _ = tick.tick() => {
                let ttft = sorted(&stats.ttft);
                let secs = start.elapsed().as_secs_f64();
                let line = format!(
                    "[{secs:5.1}s] done {:>7}  rate {:>7.1}/s  TTFT p50 {:>6.2} ms  p99 {:>6.2} ms",
                    stats.ttft.len(),
                    stats.ttft.len() as f64 / secs,
                    pct(&ttft, 0.5),
                    pct(&ttft, 0.99),
                );
                let mut err = std::io::stderr();
                let _ = if tty { write!(err, "\r{line}") } else { writeln!(err, "{line}") };
            }
        }
    }
    if tty {
        eprintln!();
    }
    stats
}

impl Stats {
    fn add(&mut self, d: Done) {
        self.ttft.push(d.ttft_ms);
        if let Some(itl) = d.itl_ms {
            self.itl.push(itl);
        }
        self.total.push(d.total_ms);
        if let Some(r) = d.kv_hit_rate {
            self.kv_rate_sum += r;
            self.kv_rate_n += 1;
        }
        self.conflicts += u64::from(d.conflicts);
        self.tracker_ns += d.tracker_ns;
        if self.sample_json.is_none() {
            self.sample_json = Some(d.nvext_json);
        }
    }

    /// The final table.
    pub fn print(&self, elapsed: Duration, cpu_ns: Option<u64>) {
        let n = self.ttft.len();
        println!("{:<26}{:>10}", "requests", n);
        println!(
            "{:<26}{:>10.1} req/s",
            "achieved rate",
            n as f64 / elapsed.as_secs_f64()
        );
        println!(
            "{:<26}{:>10}{:>10}{:>10}{:>10}",
            "", "p50", "p90", "p99", "max"
        );
        for (name, v) in [
            ("TTFT (ms)", &self.ttft),
            ("ITL (ms)", &self.itl),
            ("total (ms)", &self.total),
        ] {
            let s = sorted(v);
            println!(
                "{name:<26}{:>10.2}{:>10.2}{:>10.2}{:>10.2}",
                pct(&s, 0.5),
                pct(&s, 0.9),
                pct(&s, 0.99),
                pct(&s, 1.0)
            );
        }
        let kv = if self.kv_rate_n == 0 {
            f64::NAN
        } else {
            self.kv_rate_sum / self.kv_rate_n as f64
        };
        println!("{:<26}{:>10.3}", "KV hit rate (mean)", kv);
        println!("{:<26}{:>10}", "worker conflicts", self.conflicts);
        let per_req_ns = self.tracker_ns as f64 / n.max(1) as f64;
        match cpu_ns {
            Some(cpu) => {
                let cpu_per_req = cpu as f64 / n.max(1) as f64;
                println!(
                    "{:<26}{:>10.2} us  ({:.2}% of {:.1} us process CPU per request)",
                    "tracker CPU per request",
                    per_req_ns / 1000.0,
                    100.0 * per_req_ns / cpu_per_req,
                    cpu_per_req / 1000.0
                );
            }
            None => println!(
                "{:<26}{:>10.2} us",
                "tracker CPU per request",
                per_req_ns / 1000.0
            ),
        }
    }
}
