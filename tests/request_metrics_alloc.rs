//! After the first request of a model (and of a label set), a request's metrics allocate
//! nothing: not the guard, not a chunk, not the end-of-request observation, not a disconnect.
//!
//! Counted with a global counting allocator (per thread) under a recorder whose handles never
//! allocate (a real exporter may allocate inside its own storage, e.g. the Prometheus
//! exporter's histogram blocks; that is the exporter's cost, measured in
//! `benches/request_metrics.rs`). The recorder tallies what it receives, so the test also
//! shows the observations really happened.

#![cfg(not(reqtrack_model))]

use reqtrack::{
    Endpoint, ErrorType, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker, RequestType,
};
use reqtrack_check::alloc::{CountingAlloc, allocations};
use reqtrack_check::recorder::TallyRecorder;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// A model's metrics built for `recorder`: used below outside any `with_local_recorder` scope.
fn model_metrics(recorder: &Arc<TallyRecorder>) -> Arc<ModelMetrics> {
    Arc::new(ModelMetrics::with_recorder(
        &Prefix::default(),
        "llama",
        recorder.clone(),
    ))
}

fn tracker(t0: Instant) -> Arc<RequestTracker> {
    let t = Arc::new(RequestTracker::with_received_at(t0, 0));
    t.record_prefill_start_at(t0 + Duration::from_millis(1));
    t.record_kv_hit(1, 2);
    t.record_isl(64, 32);
    t.record_tokenize_latency(Duration::from_micros(10));
    t.record_detokenize_latency(Duration::from_micros(1));
    t
}

fn guard(m: &Arc<ModelMetrics>, t: &Arc<RequestTracker>) -> RequestGuard {
    RequestGuard::new(
        m.clone(),
        t.clone(),
        Endpoint::ChatCompletions,
        RequestType::Stream,
    )
}

/// One streamed request: 1 + 20 chunks of 3 tokens, then `end`.
fn streamed(m: &Arc<ModelMetrics>, t: &Arc<RequestTracker>, t0: Instant, outcome: Outcome) {
    let mut s = guard(m, t).into_stream();
    for i in 0..21 {
        s.observe_chunk(3, t0 + Duration::from_millis(10 + i));
    }
    t.record_migration();
    s.finish(outcome);
}

#[test]
fn after_the_first_request_of_a_model_nothing_allocates() {
    let recorder = Arc::new(TallyRecorder::default());
    let t0 = Instant::now();
    let m = model_metrics(&recorder);
    streamed(&m, &tracker(t0), t0, Outcome::Success); // first request: registers its series
    let registered = recorder.registered();

    let t = tracker(t0);
    let (g, at_start) = allocations(|| guard(&m, &t));
    let mut s = g.into_stream();
    let ((), first_chunk) = allocations(|| {
        s.observe_chunk(2, t0 + Duration::from_millis(10));
    });
    let samples = recorder.histograms.get();
    let ((), per_chunk) = allocations(|| {
        for i in 0..1000 {
            s.observe_chunk(1 + i % 4, t0 + Duration::from_millis(11 + i as u64));
        }
    });
    let itl_samples = recorder.histograms.get() - samples;
    let ((), at_end) = allocations(|| s.finish(Outcome::Success));

    assert_eq!((at_start, first_chunk, per_chunk, at_end), (0, 0, 0, 0));
    assert_eq!(recorder.registered(), registered, "no registry lookup");
    // The chunks really reached the recorder: 1 + 2 + 3 + 4 samples per 4 chunks.
    assert_eq!(itl_samples, 2500);
}

#[test]
fn after_the_first_chunk_of_a_model_a_chunk_neither_allocates_nor_looks_up() {
    let recorder = Arc::new(TallyRecorder::default());
    let t0 = Instant::now();
    let m = model_metrics(&recorder);
    let mut s = guard(&m, &tracker(t0)).into_stream();
    s.observe_chunk(1, t0 + Duration::from_millis(10)); // the model's first chunk
    let registered = recorder.registered();
    let ((), n) = allocations(|| {
        for i in 0..100 {
            s.observe_chunk(2, t0 + Duration::from_millis(11 + i));
        }
    });
    assert_eq!((n, recorder.registered()), (0, registered));
    s.finish(Outcome::Success);
}

#[test]
fn an_outcome_allocates_only_at_the_first_use_of_its_label_set() {
    let recorder = Arc::new(TallyRecorder::default());
    let t0 = Instant::now();
    let m = model_metrics(&recorder);
    let overload = Outcome::Error(ErrorType::Overload);
    let (t1, t2) = (tracker(t0), tracker(t0));
    let ((), first) = allocations(|| streamed(&m, &t1, t0, overload));
    let ((), second) = allocations(|| streamed(&m, &t2, t0, overload));
    assert!(first > 0, "the first use registers its series");
    assert_eq!(second, 0);
}

#[test]
fn a_disconnect_allocates_nothing_after_its_first() {
    let recorder = Arc::new(TallyRecorder::default());
    let t0 = Instant::now();
    let m = model_metrics(&recorder);
    let disconnect = |t: &Arc<RequestTracker>| {
        let mut s = guard(&m, t).into_stream();
        s.observe_chunk(1, t0 + Duration::from_millis(5));
        drop(s);
    };
    disconnect(&tracker(t0));
    let t = tracker(t0);
    let ((), n) = allocations(|| disconnect(&t));
    assert_eq!(n, 0);
    assert!(t.total_time_ms().is_some());
}

#[test]
fn new_keeps_its_handles_from_a_local_recorder_set_at_first_use() {
    // `ModelMetrics::new`: the facade's recorder at first use, here a thread-local one.
    let recorder = TallyRecorder::default();
    let t0 = Instant::now();
    metrics::with_local_recorder(&recorder, || {
        let m = Arc::new(ModelMetrics::new(&Prefix::default(), "llama"));
        streamed(&m, &tracker(t0), t0, Outcome::Success);
        let t = tracker(t0);
        let ((), n) = allocations(|| streamed(&m, &t, t0, Outcome::Success));
        assert_eq!(n, 0);
    });
}
