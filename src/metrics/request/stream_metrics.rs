//! [`StreamMetrics`]: the per-chunk observations of one response stream, as Dynamo's
//! `ResponseMetricCollector` makes them, but timed by the tracker.
//!
//! Per chunk carrying `n > 0` tokens, at `now`:
//!
//! * `output_tokens_total` += n, and the stream's osl += n;
//! * the **first** such chunk records the tracker's first token at `now` (first write wins: a
//!   first token the prefill phase recorded earlier is kept) and records TTFT as the tracker's
//!   `ttft_ms() / 1000`, the figure `nvext.timing` reports; it gives no ITL sample, however many
//!   tokens it carries (Dynamo's rule), and takes the request out of `queued_requests`; it also
//!   registers the ITL series (empty) if the model has none yet, so that after a model's first
//!   chunk no chunk does a registry lookup or allocates;
//! * a **later** chunk records ITL = (gap since the previous token-bearing chunk) ÷ n, n times
//!   (`record_many`);
//! * then the tracker's osl and finish are brought up to date as one value
//!   (`record_osl_and_finish_at`), so no reader pairs this chunk's osl with an older finish.
//!
//! A chunk with 0 tokens changes nothing (Dynamo skips it too, so it does not move the ITL
//! clock).
//!
//! # Bad input and limits
//!
//! * An instant earlier than the previous chunk's gives a gap of 0 (durations saturate, as
//!   everywhere in this crate); the ITL clock never moves backwards, nor does the finish.
//! * A later chunk with more than [`MAX_ITL_SAMPLES_PER_CHUNK`] tokens records no ITL sample
//!   ([`ChunkKind::Oversized`]): the exporter records `record_many` one sample at a time, so a
//!   bogus count would stall the stream. Its tokens still count toward osl and
//!   `output_tokens_total`.
//! * Counts saturate at `u64::MAX` instead of wrapping.
//!
//! # Cache lines a chunk touches
//!
//! A later chunk (the steady state of a stream) touches:
//!
//! * this `StreamMetrics` (`osl`, `last_chunk`, the guard's two `Arc`s): the stream's own;
//! * the [`ModelMetrics`](super::ModelMetrics) slots holding the `output_tokens_total` counter
//!   and the ITL histogram handles: read only, shared by every stream of the model;
//! * the recorder's cell for `output_tokens_total` (one atomic add) and its ITL histogram
//!   storage: shared by every stream of the model and endpoint, so these are the lines that
//!   move between cores. With the stock `metrics-exporter-prometheus` the histogram is the
//!   tail block of an `AtomicBucket` plus a `quanta` clock read per sample; with a pre-bucketed
//!   recorder it is one bucket's count and the sum;
//! * the tracker's first line, read (its base, to turn `now` into an offset), and its second
//!   line, written: the packed finish + osl word, one 64-bit CAS. The tracker's third and
//!   fourth lines (per-token detokenize counters, workers, KV hit, merged timing) are not
//!   touched.
//!
//! The first chunk also writes the tracker's first line (the first token), records TTFT and
//! takes the request out of `queued_requests` (the guard's gauge).
//!
//! Single owner (the response stream): plain fields, no atomics, no allocation.

use super::labels::Outcome;
use super::model_metrics::Hist;
use super::request_guard::RequestGuard;
use crate::RequestTracker;
use crate::report::derive::secs_from_ms as seconds;
use std::sync::Arc;
use std::time::Instant;

/// The most tokens a chunk may carry and still be split into ITL samples (64 Ki: far above any
/// real streamed chunk; a unary response's one chunk is a first chunk and gives no ITL anyway).
pub const MAX_ITL_SAMPLES_PER_CHUNK: usize = 1 << 16;

