//! `POST /v1/chat/completions` and `POST /v1/completions`, streaming and not.
//!
//! The layer ([`reqtrack::tower`]) owns each request's accounting; a handler only declares
//! what it alone knows:
//!
//! * on entry, its route ([`Tracked::route`]: a client that cuts its upload still counts);
//! * after parsing: [`Tracked::start`] (model, endpoint, request type), or [`Tracked::refuse`]
//!   with the error's `ErrorType`;
//! * per token: a stream's chunk reports its token with [`Tracked::add_tokens`] just before it
//!   is yielded (the layer observes it when the server takes the frame); a non-streaming
//!   answer reports each token as the engine produces it ([`Tracked::observe_tokens`]), so
//!   the last one stamps the finish its `nvext.timing` and headers report;
//! * a backend failure after a stream's `200`: [`Tracked::set_outcome`].
//!
//! The engine's receiver lives in the response (the SSE stream, or the handler future for a
//! non-streaming request): a client that goes away drops it, which stops the simulated
//! worker; the layer counts the disconnect.

use super::app::App;
use super::engine::{self, Event, FinishReason, Job, Prompt};
use super::error::ApiError;
use super::headers;
use super::openai::{self, GenerateRequest, ResponseHead, Usage};
use super::telemetry::{Endpoint, GAUGE_REFRESH_TOKENS, request_type};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use reqtrack::tower::Tracked;
use reqtrack::{ErrorType, NvExtResponse, Outcome, RequestTracker};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(app): State<App>,
    Extension(tracked): Extension<Tracked>,
    req: Request,
) -> Response {
    serve(app, Endpoint::ChatCompletions, tracked, req).await
}

/// `POST /v1/completions`.
pub async fn completions(
    State(app): State<App>,
    Extension(tracked): Extension<Tracked>,
    req: Request,
) -> Response {
    serve(app, Endpoint::Completions, tracked, req).await
}

async fn serve(app: App, endpoint: Endpoint, tracked: Tracked, req: Request) -> Response {
    // A client that cuts its upload before the request is parsed still counts, as cancelled.
    tracked.route(endpoint.label());
    let parsed = match Bytes::from_request(req, &()).await {
        Ok(body) => openai::parse(endpoint, &body, app.model()),
        Err(rejection) => Err(openai::Rejected {
            error: ApiError::body(&rejection),
            model: None,
            stream: false,
        }),
    };
    let req = match parsed {
        Ok(req) => req,
        Err(rejected) => {
            let model = rejected.model.as_deref().unwrap_or_default();
            let kind = rejected.error.kind();
            tracked.refuse(model, endpoint.label(), request_type(rejected.stream), kind);
            return rejected.error.into_response();
        }
    };
    tracked.start(&req.model, endpoint.label(), request_type(req.stream));
    let tracker = tracked.tracker();

    let started = Instant::now();
    let prompt = Prompt::tokenize(&req.prompt);
    tracker.record_tokenize_latency(started.elapsed());
    let prompt_tokens = prompt.tokens;
    let job = Job {
        prompt,
        max_tokens: req.max_tokens,
        ignore_eos: req.ignore_eos,
        itl: app.itl(),
        seed: app.next_seed(),
    };
    let rx = engine::spawn(app.cluster(), app.telemetry().backend(tracker), job);
    let head = ResponseHead {
        id: app.next_response_id(endpoint),
        created: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        model: req.model.clone(),
        endpoint,
    };
    let prompt_chars = req.prompt.chars().count();
    if req.stream {
        let stream = ChunkStream::new(rx, app, tracked, head, &req, prompt_tokens);
        (headers::stream_headers(prompt_chars), Sse::new(stream)).into_response()
    } else {
        unary(rx, app, tracked, head, &req, prompt_tokens, prompt_chars).await
    }
}

/// Turns token `id` into text, recording the detokenize latency.
fn detokenize(tracker: &RequestTracker, id: u32) -> &'static str {
    let started = Instant::now();
    let text = engine::token_text(id);
    tracker.record_detokenize_latency(started.elapsed());
    text
}

/// The `nvext` the client asked for; `None` when it asked for none.
fn nvext(tracker: &RequestTracker, timing: bool, worker_id: bool) -> Option<NvExtResponse> {
    let nvext = NvExtResponse::from_tracker(tracker, timing, worker_id);
    (!nvext.is_empty()).then_some(nvext)
}

