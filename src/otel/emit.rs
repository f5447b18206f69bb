//! [`RequestTracer`]: emits one finished request as a root span and its phase spans, asking the
//! sampler first.

use super::attributes;
use super::layout::{children, root_end};
use super::request::{RequestSpans, operation_name};
use crate::{Outcome, RequestTracker};
use opentelemetry::Context;
use opentelemetry::trace::{Span, SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use std::time::{Duration, Instant, SystemTime};

/// Emits a finished request's spans. Implemented for every `opentelemetry` [`Tracer`] and
/// object safe, so a layer can keep any tracer as `Arc<dyn RequestTracer + Send + Sync>`
/// without boxing each span (a `BoxedTracer`, the global provider's, boxes every span it
/// builds, an unsampled one included: one allocation per request).
pub trait RequestTracer {
    /// Emits `request`'s spans from `tracker`'s stamps; `now` is the emission instant (the
    /// root's end when the tracker has no finish, and the age check of the clock anchor that
    /// places the arrival). Returns whether the root span is recording (`false`: the sampler
    /// dropped the request and nothing else was built).
    fn emit_request_at(
        &self,
        request: &RequestSpans<'_>,
        tracker: &RequestTracker,
        now: Instant,
    ) -> bool;

    /// [`emit_request_at`](Self::emit_request_at) now.
    fn emit_request(&self, request: &RequestSpans<'_>, tracker: &RequestTracker) -> bool {
        self.emit_request_at(request, tracker, Instant::now())
    }
}

impl<T: Tracer> RequestTracer for T {
    fn emit_request_at(
        &self,
        request: &RequestSpans<'_>,
        tracker: &RequestTracker,
        now: Instant,
    ) -> bool {
        emit(self, request, tracker, now)
    }
}

/// `base + nanos`; `base` itself if that is not representable (never on Linux).
#[inline]
fn at(base: SystemTime, nanos: u64) -> SystemTime {
    base.checked_add(Duration::from_nanos(nanos))
        .unwrap_or(base)
}

fn emit<T: Tracer>(
    tracer: &T,
    request: &RequestSpans<'_>,
    tracker: &RequestTracker,
    now: Instant,
) -> bool {
    // The sampling decision: a root with a static name, its kind and start, no attributes.
    let base = tracker.received_wall_time_at(now);
    let operation = operation_name(request.endpoint);
    let builder = SpanBuilder::from_name(operation)
        .with_kind(SpanKind::Server)
        .with_start_time(base);
    let no_parent;
    let parent = match request.parent {
        Some(parent) => parent,
        None => {
            no_parent = Context::new();
            &no_parent
        }
    };
    let mut root = tracer.build_with_context(builder, parent);
    if !root.is_recording() {
        return false;
    }

    // Recording: everything else, from one read of the stamps.
    let stamps = tracker.phase_stamps();
    if !request.model.is_empty() {
        root.update_name(format!("{operation} {}", request.model));
    }
    attributes::set_root(&mut root, operation, request, tracker, &stamps);
    if let Outcome::Error(e) = request.outcome {
        root.set_status(Status::error(e.as_str()));
    }
    // The children's parent: the root's own span context (not remote), without moving the
    // root into the context.
    let cx = Context::new().with_remote_span_context(root.span_context().clone());
    for child in children(&stamps).into_iter().flatten() {
        let builder = SpanBuilder::from_name(child.name).with_start_time(at(base, child.start));
        tracer
            .build_with_context(builder, &cx)
            .end_with_timestamp(at(base, child.end));
    }
    root.end_with_timestamp(at(base, root_end(&stamps, tracker.offset(now))));
    true
}
