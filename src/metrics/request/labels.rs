//! The label values of the request metrics, typed: Dynamo's frontend values, spelled as its
//! `as_str` spells them (`lib/llm/src/http/service/metrics.rs` and
//! `lib/runtime/src/metrics/prometheus_names.rs`).
//!
//! Every value is a `&'static str`, so a label never allocates per request. Each enum has a
//! dense `index()` (its declaration order) and a `COUNT`, which the per-model counter tables
//! use to find a label set's handle without a lookup.

use std::fmt;

macro_rules! label_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$vmeta:meta])* $variant:ident => $value:literal,)+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order (`ALL[v.index()] == v`).
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];
            /// How many values there are.
            pub const COUNT: usize = Self::ALL.len();

            /// The label value, exactly as Dynamo's frontend writes it.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value,)+
                }
            }

            /// Position in [`ALL`](Self::ALL), `0..COUNT`.
            pub const fn index(self) -> usize {
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

label_enum! {
    /// The API a request came in on: the `endpoint` label (Dynamo's `Endpoint::as_str`).
    Endpoint {
        /// `/v1/completions`.
        Completions => "completions",
        /// `/v1/chat/completions`.
        ChatCompletions => "chat_completions",
        /// `/v1/embeddings`.
        Embeddings => "embeddings",
        /// Classification.
        Classify => "classify",
        /// Reranking.
        Rerank => "rerank",
        /// Pooling models.
        Pooling => "pooling",
        /// Image generation.
        Images => "images",
        /// Video generation.
        Videos => "videos",
        /// Audio.
        Audios => "audios",
        /// `/v1/responses`.
        Responses => "responses",
        /// Anthropic's `/v1/messages`.
        AnthropicMessages => "anthropic_messages",
        /// Tensor (KServe-style) requests.
        Tensor => "tensor",
        /// Raw generate.
        Generate => "generate",
    }
}

label_enum! {
    /// Streamed or not: the `request_type` label.
    RequestType {
        /// A streamed response (`"stream": true`).
        Stream => "stream",
        /// One response body.
        Unary => "unary",
    }
}

label_enum! {
    /// The `status` label: Dynamo has only these two; a cancelled request is an `error` whose
    /// [`ErrorType`] is [`Cancelled`](ErrorType::Cancelled).
    Status {
        /// Finished normally.
        Success => "success",
        /// Anything else, a client disconnect included.
        Error => "error",
    }
}

label_enum! {
    /// Why a request failed: the `error_type` label of an `error` (on success the label is the
    /// empty string, [`Outcome::Success`]). Newest Dynamo's values, in its declaration order
    /// (`prometheus_names::frontend_service::error_type`).
    ErrorType {
        /// Bad request (400 / 422).
        Validation => "validation",
        /// Unknown model or route (404).
        NotFound => "not_found",
        /// Rejected for load (429 or 529).
        Overload => "overload",
        /// No worker available (503).
        Unavailable => "unavailable",
        /// Cancelled: the client went away, or the request was stopped.
        Cancelled => "cancelled",
        /// The backend accepted the request but stopped responding (the HTTP layer's
        /// phase-agnostic safety-net timer).
        ResponseTimeout => "response_timeout",
        /// The request-plane timer fired before the first generated token arrived.
        FirstTokenTimeout => "first_token_timeout",
        /// The request-plane timer fired between generated tokens.
        IntraTokenTimeout => "intra_token_timeout",
        /// Any other server-side failure; also what a guard dropped without an outcome before
        /// its stream started records (Dynamo's default).
        Internal => "internal",
        /// Not supported (501).
        NotImplemented => "not_implemented",
        /// The backend reported an explicit error finish reason.
        BackendError => "backend_error",
        /// The stream closed without a terminal finish reason.
        TruncatedStream => "truncated_stream",
    }
}

label_enum! {
    /// The `operation` label of `tokenizer_latency_ms`.
    TokenizerOperation {
        /// Prompt to tokens (the tracker's tokenize latency, once per request).
        Tokenize => "tokenize",
        /// Tokens to text (the tracker's average detokenize latency per request).
        Detokenize => "detokenize",
    }
}

/// How a request ended: the `status` and `error_type` labels together, so a success can never
/// carry an error type and an error always has one.
///
/// ```
/// use reqtrack::{ErrorType, Outcome, Status};
/// assert_eq!(Outcome::Success.status(), Status::Success);
/// assert_eq!(Outcome::Success.error_type_label(), "");
/// let cancelled = Outcome::Error(ErrorType::Cancelled);
/// assert_eq!((cancelled.status().as_str(), cancelled.error_type_label()), ("error", "cancelled"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// `status="success", error_type=""`.
    Success,
    /// `status="error"` with its type.
    Error(ErrorType),
}

impl Outcome {
    /// How many outcomes there are (success plus one per error type).
    pub const COUNT: usize = 1 + ErrorType::COUNT;

    /// The `status` label.
    pub const fn status(self) -> Status {
        match self {
            Self::Success => Status::Success,
            Self::Error(_) => Status::Error,
        }
    }

    /// The `error_type` label: `""` on success, as Dynamo writes it.
    pub const fn error_type_label(self) -> &'static str {
        match self {
            Self::Success => "",
            Self::Error(e) => e.as_str(),
        }
    }

    /// Dense position, `0..COUNT`: success first, then the error types in order.
    pub const fn index(self) -> usize {
        match self {
            Self::Success => 0,
            Self::Error(e) => 1 + e.index(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_dense_and_match_all() {
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
        }
        for (i, e) in ErrorType::ALL.iter().enumerate() {
            assert_eq!(e.index(), i);
            assert_eq!(Outcome::Error(*e).index(), i + 1);
        }
        assert_eq!(Outcome::Success.index(), 0);
        assert_eq!(Endpoint::COUNT, 13);
        assert_eq!(Outcome::COUNT, 13);
    }
}
