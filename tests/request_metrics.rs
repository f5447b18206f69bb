//! Request histograms: each one's name, labels and value, equal to the tracker's; the equality
//! guarantee; unknown values skipped; Dynamo's per-chunk ITL rule.

#![cfg(not(reqtrack_model))]

#[path = "request_metrics_common/mod.rs"]
mod common;

use common::{MODEL, at, metrics, model, record, request};
use reqtrack::{
    ChunkKind, MAX_ITL_SAMPLES_PER_CHUNK, ModelMetrics, Outcome, Prefix, RequestGuard,
    RequestTracker, names,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

// ---- the equality guarantee -----------------------------------------------------------------

/// For any single request, each timing histogram's one sample (so its sum) is exactly the
/// `nvext.timing` figure / 1000, bit for bit, over many irregular stamp offsets.
#[test]
fn histogram_sums_equal_the_requests_nvext_timing_divided_by_1000() {
    let mut rng = fastrand::Rng::with_seed(10);
    for _ in 0..300 {
        let t0 = Instant::now();
        let wait = Duration::from_nanos(rng.u64(0..5_000_000_000));
        let prefill = Duration::from_nanos(rng.u64(1..9_000_000_000));
        let gaps: Vec<_> = (0..rng.usize(0..6))
            .map(|_| Duration::from_nanos(rng.u64(1..400_000_000)))
            .collect();
        let mut timing = None;
        let r = record(|| {
            let m = metrics();
            let (t, g) = request(&m, t0);
            t.record_prefill_start_at(t0 + wait);
            let mut s = g.into_stream();
            let mut now = t0 + wait + prefill;
            s.observe_chunk(1 + rng.usize(0..3), now);
            for gap in &gaps {
                now += *gap;
                s.observe_chunk(1 + rng.usize(0..3), now);
            }
            // The client's nvext.timing is rendered after the last chunk, before finish.
            let sent = t.get_timing_info();
            s.finish(Outcome::Success);
            assert_eq!(t.get_timing_info(), sent, "finish keeps the sent figures");
            timing = Some(sent);
        });
        let timing = timing.unwrap();
        let one = |ms: Option<f64>| vec![ms.unwrap() / 1000.0];
        assert_eq!(
            r.model_samples(names::TIME_TO_FIRST_TOKEN_SECONDS),
            one(timing.ttft_ms)
        );
        assert_eq!(
            r.model_samples(names::REQUEST_DURATION_SECONDS),
            one(timing.total_time_ms)
        );
        assert_eq!(
            r.model_samples(names::PREFILL_WAIT_TIME_SECONDS),
            one(timing.prefill_wait_time_ms)
        );
        assert_eq!(
            r.model_samples(names::PREFILL_TIME_SECONDS),
            one(timing.prefill_time_ms)
        );
    }
}

#[test]
fn ttft_is_the_trackers_first_token_even_when_prefill_recorded_it_earlier() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        t.record_first_token_at(at(t0, 40)); // the prefill phase's first token
        let mut s = g.into_stream();
        assert_eq!(s.observe_chunk(1, at(t0, 90)), ChunkKind::First);
        assert_eq!(t.ttft_ms(), Some(40.0));
        s.finish(Outcome::Success);
    });
    assert_eq!(
        r.model_samples(names::TIME_TO_FIRST_TOKEN_SECONDS),
        vec![0.04]
    );
}

#[test]
fn ttft_of_a_request_without_a_stream_is_recorded_at_the_end_from_the_tracker() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        t.record_first_token_at(at(t0, 25));
        t.record_finish_at(at(t0, 60));
        g.finish(Outcome::Success);
    });
    assert_eq!(
        r.model_samples(names::TIME_TO_FIRST_TOKEN_SECONDS),
        vec![0.025]
    );
    assert_eq!(r.model_samples(names::REQUEST_DURATION_SECONDS), vec![0.06]);
}

// ---- per-chunk ITL (Dynamo's rule) ----------------------------------------------------------

#[test]
fn itl_is_the_chunk_gap_over_its_tokens_once_per_token() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(1, at(t0, 10));
        assert_eq!(s.observe_chunk(4, at(t0, 30)), ChunkKind::Later);
        s.observe_chunk(1, at(t0, 31));
        s.finish(Outcome::Success);
    });
    assert_eq!(
        r.model_samples(names::INTER_TOKEN_LATENCY_SECONDS),
        vec![0.005, 0.005, 0.005, 0.005, 0.001]
    );
}

