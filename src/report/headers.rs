//! Timing response headers from a tracker: W3C `Server-Timing` and TGI's `x-*` headers, the
//! values only (no HTTP types here; the `tower` layer turns them into header values).
//!
//! `Server-Timing`: `queue;dur=…, prefill;dur=…, ttft;dur=…, decode;dur=…, total;dur=…`,
//! milliseconds with 3 decimals (a stage never reached is left out). queue = received →
//! prefill start, prefill = prefill start → first token, decode = first token → finish.
//!
//! TGI's headers, with TGI's units: `x-compute-time` seconds as a float; `x-total-time`,
//! `x-validation-time`, `x-queue-time`, `x-inference-time`, `x-time-per-token` whole
//! milliseconds (truncated, as TGI's `Duration::as_millis()`); `x-prompt-tokens`,
//! `x-generated-tokens` integers. TGI's three stages are disjoint and add up to the total;
//! from the tracker: validation = tokenizing, queue = received → prefill start less
//! validation, inference = prefill start → finish. `x-compute-type` and
//! `x-compute-characters` are not the tracker's (the served hardware, the prompt's length):
//! the handler writes them.

use crate::RequestTracker;
use std::fmt::Write as _;

/// The `Server-Timing` header name (lower case, as HTTP/2 requires).
pub const SERVER_TIMING: &str = "server-timing";

/// The stages of one request, in milliseconds (each `None` if never reached), read from its
/// tracker: what the timing headers say.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimingHeaders {
    /// Received to prefill start.
    pub queue_ms: Option<f64>,
    /// Prefill start to first token.
    pub prefill_ms: Option<f64>,
    /// Received to first token.
    pub ttft_ms: Option<f64>,
    /// First token to finish.
    pub decode_ms: Option<f64>,
    /// Received to finish.
    pub total_ms: Option<f64>,
    /// Tokenizing the prompt.
    pub tokenize_ms: Option<f64>,
    /// Prompt tokens, if the router recorded them (`record_isl`).
    pub prompt_tokens: Option<usize>,
    /// Output tokens (the tracker's osl).
    pub output_tokens: u64,
}

impl TimingHeaders {
    /// Reads `t`'s stages (each through the tracker's own read, the figures `nvext.timing`
    /// reports).
    pub fn from_tracker(t: &RequestTracker) -> Self {
        let (ttft_ms, total_ms) = (t.ttft_ms(), t.total_time_ms());
        Self {
            queue_ms: t.prefill_wait_time_ms(),
            prefill_ms: t.prefill_time_ms(),
            ttft_ms,
            decode_ms: ttft_ms.zip(total_ms).map(|(a, b)| (b - a).max(0.0)),
            total_ms,
            tokenize_ms: t.tokenize_latency().map(|d| d.as_secs_f64() * 1000.0),
            prompt_tokens: t.isl_tokens(),
            output_tokens: t.osl_tokens(),
        }
    }

    /// The `Server-Timing` value; empty when no stage is known.
    pub fn server_timing(&self) -> String {
        let mut out = String::with_capacity(96);
        for (name, dur) in [
            ("queue", self.queue_ms),
            ("prefill", self.prefill_ms),
            ("ttft", self.ttft_ms),
            ("decode", self.decode_ms),
            ("total", self.total_ms),
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
    /// total (0 each when the total is unknown).
    pub fn tgi_stages(&self) -> (f64, f64, f64) {
        let total = self.total_ms.unwrap_or(0.0);
        let until_prefill = self.queue_ms.unwrap_or(total).min(total);
        let validation = self.tokenize_ms.unwrap_or(0.0).min(until_prefill);
        (
            validation,
            until_prefill - validation,
            total - until_prefill,
        )
    }

    /// TGI's timing and token headers, `(name, value)`, in TGI's units. `x-prompt-tokens` is
    /// left out when the prompt length is unknown.
    pub fn tgi(&self) -> impl Iterator<Item = (&'static str, String)> {
        let total = self.total_ms.unwrap_or(0.0);
        let (validation, queue, inference) = self.tgi_stages();
        let per_token = if self.output_tokens == 0 {
            0.0
        } else {
            inference / self.output_tokens as f64
        };
        [
            ("x-compute-time", Some((total / 1000.0).to_string())),
            ("x-total-time", Some(whole_ms(total).to_string())),
            ("x-validation-time", Some(whole_ms(validation).to_string())),
            ("x-queue-time", Some(whole_ms(queue).to_string())),
            ("x-inference-time", Some(whole_ms(inference).to_string())),
            ("x-time-per-token", Some(whole_ms(per_token).to_string())),
            ("x-prompt-tokens", self.prompt_tokens.map(|n| n.to_string())),
            ("x-generated-tokens", Some(self.output_tokens.to_string())),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    }
}

/// Whole milliseconds, truncated, as TGI's `Duration::as_millis()`; negative and NaN give 0.
fn whole_ms(ms: f64) -> u64 {
    ms.max(0.0) as u64
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;

    fn stages() -> TimingHeaders {
        TimingHeaders {
            queue_ms: Some(2.0),
            prefill_ms: Some(3.0),
            ttft_ms: Some(5.0),
            decode_ms: Some(10.0),
            total_ms: Some(15.0),
            tokenize_ms: Some(0.5),
            prompt_tokens: Some(7),
            output_tokens: 4,
        }
    }

    #[test]
    fn server_timing_lists_known_stages_in_order() {
        assert_eq!(
            stages().server_timing(),
            "queue;dur=2.000, prefill;dur=3.000, ttft;dur=5.000, decode;dur=10.000, total;dur=15.000"
        );
        let partial = TimingHeaders {
            ttft_ms: Some(1.25),
            ..TimingHeaders::default()
        };
        assert_eq!(partial.server_timing(), "ttft;dur=1.250");
        assert_eq!(TimingHeaders::default().server_timing(), "");
    }

    #[test]
    fn tgi_stages_are_disjoint_and_sum_to_the_total() {
        let (v, q, i) = stages().tgi_stages();
        assert_eq!((v, q, i), (0.5, 1.5, 13.0));
        let tgi: Vec<_> = stages().tgi().collect();
        assert!(tgi.contains(&("x-time-per-token", "3".to_owned())));
        assert!(tgi.contains(&("x-compute-time", "0.015".to_owned())));
        assert!(tgi.contains(&("x-prompt-tokens", "7".to_owned())));
    }

    #[test]
    fn unknown_values_give_zeros_not_panics() {
        let none = TimingHeaders::default();
        assert_eq!(none.tgi_stages(), (0.0, 0.0, 0.0));
        let tgi: Vec<_> = none.tgi().collect();
        assert_eq!(tgi.len(), 7, "no x-prompt-tokens: {tgi:?}");
        let weird = TimingHeaders {
            total_ms: Some(f64::NAN),
            ..TimingHeaders::default()
        };
        assert_eq!(whole_ms(weird.total_ms.unwrap()), 0);
    }
}
