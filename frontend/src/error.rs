//! OpenAI-style errors: `{"error": {"message", "type", "param", "code"}}` with the right status.
//!
//! | case | status | `code` | `error_type` label |
//! |---|---|---|---|
//! | malformed JSON or a field of the wrong type | 400 | `invalid_json` | `validation` |
//! | `model` / `messages` / `prompt` missing | 400 | `missing_required_parameter` | `validation` |
//! | `max_tokens` outside `1..=16384`, `n` ≠ 1, empty `messages` | 400 | `invalid_value` | `validation` |
//! | body over the limit | 413 | `request_too_large` | `validation` |
//! | model not served | 404 | `model_not_found` | `not_found` |
//! | backend failed | 500 | `internal_error` | `internal` |
//! | unknown route / wrong method | 404 / 405 | `not_found` / `method_not_allowed` | (not counted) |

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reqtrack::ErrorType;
use serde::Serialize;

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human-readable message.
    pub message: String,
    /// The offending parameter, if one.
    pub param: Option<&'static str>,
    /// Machine-readable code.
    pub code: &'static str,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<&'static str>,
    code: &'static str,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: String) -> Self {
        Self {
            status,
            message,
            param: None,
            code,
        }
    }

    fn with_param(mut self, param: &'static str) -> Self {
        self.param = Some(param);
        self
    }

    /// The body is not JSON, or a field has the wrong type.
    pub fn invalid_json(e: &serde_json::Error) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("could not parse the JSON body: {e}"),
        )
    }

    /// A required parameter is missing.
    pub fn missing(param: &'static str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "missing_required_parameter",
            format!("missing required parameter: '{param}'"),
        )
        .with_param(param)
    }

    /// A parameter has a value out of range.
    pub fn invalid_value(param: &'static str, message: String) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_value", message).with_param(param)
    }

    /// The model is not served.
    pub fn model_not_found(model: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "model_not_found",
            format!("the model '{model}' does not exist"),
        )
        .with_param("model")
    }

    /// The body could not be read: over the limit (413) or broken off (400).
    pub fn body(rejection: &BytesRejection) -> Self {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "request_too_large"
        } else {
            "invalid_body"
        };
        Self::new(status, code, rejection.body_text())
    }

    /// The backend failed.
    pub fn internal(message: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            message.to_owned(),
        )
    }

    /// No such route.
    pub fn route_not_found(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {path}"),
        )
    }

    /// The route exists, the method does not.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "method not allowed on this route".to_owned(),
        )
    }

    /// The `error_type` label this error is counted under.
    pub fn kind(&self) -> ErrorType {
        match self.status {
            StatusCode::NOT_FOUND => ErrorType::NotFound,
            s if s.is_server_error() => ErrorType::Internal,
            _ => ErrorType::Validation,
        }
    }

    /// The JSON body, e.g. for an SSE error event.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.envelope()).unwrap_or_default()
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            error: Detail {
                message: &self.message,
                kind: if self.status.is_server_error() {
                    "server_error"
                } else {
                    "invalid_request_error"
                },
                param: self.param,
                code: self.code,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.envelope())).into_response()
    }
}
