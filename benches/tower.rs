//! The tower layer's overhead against the hand-written path, with the real Prometheus recorder
//! installed (default buckets applied). No server, no socket: the service is called and its
//! future and body polled in place, so what is timed is the layer and the handler's calls.
//!
//! * `request` (one request of [`CHUNKS`] one-token frames, end to end): `bare` is the handler
//!   without any metrics (the floor); `hand_written` adds what a handler writes without the
//!   layer (a tracker, a `RequestGuard` turned into a `StreamMetrics`, `observe_chunk` per frame
//!   with its clock read, `finish`); `layer` is the same handler behind `TrackLayer`
//!   (`Tracked::start`, `add_tokens` per frame; the layer does the rest).
//! * `chunk` (one data frame of a long stream): `bare` polls the handler's body; `hand_written`
//!   adds `observe_chunk(1, Instant::now())`; `layer` polls the layer's body around the
//!   handler's, which reports its token with `add_tokens`.
//!
//! Allocations per request are printed after the timings.
//!
//! `cargo bench --features tower --bench tower`

use criterion::{Criterion, black_box};
use frame_body::FrameBody;
use http::{Request, Response};
use http_body::Body;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use reqtrack::tower::{TrackLayer, Tracked};
use reqtrack::{
    Endpoint, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker, RequestType,
    ServedModels, StreamMetrics,
};
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tower_layer::Layer;
use tower_service::Service;

#[path = "common/mod.rs"]
mod common;

use common::{CountingAlloc, allocations};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const MODEL: &str = "llama";
/// One-token frames per request in the `request` group.
const CHUNKS: usize = 16;
/// Operations per timed batch (then the exporter's buffers are drained, untimed).
const BATCH: u64 = 1024;

/// The handler's body: `left` one-token frames, each reported through `tracked` when there is
/// one; and, for the hand-written path, observed on `stream`.
mod frame_body {
    use super::*;
    use http_body::Frame;

    pub struct FrameBody {
        pub left: usize,
        pub tracked: Option<Tracked>,
        pub stream: Option<StreamMetrics>,
    }

    impl Body for FrameBody {
        type Data = &'static [u8];
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Self::Data>, Infallible>>> {
            if self.left == 0 {
                if let Some(stream) = self.stream.take() {
                    stream.finish(Outcome::Success);
                }
                return Poll::Ready(None);
            }
            self.left -= 1;
            if let Some(t) = &self.tracked {
                t.add_tokens(1);
            }
            if let Some(s) = self.stream.as_mut() {
                s.observe_chunk(1, Instant::now());
            }
            Poll::Ready(Some(Ok(Frame::data(b"data: {}\n\n".as_slice()))))
        }
    }
}

/// Which handler.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    Bare,
    HandWritten,
    Layer,
}

/// The handler as a service.
#[derive(Clone)]
struct Handler {
    path: Path,
    metrics: Arc<ModelMetrics>,
    chunks: usize,
}

impl<B> Service<Request<B>> for Handler {
    type Response = Response<FrameBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<FrameBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let mut body = FrameBody {
            left: self.chunks,
            tracked: None,
            stream: None,
        };
        match self.path {
            Path::Bare => {}
            Path::HandWritten => {
                let tracker = Arc::new(RequestTracker::new());
                let guard = RequestGuard::new(
                    Arc::clone(&self.metrics),
                    tracker,
                    Endpoint::ChatCompletions,
                    RequestType::Stream,
                );
                body.stream = Some(guard.into_stream());
            }
            Path::Layer => {
                let tracked = req.extensions().get::<Tracked>().cloned();
                if let Some(t) = &tracked {
                    t.start(MODEL, Endpoint::ChatCompletions, RequestType::Stream);
                }
                body.tracked = tracked;
            }
        }
        ready(Ok(Response::new(body)))
    }
}

/// Calls `svc` once and drains the response (future and body polled in place).
fn one_request<S, B>(svc: &mut S) -> usize
where
    S: Service<Request<()>, Response = Response<B>>,
    B: Body,
{
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(resp)) = pin!(svc.call(Request::new(()))).poll(&mut cx) else {
        panic!("the handler answers at once");
    };
    let mut body = pin!(resp.into_body());
    let mut frames = 0;
    while let Poll::Ready(Some(_)) = body.as_mut().poll_frame(&mut cx) {
        frames += 1;
    }
    frames
}

