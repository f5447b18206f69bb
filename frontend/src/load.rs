//! The built-in load generator: real HTTP clients (reqwest) sending OpenAI requests with
//! open-loop Poisson arrivals, measuring TTFT, ITL and total time on the client side and
//! reading the server's tracker figures from `nvext.timing`.
//!
//! Mix per arrival: a `--disconnect-share` of streaming chats cut off after 1-4 chunks, an
//! `--error-share` of bad requests (unknown model, `max_tokens: 0`), and otherwise streaming
//! chat 70 %, non-streaming chat 15 %, streaming completions 10 %, non-streaming completions
//! 5 %. Prompts are one of 16 shared documents plus a unique question, so the prefix caches
//! see real hits. Every request asks for `nvext.timing` and `nvext.worker_id`.

use futures_util::StreamExt;
use reqwest::Client;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

/// What to send.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// `http://host:port`.
    pub base: String,
    /// The served model.
    pub model: String,
    /// How long to send.
    pub duration: Duration,
    /// Mean arrivals per second.
    pub qps: f64,
    /// Most open requests.
    pub concurrency: u32,
    /// Share cut off mid-stream.
    pub disconnect_share: f64,
    /// Share of bad requests.
    pub error_share: f64,
    /// Seed.
    pub seed: u64,
}

/// How a request ended, seen from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClientStatus {
    /// A complete answer.
    Ok,
    /// Cut off by the client on purpose.
    Disconnected,
    /// An HTTP error status.
    Http(u16),
    /// No answer (connection or protocol failure, or a stream without its end).
    Transport,
}

/// The server's tracker figures for one request, from its `nvext.timing`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerFigures {
    /// `ttft_ms`.
    pub ttft_ms: Option<f64>,
    /// `total_time_ms`.
    pub total_ms: Option<f64>,
    /// `(total - ttft) / (completion_tokens - 1)`, the tracker's average-ITL formula.
    pub itl_ms: Option<f64>,
    /// `kv_hit_rate`.
    pub kv_hit_rate: Option<f64>,
}

/// One finished client request.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub status: ClientStatus,
    /// Send to first content chunk, µs (streams).
    pub ttft_us: Option<u64>,
    /// Mean gap between content chunks, µs (streams of 2+ chunks).
    pub itl_us: Option<u64>,
    /// Send to the end of the answer, µs.
    pub total_us: Option<u64>,
    /// Content chunks received.
    pub chunks: u64,
    /// The server's figures, when it sent them.
    pub server: Option<ServerFigures>,
    /// The `nvext` object as received.
    pub nvext_json: Option<String>,
}

impl Outcome {
    fn failed(status: ClientStatus) -> Self {
        Self {
            status,
            ttft_us: None,
            itl_us: None,
            total_us: None,
            chunks: 0,
            server: None,
            nvext_json: None,
        }
    }
}

/// Arrivals sent and shed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    /// Requests sent.
    pub sent: u64,
    /// Arrivals dropped because `concurrency` requests were open.
    pub shed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Chat { stream: bool },
    Completion { stream: bool },
    CutAfter(u64),
    UnknownModel,
    ZeroMaxTokens,
}

impl Plan {
    fn pick(rng: &mut fastrand::Rng, cfg: &LoadConfig, n: u64) -> Self {
        let r = rng.f64();
        if r < cfg.disconnect_share {
            return Self::CutAfter(rng.u64(1..=4));
        }
        if r < cfg.disconnect_share + cfg.error_share {
            return if n % 2 == 0 {
                Self::UnknownModel
            } else {
                Self::ZeroMaxTokens
            };
        }
        match rng.u32(0..100) {
            0..70 => Self::Chat { stream: true },
            70..85 => Self::Chat { stream: false },
            85..95 => Self::Completion { stream: true },
            _ => Self::Completion { stream: false },
        }
    }

    fn streams(self) -> bool {
        matches!(
            self,
            Self::Chat { stream: true } | Self::Completion { stream: true } | Self::CutAfter(_)
        )
    }
}

