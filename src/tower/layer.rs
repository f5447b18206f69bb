//! [`TrackLayer`] (its settings) and [`TrackService`] (the request's entry).

use super::body::RequestBody;
use super::future::ResponseFuture;
use super::handle::{RequestState, Tracked};
use super::outcome;
use crate::{Outcome, ServedModels};
use http::{Request, Response, StatusCode};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// A layer's settings, shared by its services and their requests.
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) models: Arc<ServedModels>,
    pub(super) server_timing_header: bool,
    pub(super) tgi_headers: bool,
    pub(super) server_timing_trailer: bool,
    pub(super) outcome_from_status: fn(StatusCode) -> Outcome,
    /// Extracts each request's trace context from its headers (feature `otel`).
    #[cfg(feature = "otel")]
    pub(super) propagator:
        Option<Arc<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>>,
}

/// The layer: wraps a service in a [`TrackService`]. See the [module docs](super).
///
/// ```
/// use reqtrack::tower::TrackLayer;
/// use reqtrack::{Prefix, ServedModels};
/// use std::sync::Arc;
///
/// let models = Arc::new(ServedModels::new(&Prefix::default(), ["llama-3-8b"]));
/// let layer = TrackLayer::new(models).tgi_headers(false); // Server-Timing only
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
pub struct TrackLayer {
    config: Arc<Config>,
}

impl TrackLayer {
    /// Tracks requests for `models`; every header and the trailer on, outcomes by
    /// [`outcome_from_status`](super::outcome_from_status).
    pub fn new(models: Arc<ServedModels>) -> Self {
        Self {
            config: Arc::new(Config {
                models,
                server_timing_header: true,
                tgi_headers: true,
                server_timing_trailer: true,
                outcome_from_status: outcome::outcome_from_status,
                #[cfg(feature = "otel")]
                propagator: None,
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// `Server-Timing` on non-streaming responses (default on).
    pub fn server_timing_header(self, on: bool) -> Self {
        self.with(|c| c.server_timing_header = on)
    }

    /// TGI's `x-*` timing headers on non-streaming responses (default on).
    pub fn tgi_headers(self, on: bool) -> Self {
        self.with(|c| c.tgi_headers = on)
    }

    /// `Server-Timing` as a trailer of streamed responses whose client sent `TE: trailers`
    /// (default on).
    pub fn server_timing_trailer(self, on: bool) -> Self {
        self.with(|c| c.server_timing_trailer = on)
    }

    /// The outcome of a response status when the handler declared none.
    pub fn outcome_from_status(self, policy: fn(StatusCode) -> Outcome) -> Self {
        self.with(|c| c.outcome_from_status = policy)
    }

    /// Honours the incoming trace context (feature `otel`): each request's headers go through
    /// `propagator` (the SDK's `TraceContextPropagator` reads the W3C `traceparent` and
    /// `tracestate`) when it enters the layer, and the context becomes its guard's
    /// trace parent, so its root span is that context's child (see the `trace` module). The
    /// spans are emitted by the models' tracer
    /// ([`ServedModels::with_tracer`](crate::ServedModels::with_tracer)). Default: none, every
    /// traced request starts a new trace.
    #[cfg(feature = "otel")]
    pub fn trace_propagator(
        self,
        propagator: Arc<dyn opentelemetry::propagation::TextMapPropagator + Send + Sync>,
    ) -> Self {
        self.with(|c| c.propagator = Some(propagator))
    }

    /// The served models' registry.
    pub fn models(&self) -> &Arc<ServedModels> {
        &self.config.models
    }
}

impl<S> Layer<S> for TrackLayer {
    type Service = TrackService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TrackService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// A service whose requests are tracked; made by [`TrackLayer`].
#[derive(Debug, Clone)]
pub struct TrackService<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TrackService<S>
where
    S: Service<Request<RequestBody<ReqBody>>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<super::ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    /// Stamps the arrival, puts the [`Tracked`] handle into the extensions, wraps the body.
    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let state = Arc::new(RequestState::new(Arc::clone(&self.config), req.headers()));
        let wants_trailers = te_trailers(req.headers());
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(Tracked(Arc::clone(&state)));
        let body = RequestBody::new(body, Arc::clone(&state));
        let inner = self.inner.call(Request::from_parts(parts, body));
        ResponseFuture::new(inner, state, wants_trailers)
    }
}

/// Whether the request's `TE` lists `trailers` (any header line, comma-separated, any case),
/// as hyper checks it.
fn te_trailers(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(http::header::TE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn te_lists_are_read_as_hyper_reads_them() {
        let mut h = http::HeaderMap::new();
        assert!(!te_trailers(&h));
        h.append(http::header::TE, "gzip".parse().unwrap());
        assert!(!te_trailers(&h));
        h.append(http::header::TE, "deflate, Trailers".parse().unwrap());
        assert!(te_trailers(&h));
    }
}
