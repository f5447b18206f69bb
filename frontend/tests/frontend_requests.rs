//! The frontend's answers and metrics for well-formed requests, streaming and not, and for
//! clients that go away mid-request. Each test runs its own frontend on a loopback port.

mod common;

use common::{MODEL, TestServer, sse_data};
use futures_util::StreamExt;
use reqtrack::DEFAULT_BUCKETS;
use reqtrack::TimingHeaders;
use reqtrack::names::{
    DISCONNECTED_CLIENTS, INFLIGHT_REQUESTS, INTER_TOKEN_LATENCY_SECONDS, MODEL_CANCELLATION_TOTAL,
    OUTPUT_SEQUENCE_TOKENS, OUTPUT_TOKENS_TOTAL, QUEUED_REQUESTS, REQUESTS_TOTAL,
    TIME_TO_FIRST_TOKEN_SECONDS,
};
use reqtrack_frontend::scrape;
use reqtrack_frontend::telemetry::metric_name;
use serde_json::{Value, json};

const CHAT: &str = "/v1/chat/completions";
const COMPLETIONS: &str = "/v1/completions";
const NVEXT_ALL: &str = r#"{"extra_fields": ["timing", "worker_id"]}"#;

fn nvext_all() -> Value {
    serde_json::from_str(NVEXT_ALL).unwrap()
}

fn chat(extra: Value) -> String {
    let mut body = json!({
        "model": MODEL,
        "messages": [{ "role": "user", "content": "hello there" }],
    });
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    body.to_string()
}

/// The JSON chunks of a stream (everything before `[DONE]`, which must be last).
fn chunks(body: &str) -> Vec<Value> {
    let data = sse_data(body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{body}");
    assert_eq!(data.iter().filter(|d| *d == "[DONE]").count(), 1);
    data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).expect("each chunk is JSON"))
        .collect()
}

fn content(chunk: &Value) -> Option<&str> {
    let choice = &chunk["choices"][0];
    choice["delta"]["content"]
        .as_str()
        .or_else(|| choice["text"].as_str())
        .filter(|t| !t.is_empty())
}

