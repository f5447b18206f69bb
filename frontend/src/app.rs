//! The application: configuration, shared state, routes, and serving on a listener.
//!
//! | route | answer |
//! |---|---|
//! | `POST /v1/chat/completions` | chat completion, or `chat.completion.chunk` events with `stream: true` |
//! | `POST /v1/completions` | text completion, or `text_completion` events with `stream: true` |
//! | `GET /v1/models` | the served model |
//! | `GET /metrics` | Prometheus text: request metrics and per-worker gauges |
//! | `GET /health` | `{"status":"healthy"}` |
//! | anything else | OpenAI error JSON, 404 / 405 |

use super::cluster::Cluster;
use super::error::ApiError;
use super::handlers;
use super::telemetry::{Endpoint, Telemetry};
use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use metrics_exporter_prometheus::BuildError;
use reqtrack::otel::RequestTracer;
use serde_json::json;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 1 << 20;

/// What the frontend serves and how its simulated cluster behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The one served model name.
    pub model: String,
    /// Prefill workers.
    pub prefill_workers: u32,
    /// Decode workers.
    pub decode_workers: u32,
    /// Data-parallel ranks per worker.
    pub dp_ranks: u32,
    /// Time between output tokens.
    pub itl: Duration,
    /// Seed of the simulated choices.
    pub seed: u64,
    /// Whether the router wears the tracking layer. `false` (`--tracking off`) serves the same
    /// answers with no tracker, no request metrics and no gauges (and no `nvext`): the
    /// baseline that tracking's cost is measured against.
    pub tracking: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            model: "reqtrack-sim".to_owned(),
            prefill_workers: 4,
            decode_workers: 4,
            dp_ranks: 2,
            itl: Duration::from_millis(2),
            seed: 42,
            tracking: true,
        }
    }
}

struct Inner {
    config: Config,
    telemetry: Telemetry,
    cluster: Arc<Cluster>,
    requests: AtomicU64,
}

/// The shared state every handler gets.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

impl App {
    /// A frontend for `config`, with its own metrics recorder.
    pub fn new(config: Config) -> Result<Self, BuildError> {
        Self::build(config, None)
    }

    /// [`new`](Self::new), each request also a trace through `tracer`, as a child of its
    /// incoming W3C `traceparent` (see [`Telemetry::new`]).
    pub fn with_tracer(
        config: Config,
        tracer: Arc<dyn RequestTracer + Send + Sync>,
    ) -> Result<Self, BuildError> {
        Self::build(config, Some(tracer))
    }

    fn build(
        config: Config,
        tracer: Option<Arc<dyn RequestTracer + Send + Sync>>,
    ) -> Result<Self, BuildError> {
        let telemetry = Telemetry::new(std::slice::from_ref(&config.model), tracer)?;
        let cluster = Arc::new(Cluster::new(
            config.prefill_workers,
            config.decode_workers,
            config.dp_ranks,
        ));
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                telemetry,
                cluster,
                requests: AtomicU64::new(0),
            }),
        })
    }

    /// The served model.
    pub fn model(&self) -> &str {
        &self.inner.config.model
    }

    /// The metrics.
    pub fn telemetry(&self) -> &Telemetry {
        &self.inner.telemetry
    }

    /// The simulated cluster.
    pub fn cluster(&self) -> Arc<Cluster> {
        Arc::clone(&self.inner.cluster)
    }

    /// Time between output tokens.
    pub fn itl(&self) -> Duration {
        self.inner.config.itl
    }

    /// A fresh seed for the next request's simulated choices.
    pub fn next_seed(&self) -> u64 {
        let n = self.inner.requests.fetch_add(1, Ordering::Relaxed);
        self.inner.config.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// A response id: `chatcmpl-…` or `cmpl-…`.
    pub fn next_response_id(&self, endpoint: Endpoint) -> String {
        let prefix = match endpoint {
            Endpoint::ChatCompletions => "chatcmpl",
            Endpoint::Completions => "cmpl",
        };
        format!("{prefix}-{:016x}", fastrand::u64(..))
    }

    /// The routes, with the body limit, all inside the tracking layer (a route whose handler
    /// declares nothing, `/health` say, is not counted); without it when tracking is off.
    pub fn router(&self) -> Router {
        let router = Router::new()
            .route("/v1/chat/completions", post(handlers::chat_completions))
            .route("/v1/completions", post(handlers::completions))
            .route("/v1/models", get(models))
            .route("/metrics", get(metrics))
            .route("/health", get(health))
            .fallback(route_not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .layer(DefaultBodyLimit::max(BODY_LIMIT));
        let router = if self.inner.config.tracking {
            router.layer(self.telemetry().layer())
        } else {
            router
        };
        router.with_state(self.clone())
    }

    /// Serves on `listener` until `shutdown` resolves, then waits for open requests.
    ///
    /// Connections get `TCP_NODELAY`: a stream's first chunk is a small write right after the
    /// headers, and Nagle's algorithm would hold it until the client's (delayed) ACK of the
    /// headers, about 40 ms on Linux, which the first measurement showed as client TTFT
    /// 36 ms above the tracker's.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = listener.tap_io(|tcp| {
            // Best effort: without it the answers are only slower, never wrong.
            let _ = tcp.set_nodelay(true);
        });
        // The histograms are drained at every scrape and each second, so memory stays
        // bounded when nobody scrapes.
        let upkeep = {
            let telemetry = self.telemetry().clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    telemetry.upkeep();
                }
            })
        };
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await;
        upkeep.abort();
        served
    }
}

async fn models(State(app): State<App>) -> Json<serde_json::Value> {
    Json(json!({
        "object": "list",
        "data": [{
            "id": app.model(),
            "object": "model",
            "created": 0,
            "owned_by": "reqtrack",
        }],
    }))
}

async fn metrics(State(app): State<App>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.telemetry().render(),
    )
        .into_response()
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "healthy" }))
}

async fn route_not_found(uri: Uri) -> ApiError {
    ApiError::route_not_found(uri.path())
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