/// Collects the whole answer, then responds with usage and nvext (the layer adds the timing
/// headers).
async fn unary(
    mut rx: mpsc::Receiver<Event>,
    app: App,
    tracked: Tracked,
    head: ResponseHead,
    req: &GenerateRequest,
    prompt_tokens: usize,
    prompt_chars: usize,
) -> Response {
    let tracker = tracked.tracker();
    let mut text = String::new();
    let mut completion_tokens = 0u64;
    let reason = loop {
        match rx.recv().await {
            Some(Event::Token(id)) => {
                text.push_str(detokenize(tracker, id));
                completion_tokens += 1;
                tracked.observe_tokens(1);
            }
            Some(Event::Done(reason)) => break reason,
            None => {
                return ApiError::internal("the backend stopped before the end").into_response();
            }
        }
    };
    app.telemetry().observe_finish_gauges(tracker);
    let usage = Usage::new(prompt_tokens as u64, completion_tokens);
    let body = head
        .response(&text, reason.as_str(), usage)
        .with_nvext(nvext(tracker, req.want_timing, req.want_worker_id));
    (headers::unary_headers(prompt_chars), axum::Json(body)).into_response()
}

/// The SSE body: one chunk per token, then the final chunk (finish reason, `nvext.timing`), the
/// usage chunk when asked, and `[DONE]`. Dropping it before the end stops the engine (and the
/// layer counts the disconnect).
struct ChunkStream {
    rx: mpsc::Receiver<Event>,
    app: App,
    tracked: Tracked,
    head: ResponseHead,
    include_usage: bool,
    want_timing: bool,
    want_worker_id: bool,
    prompt_tokens: u64,
    completion_tokens: u64,
    /// The engine's stream ended.
    ended: bool,
    /// Events ready to send (the tail of the stream).
    pending: VecDeque<SseEvent>,
}

impl ChunkStream {
    fn new(
        rx: mpsc::Receiver<Event>,
        app: App,
        tracked: Tracked,
        head: ResponseHead,
        req: &GenerateRequest,
        prompt_tokens: usize,
    ) -> Self {
        Self {
            rx,
            app,
            tracked,
            head,
            include_usage: req.include_usage,
            want_timing: req.want_timing,
            want_worker_id: req.want_worker_id,
            prompt_tokens: prompt_tokens as u64,
            completion_tokens: 0,
            ended: false,
            pending: VecDeque::new(),
        }
    }

    /// The chunk for token `id`, its token reported to the layer.
    fn token_chunk(&mut self, id: u32) -> SseEvent {
        let tracker = self.tracked.tracker();
        let text = detokenize(tracker, id);
        let first = self.completion_tokens == 0;
        // The tracker's osl trails by this chunk: the layer stamps it when the server takes it.
        if !first && self.completion_tokens % GAUGE_REFRESH_TOKENS == 0 {
            self.app.telemetry().observe_finish_gauges(tracker);
        }
        self.completion_tokens += 1;
        // The worker ids are known once decode started: they ride on the first chunk.
        let nvext = nvext(tracker, false, first && self.want_worker_id);
        let event = json_event(&self.head.chunk(text, first, None).with_nvext(nvext));
        self.tracked.add_tokens(1);
        event
    }

    /// The engine finished: the final chunk (its `nvext.timing` has the finish the last token
    /// chunk stamped), the usage chunk, `[DONE]`.
    fn end(&mut self, reason: FinishReason) {
        let tracker = self.tracked.tracker();
        self.app.telemetry().observe_finish_gauges(tracker);
        let nvext = nvext(tracker, self.want_timing, self.want_worker_id);
        let last = self
            .head
            .chunk("", self.completion_tokens == 0, Some(reason.as_str()))
            .with_nvext(nvext);
        self.pending.push_back(json_event(&last));
        if self.include_usage {
            let usage = Usage::new(self.prompt_tokens, self.completion_tokens);
            self.pending
                .push_back(json_event(&self.head.usage_chunk(usage)));
        }
        self.pending.push_back(SseEvent::default().data("[DONE]"));
    }

    /// The engine stopped without finishing: an error event after the `200`.
    fn fail(&mut self) {
        let error = ApiError::internal("the backend stopped before the end");
        self.tracked
            .set_outcome(Outcome::Error(ErrorType::Internal));
        self.pending
            .push_back(SseEvent::default().data(error.to_json()));
        self.pending.push_back(SseEvent::default().data("[DONE]"));
    }
}

fn json_event<T: serde::Serialize>(body: &T) -> SseEvent {
    SseEvent::default()
        .json_data(body)
        .unwrap_or_else(|_| SseEvent::default().data("{}"))
}

impl Stream for ChunkStream {
    type Item = Result<SseEvent, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match ready!(this.rx.poll_recv(cx)) {
                Some(Event::Token(id)) => return Poll::Ready(Some(Ok(this.token_chunk(id)))),
                Some(Event::Done(reason)) => {
                    this.ended = true;
                    this.end(reason);
                }
                None => {
                    this.ended = true;
                    this.fail();
                }
            }
        }
    }
}
