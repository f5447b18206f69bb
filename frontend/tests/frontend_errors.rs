//! Bad input to the frontend gets OpenAI error JSON with the right status, is counted once in
//! `dynamo_frontend_requests_total{status="error",error_type=…}`, and leaves nothing in flight.
//! One test per case, each against its own frontend on a loopback port.

mod common;

use common::{MODEL, TestServer};
use reqtrack::UNKNOWN_MODEL;
use reqtrack::names::{INFLIGHT_REQUESTS, REQUESTS_TOTAL};
use serde_json::{Value, json};

const CHAT: &str = "/v1/chat/completions";
const COMPLETIONS: &str = "/v1/completions";

/// Checks the status and the `{"error": {message, type, param, code}}` shape; returns it.
async fn expect_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: Value = resp.json().await.expect("error body is JSON");
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    assert_eq!(error["type"], "invalid_request_error", "{body}");
    assert_eq!(error["code"], code, "{body}");
    assert!(error.get("param").is_some(), "{body}");
    body
}

/// Exactly one request was counted, as `error`/`error_type` under `model`, `endpoint` and
/// `request_type`, and nothing is in flight.
async fn expect_counted(
    server: &TestServer,
    model: &str,
    endpoint: &str,
    request_type: &str,
    error_type: &str,
) {
    let text = server.metrics().await;
    let total = |labels: &[(&str, &str)]| common::sum(&text, REQUESTS_TOTAL, labels);
    assert_eq!(total(&[]), 1.0, "one request counted in all:\n{text}");
    assert_eq!(
        total(&[
            ("model", model),
            ("endpoint", endpoint),
            ("request_type", request_type),
            ("status", "error"),
            ("error_type", error_type),
        ]),
        1.0,
        "counted under its labels:\n{text}"
    );
    assert_eq!(common::sum(&text, INFLIGHT_REQUESTS, &[]), 0.0);
}

