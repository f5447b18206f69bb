//! Outcome and in-flight accounting: `requests_total` labels, `requests_started_total`, the
//! in-flight / active / queued gauges, client disconnects.

#![cfg(not(reqtrack_model))]

#[path = "request_metrics_common/mod.rs"]
mod common;

use common::{MODEL, at, metrics, model, outcome_labels, record, request};
use reqtrack::{
    Endpoint, ErrorType, Outcome, RequestGuard, RequestTracker, RequestType, TimingInfo, names,
};
use std::sync::Arc;
use std::time::Instant;

// ---- requests_total -------------------------------------------------------------------------

#[test]
fn a_success_is_counted_with_dynamos_five_labels_and_an_empty_error_type() {
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, Instant::now());
        g.finish(Outcome::Success);
    });
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("success", "")),
        Some(1)
    );
    assert_eq!(r.label_sets(names::REQUESTS_TOTAL).len(), 1);
}

#[test]
fn an_error_is_status_error_with_its_type() {
    let r = record(|| {
        let m = metrics();
        for e in ErrorType::ALL {
            let (_, g) = request(&m, Instant::now());
            g.finish(Outcome::Error(*e));
        }
    });
    for e in ErrorType::ALL {
        assert_eq!(
            r.counter(names::REQUESTS_TOTAL, &outcome_labels("error", e.as_str())),
            Some(1),
            "{e}"
        );
    }
    assert_eq!(r.label_sets(names::REQUESTS_TOTAL).len(), ErrorType::COUNT);
}

#[test]
fn each_endpoint_and_request_type_is_its_own_series() {
    let r = record(|| {
        let m = metrics();
        for &e in Endpoint::ALL {
            for &rt in RequestType::ALL {
                let t = Arc::new(RequestTracker::new());
                RequestGuard::new(m.clone(), t, e, rt).finish(Outcome::Success);
            }
        }
    });
    for &e in Endpoint::ALL {
        for &rt in RequestType::ALL {
            let base = [
                ("model", MODEL),
                ("endpoint", e.as_str()),
                ("request_type", rt.as_str()),
            ];
            let ended = [
                base[0],
                base[1],
                base[2],
                ("status", "success"),
                ("error_type", ""),
            ];
            assert_eq!(
                r.counter(names::REQUESTS_TOTAL, &ended),
                Some(1),
                "{e} {rt}"
            );
            assert_eq!(
                r.counter(names::REQUESTS_STARTED_TOTAL, &base),
                Some(1),
                "{e} {rt}"
            );
        }
    }
}

#[test]
fn label_values_are_dynamos_spelling() {
    let endpoints: Vec<_> = Endpoint::ALL.iter().map(|e| e.as_str()).collect();
    assert_eq!(
        endpoints,
        [
            "completions",
            "chat_completions",
            "embeddings",
            "classify",
            "rerank",
            "pooling",
            "images",
            "videos",
            "audios",
            "responses",
            "anthropic_messages",
            "tensor",
            "generate"
        ]
    );
    let errors: Vec<_> = ErrorType::ALL.iter().map(|e| e.as_str()).collect();
    assert_eq!(
        errors,
        [
            "validation",
            "not_found",
            "overload",
            "unavailable",
            "cancelled",
            "response_timeout",
            "first_token_timeout",
            "intra_token_timeout",
            "internal",
            "not_implemented",
            "backend_error",
            "truncated_stream"
        ]
    );
    assert_eq!(
        (RequestType::Stream.as_str(), RequestType::Unary.as_str()),
        ("stream", "unary")
    );
}

#[test]
fn requests_started_total_counts_when_the_guard_is_created() {
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, Instant::now());
        std::mem::forget(g); // never ends: started, not total
    });
    let base = [
        ("model", MODEL),
        ("endpoint", "chat_completions"),
        ("request_type", "stream"),
    ];
    assert_eq!(r.counter(names::REQUESTS_STARTED_TOTAL, &base), Some(1));
    assert_eq!(
        r.label_sets(names::REQUESTS_TOTAL),
        Vec::<Vec<(String, String)>>::new()
    );
}

// ---- in-flight, active, queued --------------------------------------------------------------

#[test]
fn inflight_and_active_count_live_guards_and_return_to_zero() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (_, a) = request(&m, t0);
        let (_, b) = request(&m, t0);
        let (_, c) = request(&m, t0);
        a.finish(Outcome::Success);
        drop(b.into_stream()); // a disconnect
        drop(c); // an error before its stream
    });
    for g in [
        names::INFLIGHT_REQUESTS,
        names::ACTIVE_REQUESTS,
        names::QUEUED_REQUESTS,
    ] {
        assert_eq!(r.gauge(g, &model()), Some(0.0), "{g}");
    }
}

#[test]
fn inflight_active_and_queued_rise_at_start() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        for _ in 0..3 {
            std::mem::forget(request(&m, t0).1);
        }
    });
    for g in [
        names::INFLIGHT_REQUESTS,
        names::ACTIVE_REQUESTS,
        names::QUEUED_REQUESTS,
    ] {
        assert_eq!(r.gauge(g, &model()), Some(3.0), "{g}");
    }
}

