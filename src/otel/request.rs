//! [`RequestSpans`]: what the end of a request knows besides its tracker, and the GenAI
//! operation name of each [`Endpoint`].

use crate::{Endpoint, Outcome, RequestType};
use opentelemetry::Context;

/// What the code that ends a request knows besides its tracker: the model, the API it came in
/// on, streamed or not, how it ended, and the trace it belongs to.
///
/// The request-metrics layer builds it at each request's end when the model has a tracer
/// ([`ModelMetrics::with_tracer`](crate::ModelMetrics::with_tracer); the parent from
/// [`RequestGuard::with_trace_parent`](crate::RequestGuard::with_trace_parent)); a user of the
/// tracker alone builds it and emits with
/// [`RequestTracer::emit_request`](super::RequestTracer::emit_request).
#[derive(Debug, Clone, Copy)]
pub struct RequestSpans<'a> {
    /// The model (`gen_ai.request.model`, and the root span's name after the operation).
    pub model: &'a str,
    /// The API the request came in on; gives `gen_ai.operation.name` ([`operation_name`]).
    pub endpoint: Endpoint,
    /// Streamed or not (`gen_ai.request.stream`).
    pub request_type: RequestType,
    /// How it ended: an error (a disconnect is [`ErrorType::Cancelled`](crate::ErrorType))
    /// sets the root span's status to error and `error.type` to the error's label.
    pub outcome: Outcome,
    /// The incoming request's trace context (e.g. extracted from its W3C `traceparent` with
    /// an `opentelemetry` propagator); `None` starts a new trace. The current context is never
    /// used implicitly: the end of a request usually runs in another task than its start.
    pub parent: Option<&'a Context>,
}

impl<'a> RequestSpans<'a> {
    /// A request of `model` on `endpoint`, ended with `outcome`, starting a new trace.
    pub fn new(
        model: &'a str,
        endpoint: Endpoint,
        request_type: RequestType,
        outcome: Outcome,
    ) -> Self {
        Self {
            model,
            endpoint,
            request_type,
            outcome,
            parent: None,
        }
    }

    /// The same request, as a child of `parent` (the incoming request's trace context).
    pub fn with_parent(self, parent: &'a Context) -> Self {
        Self {
            parent: Some(parent),
            ..self
        }
    }
}

/// The GenAI semantic conventions' `gen_ai.operation.name` for `endpoint`: the well-known
/// value where one applies (`chat` for chat completions and Anthropic messages,
/// `text_completion` for completions, `embeddings`), else the endpoint's own label (the
/// conventions allow a custom value where no well-known one applies).
///
/// ```
/// use reqtrack::Endpoint;
/// use reqtrack::otel::operation_name;
/// assert_eq!(operation_name(Endpoint::ChatCompletions), "chat");
/// assert_eq!(operation_name(Endpoint::Completions), "text_completion");
/// assert_eq!(operation_name(Endpoint::Rerank), "rerank");
/// ```
pub const fn operation_name(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::ChatCompletions | Endpoint::AnthropicMessages => "chat",
        Endpoint::Completions => "text_completion",
        Endpoint::Embeddings => "embeddings",
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_endpoint_has_an_operation_name() {
        for &e in Endpoint::ALL {
            assert!(!operation_name(e).is_empty(), "{e}");
        }
        assert_eq!(operation_name(Endpoint::Embeddings), "embeddings");
        assert_eq!(operation_name(Endpoint::AnthropicMessages), "chat");
        assert_eq!(operation_name(Endpoint::Responses), "responses");
    }
}
