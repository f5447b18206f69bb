//! Timing response headers: W3C `Server-Timing` and TGI's `x-*` headers.
//!
//! `Server-Timing` (non-streaming responses): `queue;dur=…, prefill;dur=…, ttft;dur=…,
//! decode;dur=…, total;dur=…`, milliseconds with 3 decimals, from the tracker (a stage never
//! reached is left out).
//!
//! TGI's headers with TGI's units: `x-compute-time` seconds as a float, `x-total-time`,
//! `x-validation-time`, `x-queue-time`, `x-inference-time`, `x-time-per-token` whole
//! milliseconds (truncated), `x-prompt-tokens`, `x-generated-tokens`, `x-compute-characters`
//! integers, `x-compute-type` a string. TGI's three stages are disjoint and add up to the
//! total; from the tracker: validation = tokenizing, queue = received → prefill start less
//! validation, inference = prefill start → finish. Streams get only `x-compute-type`,
//! `x-compute-characters` and `x-accel-buffering: no`, as TGI sends them.

use super::telemetry::TimingReport;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use std::fmt::Write as _;

/// What `x-compute-type` says.
pub const COMPUTE_TYPE: &str = "simulated";

/// The `Server-Timing` value.
pub fn server_timing(r: &TimingReport) -> String {
    let mut out = String::new();
    for (name, dur) in [
        ("queue", r.queue_ms),
        ("prefill", r.prefill_ms),
        ("ttft", r.ttft_ms),
        ("decode", r.decode_ms),
        ("total", r.total_ms),
    ] {
        if let Some(ms) = dur {
            if !out.is_empty() {
                out.push_str(", ");
            }
            let _ = write!(out, "{name};dur={ms:.3}");
        }
    }
    out
}

/// TGI's stages in milliseconds: `(validation, queue, inference)`, disjoint, summing to the
/// total.
pub fn tgi_stages(r: &TimingReport) -> (f64, f64, f64) {
    let total = r.total_ms.unwrap_or(0.0);
    let until_prefill = r.queue_ms.unwrap_or(total).min(total);
    let validation = r.tokenize_ms.unwrap_or(0.0).min(until_prefill);
    (
        validation,
        until_prefill - validation,
        total - until_prefill,
    )
}

/// Whole milliseconds, truncated, as TGI's `Duration::as_millis()`.
fn whole_ms(ms: f64) -> u64 {
    ms.max(0.0) as u64
}

/// Every non-streaming timing header.
pub fn unary_headers(r: &TimingReport, prompt_chars: usize, prompt_tokens: usize) -> HeaderMap {
    let total = r.total_ms.unwrap_or(0.0);
    let (validation, queue, inference) = tgi_stages(r);
    let per_token = if r.output_tokens == 0 {
        0.0
    } else {
        inference / r.output_tokens as f64
    };
    let mut h = stream_headers(prompt_chars);
    h.remove("x-accel-buffering");
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(HeaderName::from_static(name), v);
        }
    };
    put("server-timing", server_timing(r));
    put("x-compute-time", (total / 1000.0).to_string());
    put("x-total-time", whole_ms(total).to_string());
    put("x-validation-time", whole_ms(validation).to_string());
    put("x-queue-time", whole_ms(queue).to_string());
    put("x-inference-time", whole_ms(inference).to_string());
    put("x-time-per-token", whole_ms(per_token).to_string());
    put("x-prompt-tokens", prompt_tokens.to_string());
    put("x-generated-tokens", r.output_tokens.to_string());
    h
}

/// The headers a stream carries.
pub fn stream_headers(prompt_chars: usize) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-compute-type", HeaderValue::from_static(COMPUTE_TYPE));
    h.insert("x-compute-characters", HeaderValue::from(prompt_chars));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h
}
