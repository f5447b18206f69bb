//! The lock-based reference tracker, rebuilt as its authors wrote it, for side-by-side
//! benchmarks: `OnceLock` stamps, `parking_lot::Mutex` for the finish and the phase, a
//! one-permit `Arc<tokio::sync::Semaphore>` handed out as an `OwnedSemaphorePermit`, and the
//! three gauges as `prometheus` `GaugeVec` / `IntGaugeVec` statics set through
//! `with_label_values` with per-call `to_string()` labels. Its fastest honest form: no extra
//! work, the same clock reads, the same JSON types.

#![allow(dead_code)]

use parking_lot::Mutex;
use prometheus::{GaugeVec, IntGaugeVec, Opts, Registry};
use reqtrack::{RequestPhase, TimingInfo, WorkerIdInfo};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub const WORKER_TYPE_PREFILL: &str = "prefill";
pub const WORKER_TYPE_DECODE: &str = "decode";
const UNSET_DP_RANK_LABEL: &str = "none";
const LABELS: &[&str] = &["worker_id", "dp_rank", "worker_type"];

pub static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

fn gauge_vec(name: &str, help: &str) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help), LABELS).expect("valid gauge");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("registered once");
    g
}

pub static TTFT: LazyLock<GaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "dynamo_frontend_worker_last_time_to_first_token_seconds",
        "Last TTFT per worker",
    )
});
pub static ITL: LazyLock<GaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "dynamo_frontend_worker_last_inter_token_latency_seconds",
        "Last ITL per worker",
    )
});
pub static ISL: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    let g = IntGaugeVec::new(
        Opts::new(
            "dynamo_frontend_worker_last_input_sequence_tokens",
            "Last ISL per worker",
        ),
        LABELS,
    )
    .expect("valid gauge");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("registered once");
    g
});

#[derive(Debug)]
pub struct RefTracker {
    request_received: Instant,
    request_received_epoch_ms: u64,
    prefill_start_time: OnceLock<Instant>,
    first_token_time: OnceLock<Instant>,
    decode_first_token_time: OnceLock<Instant>,
    request_finish_time: Mutex<Option<Instant>>,
    kv_overlap_blocks: OnceLock<u32>,
    isl_blocks: OnceLock<usize>,
    isl_tokens: OnceLock<usize>,
    cached_tokens: OnceLock<usize>,
    osl_tokens: AtomicU64,
    prefill_worker_id: OnceLock<u64>,
    prefill_dp_rank: OnceLock<u32>,
    decode_worker_id: OnceLock<u64>,
    decode_dp_rank: OnceLock<u32>,
    prefill_worker_type: OnceLock<&'static str>,
    decode_worker_type: OnceLock<&'static str>,
    phase: Mutex<RequestPhase>,
    phase_semaphore: Arc<Semaphore>,
    tokenize_latency: OnceLock<Duration>,
    detokenize_total_ns: AtomicU64,
    detokenize_count: AtomicU64,
    router_queue_depth: OnceLock<usize>,
    prefill_complete_time: OnceLock<Instant>,
}

impl Default for RefTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl RefTracker {
    pub fn new() -> Self {
        let now = Instant::now();
        let epoch_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Self {
            request_received: now,
            request_received_epoch_ms: epoch_ms,
            prefill_start_time: OnceLock::new(),
            first_token_time: OnceLock::new(),
            decode_first_token_time: OnceLock::new(),
            request_finish_time: Mutex::new(None),
            kv_overlap_blocks: OnceLock::new(),
            isl_blocks: OnceLock::new(),
            isl_tokens: OnceLock::new(),
            cached_tokens: OnceLock::new(),
            osl_tokens: AtomicU64::new(0),
            prefill_worker_id: OnceLock::new(),
            prefill_dp_rank: OnceLock::new(),
            decode_worker_id: OnceLock::new(),
            decode_dp_rank: OnceLock::new(),
            prefill_worker_type: OnceLock::new(),
            decode_worker_type: OnceLock::new(),
            phase: Mutex::new(RequestPhase::Aggregated),
            phase_semaphore: Arc::new(Semaphore::new(1)),
            tokenize_latency: OnceLock::new(),
            detokenize_total_ns: AtomicU64::new(0),
            detokenize_count: AtomicU64::new(0),
            router_queue_depth: OnceLock::new(),
            prefill_complete_time: OnceLock::new(),
        }
    }