/// What [`StreamMetrics::observe_chunk`] did with a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkKind {
    /// No tokens: ignored.
    Empty,
    /// The first token-bearing chunk: TTFT recorded, no ITL.
    First,
    /// A later chunk: one ITL sample per token.
    Later,
    /// A later chunk above [`MAX_ITL_SAMPLES_PER_CHUNK`] tokens: counted, no ITL sample.
    Oversized,
}

/// One response stream's metrics; owns the request's [`RequestGuard`]. Created by
/// [`RequestGuard::into_stream`].
///
/// Dropping it without [`finish`](Self::finish) is a client disconnect (see
/// [`RequestGuard`]'s table): call `finish(Outcome::Success)` when the engine's stream ends.
/// Render `nvext.timing` after observing the last chunk and before `finish`; `finish` keeps the
/// finish that chunk stamped, so the client's `total_time_ms` and the duration histogram agree.
#[derive(Debug)]
pub struct StreamMetrics {
    guard: RequestGuard,
    /// Time of the previous token-bearing chunk; `None` before the first.
    last_chunk: Option<Instant>,
    /// Output tokens seen.
    osl: u64,
}

impl StreamMetrics {
    pub(super) fn new(guard: RequestGuard) -> Self {
        Self {
            guard,
            last_chunk: None,
            osl: 0,
        }
    }

    /// Observes a chunk of `tokens` output tokens received at `now`; see the module docs.
    /// No allocation, no lock; one clock read is the caller's (`now`).
    #[inline]
    pub fn observe_chunk(&mut self, tokens: usize, now: Instant) -> ChunkKind {
        if tokens == 0 {
            return ChunkKind::Empty;
        }
        let m = &*self.guard.metrics;
        let t = &*self.guard.tracker;
        let n = u64::try_from(tokens).unwrap_or(u64::MAX);
        self.osl = self.osl.saturating_add(n);
        m.output_tokens(n);
        let kind = match self.last_chunk {
            None => {
                t.record_first_token_at(now);
                m.record(Hist::Ttft, t.ttft_ms().map(seconds));
                // The next chunk's ITL series is registered now, so after a model's first
                // chunk no chunk looks up or allocates.
                m.prepare(Hist::Itl);
                self.last_chunk = Some(now);
                ChunkKind::First
            }
            Some(last) => {
                let gap = now.saturating_duration_since(last);
                self.last_chunk = Some(last.max(now));
                if tokens > MAX_ITL_SAMPLES_PER_CHUNK {
                    ChunkKind::Oversized
                } else {
                    m.record_many(Hist::Itl, gap.as_secs_f64() / tokens as f64, tokens);
                    ChunkKind::Later
                }
            }
        };
        t.record_osl_and_finish_at(usize::try_from(self.osl).unwrap_or(usize::MAX), now);
        if kind == ChunkKind::First {
            self.guard.first_token_recorded();
        }
        kind
    }

    /// Output tokens observed so far.
    pub fn osl(&self) -> u64 {
        self.osl
    }

    /// The request's tracker.
    pub fn tracker(&self) -> &Arc<RequestTracker> {
        self.guard.tracker()
    }

    /// Ends the request with `outcome` ([`RequestGuard::finish`]).
    pub fn finish(self, outcome: Outcome) {
        self.guard.finish(outcome);
    }

    /// Ends the request with `outcome`, stamping a missing finish at `now`
    /// ([`RequestGuard::finish_at`]).
    pub fn finish_at(self, outcome: Outcome, now: Instant) {
        self.guard.finish_at(outcome, now);
    }

    /// The request was refused for resource exhaustion ([`RequestGuard::reject`]).
    pub fn reject(self) {
        self.guard.reject();
    }

    /// The client went away now ([`RequestGuard::client_disconnected`]); dropping the stream
    /// does the same.
    pub fn client_disconnected(self) {
        self.guard.client_disconnected();
    }

    /// The client went away at `now` ([`RequestGuard::client_disconnected_at`]).
    pub fn client_disconnected_at(self, now: Instant) {
        self.guard.client_disconnected_at(now);
    }
}
