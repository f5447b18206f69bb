//! Shared by the layer's tests: one scripted application behind `TrackLayer`, served by axum or
//! by a bare hyper server on a loopback port, and reads of its metrics.
//!
//! The application's routes (every path not listed is undeclared, so not counted):
//!
//! | path | handler |
//! |---|---|
//! | `/unary` | starts (unary), reports 3 tokens with `observe_tokens`, answers `200 hello` |
//! | `/status/{code}` | starts (unary), answers that status |
//! | `/stream` | starts (stream), answers `200` with the body the test scripts ([`Step`]) |
//! | `/wait` | starts (stream), never answers |
//! | `/panic` | starts (unary), panics |
//! | `/upload` | routes, reads the body; refuses on a read error, else starts and answers |
//! | `/upload-started` | starts (unary), then reads the body |
//!
//! Each handler signals its entry ([`Server::entered`]) and leaves its [`Tracked`] handle for
//! the test ([`Server::tracked`]).

#![allow(dead_code)]

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use reqtrack::names::{
    ACTIVE_REQUESTS, INFLIGHT_REQUESTS, QUEUED_REQUESTS, REQUESTS_STARTED_TOTAL, REQUESTS_TOTAL,
};
use reqtrack::tower::{TrackLayer, Tracked};
use reqtrack::{Endpoint, ErrorType, Prefix, RequestType, ServedModels};
use reqtrack_frontend::scrape;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tower::Layer;

/// Runs each `$name(kind)` under each server: `mod axum_server` and `mod hyper_server`, one
/// `#[tokio::test]` per name in each (the invoking file has `Kind` and the functions in scope).
macro_rules! under_both {
    ($($name:ident),+ $(,)?) => {
        mod axum_server {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Kind::Axum).await; })+
        }
        mod hyper_server {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Kind::Hyper).await; })+
        }
    };
}
pub(crate) use under_both;

/// The one served model.
pub const MODEL: &str = "m";

/// Which server runs the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `axum::serve` with the layer on the router.
    Axum,
    /// hyper's HTTP/1 connection builder, the layer around a `tower::service_fn`.
    Hyper,
}

/// What the scripted stream body does next.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// A data frame `data: {tokens}\n\n` carrying `tokens` output tokens.
    Frame(usize),
    /// The body's end.
    End,
    /// The body fails.
    Fail,
}

/// What the test shares with the handlers.
#[derive(Default)]
struct Shared {
    steps: Mutex<Option<mpsc::UnboundedReceiver<Step>>>,
    tracked: Mutex<Option<Tracked>>,
    entered: Notify,
}

/// A body that is either one chunk or the test's script.
struct TestBody {
    once: Option<Bytes>,
    steps: Option<mpsc::UnboundedReceiver<Step>>,
    tracked: Option<Tracked>,
}

impl TestBody {
    fn once(text: &'static str) -> Self {
        Self {
            once: Some(Bytes::from_static(text.as_bytes())),
            steps: None,
            tracked: None,
        }
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(b) = self.once.take() {
            return Poll::Ready(Some(Ok(Frame::data(b))));
        }
        let Some(steps) = self.steps.as_mut() else {
            return Poll::Ready(None);
        };
        match ready!(steps.poll_recv(cx)) {
            Some(Step::Frame(tokens)) => {
                if let Some(t) = &self.tracked {
                    t.add_tokens(tokens);
                }
                let frame = Frame::data(Bytes::from(format!("data: {tokens}\n\n")));
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Step::End) | None => {
                self.steps = None;
                Poll::Ready(None)
            }
            Some(Step::Fail) => Poll::Ready(Some(Err(std::io::Error::other("backend failed")))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.once.is_none() && self.steps.is_none()
    }
}

fn respond(status: StatusCode, body: TestBody) -> Response<TestBody> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r
}

/// The application, for any request body.
async fn app<B>(shared: Arc<Shared>, req: Request<B>) -> Response<TestBody>
where
    B: Body,
{
    let tracked = req.extensions().get::<Tracked>().cloned();
    let Some(tracked) = tracked else {
        return respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            TestBody::once("no layer"),
        );
    };
    *shared.tracked.lock().unwrap() = Some(tracked.clone());
    shared.entered.notify_one();
    let path = req.uri().path().to_owned();
    let unary = |t: &Tracked| t.start(MODEL, Endpoint::Completions, RequestType::Unary);
    match path.as_str() {
        "/unary" => {
            unary(&tracked);
            tracked.observe_tokens(3);
            respond(StatusCode::OK, TestBody::once("hello"))
        }
        "/stream" | "/wait" => {
            tracked.start(MODEL, Endpoint::ChatCompletions, RequestType::Stream);
            if path == "/wait" {
                std::future::pending::<()>().await;
            }
            let steps = shared.steps.lock().unwrap().take();
            let body = TestBody {
                once: None,
                steps,
                tracked: Some(tracked),
            };
            respond(StatusCode::OK, body)
        }
        "/panic" => {
            unary(&tracked);
            panic!("the handler panics (on purpose)");
        }
        "/upload" => {
            tracked.route(Endpoint::Completions);
            match req.into_body().collect().await {
                Ok(_) => {
                    unary(&tracked);
                    respond(StatusCode::OK, TestBody::once("read"))
                }
                Err(_) => {
                    // The body did not parse, so no model is known.
                    let rt = RequestType::Unary;
                    tracked.refuse("", Endpoint::Completions, rt, ErrorType::Validation);
                    respond(StatusCode::BAD_REQUEST, TestBody::once("bad body"))
                }
            }
        }
        "/upload-started" => {
            unary(&tracked);
            match req.into_body().collect().await {
                Ok(_) => respond(StatusCode::OK, TestBody::once("read")),
                Err(_) => respond(StatusCode::BAD_REQUEST, TestBody::once("bad body")),
            }
        }
        p if p.starts_with("/status/") => {
            unary(&tracked);
            let code = p["/status/".len()..].parse().unwrap_or(500);
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            respond(status, TestBody::once("status"))
        }
        _ => respond(StatusCode::OK, TestBody::once("not tracked")),
    }
}