#[test]
fn a_first_chunk_with_several_tokens_is_all_ttft_and_gives_no_itl() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, t0);
        let mut s = g.into_stream();
        assert_eq!(s.observe_chunk(8, at(t0, 10)), ChunkKind::First);
        s.finish(Outcome::Success);
    });
    assert_eq!(
        r.model_samples(names::INTER_TOKEN_LATENCY_SECONDS),
        Vec::<f64>::new()
    );
    assert_eq!(
        r.model_samples(names::TIME_TO_FIRST_TOKEN_SECONDS),
        vec![0.01]
    );
    assert_eq!(r.model_samples(names::OUTPUT_SEQUENCE_TOKENS), vec![8.0]);
}

#[test]
fn a_chunk_without_tokens_changes_nothing_and_does_not_move_the_itl_clock() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        let mut s = g.into_stream();
        assert_eq!(s.observe_chunk(0, at(t0, 5)), ChunkKind::Empty);
        assert_eq!((t.ttft_ms(), t.total_time_ms()), (None, None));
        s.observe_chunk(1, at(t0, 10));
        assert_eq!(s.observe_chunk(0, at(t0, 20)), ChunkKind::Empty);
        s.observe_chunk(2, at(t0, 30));
        assert_eq!(
            (s.osl(), t.osl_tokens(), t.total_time_ms()),
            (3, 3, Some(30.0))
        );
        s.finish(Outcome::Success);
    });
    assert_eq!(
        r.model_samples(names::INTER_TOKEN_LATENCY_SECONDS),
        vec![0.01, 0.01]
    );
}

#[test]
fn each_chunk_keeps_the_trackers_osl_and_finish_up_to_date() {
    let t0 = Instant::now();
    record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        let mut s = g.into_stream();
        for (i, ms) in [12, 19, 33].into_iter().enumerate() {
            s.observe_chunk(2, at(t0, ms));
            assert_eq!(t.osl_tokens(), 2 * (i as u64 + 1));
            assert_eq!(t.total_time_ms(), Some(ms as f64));
        }
        assert_eq!(t.ttft_ms(), Some(12.0));
        s.finish(Outcome::Success);
    });
}

#[test]
fn output_tokens_total_counts_every_chunks_tokens() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, t0);
        let mut s = g.into_stream();
        for n in [3, 0, 1, 5] {
            s.observe_chunk(n, at(t0, 10));
        }
        s.finish(Outcome::Success);
    });
    assert_eq!(r.counter(names::OUTPUT_TOKENS_TOTAL, &model()), Some(9));
}

// ---- end-of-request histograms, each equal to the tracker's figure ---------------------------

/// A disaggregated request with every stamp and count recorded.
fn full_request(m: &Arc<ModelMetrics>, t0: Instant) -> Arc<RequestTracker> {
    let (t, g) = request(m, t0);
    t.record_prefill_start_at(at(t0, 3));
    t.record_prefill_complete_at(at(t0, 15));
    t.record_decode_first_token_at(at(t0, 19));
    t.record_kv_hit(3, 4);
    t.record_isl(1000, 640);
    t.record_tokenize_latency(Duration::from_micros(1500));
    t.record_detokenize_latency(Duration::from_micros(20));
    t.record_detokenize_latency(Duration::from_micros(40));
    let mut s = g.into_stream();
    t.record_migration();
    t.record_migration();
    s.observe_chunk(1, at(t0, 20));
    s.observe_chunk(9, at(t0, 120));
    s.finish(Outcome::Success);
    t
}

#[test]
fn phase_histograms_equal_the_trackers_phases() {
    let t0 = Instant::now();
    let mut tracker = None;
    let r = record(|| tracker = Some(full_request(&metrics(), t0)));
    let t = tracker.unwrap();
    assert_eq!(
        r.model_samples(names::PREFILL_WAIT_TIME_SECONDS),
        vec![t.prefill_wait_time_ms().unwrap() / 1000.0]
    );
    assert_eq!(
        r.model_samples(names::PREFILL_TIME_SECONDS),
        vec![t.prefill_time_ms().unwrap() / 1000.0]
    );
    assert_eq!(r.model_samples(names::PREFILL_TIME_SECONDS), vec![0.017]);
    // Decode: first token (20 ms) to finish (120 ms).
    assert_eq!(r.model_samples(names::DECODE_TIME_SECONDS), vec![0.1]);
}

