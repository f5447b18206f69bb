//! One simulated request, tracked the way a production router tracks it.

use crate::cluster::Cluster;
use crate::meter::Meter;
use reqtrack::{
    NvExtResponse, RequestPhase, RequestTracker, WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::sleep;

/// Tokens per KV block: osl and finish are recorded at each block boundary.
pub const BLOCK: usize = 16;
/// Tokens per KV-cache block used for the hit rate.
const KV_BLOCK_TOKENS: usize = 64;

/// What the router reports about a finished request.
#[derive(Debug)]
pub struct Done {
    pub ttft_ms: f64,
    pub itl_ms: Option<f64>,
    pub total_ms: f64,
    pub kv_hit_rate: Option<f64>,
    pub conflicts: u32,
    pub tracker_ns: u64,
    pub nvext_json: String,
}

/// Serves request `n` end to end.
pub async fn serve(n: u64, seed: u64, cluster: Arc<Cluster>) -> Done {
    let mut rng = fastrand::Rng::with_seed(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut meter = Meter::default();
    let tracker = Arc::new(meter.time(RequestTracker::new));

    // Tokenize.
    let isl_tokens = rng.usize(128..4096);
    let tokenize = Duration::from_nanos(isl_tokens as u64 * rng.u64(30..60));
    meter.time(|| tracker.record_tokenize_latency(tokenize));

    // Route: pick the prefill worker with the best prefix overlap, and a dp rank.
    let depth = cluster.enter_queue();
    let isl_blocks = isl_tokens.div_ceil(KV_BLOCK_TOKENS);
    let (prefill_worker, overlap) = cluster.route_prefill(&mut rng, isl_blocks);
    let prefill_rank = rng.u32(0..cluster.dp_ranks);
    let cached_tokens = (overlap * KV_BLOCK_TOKENS).min(isl_tokens);
    meter.time(|| {
        tracker.record_router_queue_depth(depth);
        tracker.record_kv_hit(overlap as u32, isl_blocks);
        tracker.record_isl(isl_tokens, cached_tokens);
    });
    cluster.leave_queue();

    // Prefill runs in the background; its task owns the phase permit until it has recorded
    // its worker, so the decode phase below cannot start routing before that.
    let permit = tracker.set_phase_owned(RequestPhase::Prefill).await;
    let uncached = isl_tokens - cached_tokens;
    let prefill = tokio::spawn(async move {
        let mut meter = Meter::default();
        let t = Arc::clone(permit.tracker());
        meter.time(|| t.record_worker_full(prefill_worker, prefill_rank, WORKER_TYPE_PREFILL));
        drop(permit);
        meter.time(|| t.record_prefill_start());
        // Prefill time grows with the uncached prompt.
        sleep(Duration::from_micros(500 + uncached as u64 * 3)).await;
        meter.time(|| {
            t.record_first_token();
            t.record_prefill_complete();
        });
        meter
    });

    // Decode: waits for the prefill task's permit, then records its own worker.
    let decode_worker = cluster.route_decode(&mut rng);
    let decode_rank = rng.u32(0..cluster.dp_ranks);
    let permit = tracker.set_phase(RequestPhase::Decode).await;
    meter.time(|| tracker.record_worker_full(decode_worker, decode_rank, WORKER_TYPE_DECODE));
    drop(permit);
    let prefill_meter = prefill.await.expect("prefill task");
    meter.add(&prefill_meter);

    // KV transfer, then the token stream.
    sleep(Duration::from_micros(rng.u64(200..800))).await;
    meter.time(|| {
        tracker.record_decode_first_token();
        tracker.record_first_token(); // ignored: prefill's first token is kept
        tracker.observe_first_token_gauges();
    });
    let osl = rng.usize(32..512);
    let itl_us = rng.u64(150..300);
    let mut produced = 1;
    while produced < osl {
        let block = BLOCK.min(osl - produced);
        sleep(Duration::from_micros(itl_us * block as u64)).await;
        for _ in 0..block {
            let detok = Duration::from_nanos(rng.u64(800..4000));
            meter.time(|| tracker.record_detokenize_latency(detok));
        }
        produced += block;
        meter.time(|| {
            tracker.record_osl_and_finish(produced);
            tracker.observe_finish_gauges();
        });
    }

    let (nvext, ttft, itl, total, rate, conflicts) = meter.time(|| {
        let nvext = NvExtResponse::from_tracker(&tracker, true, true);
        (
            nvext,
            tracker.ttft_ms(),
            tracker.avg_itl_ms(),
            tracker.total_time_ms(),
            tracker.kv_hit_rate(),
            tracker.worker_conflicts(),
        )
    });
    Done {
        ttft_ms: ttft.unwrap_or_default(),
        itl_ms: itl,
        total_ms: total.unwrap_or_default(),
        kv_hit_rate: rate,
        conflicts,
        tracker_ns: meter.nanos(),
        nvext_json: serde_json::to_string(&nvext).expect("nvext serialises"),
    }
}
