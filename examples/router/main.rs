//! `cargo run --release --example router`
//!
//! A simulated high-QPS, disaggregated LLM router: each request gets an
//! `Arc<RequestTracker>`, is tokenized, routed (queue depth, KV hit, ISL), prefilled by a
//! background task that owns the phase permit until it has recorded its worker, decoded as a
//! token stream (a detokenize sample per token, osl + finish + the ITL gauge at each KV-block
//! boundary), and answered with its nvext JSON. Per-worker gauges are served to Prometheus on
//! `--listen` for the whole run. Latencies are compressed so thousands of requests fit in a few
//! seconds. Ends with a summary table; exit status 2 on bad flags or a busy port.

mod cli;
mod cluster;
mod meter;
mod request;
mod stats;

use cluster::Cluster;
use metrics_exporter_prometheus::PrometheusBuilder;
use metrics_util::MetricKindMask;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

/// How long a worker's gauges stay on `/metrics` without an observation.
const WORKER_SERIES_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

fn main() -> ExitCode {
    let cli = cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: cli::Cli) -> ExitCode {
    // Bind first so a busy port is a clean, immediate error.
    if let Err(e) = std::net::TcpListener::bind(cli.listen) {
        eprintln!("error: cannot listen on {}: {e}", cli.listen);
        return ExitCode::from(2);
    }
    // Series of workers that left go after 5 min without an observation (and come back on the
    // next one): reqtrack's gauge-handle TTL (10 s by default) sits below this timeout.
    if let Err(e) = PrometheusBuilder::new()
        .with_http_listener(cli.listen)
        .idle_timeout(MetricKindMask::GAUGE, Some(WORKER_SERIES_IDLE_TIMEOUT))
        .install()
    {
        eprintln!("error: cannot serve metrics on {}: {e}", cli.listen);
        return ExitCode::from(2);
    }
    meter::calibrate();
    eprintln!(
        "router: {:.1} s at {} req/s, {} prefill + {} decode workers x {} dp ranks, \
         metrics on http://{}/metrics",
        cli.duration, cli.qps, cli.prefill_workers, cli.decode_workers, cli.dp_ranks, cli.listen
    );

    let cluster = Arc::new(Cluster::new(
        cli.prefill_workers,
        cli.decode_workers,
        cli.dp_ranks,
    ));
    let slots = Arc::new(Semaphore::new(cli.concurrency as usize));
    let (tx, rx) = mpsc::unbounded_channel();
    let start = Instant::now();
    let cpu_start = meter::process_cpu_nanos();
    let collector = tokio::spawn(stats::collect(rx, start));

    let run_for = Duration::from_secs_f64(cli.duration);
    let mut issued = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    while start.elapsed() < run_for {
        tick.tick().await;
        // Open-loop arrivals: everything due by now, bounded by the concurrency limit.
        let due = (start.elapsed().as_secs_f64() * cli.qps) as u64;
        while issued < due {
            let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
                break;
            };
            let (cluster, tx) = (Arc::clone(&cluster), tx.clone());
            let (n, seed) = (issued, cli.seed);
            tokio::spawn(async move {
                let done = request::serve(n, seed, cluster).await;
                let _ = tx.send(done);
                drop(slot);
            });
            issued += 1;
        }
    }
    drop(tx);
    // Drain: every in-flight request returns its slot.
    let drained =
        tokio::time::timeout(Duration::from_secs(30), slots.acquire_many(cli.concurrency)).await;
    if drained.is_err() {
        eprintln!("warning: requests still in flight after 30 s; summarising what finished");
    }
    let elapsed = start.elapsed();
    let cpu = cpu_start
        .zip(meter::process_cpu_nanos())
        .map(|(a, b)| b.saturating_sub(a));
    let stats = match collector.await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: collector failed: {e}");
            return ExitCode::from(1);
        }
    };
    stats.print(elapsed, cpu);
    if cli.json {
        if let Some(json) = &stats.sample_json {
            println!("{json}");
        }
    }
    if stats.conflicts != 0 {
        eprintln!("error: {} worker conflicts", stats.conflicts);
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
