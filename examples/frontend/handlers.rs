//! `POST /v1/chat/completions` and `POST /v1/completions`, streaming and not.
//!
//! Every request is counted once: a refused one through [`Telemetry::reject`], an accepted one
//! through [`Telemetry::start_request`], ending exactly once with `finish`, `on_error`, or, when
//! the response is dropped before its end (the client went away), as cancelled. The engine's
//! receiver lives in the response (the SSE stream, or the handler future for a non-streaming
//! request), so the same drop stops the simulated worker.
//!
//! [`Telemetry::reject`]: super::telemetry::Telemetry::reject
//! [`Telemetry::start_request`]: super::telemetry::Telemetry::start_request

use super::app::App;
use super::engine::{self, Event, FinishReason, Job, Prompt};
use super::error::ApiError;
use super::headers;
use super::openai::{self, GenerateRequest, ResponseHead, Usage};
use super::telemetry::{Arrival, Endpoint, RequestTelemetry};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// `POST /v1/chat/completions`.
pub async fn chat_completions(State(app): State<App>, req: Request) -> Response {
    serve(app, Endpoint::ChatCompletions, req).await
}

/// `POST /v1/completions`.
pub async fn completions(State(app): State<App>, req: Request) -> Response {
    serve(app, Endpoint::Completions, req).await
}

async fn serve(app: App, endpoint: Endpoint, req: Request) -> Response {
    let arrival = Arrival::now();
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
            app.telemetry().reject(
                arrival,
                model,
                endpoint,
                rejected.stream,
                rejected.error.kind(),
            );
            return rejected.error.into_response();
        }
    };
    let mut rt = app
        .telemetry()
        .start_request(arrival, &req.model, endpoint, req.stream);

    let started = Instant::now();
    let prompt = Prompt::tokenize(&req.prompt);
    rt.tokenized(started.elapsed());
    let prompt_tokens = prompt.tokens;
    let job = Job {
        prompt,
        max_tokens: req.max_tokens,
        ignore_eos: req.ignore_eos,
        itl: app.itl(),
        seed: app.next_seed(),
    };
    let rx = engine::spawn(app.cluster(), rt.backend(), job);
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
        let stream = ChunkStream::new(rx, rt, head, &req, prompt_tokens);
        (headers::stream_headers(prompt_chars), Sse::new(stream)).into_response()
    } else {
        unary(rx, rt, head, &req, prompt_tokens, prompt_chars).await
    }
}

/// Turns token `id` into text, metering the detokenize.
fn detokenize(rt: &mut RequestTelemetry, id: u32) -> &'static str {
    let started = Instant::now();
    let text = engine::token_text(id);
    rt.detokenized(started.elapsed());
    text
}

/// Collects the whole answer, then responds with usage, nvext and the timing headers.
async fn unary(
    mut rx: mpsc::Receiver<Event>,
    mut rt: RequestTelemetry,
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
                text.push_str(detokenize(&mut rt, id));
                completion_tokens += 1;
                rt.on_chunk(1);
            }
            Some(Event::Done(reason)) => break reason,
            None => {
                let error = ApiError::internal("the backend stopped before the end");
                rt.on_error(error.kind());
                return error.into_response();
            }
        }
    };
    let mut done = rt.finish();
    let nvext = done.nvext(req.want_timing, req.want_worker_id);
    let report = done.report();
    let usage = Usage::new(prompt_tokens as u64, completion_tokens);
    let body = head
        .response(&text, reason.as_str(), usage)
        .with_nvext(nvext);
    (
        headers::unary_headers(&report, prompt_chars, prompt_tokens),
        axum::Json(body),
    )
        .into_response()
}

/// The SSE body: one chunk per token, then the final chunk (finish reason, `nvext.timing`), the
/// usage chunk when asked, and `[DONE]`. Dropping it before the end ends the request as
/// cancelled and stops the engine.
struct ChunkStream {
    rx: mpsc::Receiver<Event>,
    rt: Option<RequestTelemetry>,
    head: ResponseHead,
    include_usage: bool,
    want_timing: bool,
    want_worker_id: bool,
    prompt_tokens: u64,
    completion_tokens: u64,
    /// Events ready to send (the tail of the stream).
    pending: VecDeque<SseEvent>,
}

impl ChunkStream {
    fn new(
        rx: mpsc::Receiver<Event>,
        rt: RequestTelemetry,
        head: ResponseHead,
        req: &GenerateRequest,
        prompt_tokens: usize,
    ) -> Self {
        Self {
            rx,
            rt: Some(rt),
            head,
            include_usage: req.include_usage,
            want_timing: req.want_timing,
            want_worker_id: req.want_worker_id,
            prompt_tokens: prompt_tokens as u64,
            completion_tokens: 0,
            pending: VecDeque::new(),
        }
    }

    /// The chunk for token `id`; `None` once the request has ended.
    fn token_chunk(&mut self, id: u32) -> Option<SseEvent> {
        let rt = self.rt.as_mut()?;
        let text = detokenize(rt, id);
        let first = self.completion_tokens == 0;
        self.completion_tokens += 1;
        rt.on_chunk(1);
        // The worker ids are known once decode started: they ride on the first chunk.
        let nvext = if first && self.want_worker_id {
            rt.nvext(false, true)
        } else {
            None
        };
        Some(json_event(
            &self.head.chunk(text, first, None).with_nvext(nvext),
        ))
    }

    fn end(&mut self, rt: RequestTelemetry, reason: FinishReason) {
        let mut done = rt.finish();
        let nvext = done.nvext(self.want_timing, self.want_worker_id);
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

    fn fail(&mut self, rt: RequestTelemetry) {
        let error = ApiError::internal("the backend stopped before the end");
        rt.on_error(error.kind());
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
            if this.rt.is_none() {
                return Poll::Ready(None);
            }
            match ready!(this.rx.poll_recv(cx)) {
                Some(Event::Token(id)) => return Poll::Ready(this.token_chunk(id).map(Ok)),
                Some(Event::Done(reason)) => {
                    if let Some(rt) = this.rt.take() {
                        this.end(rt, reason);
                    }
                }
                None => {
                    if let Some(rt) = this.rt.take() {
                        this.fail(rt);
                    }
                }
            }
        }
    }
}