/// The application on a loopback port until dropped.
pub struct Server {
    /// `127.0.0.1:<port>`.
    pub addr: std::net::SocketAddr,
    handle: PrometheusHandle,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Starts the application under `kind`, with a recorder of its own.
    pub async fn start(kind: Kind) -> Self {
        Self::start_with(kind, |models| TrackLayer::new(Arc::new(models))).await
    }

    /// [`start`](Self::start), with the layer `layer` makes of the registry (the trace tests
    /// give the models a tracer and the layer a propagator).
    pub async fn start_with(kind: Kind, layer: impl FnOnce(ServedModels) -> TrackLayer) -> Self {
        let prefix = Prefix::default();
        let recorder = reqtrack::with_default_buckets(PrometheusBuilder::new(), &prefix)
            .expect("buckets")
            .build_recorder();
        let handle = recorder.handle();
        let models = ServedModels::with_recorder(Arc::new(recorder), &prefix, [MODEL]);
        let layer = layer(models);
        let shared = Arc::new(Shared::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let app = Arc::clone(&shared);
        let task = match kind {
            Kind::Axum => {
                let router = axum::Router::new()
                    .fallback(move |req: axum::extract::Request| {
                        let app = Arc::clone(&app);
                        async move { self::app(app, req).await.map(axum::body::Body::new) }
                    })
                    .layer(layer);
                tokio::spawn(async move {
                    let _ = axum::serve(listener, router).await;
                })
            }
            Kind::Hyper => tokio::spawn(async move {
                let service = layer.layer(tower::service_fn(move |req| {
                    let app = Arc::clone(&app);
                    async move { Ok::<_, Infallible>(self::app(app, req).await) }
                }));
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        return;
                    };
                    let service = TowerToHyperService::new(service.clone());
                    tokio::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tcp), service)
                            .await;
                    });
                }
            }),
        };
        Self {
            addr,
            handle,
            shared,
            task,
        }
    }

    /// `http://127.0.0.1:<port>{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The script of the next `/stream` body.
    pub fn script(&self) -> mpsc::UnboundedSender<Step> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.shared.steps.lock().unwrap() = Some(rx);
        tx
    }

    /// Waits until a handler has been entered (since the previous call).
    pub async fn entered(&self) {
        self.shared.entered.notified().await;
    }

    /// The last request's handle.
    pub fn tracked(&self) -> Tracked {
        self.shared
            .tracked
            .lock()
            .unwrap()
            .clone()
            .expect("a request came in")
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Polls the metrics (every 5 ms, at most 10 s) until `done`; panics with `what` otherwise.
    pub async fn wait_for(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        for _ in 0..2000 {
            let text = self.render();
            if done(&text) {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("never saw {what}:\n{}", self.render());
    }

    /// Waits until one request has ended, then checks that it ended once, with `error_type`
    /// (`""` for success), and that nothing is in flight, active or queued.
    pub async fn ended_once_as(&self, error_type: &str) -> String {
        // The outcome is counted before the guard's gauges come down: wait for both.
        let text = self
            .wait_for("one request ended, nothing in flight", |t| {
                sum(t, REQUESTS_TOTAL, &[]) >= 1.0 && idle(t)
            })
            .await;
        assert_eq!(
            sum(&text, REQUESTS_TOTAL, &[]),
            1.0,
            "counted once:\n{text}"
        );
        assert_eq!(
            sum(&text, REQUESTS_TOTAL, &[("error_type", error_type)]),
            1.0,
            "as {error_type:?}:\n{text}"
        );
        assert_eq!(sum(&text, REQUESTS_STARTED_TOTAL, &[]), 1.0, "{text}");
        assert_idle(&text);
        text
    }
}

/// The sum of the metric with this suffix over the samples with all of `labels`.
pub fn sum(text: &str, suffix: &str, labels: &[(&str, &str)]) -> f64 {
    scrape::sum(text, &Prefix::default().name(suffix), labels)
}

/// In-flight, active and queued are all 0.
pub fn idle(text: &str) -> bool {
    [INFLIGHT_REQUESTS, ACTIVE_REQUESTS, QUEUED_REQUESTS]
        .iter()
        .all(|gauge| sum(text, gauge, &[]) == 0.0)
}

/// In-flight, active and queued are all 0.
pub fn assert_idle(text: &str) {
    for gauge in [INFLIGHT_REQUESTS, ACTIVE_REQUESTS, QUEUED_REQUESTS] {
        assert_eq!(sum(text, gauge, &[]), 0.0, "{gauge}:\n{text}");
    }
}

/// A raw HTTP/1.1 client: writes `request`, reads until `until` shows in the answer (nothing
/// when empty), returns the socket and what it read.
pub async fn raw(addr: std::net::SocketAddr, request: &str, until: &str) -> (TcpStream, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(request.as_bytes()).await.expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !until.is_empty() && !String::from_utf8_lossy(&seen).contains(until) {
        let n = tcp.read(&mut buf).await.expect("read");
        assert!(
            n > 0,
            "closed before {until:?}: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    (tcp, String::from_utf8_lossy(&seen).into_owned())
}

/// A POST of `path` with an empty body, raw.
pub fn post(path: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nhost: test\r\ncontent-length: 0\r\n\r\n")
}
