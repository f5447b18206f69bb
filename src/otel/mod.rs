//! Each request as an OpenTelemetry trace (feature `otel`): a root span of kind SERVER from
//! arrival to finish and its phase spans, placed from the tracker's own stamps, so each span's
//! duration is the matching `nvext.timing` figure to the nanosecond.
//!
//! Depends on the `opentelemetry` API crate only: the application chooses the SDK, sampler,
//! processor and exporter, and passes a [`Tracer`](opentelemetry::trace::Tracer) (any tracer
//! is a [`RequestTracer`]).
//!
//! ```
//! use opentelemetry::trace::noop::NoopTracer;
//! use reqtrack::otel::{RequestSpans, RequestTracer};
//! use reqtrack::{Endpoint, Outcome, RequestTracker, RequestType};
//!
//! let tracker = RequestTracker::new();
//! tracker.record_first_token();
//! tracker.record_finish();
//! let request = RequestSpans::new("llama-3-8b", Endpoint::ChatCompletions, RequestType::Stream, Outcome::Success);
//! // A no-op tracer records nothing: the call returns `false` after the sampling decision.
//! assert!(!NoopTracer::new().emit_request(&request, &tracker));
//! ```
//!
//! # The spans
//!
//! The root is named as the GenAI conventions name an inference span,
//! `{gen_ai.operation.name} {gen_ai.request.model}` (`chat llama-3-8b`); its children are
//! [`QUEUE_SPAN`], [`PREFILL_SPAN`], [`KV_TRANSFER_SPAN`], [`DECODE_SPAN`] and, when another
//! hop's timing was merged, [`EXTERNAL_SPAN`], each placed only when both its ends are known
//! (the `layout` table). Attributes go on the root ([`attributes`]). An error outcome, a
//! disconnect included, sets the root's status to error with the [`ErrorType`](crate::ErrorType)
//! label as its description and as `error.type`.
//!
//! # Time base
//!
//! Every span starts and ends at the arrival's wall-clock time plus the tracker's nanosecond
//! offsets (`SpanBuilder::with_start_time`, `Span::end_with_timestamp`). The arrival is
//! `request_received_ms` refined to the nanosecond by the emitting thread's clock anchor where
//! the anchor confirms that millisecond, else that millisecond exactly (the tracker's
//! `wall_clock` module: within the anchors' errors, tens of nanoseconds, or 1 ms). Either way
//! durations are exact, and the start never leaves the millisecond the client read.
//!
//! # Cost
//!
//! "Sampled" here means recording (`Span::is_recording`): a `RecordAndSample` decision, or a
//! `RecordOnly` one, whose spans processors see and exporters do not; both get every
//! attribute and child, as the API asks of a recording span.
//!
//! Unsampled: the emission reads the clock anchor (a thread-local; a wall-clock read at most
//! once a second per thread) and asks the tracer for the root span with a static name, its
//! kind and start time and no attributes; when the root is not recording it returns. Nothing
//! else is built: no name, no attribute, no child span, no context. With the SDK's tracer that
//! path allocates nothing (`tests/otel_alloc.rs`); through a `BoxedTracer` the tracer itself
//! boxes the span (one allocation).
//!
//! Sampled (recording), this module allocates, per request: the root's name
//! (`format!`, when the model is not empty) and the model attribute's value (one copy of the
//! model name each: OpenTelemetry takes owned strings); the children's parent context (one
//! `Arc` holding the root's span context, plus the trace state's own copy if the incoming
//! request carried a `tracestate`); a worker id's decimal string only if it exceeds
//! `i64::MAX`. Keys, the operation name, error labels and span names are `'static`. Attributes
//! are set on the span one at a time, so there is no attribute vector of our own; the span
//! implementation stores them (the SDK grows its per-span vector), and builds one span record
//! per span: the root and up to five children. With the SDK 0.33's tracer, a fully recorded
//! request (20 attributes, four phase spans) costs 8 allocations in all (`benches/otel.rs`
//! prints them). The per-chunk path gains nothing: the trace is built once, at the end.
//!
//! # Orderings
//!
//! This module owns no atomic: it reads the tracker once through its ordered read helper
//! (finish first, then the first token and osl, then the prefill start; see the tracker's
//! `read` module), after the sampling decision.

pub mod attributes;
mod emit;
mod layout;
mod request;

pub use emit::RequestTracer;
pub use layout::{DECODE_SPAN, EXTERNAL_SPAN, KV_TRANSFER_SPAN, PREFILL_SPAN, QUEUE_SPAN};
pub use request::{RequestSpans, operation_name};
