//! The layer's traces over real HTTP (features `otel` and `tower`): a client's W3C
//! `traceparent` reaches the root span as its parent, through the layer's propagator, the
//! request's guard and the models' tracer; read back through the SDK's in-memory exporter.
//! Each test runs under axum and under bare hyper.

mod layer;

use layer::{Kind, MODEL, Server, Step, raw, under_both};
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId, TracerProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, Sampler, SdkTracerProvider, SpanData};
use reqtrack::tower::TrackLayer;
use std::sync::Arc;
use std::time::Duration;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn traceparent(flags: &str) -> String {
    format!("00-{TRACE_ID}-{PARENT_ID}-{flags}")
}

/// The SDK with `sampler`, each span exported to memory as it ends.
struct Traces {
    provider: SdkTracerProvider,
    exporter: InMemorySpanExporter,
}

impl Traces {
    fn new(sampler: Sampler) -> Self {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_simple_exporter(exporter.clone())
            .build();
        Self { provider, exporter }
    }

    /// The application under `kind`; the models trace through this SDK, and the layer
    /// extracts the W3C trace context when `propagate`.
    async fn serve(&self, kind: Kind, propagate: bool) -> Server {
        let tracer = Arc::new(self.provider.tracer("layer-test"));
        Server::start_with(kind, |models| {
            let layer = TrackLayer::new(Arc::new(models.with_tracer(tracer)));
            if propagate {
                layer.trace_propagator(Arc::new(TraceContextPropagator::new()))
            } else {
                layer
            }
        })
        .await
    }

    fn spans(&self) -> Vec<SpanData> {
        self.exporter.get_finished_spans().unwrap()
    }

    /// Polls (every 5 ms, at most 10 s) until a root span was exported; the spans then.
    async fn root_exported(&self) -> (SpanData, Vec<SpanData>) {
        for _ in 0..2000 {
            let spans = self.spans();
            if let Some(root) = spans.iter().find(|s| s.span_kind == SpanKind::Server) {
                return (root.clone(), spans);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("no root span exported");
    }
}

/// `POST /unary` with reqwest, with a `traceparent` of these flags if any; answered `hello`.
async fn unary(s: &Server, flags: Option<&str>) {
    let mut request = reqwest::Client::new().post(s.url("/unary"));
    if let Some(flags) = flags {
        request = request.header("traceparent", traceparent(flags));
    }
    let resp = request.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "hello");
}

under_both!(
    a_traceparent_sent_by_reqwest_is_the_roots_remote_parent,
    a_stream_cut_under_a_traceparent_is_a_cancelled_root_in_that_trace,
    a_traceparent_not_sampled_emits_nothing,
    without_a_propagator_the_traceparent_is_ignored,
);

async fn a_traceparent_sent_by_reqwest_is_the_roots_remote_parent(kind: Kind) {
    // Sampled only because the incoming context is.
    let t = Traces::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    let s = t.serve(kind, true).await;
    unary(&s, Some("01")).await;
    s.ended_once_as("").await;

    let (root, spans) = t.root_exported().await;
    assert_eq!(root.name, format!("text_completion {MODEL}"));
    assert_eq!(
        root.span_context.trace_id(),
        TraceId::from_hex(TRACE_ID).unwrap()
    );
    assert_eq!(root.parent_span_id, SpanId::from_hex(PARENT_ID).unwrap());
    assert!(root.parent_span_is_remote);
    assert_eq!(root.status, Status::Unset);
    // The handler reported its tokens as the engine made them: first token, then the finish.
    let decode = spans.iter().find(|s| s.name == "decode").expect("decode");
    assert_eq!(decode.parent_span_id, root.span_context.span_id());
    assert_eq!(decode.end_time, root.end_time);
}

async fn a_stream_cut_under_a_traceparent_is_a_cancelled_root_in_that_trace(kind: Kind) {
    let t = Traces::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOff)));
    let s = t.serve(kind, true).await;
    let script = s.script();
    script.send(Step::Frame(2)).unwrap();
    let request = format!(
        "POST /stream HTTP/1.1\r\nhost: test\r\ntraceparent: {}\r\ncontent-length: 0\r\n\r\n",
        traceparent("01")
    );
    let (tcp, _) = raw(s.addr, &request, "data: 2").await;
    drop(tcp);
    s.ended_once_as("cancelled").await;

    let (root, spans) = t.root_exported().await;
    assert_eq!(root.name, format!("chat {MODEL}"));
    assert_eq!(root.parent_span_id, SpanId::from_hex(PARENT_ID).unwrap());
    assert_eq!(root.status, Status::error("cancelled"));
    // The disconnect stamped the finish; the root and decode end there.
    let decode = spans.iter().find(|s| s.name == "decode").expect("decode");
    assert_eq!(decode.end_time, root.end_time);
    drop(script);
}

async fn a_traceparent_not_sampled_emits_nothing(kind: Kind) {
    let t = Traces::new(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)));
    let s = t.serve(kind, true).await;
    unary(&s, Some("00")).await;
    s.ended_once_as("").await;
    // A sampled request after it: once its root is exported, the first one's end (and so its
    // sampling decision) is long past.
    unary(&s, None).await;
    let (root, spans) = t.root_exported().await;
    assert_eq!(
        root.parent_span_id,
        SpanId::INVALID,
        "the second: no traceparent"
    );
    let traced = TraceId::from_hex(TRACE_ID).unwrap();
    assert!(
        spans.iter().all(|s| s.span_context.trace_id() != traced),
        "{spans:#?}"
    );
}

async fn without_a_propagator_the_traceparent_is_ignored(kind: Kind) {
    let t = Traces::new(Sampler::AlwaysOn);
    let s = t.serve(kind, false).await;
    unary(&s, Some("01")).await;
    let (root, _) = t.root_exported().await;
    assert_eq!(root.parent_span_id, SpanId::INVALID, "a new trace");
    assert_ne!(
        root.span_context.trace_id(),
        TraceId::from_hex(TRACE_ID).unwrap()
    );
}