    pub fn record_prefill_start(&self) -> bool {
        self.prefill_start_time.set(Instant::now()).is_ok()
    }

    pub fn record_first_token(&self) -> bool {
        self.first_token_time.set(Instant::now()).is_ok()
    }

    pub fn record_decode_first_token(&self) -> bool {
        self.decode_first_token_time.set(Instant::now()).is_ok()
    }

    pub fn record_prefill_complete(&self) -> bool {
        self.prefill_complete_time.set(Instant::now()).is_ok()
    }

    pub fn record_finish(&self) {
        self.record_finish_at(Instant::now());
    }

    /// `record_finish` with the instant given (not the reference's API: the benches use it to
    /// time the finish slot without the clock read, which dominates `record_finish`).
    pub fn record_finish_at(&self, t: Instant) {
        *self.request_finish_time.lock() = Some(t);
    }

    pub fn record_kv_hit(&self, overlap_blocks: u32, isl_blocks: usize) -> bool {
        let overlap_set = self.kv_overlap_blocks.set(overlap_blocks).is_ok();
        let isl_set = self.isl_blocks.set(isl_blocks).is_ok();
        overlap_set && isl_set
    }

    pub fn record_isl(&self, isl_tokens: usize, cached_tokens: usize) {
        let _ = self.isl_tokens.set(isl_tokens);
        let _ = self.cached_tokens.set(cached_tokens);
    }

    pub fn isl_tokens(&self) -> Option<usize> {
        self.isl_tokens.get().copied()
    }

    pub fn record_osl(&self, osl: usize) {
        self.osl_tokens.store(osl as u64, Ordering::Relaxed);
    }

    /// A block boundary the reference's way: the two separate calls its callers make (it has
    /// no combined call), so the benches compare the same work.
    pub fn record_osl_and_finish(&self, osl: usize) {
        self.record_osl(osl);
        self.record_finish();
    }

    pub fn prefill_wait_time_ms(&self) -> Option<f64> {
        self.prefill_start_time
            .get()
            .map(|t| t.duration_since(self.request_received).as_secs_f64() * 1000.0)
    }

    pub fn prefill_time_ms(&self) -> Option<f64> {
        let start = self.prefill_start_time.get()?;
        let first = self.first_token_time.get()?;
        Some(first.duration_since(*start).as_secs_f64() * 1000.0)
    }

    pub fn ttft_ms(&self) -> Option<f64> {
        self.first_token_time
            .get()
            .map(|t| t.duration_since(self.request_received).as_secs_f64() * 1000.0)
    }

    pub fn total_time_ms(&self) -> Option<f64> {
        let finish = (*self.request_finish_time.lock())?;
        Some(finish.duration_since(self.request_received).as_secs_f64() * 1000.0)
    }

    pub fn avg_itl_ms(&self) -> Option<f64> {
        let first = *self.first_token_time.get()?;
        let finish = (*self.request_finish_time.lock())?;
        let osl = self.osl_tokens.load(Ordering::Relaxed);
        if osl < 2 {
            return None;
        }
        Some(finish.duration_since(first).as_secs_f64() * 1000.0 / (osl - 1) as f64)
    }

    pub fn kv_hit_rate(&self) -> Option<f64> {
        let overlap = *self.kv_overlap_blocks.get()?;
        let isl = *self.isl_blocks.get()?;
        if isl == 0 {
            return None;
        }
        Some(overlap as f64 / isl as f64)
    }

    pub async fn set_phase(&self, phase: RequestPhase) -> OwnedSemaphorePermit {
        let permit = self
            .phase_semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("phase semaphore should never be closed");
        *self.phase.lock() = phase;
        permit
    }

    pub fn phase(&self) -> RequestPhase {
        *self.phase.lock()
    }

    fn record_once<T: Copy + PartialEq>(slot: &OnceLock<T>, value: T) {
        if slot.get().is_some() {
            return;
        }
        let _ = slot.set(value);
    }

    fn record_prefill_worker(&self, id: u64, rank: Option<u32>, ty: &'static str) {
        Self::record_once(&self.prefill_worker_id, id);
        if let Some(rank) = rank {
            Self::record_once(&self.prefill_dp_rank, rank);
        }
        Self::record_once(&self.prefill_worker_type, ty);
    }