/// `run(n)` over `iters` in batches of at most [`BATCH`], the exporter drained between
/// batches (untimed).
fn batched(
    handle: &PrometheusHandle,
    iters: u64,
    mut run: impl FnMut(u64) -> Duration,
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        total += run(n);
        handle.run_upkeep();
        left -= n;
    }
    total
}

fn main() {
    let prefix = Prefix::default();
    let handle = reqtrack::with_default_buckets(PrometheusBuilder::new(), &prefix)
        .and_then(PrometheusBuilder::install_recorder)
        .expect("first recorder");
    let models = Arc::new(ServedModels::new(&prefix, [MODEL]));
    let metrics = Arc::clone(models.get(MODEL).metrics());
    let handler = |path, chunks| Handler {
        path,
        metrics: Arc::clone(&metrics),
        chunks,
    };
    let layer = TrackLayer::new(Arc::clone(&models));
    let mut bare = handler(Path::Bare, CHUNKS);
    let mut hand = handler(Path::HandWritten, CHUNKS);
    let mut layered = layer.layer(handler(Path::Layer, CHUNKS));
    // The first request of each resolves the lazily registered series; not measured.
    for _ in 0..2 {
        assert_eq!(one_request(&mut bare), CHUNKS);
        assert_eq!(one_request(&mut hand), CHUNKS);
        assert_eq!(one_request(&mut layered), CHUNKS);
    }

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("request");
        let mut bench = |name: &str, run: &mut dyn FnMut() -> usize| {
            g.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    batched(&handle, iters, |n| {
                        let start = Instant::now();
                        for _ in 0..n {
                            black_box(run());
                        }
                        start.elapsed()
                    })
                })
            });
        };
        bench("bare", &mut || one_request(&mut bare));
        bench("hand_written", &mut || one_request(&mut hand));
        bench("layer", &mut || one_request(&mut layered));
        g.finish();
    }
    {
        let mut g = c.benchmark_group("chunk");
        let mut cx = Context::from_waker(Waker::noop());
        let long = usize::MAX;
        let mut bench = |name: &str,
                         svc: &mut dyn FnMut() -> Pin<
            Box<dyn Body<Data = &'static [u8], Error = Infallible>>,
        >| {
            let mut body = svc();
            g.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    batched(&handle, iters, |n| {
                        let start = Instant::now();
                        for _ in 0..n {
                            black_box(body.as_mut().poll_frame(&mut cx).is_ready());
                        }
                        start.elapsed()
                    })
                })
            });
        };
        bench("bare", &mut || {
            let mut svc = handler(Path::Bare, long);
            Box::pin(call_body(&mut svc))
        });
        bench("hand_written", &mut || {
            let mut svc = handler(Path::HandWritten, long);
            Box::pin(call_body(&mut svc))
        });
        bench("layer", &mut || {
            let mut svc = layer.layer(handler(Path::Layer, long));
            Box::pin(call_body(&mut svc))
        });
        g.finish();
    }
    c.final_summary();

    // Allocations per request (the exporter's own 64-sample blocks included).
    const N: usize = 1000;
    for (name, run) in [
        (
            "bare",
            &mut (|| one_request(&mut bare)) as &mut dyn FnMut() -> usize,
        ),
        ("hand_written", &mut || one_request(&mut hand)),
        ("layer", &mut || one_request(&mut layered)),
    ] {
        let ((), allocs) = allocations(|| {
            for _ in 0..N {
                black_box(run());
            }
        });
        let per = allocs as f64 / N as f64;
        println!("allocations per request ({CHUNKS} chunks), {name}: {per:.2}");
    }
}

/// Calls `svc` and returns its response body, its future polled in place.
fn call_body<S, B>(svc: &mut S) -> B
where
    S: Service<Request<()>, Response = Response<B>>,
{
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(svc.call(Request::new(()))).poll(&mut cx) {
        Poll::Ready(Ok(resp)) => resp.into_body(),
        _ => panic!("the handler answers at once"),
    }
}
