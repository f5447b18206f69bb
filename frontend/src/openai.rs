//! The OpenAI wire format: requests parsed and validated, responses and stream chunks.
//!
//! Unknown request fields (`temperature`, `top_p`, ...) are accepted and ignored, as a
//! simulated model has no use for them. `ignore_eos` (vLLM's extension) makes the model generate
//! exactly `max_tokens`.

use super::error::ApiError;
use super::telemetry::Endpoint;
use reqtrack::NvExtResponse;
use serde::{Deserialize, Serialize};

/// The largest `max_tokens` / `max_completion_tokens` accepted.
pub const MAX_OUTPUT_TOKENS: i64 = 16_384;

#[derive(Debug, Deserialize)]
struct RawRequest {
    model: Option<String>,
    messages: Option<Vec<RawMessage>>,
    prompt: Option<RawPrompt>,
    max_tokens: Option<i64>,
    max_completion_tokens: Option<i64>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    n: Option<i64>,
    ignore_eos: Option<bool>,
    nvext: Option<NvExtRequest>,
}

#[derive(Debug, Deserialize)]
struct RawMessage {
    role: String,
    content: Option<RawContent>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawContent {
    Text(String),
    Parts(Vec<ContentPart>),
}

#[derive(Debug, Deserialize)]
struct ContentPart {
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawPrompt {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

/// Dynamo's request `nvext`: the response fields the client opts into.
#[derive(Debug, Deserialize)]
struct NvExtRequest {
    extra_fields: Option<Vec<String>>,
}

/// A validated request for a served model.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateRequest {
    /// The served model.
    pub model: String,
    /// The prompt as one text (chat messages as `role: content` lines).
    pub prompt: String,
    /// Stream the answer as server-sent events.
    pub stream: bool,
    /// Send a final `usage` chunk when streaming.
    pub include_usage: bool,
    /// Most output tokens.
    pub max_tokens: Option<usize>,
    /// Generate exactly `max_tokens`.
    pub ignore_eos: bool,
    /// `nvext.extra_fields` has `"timing"`.
    pub want_timing: bool,
    /// `nvext.extra_fields` has `"worker_id"`.
    pub want_worker_id: bool,
}

/// A rejected request, with what could be read of it for the metrics labels.
#[derive(Debug)]
pub struct Rejected {
    /// The error to answer with.
    pub error: ApiError,
    /// The requested model, if the body parsed.
    pub model: Option<String>,
    /// Whether it asked to stream, if the body parsed.
    pub stream: bool,
}

/// Parses and validates a request body for `endpoint`, against the served `model`.
pub fn parse(endpoint: Endpoint, body: &[u8], served: &str) -> Result<GenerateRequest, Rejected> {
    let raw: RawRequest = serde_json::from_slice(body).map_err(|e| Rejected {
        error: ApiError::invalid_json(&e),
        model: None,
        stream: false,
    })?;
    let stream = raw.stream.unwrap_or(false);
    let reject = |error: ApiError, model: &Option<String>| Rejected {
        error,
        model: model.clone(),
        stream,
    };
    let Some(model) = raw.model.clone() else {
        return Err(reject(ApiError::missing("model"), &raw.model));
    };
    let prompt = match endpoint {
        Endpoint::ChatCompletions => chat_prompt(raw.messages.as_deref()),
        Endpoint::Completions => completion_prompt(raw.prompt.as_ref()),
    }
    .map_err(|e| reject(e, &raw.model))?;
    let max_tokens = match (raw.max_completion_tokens, raw.max_tokens) {
        (Some(v), _) => Some(check_max_tokens("max_completion_tokens", v)),
        (None, Some(v)) => Some(check_max_tokens("max_tokens", v)),
        (None, None) => None,
    }
    .transpose()
    .map_err(|e| reject(e, &raw.model))?;
    if let Some(n) = raw.n.filter(|&n| n != 1) {
        return Err(reject(
            ApiError::invalid_value("n", format!("n must be 1, got {n}")),
            &raw.model,
        ));
    }
    if model != served {
        return Err(reject(ApiError::model_not_found(&model), &raw.model));
    }
    let fields = raw.nvext.and_then(|n| n.extra_fields).unwrap_or_default();
    let wants = |f: &str| fields.iter().any(|x| x == f);
    Ok(GenerateRequest {
        model,
        prompt,
        stream,
        include_usage: raw
            .stream_options
            .and_then(|o| o.include_usage)
            .unwrap_or(false),
        max_tokens,
        ignore_eos: raw.ignore_eos.unwrap_or(false),
        want_timing: wants("timing"),
        want_worker_id: wants("worker_id"),
    })
}

fn check_max_tokens(param: &'static str, v: i64) -> Result<usize, ApiError> {
    if (1..=MAX_OUTPUT_TOKENS).contains(&v) {
        Ok(usize::try_from(v).unwrap_or(1))
    } else {
        Err(ApiError::invalid_value(
            param,
            format!("{param} must be between 1 and {MAX_OUTPUT_TOKENS}, got {v}"),
        ))
    }
}

fn chat_prompt(messages: Option<&[RawMessage]>) -> Result<String, ApiError> {
    let messages = messages.ok_or_else(|| ApiError::missing("messages"))?;
    if messages.is_empty() {
        return Err(ApiError::invalid_value(
            "messages",
            "messages must not be empty".to_owned(),
        ));
    }
    let mut prompt = String::new();
    for m in messages {
        prompt.push_str(&m.role);
        prompt.push_str(": ");
        match &m.content {
            Some(RawContent::Text(t)) => prompt.push_str(t),
            Some(RawContent::Parts(parts)) => {
                for t in parts.iter().filter_map(|p| p.text.as_deref()) {
                    prompt.push_str(t);
                }
            }
            None => {}
        }
        prompt.push('\n');
    }
    Ok(prompt)
}

fn completion_prompt(prompt: Option<&RawPrompt>) -> Result<String, ApiError> {
    match prompt.ok_or_else(|| ApiError::missing("prompt"))? {
        RawPrompt::One(p) => Ok(p.clone()),
        RawPrompt::Many(ps) if ps.len() == 1 => Ok(ps[0].clone()),
        RawPrompt::Many(ps) => Err(ApiError::invalid_value(
            "prompt",
            format!("exactly one prompt is supported, got {}", ps.len()),
        )),
    }
}

// ---- responses ------------------------------------------------------------------------------

/// `usage`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Output tokens.
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
}

impl Usage {
    /// `prompt` + `completion` tokens.
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens + completion_tokens,
        }
    }
}

