//! `cargo run --release -p reqtrack-frontend`
//!
//! An OpenAI-compatible frontend (axum) over a simulated disaggregated cluster, every request
//! tracked by `reqtrack`'s tower layer and counted in Dynamo's frontend metrics. By default
//! it listens on `--listen` (127.0.0.1:8000), drives itself for `--duration` seconds with real
//! HTTP clients (reqwest; open-loop Poisson arrivals, streaming, a few deliberate disconnects
//! and bad requests), and prints a summary: client-measured TTFT / ITL / total next to the
//! tracker's, requests by status on both sides, KV hit rate, in-flight, queued and busy
//! workers at the end (each must be 0), requests/s, chunks/s and the process CPU. `--serve` serves until Ctrl-C with no load.
//! `--otlp-endpoint URL` also exports every request as a trace (OTLP over HTTP/protobuf).
//!
//! `--tracking off` runs the same load with no tracking at all (see `benches/frontend_cost.sh`);
//! the end-of-run checks then read 0 in flight and 0 queued, and still check the workers.
//!
//! Exit status: 0; 1 if requests were still in flight or queued, or workers busy, at the end,
//! or the runtime failed; 2 on a
//! bad flag or an address that cannot be bound (one line on stderr).

mod cli;
mod load;
mod summary;

use reqtrack_frontend::app::{App, Config};
use reqtrack_frontend::meter;
use reqtrack_frontend::traces::OtlpTraces;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

fn main() -> ExitCode {
    let cli = cli::parse();
    // Built outside the runtime: the exporter's blocking HTTP client and the batch processor
    // run on threads of their own.
    let traces = match cli.otlp_endpoint.as_deref().map(OtlpTraces::new) {
        None => None,
        Some(Ok(traces)) => Some(traces),
        Some(Err(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
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
    let code = runtime.block_on(run(cli, traces.as_ref()));
    drop(runtime);
    // What the batch still holds goes out now; an unreachable collector is not the
    // frontend's failure.
    if let Some(Err(e)) = traces.map(|t| t.shutdown()) {
        eprintln!("warning: {e}");
    }
    code
}

async fn run(cli: cli::Cli, traces: Option<&OtlpTraces>) -> ExitCode {
    if let Some(target) = &cli.target {
        return drive(&cli, target.trim_end_matches('/'), None).await;
    }
    let listener = match TcpListener::bind(cli.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", cli.listen);
            return ExitCode::from(2);
        }
    };
    let config = Config {
        model: cli.model.clone(),
        prefill_workers: cli.prefill_workers,
        decode_workers: cli.decode_workers,
        dp_ranks: cli.dp_ranks,
        itl: Duration::from_secs_f64(cli.itl_ms / 1000.0),
        seed: cli.seed,
        tracking: cli.tracking,
    };
    let built = match traces {
        Some(t) => App::with_tracer(config, t.tracer()),
        None => App::new(config),
    };
    let app = match built {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: cannot build the metrics recorder: {e}");
            return ExitCode::from(1);
        }
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = {
        let app = app.clone();
        tokio::spawn(async move {
            app.serve(listener, async {
                let _ = stopped.await;
            })
            .await
        })
    };
    let code = if cli.serve {
        eprintln!(
            "frontend: serving {} on http://{} (Ctrl-C to stop)",
            cli.model, cli.listen
        );
        shutdown_signal().await;
        ExitCode::SUCCESS
    } else {
        drive(&cli, &format!("http://{}", cli.listen), Some(&app)).await
    };
    let _ = stop.send(());
    match tokio::time::timeout(Duration::from_secs(5), server).await {
        Ok(Ok(Ok(()))) => code,
        Ok(Ok(Err(e))) => {
            eprintln!("error: server failed: {e}");
            ExitCode::from(1)
        }
        _ => code,
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The built-in load against `base`, then the summary. `app` is the frontend serving `base` in
/// this process, or `None` for `--target` (another process serves it).
async fn drive(cli: &cli::Cli, base: &str, app: Option<&App>) -> ExitCode {
    eprintln!(
        "frontend: {} on {base}, {:.1} s of load at {} req/s, {} prefill + {} decode workers x {} dp ranks",
        cli.model, cli.duration, cli.qps, cli.prefill_workers, cli.decode_workers, cli.dp_ranks
    );
    let cpu_start = meter::process_cpu_nanos();
    let start = Instant::now();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let collector = tokio::spawn(summary::collect(rx, start));
    let sent = load::run(
        load::LoadConfig {
            base: base.to_owned(),
            model: cli.model.clone(),
            duration: Duration::from_secs_f64(cli.duration),
            qps: cli.qps,
            concurrency: cli.concurrency,
            disconnect_share: cli.disconnect_share,
            error_share: cli.error_share,
            seed: cli.seed,
        },
        tx,
    )
    .await;
    let elapsed = start.elapsed();
    let cpu_ns = cpu_start
        .zip(meter::process_cpu_nanos())
        .map(|(a, b)| b.saturating_sub(a));
    let Ok(stats) = collector.await else {
        eprintln!("error: the collector failed");
        return ExitCode::from(1);
    };

    // The server ends a disconnected request when it notices; give it a moment (bounded).
    let mut server = summary::ServerView::default();
    for _ in 0..50 {
        server = match app {
            Some(app) => summary::ServerView::from_scrape(
                &app.telemetry().render(),
                Some(app.cluster().busy()),
            ),
            None => match scrape_remote(base).await {
                Some(text) => summary::ServerView::from_scrape(&text, None),
                None => {
                    eprintln!("error: cannot scrape {base}/metrics");
                    return ExitCode::from(1);
                }
            },
        };
        if server.is_quiet() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let run = summary::RunFigures {
        elapsed,
        sent,
        cpu_ns,
        conflicts: app.map(|app| app.telemetry().worker_conflicts()),
    };
    stats.print(&run, &server);
    if cli.json {
        if let Some(json) = stats.sample_json() {
            println!("{json}");
        }
    }
    if !server.is_quiet() {
        eprintln!(
            "error: {} requests still in flight, {} queued, {} holding a worker",
            server.inflight,
            server.queued,
            server.workers_busy.unwrap_or(0)
        );
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// The text of `base`'s `/metrics`, for `--target`.
async fn scrape_remote(base: &str) -> Option<String> {
    let response = reqwest::get(format!("{base}/metrics")).await.ok()?;
    response.error_for_status().ok()?.text().await.ok()
}