#[test]
fn queued_drops_at_the_first_token_bearing_chunk_not_before() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(0, at(t0, 1));
        std::mem::forget(s);
    });
    assert_eq!(r.gauge(names::QUEUED_REQUESTS, &model()), Some(1.0));
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(1, at(t0, 2));
        std::mem::forget(s);
    });
    assert_eq!(r.gauge(names::QUEUED_REQUESTS, &model()), Some(0.0));
    assert_eq!(r.gauge(names::INFLIGHT_REQUESTS, &model()), Some(1.0));
}

#[test]
fn queued_drops_at_the_end_of_a_request_that_produced_no_token() {
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, Instant::now());
        g.finish(Outcome::Error(ErrorType::Validation));
    });
    assert_eq!(r.gauge(names::QUEUED_REQUESTS, &model()), Some(0.0));
}

// ---- disconnects and drops ------------------------------------------------------------------

#[test]
fn a_stream_dropped_without_an_outcome_is_a_client_disconnect() {
    let t0 = Instant::now();
    let mut tracker = None;
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(1, at(t0, 3));
        drop(s);
        tracker = Some(t);
    });
    let t = tracker.unwrap();
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("error", "cancelled")),
        Some(1)
    );
    assert_eq!(r.gauge(names::DISCONNECTED_CLIENTS, &[]), Some(1.0));
    // The tracker's finish was stamped at the drop, and the duration is that figure.
    let total = t.total_time_ms().unwrap();
    assert!(total >= 3.0);
    assert_eq!(
        r.model_samples(names::REQUEST_DURATION_SECONDS),
        vec![total / 1000.0]
    );
}

#[test]
fn disconnected_clients_is_unlabelled_and_only_grows() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        for i in 0..3 {
            let (_, g) = request(&m, t0);
            let s = g.into_stream();
            if i == 2 {
                s.client_disconnected_at(at(t0, 9));
            }
        }
        let (_, g) = request(&m, t0);
        g.into_stream().finish(Outcome::Success);
    });
    assert_eq!(r.label_sets(names::DISCONNECTED_CLIENTS), vec![vec![]]);
    assert_eq!(r.gauge(names::DISCONNECTED_CLIENTS, &[]), Some(3.0));
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("error", "cancelled")),
        Some(3)
    );
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("success", "")),
        Some(1)
    );
}

#[test]
fn an_explicit_disconnect_stamps_the_finish_at_the_given_instant() {
    let t0 = Instant::now();
    let mut total = None;
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        g.client_disconnected_at(at(t0, 42));
        total = t.total_time_ms();
    });
    assert_eq!(total, Some(42.0));
    assert_eq!(
        r.model_samples(names::REQUEST_DURATION_SECONDS),
        vec![0.042]
    );
    assert_eq!(r.gauge(names::DISCONNECTED_CLIENTS, &[]), Some(1.0));
}

/// `client_disconnected` (no instant) on a guard that never streamed ends it as a cancellation,
/// not as the internal error a plain drop of that guard would be.
#[test]
fn a_client_disconnect_before_the_stream_is_counted_as_cancelled() {
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, Instant::now());
        g.client_disconnected();
    });
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("error", "cancelled")),
        Some(1)
    );
    assert_eq!(r.label_sets(names::REQUESTS_TOTAL).len(), 1);
}

/// A guard hands out the tracker it was made with.
#[test]
fn a_guard_reports_its_own_tracker() {
    record(|| {
        let m = metrics();
        let (t, g) = request(&m, Instant::now());
        assert!(Arc::ptr_eq(g.tracker(), &t));
        g.finish(Outcome::Success);
    });
}

/// `finish_at` on a stream that saw no chunk ends it with its outcome (not as a disconnect)
/// and stamps the finish at the given instant.
#[test]
fn a_stream_finished_at_an_instant_counts_its_outcome_and_ends_there() {
    let t0 = Instant::now();
    let mut total = None;
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        g.into_stream().finish_at(Outcome::Success, at(t0, 42));
        total = t.total_time_ms();
    });
    assert_eq!(total, Some(42.0));
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("success", "")),
        Some(1)
    );
    assert_eq!(r.label_sets(names::REQUESTS_TOTAL).len(), 1);
}

/// A stream hands out its request's tracker.
#[test]
fn a_stream_reports_its_requests_tracker() {
    record(|| {
        let m = metrics();
        let (t, g) = request(&m, Instant::now());
        let s = g.into_stream();
        assert!(Arc::ptr_eq(s.tracker(), &t));
        s.finish(Outcome::Success);
    });
}

// ---- model_cancellation_total and model_rejection_total (Dynamo's) ---------------------------

