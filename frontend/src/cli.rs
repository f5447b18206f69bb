//! Command-line flags.

use clap::Parser;
use std::net::SocketAddr;

/// An OpenAI-compatible frontend over a simulated disaggregated cluster, every request tracked
/// by `reqtrack::RequestTracker`. By default it drives itself with real HTTP clients for
/// `--duration` seconds and prints a summary; `--serve` serves until Ctrl-C with no load.
#[derive(Debug, Parser)]
#[command(name = "frontend", version)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub listen: SocketAddr,
    /// Serve until Ctrl-C (or SIGTERM) without the built-in load.
    #[arg(long)]
    pub serve: bool,
    /// Load only: send the built-in load to a frontend already serving at this base URL (one
    /// started with `--serve`, say) and serve nothing. The summary's server side comes from
    /// that frontend's `/metrics` (its worker conflicts and busy workers are not known here).
    /// benches/frontend_cost.sh uses it to count the server's instructions apart from the
    /// clients'.
    #[arg(long, value_name = "URL", value_parser = http_url, conflicts_with = "serve")]
    pub target: Option<String>,
    /// The served model name.
    #[arg(long, default_value = "reqtrack-sim")]
    pub model: String,
    /// Load: how long to send requests, in seconds (open requests then drain).
    #[arg(long, default_value_t = 10.0, value_parser = positive_f64)]
    pub duration: f64,
    /// Load: mean arrival rate, requests per second (Poisson arrivals).
    #[arg(long, default_value_t = 100.0, value_parser = positive_f64)]
    pub qps: f64,
    /// Load: most client requests open at once (arrivals beyond it are shed and counted).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Load: share of streaming requests the client cuts off after a few chunks.
    #[arg(long, default_value_t = 0.02, value_parser = share)]
    pub disconnect_share: f64,
    /// Load: share of deliberately bad requests (unknown model, `max_tokens` 0).
    #[arg(long, default_value_t = 0.01, value_parser = share)]
    pub error_share: f64,
    /// Number of simulated prefill workers.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub prefill_workers: u32,
    /// Number of simulated decode workers.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub decode_workers: u32,
    /// Data-parallel ranks per worker.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub dp_ranks: u32,
    /// Simulated decode pace: milliseconds between output tokens.
    #[arg(long, default_value_t = 2.0, value_parser = positive_f64)]
    pub itl_ms: f64,
    /// Load: print one response's nvext JSON after the summary.
    #[arg(long)]
    pub json: bool,
    /// Seed for the simulated workload.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Export every request as a trace with OTLP over HTTP/protobuf to this traces URL (e.g. an
    /// OpenTelemetry Collector's `http://HOST:4318/v1/traces`); off by default.
    #[arg(long, value_name = "URL", value_parser = http_url)]
    pub otlp_endpoint: Option<String>,
    /// `on` or `off`: `off` serves the same answers to the same load with no tracking layer,
    /// no tracker calls, no request metrics or gauges and no `nvext` (the baseline of
    /// benches/frontend_cost.sh); the summary then has no server-side figures.
    #[arg(long, default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    pub tracking: bool,
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("must be on or off".into()),
    }
}

fn positive_f64(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if v.is_finite() && v > 0.0 && v <= 1e6 {
        Ok(v)
    } else {
        Err("must be a positive number up to 1e6".into())
    }
}

fn http_url(s: &str) -> Result<String, String> {
    let uri: axum::http::Uri = s.parse().map_err(|e| format!("{e}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(s.to_owned()),
        _ => Err("must be an http:// or https:// URL with a host".into()),
    }
}

fn share(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err("must be between 0 and 1".into())
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