#[test]
fn sequence_histograms_equal_the_trackers_counts() {
    let t0 = Instant::now();
    let mut tracker = None;
    let r = record(|| tracker = Some(full_request(&metrics(), t0)));
    let t = tracker.unwrap();
    assert_eq!(
        r.model_samples(names::INPUT_SEQUENCE_TOKENS),
        vec![t.isl_tokens().unwrap() as f64]
    );
    assert_eq!(
        r.model_samples(names::CACHED_TOKENS),
        vec![t.cached_tokens().unwrap() as f64]
    );
    assert_eq!(
        r.model_samples(names::OUTPUT_SEQUENCE_TOKENS),
        vec![t.osl_tokens() as f64]
    );
    assert_eq!(r.model_samples(names::OUTPUT_SEQUENCE_TOKENS), vec![10.0]);
}

#[test]
fn kv_histograms_equal_the_trackers_hit_rate_and_transfer_estimate() {
    let t0 = Instant::now();
    let mut tracker = None;
    let r = record(|| tracker = Some(full_request(&metrics(), t0)));
    let t = tracker.unwrap();
    assert_eq!(
        r.model_samples(names::KV_HIT_RATE),
        vec![t.kv_hit_rate().unwrap()]
    );
    assert_eq!(r.model_samples(names::KV_HIT_RATE), vec![0.75]);
    assert_eq!(
        r.model_samples(names::KV_TRANSFER_ESTIMATED_LATENCY_SECONDS),
        vec![t.kv_transfer_estimated_latency_ms().unwrap() / 1000.0]
    );
    assert_eq!(
        r.model_samples(names::KV_TRANSFER_ESTIMATED_LATENCY_SECONDS),
        vec![0.004]
    );
}

#[test]
fn tokenizer_latency_is_labelled_by_operation_not_model_in_milliseconds() {
    let t0 = Instant::now();
    let r = record(|| {
        full_request(&metrics(), t0);
    });
    assert_eq!(
        r.samples(names::TOKENIZER_LATENCY_MS, &[("operation", "tokenize")]),
        vec![1.5]
    );
    // The request's average detokenize latency: (20 + 40) µs / 2.
    assert_eq!(
        r.samples(names::TOKENIZER_LATENCY_MS, &[("operation", "detokenize")]),
        vec![0.03]
    );
    assert_eq!(r.label_sets(names::TOKENIZER_LATENCY_MS).len(), 2);
}

#[test]
fn migrations_per_request_records_the_trackers_count_zero_included() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        full_request(&m, t0);
        let (_, g) = request(&m, t0);
        g.finish(Outcome::Success);
    });
    assert_eq!(
        r.model_samples(names::MIGRATIONS_PER_REQUEST),
        vec![2.0, 0.0]
    );
}

// ---- unknown values -------------------------------------------------------------------------

#[test]
fn unknown_values_are_skipped_never_recorded_as_zero() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, t0);
        g.finish_at(Outcome::Success, at(t0, 7));
    });
    for suffix in [
        names::TIME_TO_FIRST_TOKEN_SECONDS,
        names::INTER_TOKEN_LATENCY_SECONDS,
        names::INPUT_SEQUENCE_TOKENS,
        names::CACHED_TOKENS,
        names::OUTPUT_SEQUENCE_TOKENS,
        names::PREFILL_WAIT_TIME_SECONDS,
        names::PREFILL_TIME_SECONDS,
        names::DECODE_TIME_SECONDS,
        names::KV_HIT_RATE,
        names::KV_TRANSFER_ESTIMATED_LATENCY_SECONDS,
    ] {
        assert_eq!(r.model_samples(suffix), Vec::<f64>::new(), "{suffix}");
    }
    // The migration count is always known: none is 0, not unknown.
    assert_eq!(r.model_samples(names::MIGRATIONS_PER_REQUEST), vec![0.0]);
    for op in ["tokenize", "detokenize"] {
        assert_eq!(
            r.samples(names::TOKENIZER_LATENCY_MS, &[("operation", op)]),
            Vec::<f64>::new()
        );
    }
    // The one figure known: the finish stamped by `finish_at`.
    assert_eq!(
        r.model_samples(names::REQUEST_DURATION_SECONDS),
        vec![0.007]
    );
}

#[test]
fn a_request_with_no_tokens_records_no_itl_and_no_osl_sample() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (_, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(0, at(t0, 4));
        s.finish(Outcome::Success);
    });
    assert_eq!(
        r.model_samples(names::INTER_TOKEN_LATENCY_SECONDS),
        Vec::<f64>::new()
    );
    assert_eq!(
        r.model_samples(names::OUTPUT_SEQUENCE_TOKENS),
        Vec::<f64>::new()
    );
    assert_eq!(
        r.counter(names::OUTPUT_TOKENS_TOTAL, &model()),
        None,
        "no token yet: the series has not appeared"
    );
}

