//! The headers TGI sends that are not the tracker's (the layer writes the timing ones):
//! `x-compute-type` and `x-compute-characters` on every answer, `x-accel-buffering: no` on
//! streams.

use axum::http::{HeaderMap, HeaderValue};

/// What `x-compute-type` says.
pub const COMPUTE_TYPE: &str = "simulated";

/// The headers of a non-streaming answer for a prompt of `prompt_chars` characters.
pub fn unary_headers(prompt_chars: usize) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-compute-type", HeaderValue::from_static(COMPUTE_TYPE));
    h.insert("x-compute-characters", HeaderValue::from(prompt_chars));
    h
}

/// The headers of a stream.
pub fn stream_headers(prompt_chars: usize) -> HeaderMap {
    let mut h = unary_headers(prompt_chars);
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h
}
