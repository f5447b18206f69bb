//! The layer under real servers (axum, and bare hyper) driven by real clients (reqwest, raw
//! TCP): every way a request ends is counted once, with its outcome, and leaves nothing in
//! flight, active or queued. Each test runs under both servers.

mod layer;

use layer::{Kind, MODEL, Server, Step, assert_idle, post, raw, sum, under_both};
use reqtrack::TimingHeaders;
use reqtrack::names::MODEL_CANCELLATION_TOTAL;
use reqtrack::names::{
    DISCONNECTED_CLIENTS, OUTPUT_TOKENS_TOTAL, REQUEST_DURATION_SECONDS, REQUESTS_TOTAL,
    TIME_TO_FIRST_TOKEN_SECONDS,
};

under_both!(
    unary_success_has_timing_headers_equal_to_the_tracker,
    active_requests_end_only_when_the_last_byte_is_handed_over,
    stream_cut_before_the_headers_is_a_disconnect,
    stream_cut_mid_way_is_a_disconnect,
    stream_cut_after_the_last_data_frame_before_the_end_is_a_disconnect,
    upload_cut_mid_body_is_cancelled_not_validation,
    upload_cut_after_the_handler_started_is_cancelled,
    handler_panic_ends_as_internal,
    body_error_ends_as_internal,
    error_statuses_map_to_their_outcomes,
    undeclared_requests_are_not_counted,
);

/// The disconnect's side effects: `disconnected_clients` and `model_cancellation_total` +1.
fn assert_one_disconnect(text: &str) {
    assert_eq!(sum(text, DISCONNECTED_CLIENTS, &[]), 1.0, "{text}");
    assert_eq!(sum(text, MODEL_CANCELLATION_TOTAL, &[]), 1.0, "{text}");
}