/// What every response and chunk of one request shares.
#[derive(Debug, Clone)]
pub struct ResponseHead {
    /// `chatcmpl-…` or `cmpl-…`.
    pub id: String,
    /// Unix seconds at arrival.
    pub created: u64,
    /// The model.
    pub model: String,
    /// Which API shape.
    pub endpoint: Endpoint,
}

#[derive(Serialize)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<&'a str>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

/// One choice, in the shape of the endpoint and of streaming vs not.
#[derive(Serialize)]
#[serde(untagged)]
enum Choice<'a> {
    ChatDelta {
        index: u32,
        delta: Delta<'a>,
        logprobs: Option<()>,
        finish_reason: Option<&'static str>,
    },
    ChatMessage {
        index: u32,
        message: Message<'a>,
        logprobs: Option<()>,
        finish_reason: Option<&'static str>,
    },
    Text {
        index: u32,
        text: &'a str,
        logprobs: Option<()>,
        finish_reason: Option<&'static str>,
    },
}

/// A whole response or one stream chunk.
#[derive(Serialize)]
pub struct Body<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: Vec<Choice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Usage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nvext: Option<NvExtResponse>,
}

impl ResponseHead {
    fn body<'a>(&'a self, object: &'static str, choices: Vec<Choice<'a>>) -> Body<'a> {
        Body {
            id: &self.id,
            object,
            created: self.created,
            model: &self.model,
            choices,
            usage: None,
            nvext: None,
        }
    }

    /// A stream chunk carrying `text` (the first chat chunk also carries the role) and, on the
    /// final chunk, the finish reason.
    pub fn chunk<'a>(
        &'a self,
        text: &'a str,
        first: bool,
        finish: Option<&'static str>,
    ) -> Body<'a> {
        let content = (!text.is_empty() || finish.is_none()).then_some(text);
        let choice = match self.endpoint {
            Endpoint::ChatCompletions => Choice::ChatDelta {
                index: 0,
                delta: Delta {
                    role: first.then_some("assistant"),
                    content,
                },
                logprobs: None,
                finish_reason: finish,
            },
            Endpoint::Completions => Choice::Text {
                index: 0,
                text,
                logprobs: None,
                finish_reason: finish,
            },
        };
        self.body(self.chunk_object(), vec![choice])
    }

    /// The `usage` chunk that ends a stream with `include_usage` (no choices).
    pub fn usage_chunk(&self, usage: Usage) -> Body<'_> {
        self.body(self.chunk_object(), Vec::new()).with_usage(usage)
    }

    /// The whole (non-streaming) response.
    pub fn response<'a>(&'a self, text: &'a str, finish: &'static str, usage: Usage) -> Body<'a> {
        let (object, choice) = match self.endpoint {
            Endpoint::ChatCompletions => (
                "chat.completion",
                Choice::ChatMessage {
                    index: 0,
                    message: Message {
                        role: "assistant",
                        content: text,
                    },
                    logprobs: None,
                    finish_reason: Some(finish),
                },
            ),
            Endpoint::Completions => (
                "text_completion",
                Choice::Text {
                    index: 0,
                    text,
                    logprobs: None,
                    finish_reason: Some(finish),
                },
            ),
        };
        self.body(object, vec![choice]).with_usage(usage)
    }

    fn chunk_object(&self) -> &'static str {
        match self.endpoint {
            Endpoint::ChatCompletions => "chat.completion.chunk",
            Endpoint::Completions => "text_completion",
        }
    }
}

impl Body<'_> {
    fn with_usage(mut self, usage: Usage) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Adds the `nvext` object (nothing when `None`).
    pub fn with_nvext(mut self, nvext: Option<NvExtResponse>) -> Self {
        self.nvext = nvext;
        self
    }
}