fn chat(extra: Value) -> String {
    let mut body = json!({
        "model": MODEL,
        "messages": [{ "role": "user", "content": "hello" }],
    });
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    body.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_400_invalid_json() {
    let s = TestServer::start().await;
    let body = expect_error(
        s.post(CHAT, r#"{"model": "test-model", "messages": ["#)
            .await,
        400,
        "invalid_json",
    )
    .await;
    assert!(body["error"]["message"].as_str().unwrap().contains("EOF"));
    expect_counted(&s, UNKNOWN_MODEL, "chat_completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_of_the_wrong_type_is_400_invalid_json() {
    let s = TestServer::start().await;
    expect_error(
        s.post(CHAT, chat(json!({ "max_tokens": "ten" }))).await,
        400,
        "invalid_json",
    )
    .await;
    expect_counted(&s, UNKNOWN_MODEL, "chat_completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_messages_is_400_with_the_param_named() {
    let s = TestServer::start().await;
    let body = json!({ "model": MODEL, "stream": true }).to_string();
    let err = expect_error(s.post(CHAT, body).await, 400, "missing_required_parameter").await;
    assert_eq!(err["error"]["param"], "messages");
    expect_counted(&s, MODEL, "chat_completions", "stream", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_messages_is_400_invalid_value() {
    let s = TestServer::start().await;
    let body = json!({ "model": MODEL, "messages": [] }).to_string();
    let err = expect_error(s.post(CHAT, body).await, 400, "invalid_value").await;
    assert_eq!(err["error"]["param"], "messages");
    expect_counted(&s, MODEL, "chat_completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_prompt_is_400_with_the_param_named() {
    let s = TestServer::start().await;
    let body = json!({ "model": MODEL, "max_tokens": 4 }).to_string();
    let err = expect_error(
        s.post(COMPLETIONS, body).await,
        400,
        "missing_required_parameter",
    )
    .await;
    assert_eq!(err["error"]["param"], "prompt");
    expect_counted(&s, MODEL, "completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_model_is_400_with_the_param_named() {
    let s = TestServer::start().await;
    let body = json!({ "messages": [{ "role": "user", "content": "hi" }] }).to_string();
    let err = expect_error(s.post(CHAT, body).await, 400, "missing_required_parameter").await;
    assert_eq!(err["error"]["param"], "model");
    expect_counted(&s, UNKNOWN_MODEL, "chat_completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_model_is_404_model_not_found_under_the_unknown_model_label() {
    let s = TestServer::start().await;
    let body = chat(json!({ "model": "gpt-nonexistent", "stream": true }));
    let err = expect_error(s.post(CHAT, body).await, 404, "model_not_found").await;
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gpt-nonexistent")
    );
    expect_counted(&s, UNKNOWN_MODEL, "chat_completions", "stream", "not_found").await;
    // The client's model string never becomes a label value.
    assert!(!s.metrics().await.contains("gpt-nonexistent"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_one_mib_is_413_request_too_large() {
    let s = TestServer::start().await;
    let huge = chat(json!({ "padding": "x".repeat(2 << 20) }));
    // A client of its own: the server answers 413 and closes the connection without reading
    // the rest of the body, and the shared client could reuse that connection for the scrape
    // (hyper's `IncompleteMessage`, seen about one run in two).
    let resp = reqwest::Client::new()
        .post(format!("{}{CHAT}", s.base))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("request sent");
    expect_error(resp, 413, "request_too_large").await;
    expect_counted(&s, UNKNOWN_MODEL, "chat_completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_tokens_zero_is_400_invalid_value() {
    let s = TestServer::start().await;
    let err = expect_error(
        s.post(CHAT, chat(json!({ "max_tokens": 0 }))).await,
        400,
        "invalid_value",
    )
    .await;
    assert_eq!(err["error"]["param"], "max_tokens");
    expect_counted(&s, MODEL, "chat_completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absurd_max_tokens_is_400_invalid_value() {
    let s = TestServer::start().await;
    let body = chat(json!({ "max_tokens": 1_000_000_000_u64 }));
    let err = expect_error(s.post(CHAT, body).await, 400, "invalid_value").await;
    assert!(err["error"]["message"].as_str().unwrap().contains("16384"));
    expect_counted(&s, MODEL, "chat_completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_max_completion_tokens_is_400_invalid_value() {
    let s = TestServer::start().await;
    let body = json!({ "model": MODEL, "prompt": "hi", "max_completion_tokens": -3 }).to_string();
    let err = expect_error(s.post(COMPLETIONS, body).await, 400, "invalid_value").await;
    assert_eq!(err["error"]["param"], "max_completion_tokens");
    expect_counted(&s, MODEL, "completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_one_choice_is_400_invalid_value() {
    let s = TestServer::start().await;
    let err = expect_error(
        s.post(CHAT, chat(json!({ "n": 3 }))).await,
        400,
        "invalid_value",
    )
    .await;
    assert_eq!(err["error"]["param"], "n");
    expect_counted(&s, MODEL, "chat_completions", "unary", "validation").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_route_is_404_json_and_not_a_counted_request() {
    let s = TestServer::start().await;
    expect_error(s.get("/v1/embeddings").await, 404, "not_found").await;
    assert_eq!(s.metric(REQUESTS_TOTAL, &[]).await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_method_is_405_json_and_not_a_counted_request() {
    let s = TestServer::start().await;
    expect_error(s.get(CHAT).await, 405, "method_not_allowed").await;
    assert_eq!(s.metric(REQUESTS_TOTAL, &[]).await, 0.0);
}

/// Review finding: a client that disconnected while uploading its body was counted as a
/// `validation` error (`invalid_body`). It is a disconnect: `cancelled`, counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_cut_mid_body_is_cancelled_not_validation() {
    use reqtrack::names::{DISCONNECTED_CLIENTS, QUEUED_REQUESTS};
    use tokio::io::AsyncWriteExt;
    let s = TestServer::start().await;
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {CHAT} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{\"model\": \"{MODEL}\""
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    // Nothing observable says the handler is waiting for the rest of the body; give the server
    // a moment to call it (a cut before that is not a request at all, and this test would fail
    // by timing out below, never pass wrongly).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    drop(tcp);
    let text = s
        .wait_for_metrics("the cut upload counted, nothing in flight", |t| {
            // The outcome is counted before the guard's gauges come down: wait for both.
            common::sum(t, REQUESTS_TOTAL, &[]) >= 1.0
                && common::sum(t, INFLIGHT_REQUESTS, &[]) == 0.0
        })
        .await;
    expect_counted(&s, UNKNOWN_MODEL, "chat_completions", "unary", "cancelled").await;
    assert_eq!(common::sum(&text, DISCONNECTED_CLIENTS, &[]), 1.0, "{text}");
    assert_eq!(common::sum(&text, QUEUED_REQUESTS, &[]), 0.0, "{text}");
    assert_eq!(
        common::sum(&text, REQUESTS_TOTAL, &[("error_type", "validation")]),
        0.0
    );
}
