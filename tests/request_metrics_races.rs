//! Request metrics read while other threads still write the tracker: each end-of-request sample
//! must come from one consistent read.

#![cfg(not(reqtrack_model))]

#[path = "request_metrics_common/mod.rs"]
mod common;

use common::{metrics, record, request};
use reqtrack::{Endpoint, Outcome, RequestGuard, RequestType, names};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Samples a writer records while the reader observes; every one is 1 µs, so the exact
/// average is 1 µs whatever moment the reader sees. Far below the packed counter's limits
/// (2^23 samples, 2^39 ns), so the slot stays packed and one load reads sum and count.
const SAMPLES: u32 = 2_000_000;

/// Whether `avg_ms` is 1 µs up to the rounding of `nanos / 1e6` and one division (a sum and a
/// count from two moments are off by at least one sample in the count: 1 part in 2 million).
fn is_one_microsecond(avg_ms: f64) -> bool {
    (avg_ms - 0.001).abs() <= 0.001 * 1e-9
}

#[test]
fn the_detokenize_average_mixes_a_total_and_a_count_from_two_moments() {
    let t0 = Instant::now();
    let writing = AtomicBool::new(true);
    let mut ends = 0u32;
    let r = record(|| {
        let m = metrics();
        let (t, g) = request(&m, t0);
        drop(g.into_stream());
        t.record_detokenize_latency(Duration::from_micros(1));
        std::thread::scope(|s| {
            s.spawn(|| {
                for _ in 0..SAMPLES {
                    t.record_detokenize_latency(Duration::from_micros(1));
                }
                writing.store(false, Ordering::Relaxed);
            });
            // Each guard ends once, reading the tracker's detokenize figures while they grow.
            while writing.load(Ordering::Relaxed) {
                RequestGuard::new(
                    m.clone(),
                    t.clone(),
                    Endpoint::ChatCompletions,
                    RequestType::Stream,
                )
                .finish(Outcome::Success);
                ends += 1;
            }
        });
    });
    let averages = r.samples(names::TOKENIZER_LATENCY_MS, &[("operation", "detokenize")]);
    assert_eq!(averages.len(), ends as usize);
    let torn: Vec<_> = averages
        .iter()
        .filter(|&&a| !is_one_microsecond(a))
        .collect();
    assert!(
        torn.is_empty(),
        "{} of {} averages are not 1 µs, e.g. {:?}",
        torn.len(),
        averages.len(),
        &torn[..torn.len().min(5)]
    );
}
