//! `Server-Timing` as an HTTP trailer of a streamed response: present only when the client
//! sent `TE: trailers`, read by real clients (a hyper client, and `curl --raw`), equal to the
//! tracker's figures. Each test runs under both servers.

mod layer;

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use layer::{Kind, Server, Step, under_both};
use reqtrack::TimingHeaders;
use tokio::net::TcpStream;

under_both!(
    hyper_client_reads_the_trailer_it_asked_for,
    no_trailer_without_te_trailers,
    no_trailer_on_a_unary_response,
    curl_raw_shows_the_trailer,
);

/// A response read by hyper's client: the head, the body, the trailers.
struct Read {
    head: http::response::Parts,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

async fn hyper_post(s: &Server, path: &str, te_trailers: bool) -> Read {
    let tcp = TcpStream::connect(s.addr).await.expect("connect");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut req = Request::post(path).header("host", "test");
    if te_trailers {
        req = req.header("te", "trailers");
    }
    let resp = sender
        .send_request(req.body(Empty::<Bytes>::new()).expect("request"))
        .await
        .expect("response");
    let (head, body) = resp.into_parts();
    let collected = body.collect().await.expect("body");
    let trailers = collected.trailers().cloned();
    Read {
        head,
        body: collected.to_bytes(),
        trailers,
    }
}

fn scripted_stream(s: &Server) {
    let script = s.script();
    for step in [Step::Frame(1), Step::Frame(2), Step::End] {
        script.send(step).unwrap();
    }
}

/// The `Server-Timing` value the tracker gives now (the request has ended).
fn trackers_server_timing(s: &Server) -> String {
    TimingHeaders::from_tracker(s.tracked().tracker()).server_timing()
}

async fn hyper_client_reads_the_trailer_it_asked_for(kind: Kind) {
    let s = Server::start(kind).await;
    scripted_stream(&s);
    let read = hyper_post(&s, "/stream", true).await;
    assert_eq!(read.head.headers["trailer"], "server-timing");
    assert_eq!(read.body, "data: 1\n\ndata: 2\n\n");
    let trailers = read.trailers.expect("trailers");
    s.ended_once_as("").await;
    let value = trailers["server-timing"].to_str().unwrap();
    assert_eq!(value, trackers_server_timing(&s));
    assert!(
        value.contains("ttft;dur=") && value.contains("total;dur="),
        "{value}"
    );
}

async fn no_trailer_without_te_trailers(kind: Kind) {
    let s = Server::start(kind).await;
    scripted_stream(&s);
    let read = hyper_post(&s, "/stream", false).await;
    assert!(read.head.headers.get("trailer").is_none());
    assert_eq!(read.body, "data: 1\n\ndata: 2\n\n");
    assert!(read.trailers.is_none(), "{:?}", read.trailers);
    s.ended_once_as("").await;
}

async fn no_trailer_on_a_unary_response(kind: Kind) {
    let s = Server::start(kind).await;
    let read = hyper_post(&s, "/unary", true).await;
    assert!(read.head.headers.get("trailer").is_none());
    assert!(read.trailers.is_none());
    s.ended_once_as("").await;
    assert_eq!(
        read.head.headers["server-timing"],
        trackers_server_timing(&s).as_str()
    );
}

async fn curl_raw_shows_the_trailer(kind: Kind) {
    let Ok(version) = tokio::process::Command::new("curl")
        .arg("--version")
        .output()
        .await
    else {
        eprintln!("curl is not installed: skipped (tests/frontend_e2e.sh installs it)");
        return;
    };
    assert!(version.status.success());
    let s = Server::start(kind).await;
    scripted_stream(&s);
    let out = tokio::process::Command::new("curl")
        .args(["--raw", "-sS", "-X", "POST", "-H", "TE: trailers"])
        .arg(s.url("/stream"))
        .output()
        .await
        .expect("curl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = String::from_utf8(out.stdout).expect("text");
    s.ended_once_as("").await;
    // Chunked framing as sent: the data chunks, the last chunk `0`, then the trailer field.
    let expected = format!("0\r\nserver-timing: {}\r\n\r\n", trackers_server_timing(&s));
    assert!(
        raw.ends_with(&expected),
        "{raw:?}\nexpected the end {expected:?}"
    );
    assert!(raw.contains("data: 2"), "{raw:?}");
}