    fn record_decode_worker(&self, id: u64, rank: Option<u32>, ty: &'static str) {
        Self::record_once(&self.decode_worker_id, id);
        if let Some(rank) = rank {
            Self::record_once(&self.decode_dp_rank, rank);
        }
        Self::record_once(&self.decode_worker_type, ty);
    }

    pub fn record_worker(&self, id: u64, rank: Option<u32>, ty: &'static str) {
        match self.phase() {
            RequestPhase::Prefill => self.record_prefill_worker(id, rank, ty),
            RequestPhase::Decode => self.record_decode_worker(id, rank, ty),
            RequestPhase::Aggregated => {
                self.record_prefill_worker(id, rank, ty);
                self.record_decode_worker(id, rank, ty);
            }
        }
    }

    pub fn record_tokenize_latency(&self, l: Duration) {
        let _ = self.tokenize_latency.set(l);
    }

    pub fn record_detokenize_latency(&self, l: Duration) {
        let delta_ns = u64::try_from(l.as_nanos()).unwrap_or(u64::MAX);
        let _ = self.detokenize_total_ns.fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            |current| Some(current.saturating_add(delta_ns)),
        );
        self.detokenize_count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn record_router_queue_depth(&self, depth: usize) {
        let _ = self.router_queue_depth.set(depth);
    }

    pub fn router_queue_depth(&self) -> Option<usize> {
        self.router_queue_depth.get().copied()
    }

    pub fn get_worker_info(&self) -> Option<WorkerIdInfo> {
        let prefill = self.prefill_worker_id.get().copied();
        let decode = self.decode_worker_id.get().copied();
        if prefill.is_none() && decode.is_none() {
            return None;
        }
        Some(WorkerIdInfo {
            prefill_worker_id: prefill,
            prefill_dp_rank: self.prefill_dp_rank.get().copied(),
            decode_worker_id: decode,
            decode_dp_rank: self.decode_dp_rank.get().copied(),
        })
    }

    pub fn observe_first_token_gauges(&self) {
        let Some(worker_id) = self.prefill_worker_id.get().copied() else {
            return;
        };
        let worker_id_str = worker_id.to_string();
        let dp_rank_str = self
            .prefill_dp_rank
            .get()
            .map_or(UNSET_DP_RANK_LABEL.to_string(), |r| r.to_string());
        let worker_type = self
            .prefill_worker_type
            .get()
            .copied()
            .unwrap_or(WORKER_TYPE_PREFILL);
        let labels = &[worker_id_str.as_str(), dp_rank_str.as_str(), worker_type];
        if let Some(ttft) = self.ttft_ms() {
            TTFT.with_label_values(labels).set(ttft / 1000.0);
        }
        if let Some(isl) = self.isl_tokens() {
            ISL.with_label_values(labels).set(isl as i64);
        }
    }

    pub fn observe_finish_gauges(&self) {
        let Some(worker_id) = self.decode_worker_id.get().copied() else {
            return;
        };
        let worker_id_str = worker_id.to_string();
        let dp_rank_str = self
            .decode_dp_rank
            .get()
            .map_or(UNSET_DP_RANK_LABEL.to_string(), |r| r.to_string());
        let worker_type = self
            .decode_worker_type
            .get()
            .copied()
            .unwrap_or(WORKER_TYPE_DECODE);
        let labels = &[worker_id_str.as_str(), dp_rank_str.as_str(), worker_type];
        if let Some(itl) = self.avg_itl_ms() {
            ITL.with_label_values(labels).set(itl / 1000.0);
        }
    }

    /// Newest Dynamo's estimate: `decode_first_token_time - prefill_complete_time`.
    pub fn kv_transfer_estimated_latency_secs(&self) -> Option<f64> {
        let first = self.decode_first_token_time.get()?;
        let complete = self.prefill_complete_time.get()?;
        Some(first.saturating_duration_since(*complete).as_secs_f64())
    }

    pub fn get_timing_info(&self) -> TimingInfo {
        TimingInfo {
            request_received_ms: self.request_received_epoch_ms,
            prefill_wait_time_ms: self.prefill_wait_time_ms(),
            prefill_time_ms: self.prefill_time_ms(),
            ttft_ms: self.ttft_ms(),
            total_time_ms: self.total_time_ms(),
            kv_hit_rate: self.kv_hit_rate(),
            router_queue_depth: self.router_queue_depth(),
            kv_transfer_estimated_latency_ms: self
                .kv_transfer_estimated_latency_secs()
                .map(|s| s * 1000.0),
        }
    }
}