#[test]
fn a_client_disconnect_is_missing_from_model_cancellation_total() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (_, dropped) = request(&m, t0);
        drop(dropped.into_stream());
        let (_, told) = request(&m, t0);
        told.client_disconnected_at(at(t0, 7));
        let (_, unary) = request(&m, t0);
        drop(unary); // no stream: an internal error, not a disconnect
    });
    let chat_stream = [
        ("model", MODEL),
        ("endpoint", "chat_completions"),
        ("request_type", "stream"),
    ];
    assert_eq!(
        r.counter(names::MODEL_CANCELLATION_TOTAL, &chat_stream),
        Some(2)
    );
    assert_eq!(r.label_sets(names::MODEL_CANCELLATION_TOTAL).len(), 1);
    assert_eq!(
        r.description(names::MODEL_CANCELLATION_TOTAL),
        Some("Total number of request cancellations")
    );
}

/// A stream refused for load (after it started) is a rejection, not the client disconnect a
/// drop of the stream would be.
#[test]
fn a_stream_refused_for_load_counts_a_rejection() {
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, Instant::now());
        g.into_stream().reject();
    });
    assert_eq!(
        r.counter(
            names::MODEL_REJECTION_TOTAL,
            &[("model", MODEL), ("endpoint", "chat_completions")]
        ),
        Some(1)
    );
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("error", "overload")),
        Some(1)
    );
}

#[test]
fn a_request_refused_for_load_is_missing_from_model_rejection_total() {
    let r = record(|| {
        let m = metrics();
        for endpoint in [
            Endpoint::ChatCompletions,
            Endpoint::ChatCompletions,
            Endpoint::Completions,
        ] {
            let t = Arc::new(RequestTracker::new());
            RequestGuard::new(m.clone(), t, endpoint, RequestType::Unary).reject();
        }
    });
    let rejected = |endpoint| {
        r.counter(
            names::MODEL_REJECTION_TOTAL,
            &[("model", MODEL), ("endpoint", endpoint)],
        )
    };
    assert_eq!(
        (rejected("chat_completions"), rejected("completions")),
        (Some(2), Some(1))
    );
    let overload = [
        ("model", MODEL),
        ("endpoint", "chat_completions"),
        ("request_type", "unary"),
        ("status", "error"),
        ("error_type", "overload"),
    ];
    assert_eq!(r.counter(names::REQUESTS_TOTAL, &overload), Some(2));
    assert_eq!(r.label_sets(names::MODEL_CANCELLATION_TOTAL).len(), 0);
}

#[test]
fn a_server_side_cancel_is_not_a_client_disconnect() {
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, Instant::now());
        g.into_stream().finish(Outcome::Error(ErrorType::Cancelled));
    });
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("error", "cancelled")),
        Some(1)
    );
    assert_eq!(
        r.gauge(names::DISCONNECTED_CLIENTS, &[]),
        None,
        "no disconnect: the series has not appeared"
    );
}

#[test]
fn a_guard_dropped_before_its_stream_is_an_internal_error_as_in_dynamo() {
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, Instant::now());
        drop(g);
    });
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("error", "internal")),
        Some(1)
    );
    assert_eq!(
        r.gauge(names::DISCONNECTED_CLIENTS, &[]),
        None,
        "no disconnect: the series has not appeared"
    );
    assert_eq!(r.model_samples(names::REQUEST_DURATION_SECONDS).len(), 1);
}

#[test]
fn finish_keeps_the_finish_the_last_chunk_stamped() {
    let t0 = Instant::now();
    let mut total = None;
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(2, at(t0, 30));
        s.finish_at(Outcome::Success, at(t0, 99));
        total = t.total_time_ms();
    });
    assert_eq!(total, Some(30.0));
    assert_eq!(r.model_samples(names::REQUEST_DURATION_SECONDS), vec![0.03]);
}

#[test]
fn a_merged_router_finish_is_recorded_as_the_requests_own_duration() {
    // The router's timing (total 20 ms, same arrival) is merged; the request then ends without
    // a chunk at 50 ms. Its own finish must be stamped, and the duration be its own 50 ms.
    let t0 = Instant::now();
    let mut total = None;
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        let router = TimingInfo {
            request_received_ms: t.request_received_epoch_ms(),
            prefill_wait_time_ms: None,
            prefill_time_ms: None,
            ttft_ms: None,
            total_time_ms: Some(20.0),
            kv_hit_rate: None,
            router_queue_depth: None,
            kv_transfer_estimated_latency_ms: None,
        };
        assert_eq!(t.set_external_timing_at(&router, at(t0, 20)), 1);
        g.finish_at(Outcome::Success, at(t0, 50));
        total = t.total_time_ms();
    });
    assert_eq!(total, Some(50.0), "the tracker's own finish wins");
    assert_eq!(r.model_samples(names::REQUEST_DURATION_SECONDS), vec![0.05]);
}

#[test]
fn the_end_is_observed_once_per_request() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(1, at(t0, 5));
        s.finish(Outcome::Success); // then the guard's drop: no second observation
    });
    assert_eq!(r.model_samples(names::REQUEST_DURATION_SECONDS).len(), 1);
    assert_eq!(r.model_samples(names::OUTPUT_SEQUENCE_TOKENS), vec![1.0]);
    assert_eq!(r.label_sets(names::REQUESTS_TOTAL).len(), 1);
}
