//! `--tracking off`: the same answers with no tracking layer, no tracker and no request
//! metrics; no `nvext` even when asked; the engine's workers still released at the end.

mod common;

use common::{MODEL, TestServer, sse_data};
use reqtrack::names::{INFLIGHT_REQUESTS, REQUESTS_TOTAL, TIME_TO_FIRST_TOKEN_SECONDS};
use serde_json::{Value, json};

const CHAT: &str = "/v1/chat/completions";

fn chat(stream: bool) -> String {
    json!({
        "model": MODEL,
        "messages": [{ "role": "user", "content": "hello there" }],
        "stream": stream, "max_tokens": 5, "ignore_eos": true,
        "stream_options": { "include_usage": true },
        "nvext": { "extra_fields": ["timing", "worker_id"] },
    })
    .to_string()
}

/// No request metric has a sample, and no worker is left busy.
async fn assert_untracked_and_idle(s: &TestServer) {
    let text = s.metrics().await;
    for suffix in [
        REQUESTS_TOTAL,
        INFLIGHT_REQUESTS,
        TIME_TO_FIRST_TOKEN_SECONDS,
    ] {
        assert_eq!(common::sum(&text, suffix, &[]), 0.0, "{suffix} in {text}");
    }
    for _ in 0..500 {
        if s.app.cluster().busy() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("a worker stayed busy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untracked_non_streaming_answers_without_nvext_or_metrics() {
    let s = TestServer::start_untracked().await;
    let resp = s.post(CHAT, chat(false)).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("server-timing").is_none());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["usage"]["completion_tokens"], 5);
    assert!(body.get("nvext").is_none(), "{body}");
    assert_untracked_and_idle(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untracked_stream_sends_every_chunk_without_nvext_or_metrics() {
    let s = TestServer::start_untracked().await;
    let resp = s.post(CHAT, chat(true)).await;
    assert_eq!(resp.status(), 200);
    let data = sse_data(&resp.text().await.unwrap());
    // 5 token chunks, the finish chunk, the usage chunk, [DONE].
    assert_eq!(data.len(), 8, "{data:?}");
    assert_eq!(data[7], "[DONE]");
    for d in &data[..7] {
        let chunk: Value = serde_json::from_str(d).unwrap();
        assert!(chunk.get("nvext").is_none(), "{chunk}");
    }
    assert_untracked_and_idle(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untracked_bad_request_is_still_an_openai_error() {
    let s = TestServer::start_untracked().await;
    let body = json!({ "model": "nope", "messages": [{ "role": "user", "content": "x" }] });
    let resp = s.post(CHAT, body.to_string()).await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_untracked_and_idle(&s).await;
}