#[test]
fn a_zero_hit_rate_is_a_real_value_and_is_recorded() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        t.record_kv_hit(0, 8);
        g.finish(Outcome::Success);
    });
    assert_eq!(r.model_samples(names::KV_HIT_RATE), vec![0.0]);
}

// ---- bad input ------------------------------------------------------------------------------

#[test]
fn an_earlier_instant_gives_a_zero_gap_and_moves_neither_clock_back() {
    let t0 = Instant::now();
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(1, at(t0, 50));
        s.observe_chunk(2, at(t0, 20));
        assert_eq!(t.total_time_ms(), Some(50.0));
        s.observe_chunk(1, at(t0, 60));
        s.finish(Outcome::Success);
    });
    assert_eq!(
        r.model_samples(names::INTER_TOKEN_LATENCY_SECONDS),
        vec![0.0, 0.0, 0.01]
    );
}

/// The limit itself is not oversized: a later chunk of exactly `MAX_ITL_SAMPLES_PER_CHUNK`
/// tokens is still split into ITL samples.
#[test]
fn a_chunk_of_exactly_the_itl_limit_is_split_into_itl_samples() {
    let t0 = Instant::now();
    record(|| {
        let m = metrics();
        let (_, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(1, at(t0, 5));
        assert_eq!(
            s.observe_chunk(MAX_ITL_SAMPLES_PER_CHUNK, at(t0, 9)),
            ChunkKind::Later
        );
        s.finish(Outcome::Success);
    });
}

#[test]
fn an_oversized_chunk_counts_its_tokens_but_records_no_itl() {
    let t0 = Instant::now();
    let huge = MAX_ITL_SAMPLES_PER_CHUNK + 1;
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        let mut s = g.into_stream();
        s.observe_chunk(1, at(t0, 5));
        assert_eq!(s.observe_chunk(huge, at(t0, 9)), ChunkKind::Oversized);
        assert_eq!(t.osl_tokens(), huge as u64 + 1);
        // The ITL clock moved: the next gap is from 9 ms.
        s.observe_chunk(1, at(t0, 10));
        s.finish(Outcome::Success);
    });
    assert_eq!(
        r.model_samples(names::INTER_TOKEN_LATENCY_SECONDS),
        vec![0.001]
    );
    assert_eq!(
        r.counter(names::OUTPUT_TOKENS_TOTAL, &model()),
        Some(huge as u64 + 2)
    );
}

// ---- names, prefix, descriptions ------------------------------------------------------------

#[test]
fn a_custom_prefix_names_every_series() {
    let r = common::record(|| {
        let m = Arc::new(ModelMetrics::new(&Prefix::new("router").unwrap(), MODEL));
        let t = Arc::new(RequestTracker::new());
        let g = RequestGuard::new(
            m,
            t,
            reqtrack::Endpoint::Completions,
            reqtrack::RequestType::Unary,
        );
        g.finish(Outcome::Success);
    });
    assert!(!r.series().is_empty());
    for s in r.series() {
        assert!(s.name.starts_with("router_"), "{}", s.name);
    }
    assert!(r.series().iter().any(|s| s.name == "router_requests_total"));
}

#[test]
fn every_histogram_is_described_with_dynamos_help_where_dynamo_has_it() {
    let r = record(|| {
        full_request(&metrics(), Instant::now());
    });
    let help = |suffix: &str| r.description(suffix);
    assert_eq!(
        help(names::TIME_TO_FIRST_TOKEN_SECONDS),
        Some("Time to first token in seconds")
    );
    assert_eq!(
        help(names::REQUEST_DURATION_SECONDS),
        Some("Duration of LLM requests")
    );
    assert_eq!(
        help(names::CACHED_TOKENS),
        Some("Number of cached tokens (prefix cache hits) per request")
    );
    for (suffix, _) in reqtrack::DEFAULT_BUCKETS {
        assert!(help(suffix).is_some(), "{suffix}");
    }
}

#[test]
fn every_per_model_histogram_carries_only_the_model_label() {
    let r = record(|| {
        full_request(&metrics(), Instant::now());
    });
    for (suffix, _) in reqtrack::DEFAULT_BUCKETS {
        let expected = if *suffix == names::TOKENIZER_LATENCY_MS {
            vec![
                vec![("operation".to_owned(), "detokenize".to_owned())],
                vec![("operation".to_owned(), "tokenize".to_owned())],
            ]
        } else {
            vec![vec![("model".to_owned(), MODEL.to_owned())]]
        };
        assert_eq!(r.label_sets(suffix), expected, "{suffix}");
    }
}