// ---- non-streaming --------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streaming_chat_answers_with_usage_and_no_nvext_unless_asked() {
    let s = TestServer::start().await;
    let resp = s
        .post(CHAT, chat(json!({ "max_tokens": 7, "ignore_eos": true })))
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], MODEL);
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let choice = &body["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert!(!choice["message"]["content"].as_str().unwrap().is_empty());
    assert_eq!(choice["finish_reason"], "length");
    // "user: hello there\n" is 18 characters: 5 tokens of 4 characters.
    assert_eq!(
        body["usage"],
        json!({ "prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12 })
    );
    assert!(body.get("nvext").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streaming_chat_with_nvext_carries_timing_and_worker_ids() {
    let s = TestServer::start().await;
    let resp = s
        .post(
            CHAT,
            chat(json!({ "max_tokens": 20, "nvext": nvext_all() })),
        )
        .await;
    let body: Value = resp.json().await.unwrap();
    let timing = &body["nvext"]["timing"];
    let ttft = timing["ttft_ms"].as_f64().unwrap();
    let total = timing["total_time_ms"].as_f64().unwrap();
    assert!(timing["request_received_ms"].as_u64().unwrap() > 0);
    assert!(timing["prefill_wait_time_ms"].as_f64().unwrap() <= ttft);
    assert!(ttft <= total, "{timing}");
    assert!(timing["kv_hit_rate"].is_number());
    assert!(timing["router_queue_depth"].is_number());
    let workers = &body["nvext"]["worker_id"];
    for field in [
        "prefill_worker_id",
        "prefill_dp_rank",
        "decode_worker_id",
        "decode_dp_rank",
    ] {
        assert!(workers[field].is_u64(), "{field} in {workers}");
    }
    assert_ne!(workers["prefill_worker_id"], workers["decode_worker_id"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nvext_carries_only_the_fields_asked_for() {
    let s = TestServer::start().await;
    let body = chat(json!({ "max_tokens": 3, "nvext": { "extra_fields": ["worker_id"] } }));
    let body: Value = s.post(CHAT, body).await.json().await.unwrap();
    assert!(body["nvext"]["worker_id"].is_object());
    assert!(body["nvext"].get("timing").is_none(), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_streaming_response_has_server_timing_and_tgi_headers() {
    let s = TestServer::start().await;
    let resp = s
        .post(CHAT, chat(json!({ "max_tokens": 12, "ignore_eos": true })))
        .await;
    let h = resp.headers().clone();
    let body: Value = resp.json().await.unwrap();
    let header = |name: &str| h[name].to_str().unwrap().to_owned();

    // Server-Timing: five metrics in order, each `name;dur=<ms>`.
    let st = header("server-timing");
    let metrics: Vec<(String, f64)> = st
        .split(", ")
        .map(|m| {
            let (name, dur) = m.split_once(";dur=").expect("name;dur=value");
            (name.to_owned(), dur.parse().expect("dur is a number"))
        })
        .collect();
    let names: Vec<&str> = metrics.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["queue", "prefill", "ttft", "decode", "total"],
        "{st}"
    );
    let dur = |n: &str| metrics.iter().find(|(m, _)| m == n).unwrap().1;
    assert!(
        (dur("ttft") + dur("decode") - dur("total")).abs() < 0.0021,
        "{st}"
    );
    assert!(
        (dur("queue") + dur("prefill") - dur("ttft")).abs() < 0.0021,
        "{st}"
    );

    // TGI: seconds as a float, whole milliseconds, integers.
    let compute_s: f64 = header("x-compute-time").parse().unwrap();
    assert!(
        (compute_s * 1000.0 - dur("total")).abs() < 0.001,
        "{compute_s} vs {st}"
    );
    let whole = |name: &str| -> u64 { header(name).parse().expect("whole milliseconds") };
    assert_eq!(whole("x-total-time"), (compute_s * 1000.0) as u64);
    let stages = whole("x-validation-time") + whole("x-queue-time") + whole("x-inference-time");
    assert!(stages <= whole("x-total-time") && whole("x-total-time") <= stages + 2);
    assert_eq!(whole("x-time-per-token"), whole("x-inference-time") / 12);
    assert_eq!(
        header("x-prompt-tokens"),
        body["usage"]["prompt_tokens"].to_string()
    );
    assert_eq!(header("x-generated-tokens"), "12");
    assert_eq!(header("x-compute-characters"), "18");
    assert_eq!(header("x-compute-type"), "simulated");
}

#[test]
fn server_timing_lists_the_known_stages_in_milliseconds() {
    let report = TimingHeaders {
        queue_ms: Some(1.2),
        prefill_ms: Some(8.5),
        ttft_ms: Some(9.7),
        decode_ms: Some(100.1),
        total_ms: Some(120.3),
        tokenize_ms: Some(0.4),
        prompt_tokens: None,
        output_tokens: 50,
    };
    assert_eq!(
        report.server_timing(),
        "queue;dur=1.200, prefill;dur=8.500, ttft;dur=9.700, decode;dur=100.100, total;dur=120.300"
    );
    let unreached = TimingHeaders {
        queue_ms: Some(0.5),
        total_ms: Some(2.0),
        ..TimingHeaders::default()
    };
    assert_eq!(
        unreached.server_timing(),
        "queue;dur=0.500, total;dur=2.000"
    );
}

#[test]
fn tgi_stages_are_disjoint_and_add_up_to_the_total() {
    let report = TimingHeaders {
        queue_ms: Some(1.5),
        total_ms: Some(120.0),
        tokenize_ms: Some(0.5),
        ..TimingHeaders::default()
    };
    assert_eq!(report.tgi_stages(), (0.5, 1.0, 118.5));
    // A tokenize longer than the wait before prefill is clamped, never negative.
    let odd = TimingHeaders {
        tokenize_ms: Some(5.0),
        ..report
    };
    assert_eq!(odd.tgi_stages(), (1.5, 0.0, 118.5));
}

// ---- streaming ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_chat_sends_token_chunks_a_final_chunk_usage_and_done() {
    let s = TestServer::start().await;
    let body = chat(json!({
        "stream": true, "max_tokens": 9, "ignore_eos": true,
        "stream_options": { "include_usage": true }, "nvext": nvext_all(),
    }));
    let resp = s.post(CHAT, body).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    assert_eq!(resp.headers()["x-accel-buffering"], "no");
    let chunks = chunks(&resp.text().await.unwrap());
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let id = &chunks[0]["id"];
    assert!(chunks.iter().all(|c| &c["id"] == id));

    // 9 token chunks, the finish chunk, the usage chunk.
    assert_eq!(chunks.len(), 11);
    assert!(chunks[..9].iter().all(|c| content(c).is_some()));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks[1..]
            .iter()
            .all(|c| c["choices"][0]["delta"].get("role").is_none())
    );
    let last = &chunks[9];
    assert_eq!(last["choices"][0]["finish_reason"], "length");
    assert_eq!(last["choices"][0]["delta"], json!({}));
    let usage = &chunks[10];
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 9);

    // nvext: worker ids on the first chunk, timing only on the final one.
    assert!(chunks[0]["nvext"]["worker_id"]["decode_worker_id"].is_u64());
    assert!(chunks[0]["nvext"].get("timing").is_none());
    let with_timing: Vec<usize> = (0..chunks.len())
        .filter(|&i| chunks[i]["nvext"].get("timing").is_some())
        .collect();
    assert_eq!(with_timing, [9]);
    let timing = &last["nvext"]["timing"];
    assert!(timing["ttft_ms"].as_f64().unwrap() <= timing["total_time_ms"].as_f64().unwrap());
    assert!(last["nvext"]["worker_id"]["prefill_worker_id"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_without_nvext_or_usage_sends_neither() {
    let s = TestServer::start().await;
    let resp = s
        .post(CHAT, chat(json!({ "stream": true, "max_tokens": 4 })))
        .await;
    let chunks = chunks(&resp.text().await.unwrap());
    assert!(
        chunks
            .iter()
            .all(|c| c.get("nvext").is_none() && c.get("usage").is_none())
    );
    assert!(chunks.last().unwrap()["choices"][0]["finish_reason"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_completions_send_text_completion_objects() {
    let s = TestServer::start().await;
    let body = json!({ "model": MODEL, "prompt": "Once upon a time", "stream": true,
        "max_tokens": 5, "ignore_eos": true });
    let chunks = chunks(
        &s.post(COMPLETIONS, body.to_string())
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    assert!(chunks[0]["id"].as_str().unwrap().starts_with("cmpl-"));
    assert_eq!(chunks.iter().filter(|c| content(c).is_some()).count(), 5);
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "length"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ignore_eos_the_model_stops_by_itself_within_max_tokens() {
    let s = TestServer::start().await;
    let body = json!({ "model": MODEL, "prompt": "hi", "max_tokens": 1000 }).to_string();
    let body: Value = s.post(COMPLETIONS, body).await.json().await.unwrap();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    let n = body["usage"]["completion_tokens"].as_u64().unwrap();
    assert!((16..=128).contains(&n), "{n}");
}

// ---- metrics --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_stream_is_counted_with_ttft_itl_and_sequence_lengths() {
    let s = TestServer::start().await;
    let body = chat(json!({ "stream": true, "max_tokens": 40, "ignore_eos": true }));
    let _ = s.post(CHAT, body).await.text().await.unwrap();
    let text = s.metrics().await;
    let sum = |name: &str, labels: &[(&str, &str)]| common::sum(&text, name, labels);
    let success = [
        ("model", MODEL),
        ("endpoint", "chat_completions"),
        ("request_type", "stream"),
        ("status", "success"),
        ("error_type", ""),
    ];
    assert_eq!(sum(REQUESTS_TOTAL, &success), 1.0, "{text}");
    assert_eq!(sum(REQUESTS_TOTAL, &[]), 1.0);
    let count = |h: &str| sum(&format!("{h}_count"), &[("model", MODEL)]);
    assert_eq!(count(TIME_TO_FIRST_TOKEN_SECONDS), 1.0);
    // One ITL sample per token after the first: osl − 1 (one-token chunks after the first).
    assert_eq!(count(INTER_TOKEN_LATENCY_SECONDS), 39.0);
    assert_eq!(count(OUTPUT_SEQUENCE_TOKENS), 1.0);
    assert_eq!(sum(&format!("{OUTPUT_SEQUENCE_TOKENS}_sum"), &[]), 40.0);
    assert_eq!(sum(OUTPUT_TOKENS_TOTAL, &[("model", MODEL)]), 40.0);
    assert_eq!(sum(INFLIGHT_REQUESTS, &[]), 0.0);
    assert_eq!(sum(QUEUED_REQUESTS, &[]), 0.0);
    assert_eq!(sum(DISCONNECTED_CLIENTS, &[]), 0.0);
    // The per-worker gauges of the library are served too.
    assert!(text.contains("dynamo_frontend_worker_last_time_to_first_token_seconds{"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_histogram_is_exported_with_the_librarys_default_buckets() {
    let s = TestServer::start().await;
    let _ = s
        .post(CHAT, chat(json!({ "max_tokens": 20, "stream": true })))
        .await
        .text()
        .await;
    let text = s.metrics().await;
    for (suffix, buckets) in DEFAULT_BUCKETS {
        let name = metric_name(&format!("{suffix}_bucket"));
        let les: Vec<String> = scrape::samples(&text)
            .filter(|x| x.name == name)
            .filter(|x| x.label("model").is_none_or(|m| m == MODEL))
            .filter(|x| x.label("operation").is_none_or(|op| op == "tokenize"))
            .map(|x| x.label("le").unwrap().to_owned())
            .collect();
        let mut expected: Vec<String> = buckets.iter().map(f64::to_string).collect();
        expected.push("+Inf".to_owned());
        assert_eq!(les, expected, "{name}:\n{text}");
    }
    // No histogram falls back to a summary.
    assert!(!text.contains("quantile="), "{text}");
}

// ---- disconnects ----------------------------------------------------------------------------

/// The request ended as cancelled, nothing is in flight, and the simulated workers are free.
async fn expect_cancelled(s: &TestServer, request_type: &str) {
    let cancelled = [
        ("status", "error"),
        ("error_type", "cancelled"),
        ("request_type", request_type),
    ];
    let text = s
        .wait_for_metrics("the cancel and in-flight back to 0", |t| {
            common::sum(t, REQUESTS_TOTAL, &cancelled) == 1.0
                && common::sum(t, INFLIGHT_REQUESTS, &[]) == 0.0
        })
        .await;
    assert_eq!(
        common::sum(&text, REQUESTS_TOTAL, &[]),
        1.0,
        "nothing else counted"
    );
    assert_eq!(common::sum(&text, DISCONNECTED_CLIENTS, &[]), 1.0);
    assert_eq!(
        common::sum(&text, MODEL_CANCELLATION_TOTAL, &[("model", MODEL)]),
        1.0
    );
    assert_eq!(common::sum(&text, QUEUED_REQUESTS, &[]), 0.0);
    // The engine stopped: it no longer holds any worker (bounded wait for its task to see it).
    for _ in 0..500 {
        if s.app.cluster().busy() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("a simulated worker is still busy after the disconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_mid_stream_ends_the_request_as_cancelled_and_stops_the_worker() {
    let s = TestServer::start().await;
    // 5 000 tokens at 1 ms each: the stream would run for 5 s.
    let body = chat(json!({ "stream": true, "max_tokens": 5000, "ignore_eos": true }));
    let resp = s.post(CHAT, body).await;
    let mut stream = resp.bytes_stream();
    let mut seen = String::new();
    while sse_data(&seen).len() < 3 {
        let bytes = stream.next().await.expect("the stream goes on").unwrap();
        seen.push_str(std::str::from_utf8(&bytes).unwrap());
    }
    drop(stream);
    expect_cancelled(&s, "stream").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_a_non_streaming_request_ends_it_as_cancelled() {
    let s = TestServer::start().await;
    let body = chat(json!({ "max_tokens": 5000, "ignore_eos": true }));
    let sent = s
        .client
        .post(format!("{}{CHAT}", s.base))
        .header("content-type", "application/json")
        .body(body)
        .timeout(std::time::Duration::from_millis(200))
        .send()
        .await;
    assert!(sent.is_err_and(|e| e.is_timeout()));
    expect_cancelled(&s, "unary").await;
}

// ---- other routes ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_lists_the_served_model() {
    let s = TestServer::start().await;
    let body: Value = s.get("/v1/models").await.json().await.unwrap();
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"][0]["id"], MODEL);
    assert_eq!(body["data"][0]["object"], "model");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_healthy() {
    let s = TestServer::start().await;
    let resp = s.get("/health").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.json::<Value>().await.unwrap(),
        json!({ "status": "healthy" })
    );
}
