//! One layer and an HTTP service is tracked: a [`tower`](https://docs.rs/tower) layer that owns
//! each request's [`RequestTracker`](crate::RequestTracker), its
//! [`RequestGuard`](crate::RequestGuard), its outcome, its disconnects, its timing headers and
//! trailers (feature `tower`).
//!
//! It wraps any `Service<http::Request<B>>` whose response body is an [`http_body::Body`]:
//! an axum `Router` (`.layer(TrackLayer::new(models))`) or a bare hyper service (through
//! `hyper_util::service::TowerToHyperService`). No web framework is a dependency.
//!
//! # What the layer does, and what the handler declares
//!
//! | when | who | what |
//! |---|---|---|
//! | the request enters the layer | layer | a tracker, received now (before the body is read); a [`Tracked`] handle in the request's extensions; the request body wrapped |
//! | on entry (optional) | handler | [`Tracked::route`]: a request cut before it is declared still counts, as a cancelled one of `unknown_model` |
//! | after parsing | handler | [`Tracked::start`] (model, endpoint, request type): the guard starts (in-flight, active, queued +1); or [`Tracked::refuse`] with its `ErrorType`: started and ended at once |
//! | engine events | handler | on [`Tracked::tracker`], as without the layer (workers, prefill, KV, ISL, migrations) |
//! | before yielding a frame | handler | [`Tracked::add_tokens`]: the output tokens the next data frame carries |
//! | the response head | layer | non-streaming: `Server-Timing` and TGI's `x-*` headers; streaming with `TE: trailers`: `Trailer: server-timing` |
//! | each data frame handed to the server | layer | one chunk: `observe_chunk(pending tokens, now)` (TTFT, ITL, osl, finish) |
//! | the body's end | layer | the request ends with its outcome; a streamed response's `Server-Timing` trailer |
//! | the body dropped before its end | layer | a client disconnect: `cancelled`, `disconnected_clients`, `model_cancellation_total` |
//! | the request body fails (the upload was cut) | layer | a disconnect too, whatever the handler answered |
//! | the handler (or its body) panics | layer | the request ends as `internal` |
//! | the service or the body returns an error | layer | the declared outcome, else `internal` |
//!
//! **Traces** (feature `otel`): with `TrackLayer::trace_propagator`, the request's trace
//! context (its W3C `traceparent`) is extracted when it enters the layer and becomes its
//! guard's trace parent when the handler starts it; with `ServedModels::with_tracer`, its end
//! (every row above that ends it) emits its root and phase spans, the root a child of that
//! context (the `trace` module).
//!
//! **The guard lives until the last byte is handed to the server**: the end of the body (or
//! its last data frame, when the body says it is at its end), so `inflight_requests` and
//! `active_requests` cover the final chunk, the usage chunk and `[DONE]`.
//!
//! **Tokens per frame.** The handle keeps a pending-token count: the handler adds to it just
//! before it yields a frame ([`Tracked::add_tokens`]); the body wrapper takes it (sets it to 0)
//! when that data frame passes through `poll_frame`, and observes a chunk of that many tokens
//! at that instant. A data frame with 0 pending tokens (a role-only first chunk, the final
//! chunk, the usage chunk, `[DONE]`, a keep-alive) is not a token chunk: nothing is observed.
//! A handler that reports nothing gets no TTFT, ITL or osl from the layer (the request is still
//! counted, timed and ended). A response built before it is sent (non-streaming) reports its
//! tokens as the engine produces them with [`Tracked::observe_tokens`] instead, so the finish
//! is stamped by the last token and the body's `nvext.timing` and the headers agree.
//!
//! **Outcome**, at the end: a disconnect (body dropped, upload cut) is `cancelled`; otherwise
//! the outcome the handler declared ([`Tracked::set_outcome`]) if any; otherwise an error from
//! the response body is `internal`; otherwise the status through the layer's policy
//! ([`outcome_from_status`] by default, replaced with [`TrackLayer::outcome_from_status`]).
//!
//! Anything that drops a declared response before its end counts as a disconnect: a server
//! shutting down with streams open, or a server that never polls a body it has no use for
//! (the answer to a `HEAD` request); a body already at its end when dropped is a success.
//!
//! A request the handler never declares nor routes (`/health`, `/metrics`, an unknown route)
//! is not counted: the layer only stamps its tracker's arrival.
//!
//! # Headers and trailers
//!
//! A declared non-streaming ([`RequestType::Unary`](crate::RequestType)) response with a 2xx
//! status gets `Server-Timing` and TGI's `x-*` headers ([`TimingHeaders`](crate::TimingHeaders);
//! a missing finish is stamped when the head is ready). A streamed one gets `Server-Timing` as
//! an HTTP trailer when the client sent `TE: trailers`: the layer adds `Trailer:
//! server-timing` to the head and a trailers frame after the body's end (hyper 1.x writes
//! trailers on a chunked HTTP/1.1 response only when the request had `TE: trailers` and the
//! field is named in the response's `Trailer` header; HTTP/2 always can). Each is switched off
//! per layer ([`TrackLayer::server_timing_header`], [`TrackLayer::tgi_headers`],
//! [`TrackLayer::server_timing_trailer`]).
//!
//! # Cost
//!
//! Per chunk: one `swap` of the pending count and, when it is above 0, one clock read and
//! `StreamMetrics::observe_chunk`. No allocation, no lock, no registry lookup.
//!
//! Per request, it allocates: the tracker's `Arc` (the engine's tasks share it), the handle's
//! shared state (one `Arc`: the handler, the request body and the response share it), the
//! extension (`http::Extensions`' boxed map, its table and the boxed entry: three allocations,
//! the price of reaching the handler through the request), and, when sent, the header values (`Server-Timing` and TGI's
//! headers, or the trailer map). It takes an uncontended lock on the state when the handler
//! declares the request, when the response head passes, and once per
//! [`Tracked::observe_tokens`] call; it looks the model up in [`ServedModels`](crate::ServedModels)
//! once, at [`Tracked::start`]. With a trace propagator (feature `otel`), a request carrying
//! a `traceparent` also allocates the propagator's context (one `Arc`; a `tracestate` adds its
//! copy), sampled or not; one without allocates nothing more.
//!
//! # Orderings
//!
//! The state's atomics (the pending-token count, the upload-cut flag, the declared outcome)
//! are `Relaxed`: each is a self-contained value that publishes no other memory, and every
//! read that must see a write is already ordered after it by the request's own task (or by
//! the channel through which the handler's stream yields its frame). The guard itself sits in
//! a `Mutex` until the response head takes it into the body wrapper, which owns it alone.

mod body;
mod future;
mod handle;
mod layer;
mod outcome;
#[cfg(feature = "otel")]
mod trace;

pub use body::{RequestBody, ResponseBody};
pub use future::ResponseFuture;
pub use handle::Tracked;
pub use layer::{TrackLayer, TrackService};
pub use outcome::outcome_from_status;
#[cfg(feature = "otel")]
pub use trace::HeaderExtractor;