fn words(rng: &mut fastrand::Rng, chars: usize) -> String {
    const WORDS: [&str; 16] = [
        "cache", "prefill", "decode", "router", "token", "latency", "block", "worker", "stream",
        "model", "request", "phase", "gauge", "span", "queue", "batch",
    ];
    let mut s = String::with_capacity(chars + 16);
    while s.len() < chars {
        s.push_str(WORDS[rng.usize(..WORDS.len())]);
        s.push(' ');
    }
    s
}

/// The shared documents prompts start with.
fn documents(seed: u64) -> Vec<String> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..16)
        .map(|_| {
            let len = rng.usize(1_000..12_000);
            words(&mut rng, len)
        })
        .collect()
}

fn body(plan: Plan, model: &str, doc: &str, question: &str) -> (String, Value) {
    let nvext = json!({ "extra_fields": ["timing", "worker_id"] });
    let chat = |stream: bool, model: &str| {
        json!({
            "model": model,
            "messages": [
                { "role": "system", "content": doc },
                { "role": "user", "content": question },
            ],
            "stream": stream,
            "stream_options": { "include_usage": true },
            "nvext": nvext,
        })
    };
    match plan {
        Plan::Chat { stream } => ("/v1/chat/completions".into(), chat(stream, model)),
        Plan::CutAfter(_) => ("/v1/chat/completions".into(), chat(true, model)),
        Plan::UnknownModel => ("/v1/chat/completions".into(), chat(true, "no-such-model")),
        Plan::ZeroMaxTokens => {
            let mut b = chat(false, model);
            b["max_tokens"] = json!(0);
            ("/v1/chat/completions".into(), b)
        }
        Plan::Completion { stream } => (
            "/v1/completions".into(),
            json!({
                "model": model,
                "prompt": format!("{doc}{question}"),
                "stream": stream,
                "stream_options": { "include_usage": true },
                "nvext": nvext,
            }),
        ),
    }
}

/// Sends load for `cfg.duration`, reporting each finished request on `out`; returns when every
/// request has finished (or after a 30 s drain).
pub async fn run(cfg: LoadConfig, out: mpsc::UnboundedSender<Outcome>) -> Sent {
    let client = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap_or_default();
    let docs = Arc::new(documents(cfg.seed));
    let slots = Arc::new(Semaphore::new(cfg.concurrency as usize));
    let mut rng = fastrand::Rng::with_seed(cfg.seed);
    let mut totals = Sent::default();
    let start = tokio::time::Instant::now();
    let mut next = start;
    let mut n = 0u64;
    while next < start + cfg.duration {
        tokio::time::sleep_until(next).await;
        // Open loop: exponential gaps, whatever the server's pace.
        next += Duration::from_secs_f64(-(1.0 - rng.f64()).ln() / cfg.qps);
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            totals.shed += 1;
            continue;
        };
        let plan = Plan::pick(&mut rng, &cfg, n);
        let doc = &docs[rng.usize(..docs.len())];
        let qlen = rng.usize(100..400);
        let question = words(&mut rng, qlen);
        let (path, body) = body(plan, &cfg.model, doc, &question);
        let (client, out, url) = (client.clone(), out.clone(), format!("{}{path}", cfg.base));
        tokio::spawn(async move {
            let outcome = send(&client, &url, body.to_string(), plan).await;
            let _ = out.send(outcome);
            drop(slot);
        });
        totals.sent += 1;
        n += 1;
    }
    let drained = slots.acquire_many(cfg.concurrency);
    let _ = tokio::time::timeout(Duration::from_secs(30), drained).await;
    totals
}

async fn send(client: &Client, url: &str, body: String, plan: Plan) -> Outcome {
    let t0 = Instant::now();
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let response = match response {
        Ok(r) => r,
        Err(_) => return Outcome::failed(ClientStatus::Transport),
    };
    let status = response.status();
    if !status.is_success() {
        let _ = response.bytes().await;
        return Outcome::failed(ClientStatus::Http(status.as_u16()));
    }
    if plan.streams() {
        read_stream(response, t0, plan).await
    } else {
        read_unary(response, t0).await
    }
}