async fn unary_success_has_timing_headers_equal_to_the_tracker(kind: Kind) {
    let s = Server::start(kind).await;
    let resp = reqwest::Client::new()
        .post(s.url("/unary"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    assert_eq!(resp.text().await.unwrap(), "hello");
    let text = s.ended_once_as("").await;
    assert_eq!(sum(&text, OUTPUT_TOKENS_TOTAL, &[("model", MODEL)]), 3.0);
    assert_eq!(sum(&text, "time_to_first_token_seconds_count", &[]), 1.0);
    let expected = TimingHeaders::from_tracker(s.tracked().tracker());
    assert_eq!(headers["server-timing"], expected.server_timing().as_str());
    for (name, value) in expected.tgi() {
        assert_eq!(headers[name], value.as_str(), "{name}");
    }
    assert!(headers.get("trailer").is_none());
}

/// Review finding: the frontend ended `active_requests` at the engine's last token, before the
/// final chunk, the usage chunk and `[DONE]` were written. Under the layer the request is in
/// flight (and active) until the body's end.
async fn active_requests_end_only_when_the_last_byte_is_handed_over(kind: Kind) {
    let s = Server::start(kind).await;
    let script = s.script();
    let resp = reqwest::Client::new()
        .post(s.url("/stream"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // Nothing asked for trailers: no announcement.
    assert!(resp.headers().get("trailer").is_none());
    let text = s.render();
    assert_eq!(sum(&text, "inflight_requests", &[]), 1.0, "{text}");
    for step in [Step::Frame(1), Step::Frame(0), Step::Frame(4)] {
        script.send(step).unwrap();
    }
    // The body has not ended: the request is still in flight (and active), out of the queue.
    let text = s
        .wait_for("4 + 1 tokens", |t| sum(t, OUTPUT_TOKENS_TOTAL, &[]) == 5.0)
        .await;
    assert_eq!(sum(&text, "active_requests", &[]), 1.0, "{text}");
    assert_eq!(sum(&text, "queued_requests", &[]), 0.0, "{text}");
    assert_eq!(sum(&text, REQUESTS_TOTAL, &[]), 0.0, "{text}");
    script.send(Step::End).unwrap();
    let body = resp.text().await.unwrap();
    assert_eq!(body, "data: 1\n\ndata: 0\n\ndata: 4\n\n");
    let text = s.ended_once_as("").await;
    assert_eq!(
        sum(&text, "inter_token_latency_seconds_count", &[]),
        4.0,
        "{text}"
    );
    assert_eq!(sum(&text, "output_sequence_tokens_sum", &[]), 5.0, "{text}");
    assert_eq!(s.tracked().tracker().osl_tokens(), 5);
}

async fn stream_cut_before_the_headers_is_a_disconnect(kind: Kind) {
    let s = Server::start(kind).await;
    let (tcp, _) = raw(s.addr, &post("/wait"), "").await;
    s.entered().await;
    drop(tcp);
    let text = s.ended_once_as("cancelled").await;
    assert_one_disconnect(&text);
    // No token: no TTFT sample; the duration still is the tracker's.
    assert_eq!(sum(&text, "time_to_first_token_seconds_count", &[]), 0.0);
    assert_eq!(sum(&text, "request_duration_seconds_count", &[]), 1.0);
}

async fn stream_cut_mid_way_is_a_disconnect(kind: Kind) {
    let s = Server::start(kind).await;
    let script = s.script();
    script.send(Step::Frame(2)).unwrap();
    let (tcp, _) = raw(s.addr, &post("/stream"), "data: 2").await;
    drop(tcp);
    let text = s.ended_once_as("cancelled").await;
    assert_one_disconnect(&text);
    assert_eq!(sum(&text, OUTPUT_TOKENS_TOTAL, &[]), 2.0);
    assert_eq!(
        sum(&text, &format!("{TIME_TO_FIRST_TOKEN_SECONDS}_count"), &[]),
        1.0
    );
    // The script's sender is still open: the body never ended by itself.
    drop(script);
}

async fn stream_cut_after_the_last_data_frame_before_the_end_is_a_disconnect(kind: Kind) {
    let s = Server::start(kind).await;
    let script = s.script();
    for step in [Step::Frame(1), Step::Frame(3)] {
        script.send(step).unwrap();
    }
    let (tcp, _) = raw(s.addr, &post("/stream"), "data: 3").await;
    drop(tcp);
    let text = s.ended_once_as("cancelled").await;
    assert_one_disconnect(&text);
    assert_eq!(sum(&text, OUTPUT_TOKENS_TOTAL, &[]), 4.0);
    let duration = sum(&text, &format!("{REQUEST_DURATION_SECONDS}_sum"), &[]);
    assert_eq!(
        duration,
        s.tracked().tracker().total_time_ms().unwrap() / 1000.0
    );
    drop(script);
}

/// A body of 100 bytes announced, 10 sent (the socket is closed by the test).
fn cut_upload(path: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nhost: test\r\ncontent-length: 100\r\n\r\n0123456789")
}

async fn upload_cut_mid_body_is_cancelled_not_validation(kind: Kind) {
    let s = Server::start(kind).await;
    let (tcp, _) = raw(s.addr, &cut_upload("/upload"), "").await;
    s.entered().await;
    drop(tcp);
    let text = s.ended_once_as("cancelled").await;
    assert_one_disconnect(&text);
    assert_eq!(
        sum(&text, REQUESTS_TOTAL, &[("model", "unknown_model")]),
        1.0,
        "{text}"
    );
}

async fn upload_cut_after_the_handler_started_is_cancelled(kind: Kind) {
    let s = Server::start(kind).await;
    let (tcp, _) = raw(s.addr, &cut_upload("/upload-started"), "").await;
    s.entered().await;
    drop(tcp);
    let text = s.ended_once_as("cancelled").await;
    assert_one_disconnect(&text);
    assert_eq!(
        sum(&text, REQUESTS_TOTAL, &[("model", MODEL)]),
        1.0,
        "{text}"
    );
}

async fn handler_panic_ends_as_internal(kind: Kind) {
    let s = Server::start(kind).await;
    let sent = reqwest::Client::new().post(s.url("/panic")).send().await;
    assert!(
        sent.is_err(),
        "the connection dies with the handler: {sent:?}"
    );
    let text = s.ended_once_as("internal").await;
    assert_eq!(sum(&text, DISCONNECTED_CLIENTS, &[]), 0.0, "{text}");
}

async fn body_error_ends_as_internal(kind: Kind) {
    let s = Server::start(kind).await;
    let script = s.script();
    for step in [Step::Frame(1), Step::Fail] {
        script.send(step).unwrap();
    }
    let client = reqwest::Client::new();
    let read = async { client.post(s.url("/stream")).send().await?.text().await };
    assert!(read.await.is_err(), "the stream breaks off");
    let text = s.ended_once_as("internal").await;
    assert_eq!(sum(&text, DISCONNECTED_CLIENTS, &[]), 0.0, "{text}");
}

async fn error_statuses_map_to_their_outcomes(kind: Kind) {
    for (status, error_type) in [
        (400, "validation"),
        (413, "validation"),
        (422, "validation"),
        (404, "not_found"),
        (429, "overload"),
        (503, "unavailable"),
        (504, "response_timeout"),
        (500, "internal"),
        (502, "internal"),
    ] {
        let s = Server::start(kind).await;
        let resp = reqwest::Client::new()
            .post(s.url(&format!("/status/{status}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status);
        // Timing headers only on a success.
        assert!(resp.headers().get("server-timing").is_none(), "{status}");
        assert_eq!(resp.text().await.unwrap(), "status");
        s.ended_once_as(error_type).await;
    }
}

async fn undeclared_requests_are_not_counted(kind: Kind) {
    let s = Server::start(kind).await;
    let resp = reqwest::get(s.url("/health")).await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "not tracked");
    let text = s.render();
    assert_eq!(sum(&text, REQUESTS_TOTAL, &[]), 0.0, "{text}");
    assert_idle(&text);
}
