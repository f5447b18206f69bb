//! Collecting finished client requests: the live progress line and the final summary table.
//!
//! Latencies go into HDR histograms in microseconds (3 significant figures). The client
//! columns are what the HTTP clients measured (TTFT: send → first content chunk; ITL: the mean
//! gap between a stream's content chunks; total: send → end of answer); the server columns are
//! the tracker's figures each response carried in `nvext.timing`; the difference row is the
//! client percentile minus the server percentile.

use crate::load::{ClientStatus, Outcome, Sent};
use hdrhistogram::Histogram;
use reqtrack::names;
use reqtrack_frontend::scrape;
use reqtrack_frontend::telemetry::metric_name;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;

fn histogram() -> Histogram<u64> {
    // 1 µs to 1 hour, 3 significant figures.
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

/// A client and a server view of one latency.
struct Pair {
    client: Histogram<u64>,
    server: Histogram<u64>,
}

impl Pair {
    fn new() -> Self {
        Self {
            client: histogram(),
            server: histogram(),
        }
    }
}

fn ms_to_us(ms: f64) -> u64 {
    (ms.max(0.0) * 1000.0).round() as u64
}

/// Everything the summary needs from the clients.
pub struct Stats {
    ttft: Pair,
    itl: Pair,
    total: Pair,
    by_status: BTreeMap<ClientStatus, u64>,
    kv_sum: f64,
    kv_n: u64,
    chunks: u64,
    /// Requests whose server TTFT exceeded the client's (impossible unless the clocks lie).
    server_ttft_above_client: u64,
    sample_json: Option<String>,
}

impl Stats {
    fn new() -> Self {
        Self {
            ttft: Pair::new(),
            itl: Pair::new(),
            total: Pair::new(),
            by_status: BTreeMap::new(),
            kv_sum: 0.0,
            kv_n: 0,
            chunks: 0,
            server_ttft_above_client: 0,
            sample_json: None,
        }
    }

    fn done(&self) -> u64 {
        self.by_status.values().sum()
    }

    fn add(&mut self, o: Outcome) {
        *self.by_status.entry(o.status).or_default() += 1;
        self.chunks += o.chunks;
        if o.status != ClientStatus::Ok {
            return;
        }
        let Some(server) = o.server else {
            // Untracked (`--tracking off`): the client side only.
            let client = [
                (o.ttft_us, &mut self.ttft.client),
                (o.itl_us, &mut self.itl.client),
                (o.total_us, &mut self.total.client),
            ];
            for (v, h) in client {
                if let Some(v) = v {
                    h.saturating_record(v);
                }
            }
            return;
        };
        // TTFT and ITL only where both sides have them (streams), so the columns compare.
        if let (Some(c), Some(s)) = (o.ttft_us, server.ttft_ms) {
            self.ttft.client.saturating_record(c);
            self.ttft.server.saturating_record(ms_to_us(s));
            if ms_to_us(s) > c {
                self.server_ttft_above_client += 1;
            }
        }
        if let (Some(c), Some(s)) = (o.itl_us, server.itl_ms) {
            self.itl.client.saturating_record(c);
            self.itl.server.saturating_record(ms_to_us(s));
        }
        if let (Some(c), Some(s)) = (o.total_us, server.total_ms) {
            self.total.client.saturating_record(c);
            self.total.server.saturating_record(ms_to_us(s));
        }
        if let Some(r) = server.kv_hit_rate {
            self.kv_sum += r;
            self.kv_n += 1;
        }
        if self.sample_json.is_none() {
            self.sample_json = o.nvext_json;
        }
    }

    /// One response's `nvext` JSON.
    pub fn sample_json(&self) -> Option<&str> {
        self.sample_json.as_deref()
    }
}

/// Receives finished requests until every sender is gone, printing a progress line each second.
pub async fn collect(mut rx: UnboundedReceiver<Outcome>, start: Instant) -> Stats {
    let mut stats = Stats::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let tty = std::io::stderr().is_terminal();
    loop {
        tokio::select! {
            outcome = rx.recv() => match outcome {
                Some(o) => stats.add(o),
                None => break,
            },
            _ = tick.tick() => {
                let secs = start.elapsed().as_secs_f64();
                let q = |h: &Histogram<u64>, p| h.value_at_quantile(p) as f64 / 1000.0;
                let line = format!(
                    "[{secs:5.1}s] done {:>7}  rate {:>7.1}/s  chunks {:>8.0}/s  TTFT p50 {:>6.2} ms  p99 {:>6.2} ms",
                    stats.done(),
                    stats.done() as f64 / secs,
                    stats.chunks as f64 / secs,
                    q(&stats.ttft.client, 0.5),
                    q(&stats.ttft.client, 0.99),
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

/// The server's own counts, read from `/metrics` at the end.
#[derive(Debug, Default)]
pub struct ServerView {
    /// `requests_total` by `(status, error_type)`.
    pub by_status: BTreeMap<(String, String), f64>,
    /// `inflight_requests`, summed over models.
    pub inflight: f64,
    /// `queued_requests`, summed over models.
    pub queued: f64,
    /// Requests still holding a simulated worker; `None` when another process serves
    /// (`--target`), whose workers this one cannot see.
    pub workers_busy: Option<usize>,
}

impl ServerView {
    /// Reads a scrape.
    pub fn from_scrape(text: &str, workers_busy: Option<usize>) -> Self {
        let mut by_status = BTreeMap::new();
        let requests_total = metric_name(names::REQUESTS_TOTAL);
        for s in scrape::samples(text).filter(|s| s.name == requests_total) {
            let key = (
                s.label("status").unwrap_or_default().to_owned(),
                s.label("error_type").unwrap_or_default().to_owned(),
            );
            *by_status.entry(key).or_default() += s.value;
        }
        Self {
            by_status,
            inflight: scrape::sum(text, &metric_name(names::INFLIGHT_REQUESTS), &[]),
            queued: scrape::sum(text, &metric_name(names::QUEUED_REQUESTS), &[]),
            workers_busy,
        }
    }

    /// Nothing in flight, nothing queued, no worker busy (as far as this process can see).
    pub fn is_quiet(&self) -> bool {
        self.inflight == 0.0 && self.queued == 0.0 && self.workers_busy.unwrap_or(0) == 0
    }
}

/// Run-wide figures next to the clients' stats.
#[derive(Debug)]
pub struct RunFigures {
    /// First send to last answer.
    pub elapsed: Duration,
    /// Requests sent and shed.
    pub sent: Sent,
    /// Process CPU over the run (server and clients, or the clients only with `--target`), ns.
    pub cpu_ns: Option<u64>,
    /// Worker conflicts the trackers counted; `None` when another process serves
    /// (`--target`), whose trackers this one cannot see.
    pub conflicts: Option<u64>,
}

fn client_label(s: ClientStatus) -> String {
    match s {
        ClientStatus::Ok => "ok".into(),
        ClientStatus::Disconnected => "disconnected by the client".into(),
        ClientStatus::Http(code) => format!("HTTP {code}"),
        ClientStatus::Transport => "transport error".into(),
    }
}

impl Stats {
    /// The final table.
    pub fn print(&self, run: &RunFigures, server: &ServerView) {
        let secs = run.elapsed.as_secs_f64();
        let done = self.done();
        println!(
            "{:<38}{:>10}  ({} shed at the concurrency limit)",
            "requests sent", run.sent.sent, run.sent.shed
        );
        println!("{:<38}{:>10.1}", "requests/s", done as f64 / secs);
        println!("{:<38}{:>10.0}", "chunks/s", self.chunks as f64 / secs);
        println!();
        println!(
            "{:<38}{:>10}{:>10}{:>10}{:>10}{:>9}",
            "latency, ms (server = tracker)", "p50", "p90", "p99", "max", "n"
        );
        let q = |h: &Histogram<u64>, p: f64| h.value_at_quantile(p) as f64 / 1000.0;
        for (name, pair) in [
            ("TTFT", &self.ttft),
            ("ITL, mean per request", &self.itl),
            ("total", &self.total),
        ] {
            let n = pair.client.len();
            let sides = if pair.server.is_empty() { 1 } else { 3 };
            for (side, f) in [
                ("client", &(|p| q(&pair.client, p)) as &dyn Fn(f64) -> f64),
                ("server", &|p| q(&pair.server, p)),
                ("client - server", &|p| {
                    q(&pair.client, p) - q(&pair.server, p)
                }),
            ]
            .into_iter()
            .take(sides)
            {
                println!(
                    "{:<38}{:>10.3}{:>10.3}{:>10.3}{:>10.3}{n:>9}",
                    format!("{name} {side}"),
                    f(0.5),
                    f(0.9),
                    f(0.99),
                    f(1.0),
                );
            }
        }
        println!(
            "{:<38}{:>10}",
            "server TTFT > client TTFT", self.server_ttft_above_client
        );
        println!();
        println!("{:<38}{:>10}", "requests by status (client)", "");
        for (status, n) in &self.by_status {
            println!("  {:<36}{:>10}", client_label(*status), n);
        }
        println!("{:<38}", "requests_total (server)");
        for ((status, error_type), n) in &server.by_status {
            if *n > 0.0 {
                let label = format!("{status}{{error_type=\"{error_type}\"}}");
                println!("  {label:<36}{n:>10.0}");
            }
        }
        let kv = if self.kv_n == 0 {
            f64::NAN
        } else {
            self.kv_sum / self.kv_n as f64
        };
        println!();
        println!("{:<38}{:>10.3}", "KV hit rate (mean)", kv);
        match run.conflicts {
            Some(n) => println!("{:<38}{n:>10}", "worker conflicts"),
            None => println!("{:<38}{:>10}", "worker conflicts", "unknown"),
        }
        // `+ 0.0`: an absent series sums to -0, printed as 0.
        println!(
            "{:<38}{:>10.0}",
            "in-flight at the end",
            server.inflight + 0.0
        );
        println!("{:<38}{:>10.0}", "queued at the end", server.queued + 0.0);
        match server.workers_busy {
            Some(n) => println!("{:<38}{n:>10}", "workers busy at the end"),
            None => println!("{:<38}{:>10}", "workers busy at the end", "unknown"),
        }
        self.print_cpu(run);
        // One machine-readable line for scripts (benches/frontend_cost.sh).
        println!(
            "requests_done={done} requests_ok={} chunks={}",
            self.by_status.get(&ClientStatus::Ok).copied().unwrap_or(0),
            self.chunks
        );
    }

    fn print_cpu(&self, run: &RunFigures) {
        let Some(cpu) = run.cpu_ns else {
            println!("{:<38}{:>10}", "process CPU", "unknown");
            return;
        };
        // Only a server in this process has trackers whose conflicts are known here.
        let server_in_process = run.conflicts.is_some();
        let whose = if server_in_process {
            "server and clients"
        } else {
            "the clients only"
        };
        println!(
            "{:<38}{:>10.2} s  ({:.0}% of one core; {whose})",
            "process CPU",
            cpu as f64 / 1e9,
            100.0 * cpu as f64 / 1e9 / run.elapsed.as_secs_f64()
        );
    }
}