fn server_figures(nvext: &Value, completion_tokens: Option<u64>) -> ServerFigures {
    let timing = &nvext["timing"];
    let ttft_ms = timing["ttft_ms"].as_f64();
    let total_ms = timing["total_time_ms"].as_f64();
    let itl_ms = match (ttft_ms, total_ms, completion_tokens) {
        (Some(a), Some(b), Some(n)) if n >= 2 => Some((b - a) / (n - 1) as f64),
        _ => None,
    };
    ServerFigures {
        ttft_ms,
        total_ms,
        itl_ms,
        kv_hit_rate: timing["kv_hit_rate"].as_f64(),
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

async fn read_unary(response: reqwest::Response, t0: Instant) -> Outcome {
    let Ok(bytes) = response.bytes().await else {
        return Outcome::failed(ClientStatus::Transport);
    };
    let total = t0.elapsed();
    let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
        return Outcome::failed(ClientStatus::Transport);
    };
    let tokens = v["usage"]["completion_tokens"].as_u64();
    Outcome {
        status: ClientStatus::Ok,
        ttft_us: None,
        itl_us: None,
        total_us: Some(micros(total)),
        chunks: 0,
        server: v.get("nvext").map(|n| server_figures(n, tokens)),
        nvext_json: v.get("nvext").map(Value::to_string),
    }
}

/// Reads server-sent events until `[DONE]` (or the planned cut).
async fn read_stream(response: reqwest::Response, t0: Instant, plan: Plan) -> Outcome {
    let cut_after = match plan {
        Plan::CutAfter(k) => Some(k),
        _ => None,
    };
    let mut body = response.bytes_stream();
    let mut buf: Vec<u8> = Vec::new();
    let (mut first, mut last) = (None::<Duration>, Duration::ZERO);
    let mut chunks = 0u64;
    let mut nvext: Option<Value> = None;
    let mut completion_tokens = None;
    while let Some(bytes) = body.next().await {
        let Ok(bytes) = bytes else {
            return Outcome::failed(ClientStatus::Transport);
        };
        buf.extend_from_slice(&bytes);
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buf.drain(..end + 2).collect();
            let Some(data) = std::str::from_utf8(&event)
                .ok()
                .and_then(|e| e.lines().find_map(|l| l.strip_prefix("data:")))
                .map(str::trim)
            else {
                continue;
            };
            if data == "[DONE]" {
                let total = t0.elapsed();
                let itl_us = first
                    .filter(|_| chunks >= 2)
                    .map(|f| micros(last - f) / (chunks - 1));
                return Outcome {
                    status: ClientStatus::Ok,
                    ttft_us: first.map(micros),
                    itl_us,
                    total_us: Some(micros(total)),
                    chunks,
                    server: nvext.as_ref().map(|n| server_figures(n, completion_tokens)),
                    nvext_json: nvext.map(|n| n.to_string()),
                };
            }
            let Ok(v) = serde_json::from_str::<Value>(data) else {
                return Outcome::failed(ClientStatus::Transport);
            };
            let choice = &v["choices"][0];
            let text = choice["delta"]["content"]
                .as_str()
                .or_else(|| choice["text"].as_str());
            if text.is_some_and(|t| !t.is_empty()) {
                let now = t0.elapsed();
                first.get_or_insert(now);
                last = now;
                chunks += 1;
                if cut_after.is_some_and(|k| chunks >= k) {
                    // Dropping the body mid-stream closes the connection.
                    return Outcome {
                        chunks,
                        ..Outcome::failed(ClientStatus::Disconnected)
                    };
                }
            }
            if v["nvext"]["timing"].is_object() {
                nvext = Some(v["nvext"].clone());
            }
            if let Some(n) = v["usage"]["completion_tokens"].as_u64() {
                completion_tokens = Some(n);
            }
        }
    }
    Outcome::failed(ClientStatus::Transport)
}
