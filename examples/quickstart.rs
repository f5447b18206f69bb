//! Track one simulated disaggregated request end to end and print its nvext JSON.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use reqtrack::{
    NvExtResponse, RequestPhase, RequestTracker, WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The HTTP layer read the clock when the request arrived.
    let t0 = Instant::now();
    let tracker = Arc::new(RequestTracker::with_received_at(t0, 1_700_000_000_000));
    let ms = move |n: u64| t0 + Duration::from_millis(n);

    tracker.record_tokenize_latency(Duration::from_micros(420));
    tracker.record_router_queue_depth(2);
    tracker.record_kv_hit(12, 16); // 12 of 16 prompt blocks cached
    tracker.record_isl(1024, 768);

    // Prefill is routed in the background: its task owns the permit until it has recorded.
    let permit = tracker.set_phase_owned(RequestPhase::Prefill).await;
    let prefill = tokio::spawn(async move {
        permit
            .tracker()
            .record_worker_full(7, 0, WORKER_TYPE_PREFILL);
        permit.tracker().record_prefill_start_at(ms(3));
        permit.tracker().record_first_token_at(ms(41));
        permit.tracker().record_prefill_complete_at(ms(42));
        // dropping `permit` lets the decode phase in
    });

    // Decode waits for the prefill task's permit, then records its own worker.
    let permit = tracker.set_phase(RequestPhase::Decode).await;
    tracker.record_worker(9, Some(1), WORKER_TYPE_DECODE);
    drop(permit);
    prefill.await.expect("prefill task");

    tracker.record_decode_first_token_at(ms(45));
    tracker.record_first_token_at(ms(45)); // ignored: prefill's first token is kept
    for token in 1..=64u64 {
        tracker.record_detokenize_latency(Duration::from_micros(2));
        if token % 16 == 0 {
            // osl and finish as one value at each KV block boundary.
            tracker.record_osl_and_finish_at(token as usize, ms(45 + token * 8));
        }
    }
    tracker.observe_first_token_gauges();
    tracker.observe_finish_gauges();

    // The client opted in to both with `"nvext": {"extra_fields": ["timing", "worker_id"]}`.
    let nvext = NvExtResponse::from_tracker(&tracker, true, true);
    println!(
        "{}",
        serde_json::to_string_pretty(&nvext).expect("serialisable")
    );
    println!(
        "avg ITL: {:.3} ms",
        tracker.avg_itl_ms().unwrap_or_default()
    );
    println!(
        "snapshot: {}",
        serde_json::to_string(&tracker.snapshot()).expect("serialisable")
    );
}
