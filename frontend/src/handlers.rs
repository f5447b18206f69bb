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
//! With `--tracking off` the router does not wear the layer: the handlers get no [`Tracked`]
//! and every one of these calls, the tracker's latencies and the gauges, is skipped (the
//! private `Track` wrapper); the answers then carry no `nvext`.
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
use reqtrack::{ErrorType, NvExtResponse, Outcome, RequestTracker, RequestType};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// `POST /v1/chat/completions`.
pub async fn chat_completions(
    State(app): State<App>,
    tracked: Option<Extension<Tracked>>,
    req: Request,
) -> Response {
    serve(app, Endpoint::ChatCompletions, Track::new(tracked), req).await
}

/// `POST /v1/completions`.
pub async fn completions(
    State(app): State<App>,
    tracked: Option<Extension<Tracked>>,
    req: Request,
) -> Response {
    serve(app, Endpoint::Completions, Track::new(tracked), req).await
}

async fn serve(app: App, endpoint: Endpoint, tracked: Track, req: Request) -> Response {
    // A client that cuts its upload before the request is parsed still counts, as cancelled.
    tracked.route(endpoint);
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
            tracked.refuse(model, endpoint, request_type(rejected.stream), kind);
            return rejected.error.into_response();
        }
    };
    tracked.start(&req.model, endpoint, request_type(req.stream));

    let prompt = tracked.tokenize(&req.prompt);
    let prompt_tokens = prompt.tokens;
    let job = Job {
        prompt,
        max_tokens: req.max_tokens,
        ignore_eos: req.ignore_eos,
        itl: app.itl(),
        seed: app.next_seed(),
    };
    let rx = engine::spawn(
        app.cluster(),
        app.telemetry().backend(tracked.tracker()),
        job,
    );
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

/// The request's [`Tracked`] handle, or none with `--tracking off`: each method is the
/// tracking call it names, or nothing at all.
struct Track(Option<Tracked>);

impl Track {
    fn new(tracked: Option<Extension<Tracked>>) -> Self {
        Self(tracked.map(|Extension(t)| t))
    }

    fn tracker(&self) -> Option<&Arc<RequestTracker>> {
        self.0.as_ref().map(Tracked::tracker)
    }

    fn route(&self, endpoint: Endpoint) {
        if let Some(t) = &self.0 {
            t.route(endpoint.label());
        }
    }

    fn start(&self, model: &str, endpoint: Endpoint, request_type: RequestType) {
        if let Some(t) = &self.0 {
            t.start(model, endpoint.label(), request_type);
        }
    }

    fn refuse(&self, model: &str, endpoint: Endpoint, request_type: RequestType, e: ErrorType) {
        if let Some(t) = &self.0 {
            t.refuse(model, endpoint.label(), request_type, e);
        }
    }

    fn add_tokens(&self, tokens: usize) {
        if let Some(t) = &self.0 {
            t.add_tokens(tokens);
        }
    }

    fn observe_tokens(&self, tokens: usize) {
        if let Some(t) = &self.0 {
            t.observe_tokens(tokens);
        }
    }

    fn set_outcome(&self, outcome: Outcome) {
        if let Some(t) = &self.0 {
            t.set_outcome(outcome);
        }
    }

    /// Tokenizes `prompt`, recording the tokenize latency.
    fn tokenize(&self, prompt: &str) -> Prompt {
        let Some(tracker) = self.tracker() else {
            return Prompt::tokenize(prompt);
        };
        let started = Instant::now();
        let prompt = Prompt::tokenize(prompt);
        tracker.record_tokenize_latency(started.elapsed());
        prompt
    }

    /// Turns token `id` into text, recording the detokenize latency.
    fn detokenize(&self, id: u32) -> &'static str {
        let Some(tracker) = self.tracker() else {
            return engine::token_text(id);
        };
        let started = Instant::now();
        let text = engine::token_text(id);
        tracker.record_detokenize_latency(started.elapsed());
        text
    }

    /// The `nvext` the client asked for; `None` when it asked for none, or untracked.
    fn nvext(&self, timing: bool, worker_id: bool) -> Option<NvExtResponse> {
        let nvext = NvExtResponse::from_tracker(self.tracker()?, timing, worker_id);
        (!nvext.is_empty()).then_some(nvext)
    }

    /// Refreshes the decode worker's gauges from the tracker.
    fn observe_finish_gauges(&self, app: &App) {
        if let Some(tracker) = self.tracker() {
            app.telemetry().observe_finish_gauges(tracker);
        }
    }
}

/// Collects the whole answer, then responds with usage and nvext (the layer adds the timing
/// headers).
async fn unary(
    mut rx: mpsc::Receiver<Event>,
    app: App,
    tracked: Track,
    head: ResponseHead,
    req: &GenerateRequest,
    prompt_tokens: usize,
    prompt_chars: usize,
) -> Response {
    let mut text = String::new();
    let mut completion_tokens = 0u64;
    let reason = loop {
        match rx.recv().await {
            Some(Event::Token(id)) => {
                text.push_str(tracked.detokenize(id));
                completion_tokens += 1;
                tracked.observe_tokens(1);
            }
            Some(Event::Done(reason)) => break reason,
            None => {
                return ApiError::internal("the backend stopped before the end").into_response();
            }
        }
    };
    tracked.observe_finish_gauges(&app);
    let usage = Usage::new(prompt_tokens as u64, completion_tokens);
    let body = head
        .response(&text, reason.as_str(), usage)
        .with_nvext(tracked.nvext(req.want_timing, req.want_worker_id));
    (headers::unary_headers(prompt_chars), axum::Json(body)).into_response()
}

/// The SSE body: one chunk per token, then the final chunk (finish reason, `nvext.timing`), the
/// usage chunk when asked, and `[DONE]`. Dropping it before the end stops the engine (and the
/// layer counts the disconnect).
struct ChunkStream {
    rx: mpsc::Receiver<Event>,
    app: App,
    tracked: Track,
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
        tracked: Track,
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
        let text = self.tracked.detokenize(id);
        let first = self.completion_tokens == 0;
        // The tracker's osl trails by this chunk: the layer stamps it when the server takes it.
        if !first && self.completion_tokens % GAUGE_REFRESH_TOKENS == 0 {
            self.tracked.observe_finish_gauges(&self.app);
        }
        self.completion_tokens += 1;
        // The worker ids are known once decode started: they ride on the first chunk.
        let nvext = self.tracked.nvext(false, first && self.want_worker_id);
        let event = json_event(&self.head.chunk(text, first, None).with_nvext(nvext));
        self.tracked.add_tokens(1);
        event
    }

    /// The engine finished: the final chunk (its `nvext.timing` has the finish the last token
    /// chunk stamped), the usage chunk, `[DONE]`.
    fn end(&mut self, reason: FinishReason) {
        self.tracked.observe_finish_gauges(&self.app);
        let nvext = self.tracked.nvext(self.want_timing, self.want_worker_id);
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
