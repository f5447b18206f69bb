//! Shared by the frontend's integration tests: a frontend on a loopback port, and reads of its
//! `/metrics`.

// Not every test uses every helper.
#![allow(dead_code)]

use reqtrack_frontend::app::{App, Config};
use reqtrack_frontend::scrape;
use reqtrack_frontend::telemetry::metric_name;
use std::time::Duration;
use tokio::net::TcpListener;

/// The model the test frontends serve.
pub const MODEL: &str = "test-model";

/// A frontend serving on `127.0.0.1:<free port>` until dropped.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The application (its cluster and telemetry).
    pub app: App,
    /// A client.
    pub client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl TestServer {
    /// A frontend with the default cluster, serving [`MODEL`], 1 ms between tokens.
    pub async fn start() -> Self {
        Self::start_tracking(true).await
    }

    /// The same frontend with `--tracking off`: no layer, no tracker, no request metrics.
    pub async fn start_untracked() -> Self {
        Self::start_tracking(false).await
    }

    async fn start_tracking(tracking: bool) -> Self {
        let config = Config {
            model: MODEL.to_owned(),
            itl: Duration::from_millis(1),
            tracking,
            ..Config::default()
        };
        let app = App::new(config).expect("recorder builds");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("bound address"));
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let served = app.clone();
        tokio::spawn(async move {
            served
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
        });
        Self {
            base,
            app,
            client: reqwest::Client::new(),
            _stop: stop,
        }
    }

    /// POSTs `body` as JSON to `path`.
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    /// GETs `path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request sent")
    }

    /// `GET /metrics`.
    pub async fn metrics(&self) -> String {
        self.get("/metrics")
            .await
            .text()
            .await
            .expect("metrics body")
    }

    /// The sum of the metric with this suffix over samples with all of `labels`, from a fresh
    /// scrape.
    pub async fn metric(&self, suffix: &str, labels: &[(&str, &str)]) -> f64 {
        sum(&self.metrics().await, suffix, labels)
    }

    /// Polls `/metrics` (every 20 ms, for at most 10 s) until `done` holds for a scrape;
    /// panics with `what` and the last scrape otherwise.
    pub async fn wait_for_metrics(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let mut text = String::new();
        for _ in 0..500 {
            text = self.metrics().await;
            if done(&text) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("never saw {what} in /metrics:\n{text}");
    }
}

/// The sum of the frontend's metric with this suffix (`reqtrack::names::*`, e.g.
/// `REQUESTS_TOTAL` or `TIME_TO_FIRST_TOKEN_SECONDS_count`'s `"…_count"`) over the samples of
/// `text` with all of `labels`.
pub fn sum(text: &str, suffix: &str, labels: &[(&str, &str)]) -> f64 {
    scrape::sum(text, &metric_name(suffix), labels)
}

/// The `data:` payloads of a server-sent-events body, in order.
pub fn sse_data(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|event| {
            event
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .map(|d| d.trim().to_owned())
        })
        .collect()
}
