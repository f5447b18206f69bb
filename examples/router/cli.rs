//! Command-line flags.

use clap::Parser;
use std::net::SocketAddr;

/// A simulated high-QPS, disaggregated LLM router that tracks every request with
/// `reqtrack::RequestTracker` and serves per-worker gauges to Prometheus.
#[derive(Debug, Parser)]
#[command(name = "router", version)]
pub struct Cli {
    /// How long to generate load, in seconds (in-flight requests then drain).
    #[arg(long, default_value_t = 10.0, value_parser = positive_f64)]
    pub duration: f64,
    /// Target arrival rate, requests per second.
    #[arg(long, default_value_t = 2000.0, value_parser = positive_f64)]
    pub qps: f64,
    /// Most requests in flight at once.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: u32,
    /// Number of simulated prefill workers.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub prefill_workers: u32,
    /// Number of simulated decode workers.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub decode_workers: u32,
    /// Data-parallel ranks per worker.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub dp_ranks: u32,
    /// Address the Prometheus `/metrics` endpoint listens on.
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub listen: SocketAddr,
    /// Print one request's final nvext JSON.
    #[arg(long)]
    pub json: bool,
    /// Seed for the simulated workload.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

fn positive_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err("must be a positive number".into())
    }
}

/// Parses the flags; a bad flag is one line on stderr and exit status 2.
pub fn parse() -> Cli {
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help / --version
            print!("{e}");
            std::process::exit(0);
        }
        Err(e) => {
            let rendered = e.to_string();
            let line = rendered.lines().next().unwrap_or("error: bad arguments");
            eprintln!("{line}");
            std::process::exit(2);
        }
    }
}
