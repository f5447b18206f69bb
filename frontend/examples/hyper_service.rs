use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::PrometheusBuilder;
use reqtrack::tower::{RequestBody, TrackLayer, Tracked};
use reqtrack::{Endpoint, ErrorType, Prefix, RequestType, ServedModels};
use std::convert::Infallible;
use std::sync::Arc;
use tower::{Layer, service_fn};

type Answer = Result<Response<Full<Bytes>>, Infallible>;

async fn generate(req: Request<RequestBody<Incoming>>) -> Answer {
    let tracked = req
        .extensions()
        .get::<Tracked>()
        .cloned()
        .expect("behind TrackLayer");
    tracked.route(Endpoint::Generate);
    let unary = RequestType::Unary;
    if req.into_body().collect().await.is_err() {
        tracked.refuse("", Endpoint::Generate, unary, ErrorType::Validation); // or cancelled
        let mut bad = Response::new(Full::default());
        *bad.status_mut() = StatusCode::BAD_REQUEST;
        return Ok(bad);
    }
    tracked.start("llama-3-8b", Endpoint::Generate, unary);
    for _token in 0..3 {
        tracked.observe_tokens(1); // as the engine produces them
    }
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, world",
    ))))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let prefix = Prefix::default();
    let _prometheus = reqtrack::with_default_buckets(PrometheusBuilder::new(), &prefix)
        .and_then(PrometheusBuilder::install_recorder)
        .expect("the only recorder");
    let layer = TrackLayer::new(Arc::new(ServedModels::new(&prefix, ["llama-3-8b"])));
    let service = layer.layer(service_fn(generate));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
    loop {
        let (tcp, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let http1 = hyper::server::conn::http1::Builder::new();
            let _ = http1.serve_connection(TokioIo::new(tcp), service).await;
        });
    }
}
