//! The simulated backend serving one request: route by prefix overlap, prefill in a background
//! task that holds the phase permit until it has recorded its worker, KV transfer, then decode
//! streaming token ids at a set pace. The engine stamps no osl or finish: the response stream
//! does, per chunk, through the layer (see `telemetry`).
//!
//! The engine runs as its own task and talks to the HTTP side through a bounded channel. When
//! the receiver goes away (the client disconnected) the engine stops at once: it waits on
//! `closed()` alongside its work, and dropping its work aborts the prefill task and releases
//! every worker it held.

use super::cluster::Cluster;
use super::telemetry::{BackendTelemetry, Route};
use rustc_hash::FxHasher;
use std::hash::Hasher;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{MissedTickBehavior, sleep};

/// Characters per token of the simulated tokenizer.
pub const CHARS_PER_TOKEN: usize = 4;
/// Tokens per KV-cache block (prefix caching and the hit rate).
pub const KV_BLOCK_TOKENS: usize = 64;
/// Output length when the model picks its own end: `MIN..=MAX` tokens (then capped by
/// `max_tokens`).
pub const NATURAL_OSL: std::ops::RangeInclusive<usize> = 16..=128;

/// A tokenized prompt.
#[derive(Debug, Clone)]
pub struct Prompt {
    /// Length in tokens (at least 1).
    pub tokens: usize,
    /// Chained hashes of its full KV blocks (a block's hash covers every block before it).
    pub blocks: Vec<u64>,
}

impl Prompt {
    /// The simulated tokenizer: `CHARS_PER_TOKEN` bytes per token, blocks of
    /// `KV_BLOCK_TOKENS` tokens hashed in a chain.
    pub fn tokenize(text: &str) -> Self {
        let bytes = text.as_bytes();
        let tokens = bytes.len().div_ceil(CHARS_PER_TOKEN).max(1);
        let mut prev = 0u64;
        let blocks = bytes
            .chunks_exact(KV_BLOCK_TOKENS * CHARS_PER_TOKEN)
            .map(|block| {
                let mut h = FxHasher::default();
                h.write_u64(prev);
                h.write(block);
                prev = h.finish();
                prev
            })
            .collect();
        Self { tokens, blocks }
    }

    /// Length in KV blocks, the last one partial.
    pub fn isl_blocks(&self) -> usize {
        self.tokens.div_ceil(KV_BLOCK_TOKENS)
    }
}

/// What the engine is asked to do.
#[derive(Debug, Clone)]
pub struct Job {
    /// The tokenized prompt.
    pub prompt: Prompt,
    /// Most output tokens (`None`: the model's own end).
    pub max_tokens: Option<usize>,
    /// Generate exactly `max_tokens` (vLLM's `ignore_eos`).
    pub ignore_eos: bool,
    /// Time between output tokens.
    pub itl: Duration,
    /// Seed for this request's choices (output length, ranks, token ids).
    pub seed: u64,
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model's own end.
    Stop,
    /// `max_tokens` reached.
    Length,
}

impl FinishReason {
    /// OpenAI's `finish_reason`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Stop => "stop",
            Self::Length => "length",
        }
    }
}

/// What the engine streams to the HTTP side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// One output token id.
    Token(u32),
    /// Generation ended.
    Done(FinishReason),
}

const VOCAB: [&str; 32] = [
    " the", " a", " token", " stream", " of", " prefill", " decode", " cache", " block", " and",
    " router", " worker", " lock", "-free", " tracker", " request", " latency", " first", " last",
    " time", " model", " is", " fast", " to", " serve", " every", " one", " with", " no", " wait",
    ".", ",",
];

/// The simulated detokenizer: the text of token `id`.
pub fn token_text(id: u32) -> &'static str {
    VOCAB[id as usize % VOCAB.len()]
}

/// Aborts a task when dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts serving `job`; tokens arrive on the returned receiver. Dropping the receiver stops
/// the engine.
pub fn spawn(cluster: Arc<Cluster>, backend: BackendTelemetry, job: Job) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        tokio::select! {
            () = tx.closed() => {}
            () = run(&cluster, backend, job, &tx) => {}
        }
    });
    rx
}

/// The request end to end. Returns early (dropping `tx`) if a send fails or the prefill task
/// died; the HTTP side then sees the channel close without `Done`.
async fn run(cluster: &Cluster, mut backend: BackendTelemetry, job: Job, tx: &mpsc::Sender<Event>) {
    let mut rng = fastrand::Rng::with_seed(job.seed);
    let prompt = job.prompt;

    // Route: the prefill worker with the longest cached prefix.
    let depth = cluster.enter_queue();
    let route = cluster.route_prefill(&prompt.blocks);
    cluster.leave_queue();
    let overlap = route.overlap_blocks.min(prompt.isl_blocks());
    let cached_tokens = (overlap * KV_BLOCK_TOKENS).min(prompt.tokens);
    backend.routed(Route {
        queue_depth: depth,
        overlap_blocks: u32::try_from(overlap).unwrap_or(u32::MAX),
        isl_blocks: prompt.isl_blocks(),
        isl_tokens: prompt.tokens,
        cached_tokens,
    });

    // Prefill in the background; its task owns the phase permit until it recorded its worker.
    let mut prefill = backend.prefill().await;
    let prefill_rank = rng.u32(0..cluster.dp_ranks());
    let uncached = prompt.tokens - cached_tokens;
    let prefill_task = {
        let cluster_blocks = prompt.blocks.clone();
        let prefill_time = Duration::from_micros(500 + uncached as u64 * 2);
        AbortOnDrop(tokio::spawn(async move {
            prefill.assigned(route.load.worker, prefill_rank);
            prefill.started();
            sleep(prefill_time).await;
            prefill.first_token();
            (route, cluster_blocks)
        }))
    };

    // Decode: waits for the prefill task's permit, then records its own worker.
    let decode = cluster.route_decode();
    let decode_rank = rng.u32(0..cluster.dp_ranks());
    backend.decode_assigned(decode.worker, decode_rank).await;
    let mut prefill_task = prefill_task;
    let Ok((route, blocks)) = (&mut prefill_task.0).await else {
        return;
    };
    cluster.remember(&route, &blocks);
    drop(route);

    // KV transfer, then the token stream.
    sleep(Duration::from_micros(rng.u64(200..800))).await;
    let natural = rng.usize(NATURAL_OSL);
    let (osl, reason) = match job.max_tokens {
        Some(max) if job.ignore_eos || max <= natural => (max.max(1), FinishReason::Length),
        _ => (natural, FinishReason::Stop),
    };
    backend.decode_first_token();
    if tx.send(Event::Token(rng.u32(..))).await.is_err() {
        return;
    }
    // `interval` refuses a zero period; a sub-nanosecond `--itl-ms` means "as fast as possible".
    let mut tick = tokio::time::interval(job.itl.max(Duration::from_nanos(1)));
    tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
    tick.tick().await; // the first tick is immediate
    for _ in 2..=osl {
        tick.tick().await;
        if tx.send(Event::Token(rng.u32(..))).await.is_err() {
            return;
        }
    }
    let _ = tx.send(Event::Done(reason)).await;
    drop(decode);
}
