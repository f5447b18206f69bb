use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use futures_util::stream::{self, StreamExt};
use metrics_exporter_prometheus::PrometheusBuilder;
use reqtrack::tower::{TrackLayer, Tracked};
use reqtrack::{Endpoint, ErrorType, Prefix, RequestType, ServedModels};
use std::convert::Infallible;
use std::sync::Arc;

#[derive(serde::Deserialize)]
struct Completion {
    model: String,
    #[serde(default)]
    stream: bool,
}

async fn completions(Extension(tracked): Extension<Tracked>, req: Request) -> Response {
    tracked.route(Endpoint::Completions); // a cut upload still counts (as cancelled)
    let parsed = match Bytes::from_request(req, &()).await {
        Ok(body) => serde_json::from_slice::<Completion>(&body).ok(),
        Err(_) => None,
    };
    let Some(req) = parsed else {
        let unary = RequestType::Unary;
        tracked.refuse("", Endpoint::Completions, unary, ErrorType::Validation);
        return StatusCode::BAD_REQUEST.into_response();
    };
    let request_type = if req.stream {
        RequestType::Stream
    } else {
        RequestType::Unary
    };
    tracked.start(&req.model, Endpoint::Completions, request_type); // in-flight from here
    tracked.tracker().record_isl(3, 0); // engine events go to the tracker, as before
    let tokens = ["Hello", ",", " world"]; // what the engine streams
    if req.stream {
        let chunks = stream::iter(tokens).map(move |token| {
            tracked.add_tokens(1); // the next frame carries one token
            Ok::<_, Infallible>(Event::default().data(token))
        });
        Sse::new(chunks).into_response() // the layer sees each frame, the end, a disconnect
    } else {
        tokens.iter().for_each(|_| {
            tracked.observe_tokens(1);
        });
        tokens.concat().into_response() // Server-Timing and x-* headers added by the layer
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    // The recorder first, then the registry (one ModelMetrics per model + unknown_model).
    let prefix = Prefix::default();
    let prometheus = reqtrack::with_default_buckets(PrometheusBuilder::new(), &prefix)
        .and_then(PrometheusBuilder::install_recorder)
        .expect("the only recorder");
    let models = Arc::new(ServedModels::new(&prefix, ["llama-3-8b"]));
    let app = Router::new()
        .route("/v1/completions", post(completions))
        .route("/metrics", get(move || async move { prometheus.render() }))
        .layer(TrackLayer::new(models));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
    axum::serve(listener, app).await
}
