//! `RequestTracker`: a thin composition of the slot kinds, one per recorded value.
//!
//! | slot | kind | kept value |
//! |---|---|---|
//! | prefill start, first token, decode first token, prefill complete | [`OnceStamp`] | first write |
//! | finish | [`LatestStamp`] | largest offset (monotonic max) |
//! | `(overlap_blocks, isl_blocks)`, `(cached_tokens, isl_tokens)` | [`PackedPair`] | first valid write |
//! | osl | `AtomicU64` | last write |
//! | prefill worker, decode worker | [`WorkerSlot`] | first write; rank fill-in; conflicts counted |
//! | tokenize latency, router queue depth | [`OnceStamp`] | first write |
//! | detokenize latency | [`LatencySum`] | saturating sum + count |
//! | phase | [`PhaseGate`] | as set by the last permit holder |
//!
//! # Orderings of the tracker's own atomics
//!
//! * `osl`: `Relaxed` store and load. It is a last-write counter; the writer records osl
//!   *before* the finish at a block boundary, and the finish's `Release` (paired with the
//!   reader's `Acquire` load of the finish, which readers take first) carries it.
//!
//! Worker conflicts are counted inside each worker slot's own word (see `worker_slot`), so
//! `worker_conflicts()` is the sum of the two slots' counts.
//!
//! Readers that combine slots read the finish first, then the first token, then osl: a finish
//! recorded after the first token (the normal order) is then never seen without it.
//!
//! [`OnceStamp`]: crate::once_stamp
//! [`LatestStamp`]: crate::latest_stamp
//! [`PackedPair`]: crate::packed_pair
//! [`WorkerSlot`]: crate::worker_slot
//! [`LatencySum`]: crate::latency_sum
//! [`PhaseGate`]: crate::phase_gate

use crate::clock::{MAX_NANOS, nanos_saturating, offset_since, span_ms};
use crate::gauges::{WorkerGauge, set_worker_gauges};
use crate::latency_sum::LatencySum;
use crate::latest_stamp::LatestStamp;
use crate::once_stamp::OnceStamp;
use crate::packed_pair::{PackedPair, PairRejected};
use crate::permit::{OwnedPhasePermit, PhasePermit};
use crate::phase::RequestPhase;
use crate::phase_gate::PhaseGate;
use crate::snapshot::RequestSnapshot;
use crate::sync::{AtomicU64, Ordering};
use crate::timing::{TimingInfo, WorkerIdInfo};
use crate::worker::{WorkerInfo, WorkerType};
use crate::worker_slot::WorkerSlot;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The lifecycle of one LLM-serving request, recorded without locks or allocation.
///
/// Create one per request (usually in an [`Arc`]), write it from any task, read it on every
/// streamed chunk. Every write is one or two atomic operations; no call waits for another
/// thread except [`set_phase`](Self::set_phase), which waits for the phase permit by design.
///
/// ```
/// use reqtrack::{RequestPhase, RequestTracker, WORKER_TYPE_DECODE};
/// use std::time::{Duration, Instant};
///
/// let t0 = Instant::now();
/// let tracker = RequestTracker::with_received_at(t0, 1_700_000_000_000);
/// tracker.record_worker(42, Some(0), WORKER_TYPE_DECODE); // Aggregated: both slots
/// tracker.record_prefill_start_at(t0 + Duration::from_millis(2));
/// tracker.record_first_token_at(t0 + Duration::from_millis(12));
/// tracker.record_osl(11);
/// tracker.record_finish_at(t0 + Duration::from_millis(112));
///
/// assert_eq!(tracker.ttft_ms(), Some(12.0));
/// assert_eq!(tracker.avg_itl_ms(), Some(10.0));
/// assert_eq!(tracker.phase(), RequestPhase::Aggregated);
/// assert_eq!(tracker.get_worker_info().unwrap().decode_worker_id, Some(42));
/// ```
///
/// # Layout
///
/// 192 bytes, three cache lines grouped by who writes them: stamps written once and read on
/// every chunk; the finish, pairs and phase (written per block or per phase); and the
/// per-token detokenize counters with the rarely read fields. The per-token writes of the
/// stream therefore never invalidate the line a chunk reader needs.
#[repr(C, align(64))]
pub struct RequestTracker {
    // ---- line 1: written once, read on every chunk --------------------------------------
    /// Monotonic base; every stored instant is a nanosecond offset from it.
    base: Instant,
    /// Wall clock at arrival, ms since the Unix epoch. Written once in the constructor.
    received_epoch_ms: u64,
    prefill_start: OnceStamp,
    first_token: OnceStamp,
    decode_first_token: OnceStamp,
    prefill_complete: OnceStamp,
    router_queue_depth: OnceStamp,
    // ---- line 2: written per block or per phase, read on every chunk --------------------
    finish: LatestStamp,
    /// `(overlap_blocks, isl_blocks)`.
    kv_hit: PackedPair,
    /// `(cached_tokens, isl_tokens)`.
    isl: PackedPair,
    gate: PhaseGate,
    // ---- line 3: written per token (detokenize), rarely read ----------------------------
    detokenize: LatencySum,
    /// Output tokens so far; last write wins.
    osl: AtomicU64,
    /// Tokenize latency, nanoseconds.
    tokenize: OnceStamp,
    prefill_worker: WorkerSlot,
    decode_worker: WorkerSlot,
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1_000_000.0
}

/// `(finish - first) / (osl - 1)` in ms; `None` without both stamps or with `osl < 2`.
#[inline]
fn avg_itl(first: Option<u64>, finish: Option<u64>, osl: u64) -> Option<f64> {
    match (first, finish) {
        (Some(first), Some(finish)) if osl >= 2 => Some(span_ms(first, finish) / (osl - 1) as f64),
        _ => None,
    }
}

/// Prefill start to first token in ms; `None` without both.
#[inline]
fn prefill_time(start: Option<u64>, first: Option<u64>) -> Option<f64> {
    start.zip(first).map(|(s, f)| span_ms(s, f))
}

/// `overlap / isl_blocks`; `None` for an empty prompt.
#[inline]
fn hit_rate((overlap, isl): (u64, u64)) -> Option<f64> {
    (isl != 0).then(|| overlap as f64 / isl as f64)
}

impl RequestTracker {
    /// A tracker for a request received now (one monotonic and one wall-clock read; no
    /// allocation).
    #[inline]
    pub fn new() -> Self {
        // `as_secs() * 1000 + subsec_millis()` rather than `as_millis()`: the same value
        // without a 128-bit division (measured: ~10 ns of `new()`'s cost).
        let epoch_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| {
            d.as_secs().saturating_mul(1000) + u64::from(d.subsec_millis())
        });
        Self::with_received_at(Instant::now(), epoch_ms)
    }

    /// A tracker for a request received at `received` (monotonic) / `received_epoch_ms` (wall
    /// clock, ms since the Unix epoch), e.g. when the HTTP layer already read both clocks.
    #[inline]
    pub fn with_received_at(received: Instant, received_epoch_ms: u64) -> Self {
        Self {
            base: received,
            received_epoch_ms,
            prefill_start: OnceStamp::new(),
            first_token: OnceStamp::new(),
            decode_first_token: OnceStamp::new(),
            prefill_complete: OnceStamp::new(),
            finish: LatestStamp::new(),
            kv_hit: PackedPair::new(),
            isl: PackedPair::new(),
            osl: AtomicU64::new(0),
            tokenize: OnceStamp::new(),
            detokenize: LatencySum::new(),
            router_queue_depth: OnceStamp::new(),
            prefill_worker: WorkerSlot::new(),
            decode_worker: WorkerSlot::new(),
            gate: PhaseGate::new(),
        }
    }

    #[inline]
    fn offset(&self, t: Instant) -> u64 {
        offset_since(self.base, t)
    }

    // ---- timestamps -------------------------------------------------------------------

    /// Records prefill start now. `true` if this call set it (first write wins).
    #[inline]
    pub fn record_prefill_start(&self) -> bool {
        // Already set: skip the clock read (the later phase's call costs one load).
        !self.prefill_start.is_set() && self.record_prefill_start_at(Instant::now())
    }

    /// Records prefill start at `t` (an instant before the request clamps to offset 0).
    /// `true` if this call set it.
    #[inline]
    pub fn record_prefill_start_at(&self, t: Instant) -> bool {
        self.prefill_start.set(self.offset(t))
    }

    /// Records the first token now. `true` if this call set it: in disaggregated serving the
    /// prefill phase's first token is kept and the decode phase's later call returns `false`.
    #[inline]
    pub fn record_first_token(&self) -> bool {
        // Already set: skip the clock read (the later phase's call costs one load).
        !self.first_token.is_set() && self.record_first_token_at(Instant::now())
    }

    /// Records the first token at `t`. `true` if this call set it.
    #[inline]
    pub fn record_first_token_at(&self, t: Instant) -> bool {
        self.first_token.set(self.offset(t))
    }

    /// Records the decode worker's first token now (KV transfer estimate). `true` if this call
    /// set it.
    #[inline]
    pub fn record_decode_first_token(&self) -> bool {
        // Already set: skip the clock read (the later phase's call costs one load).
        !self.decode_first_token.is_set() && self.record_decode_first_token_at(Instant::now())
    }

    /// Records the decode worker's first token at `t`. `true` if this call set it.
    #[inline]
    pub fn record_decode_first_token_at(&self, t: Instant) -> bool {
        self.decode_first_token.set(self.offset(t))
    }

    /// Records when the prefill result reached the router, now. `true` if this call set it.
    #[inline]
    pub fn record_prefill_complete(&self) -> bool {
        // Already set: skip the clock read (the later phase's call costs one load).
        !self.prefill_complete.is_set() && self.record_prefill_complete_at(Instant::now())
    }

    /// Records when the prefill result reached the router, at `t`. `true` if this call set it.
    #[inline]
    pub fn record_prefill_complete_at(&self, t: Instant) -> bool {
        self.prefill_complete.set(self.offset(t))
    }

    /// Records a finish now. The finish is the latest one recorded; it never moves backwards.
    #[inline]
    pub fn record_finish(&self) {
        self.record_finish_at(Instant::now());
    }

    /// Records a finish at `t`; ignored if a later finish is already recorded.
    #[inline]
    pub fn record_finish_at(&self, t: Instant) {
        self.finish.record(self.offset(t));
    }

    // ---- counts ---------------------------------------------------------------------

    /// Records the KV cache hit `(overlap_blocks, isl_blocks)` once; the first valid write wins
    /// (prefill's routing is kept in disaggregated mode).
    ///
    /// Returns `true` if this call set it, `false` if it was already set **or the input is
    /// rejected**: `overlap_blocks > isl_blocks`, or `isl_blocks > 2^32 - 2`. A rejected write
    /// changes nothing and leaves the slot free. `(0, 0)` is accepted; its hit rate is `None`.
    /// Use [`try_record_kv_hit`](Self::try_record_kv_hit) to learn why a write was rejected.
    #[inline]
    pub fn record_kv_hit(&self, overlap_blocks: u32, isl_blocks: usize) -> bool {
        matches!(self.try_record_kv_hit(overlap_blocks, isl_blocks), Ok(true))
    }

    /// [`record_kv_hit`](Self::record_kv_hit) with the reason for a rejection.
    ///
    /// `Ok(true)`: set by this call; `Ok(false)`: already set; `Err(_)`: rejected.
    ///
    /// ```
    /// use reqtrack::{PairRejected, RequestTracker};
    /// let t = RequestTracker::new();
    /// assert_eq!(t.try_record_kv_hit(5, 4), Err(PairRejected::PartExceedsWhole));
    /// assert_eq!(t.try_record_kv_hit(3, 4), Ok(true));
    /// assert_eq!(t.try_record_kv_hit(1, 4), Ok(false));
    /// assert_eq!(t.kv_hit_rate(), Some(0.75));
    /// ```
    #[inline]
    pub fn try_record_kv_hit(
        &self,
        overlap_blocks: u32,
        isl_blocks: usize,
    ) -> Result<bool, PairRejected> {
        let whole = u64::try_from(isl_blocks).map_err(|_| PairRejected::TooLarge)?;
        self.kv_hit.set(u64::from(overlap_blocks), whole)
    }

    /// Records the prompt length and the cached share `(isl_tokens, cached_tokens)` once.
    ///
    /// Returns `true` if this call set it, `false` if it was already set **or the input is
    /// rejected**: `cached_tokens > isl_tokens`, or a count above `2^32 - 2`. A rejected write
    /// changes nothing and leaves the slot free.
    #[inline]
    pub fn record_isl(&self, isl_tokens: usize, cached_tokens: usize) -> bool {
        matches!(self.try_record_isl(isl_tokens, cached_tokens), Ok(true))
    }

    /// [`record_isl`](Self::record_isl) with the reason for a rejection.
    #[inline]
    pub fn try_record_isl(
        &self,
        isl_tokens: usize,
        cached_tokens: usize,
    ) -> Result<bool, PairRejected> {
        let whole = u64::try_from(isl_tokens).map_err(|_| PairRejected::TooLarge)?;
        let part = u64::try_from(cached_tokens).map_err(|_| PairRejected::TooLarge)?;
        self.isl.set(part, whole)
    }

    /// Prompt length in tokens, if recorded.
    #[inline]
    pub fn isl_tokens(&self) -> Option<usize> {
        self.isl.get().map(|(_, whole)| whole as usize)
    }

    /// Prompt tokens found in the KV cache, if recorded.
    #[inline]
    pub fn cached_tokens(&self) -> Option<usize> {
        self.isl.get().map(|(part, _)| part as usize)
    }

    /// Records the output length so far (last write wins; called at each block boundary).
    #[inline]
    pub fn record_osl(&self, osl: usize) {
        self.osl.store(osl as u64, Ordering::Relaxed);
    }

    /// Output tokens recorded so far (0 before any).
    #[inline]
    pub fn osl_tokens(&self) -> u64 {
        self.osl.load(Ordering::Relaxed)
    }

    // ---- derived timings ----------------------------------------------------------

    /// Received to prefill start, ms.
    #[inline]
    pub fn prefill_wait_time_ms(&self) -> Option<f64> {
        self.prefill_start.get().map(ms)
    }

    /// Prefill start to first token, ms (0 if the first token was recorded earlier).
    #[inline]
    pub fn prefill_time_ms(&self) -> Option<f64> {
        let first = self.first_token.get();
        prefill_time(self.prefill_start.get(), first)
    }

    /// Received to first token, ms.
    #[inline]
    pub fn ttft_ms(&self) -> Option<f64> {
        self.first_token.get().map(ms)
    }

    /// Received to the latest finish, ms.
    #[inline]
    pub fn total_time_ms(&self) -> Option<f64> {
        self.finish.get().map(ms)
    }

    /// Average inter-token latency, ms: `(finish - first token) / (osl - 1)`; `None` while
    /// either stamp is missing or `osl < 2`.
    #[inline]
    pub fn avg_itl_ms(&self) -> Option<f64> {
        // Finish first, then first token, then osl: the order the module docs require.
        let finish = self.finish.get();
        avg_itl(self.first_token.get(), finish, self.osl_tokens())
    }

    /// Decode worker's first token minus prefill complete, ms: an upper bound on KV transfer.
    #[inline]
    pub fn kv_transfer_estimated_latency_ms(&self) -> Option<f64> {
        let first = self.decode_first_token.get()?;
        let complete = self.prefill_complete.get()?;
        Some(span_ms(complete, first))
    }

    /// Wall clock at arrival, ms since the Unix epoch.
    #[inline]
    pub fn request_received_epoch_ms(&self) -> u64 {
        self.received_epoch_ms
    }

    /// `overlap_blocks / isl_blocks`, `0.0..=1.0`; `None` if unrecorded or `isl_blocks == 0`.
    #[inline]
    pub fn kv_hit_rate(&self) -> Option<f64> {
        hit_rate(self.kv_hit.get()?)
    }

    // ---- phase --------------------------------------------------------------------

    /// Waits until no phase permit is out, sets `phase`, and returns a permit; dropping it lets
    /// the next `set_phase` in. The phase stays as set after the permit drops.
    ///
    /// Dropping this future while it waits loses no wake-up for other waiters. The future is
    /// `Send`.
    ///
    /// **Calling `set_phase` while the same task holds a permit waits forever**, as in the
    /// reference: drop the permit first, or use [`try_set_phase`](Self::try_set_phase).
    pub async fn set_phase(&self, phase: RequestPhase) -> PhasePermit<'_> {
        self.gate.acquire(phase).await;
        PhasePermit::new(&self.gate)
    }

    /// [`set_phase`](Self::set_phase) with a permit that owns an `Arc` of the tracker, so it is
    /// `'static + Send` and can move into a spawned task. The future itself is `'static`.
    pub fn set_phase_owned(
        self: &Arc<Self>,
        phase: RequestPhase,
    ) -> impl Future<Output = OwnedPhasePermit> + Send + 'static {
        let this = Arc::clone(self);
        async move {
            this.gate.acquire(phase).await;
            OwnedPhasePermit::new(this)
        }
    }

    /// Sets `phase` and returns a permit if no permit is out; `None` otherwise (never waits).
    #[inline]
    pub fn try_set_phase(&self, phase: RequestPhase) -> Option<PhasePermit<'_>> {
        self.gate
            .try_acquire(phase)
            .then(|| PhasePermit::new(&self.gate))
    }

    /// The current phase; never waits.
    #[inline]
    pub fn phase(&self) -> RequestPhase {
        self.gate.phase()
    }

    pub(crate) fn gate(&self) -> &PhaseGate {
        &self.gate
    }

    // ---- workers ------------------------------------------------------------------

    /// [`record_worker`](Self::record_worker) with a known dp rank.
    #[inline]
    pub fn record_worker_full(&self, instance_id: u64, dp_rank: u32, worker_type: WorkerType) {
        self.record_worker(instance_id, Some(dp_rank), worker_type);
    }

    /// Records which worker serves the current phase: the prefill slot in `Prefill`, the decode
    /// slot in `Decode`, both in `Aggregated`.
    ///
    /// Each slot keeps its first `(instance_id, dp_rank, worker_type)` as one value. A later
    /// write with the same id and type that brings a rank where the slot had none fills the
    /// rank in. Any other different write changes nothing and counts one conflict per slot it
    /// hits ([`worker_conflicts`](Self::worker_conflicts)); an identical write is not a conflict.
    ///
    /// Atomicity: each slot's write is one atomic step, so a slot never holds a mixed triple.
    /// The call itself is three steps: read the phase, write the prefill slot, write the decode
    /// slot. Made by the phase permit's holder (the intended protocol) it is indistinguishable
    /// from one atomic step. Racing a phase change, or another `Aggregated` write of a
    /// different worker, each slot still ends with one whole triple and every conflict is
    /// counted, but the two slots may end with different writers' triples.
    #[inline]
    pub fn record_worker(&self, instance_id: u64, dp_rank: Option<u32>, worker_type: WorkerType) {
        let w = WorkerInfo {
            instance_id,
            dp_rank,
            worker_type,
        };
        // The slot counts its own conflicts; the outcome is not needed here.
        match self.phase() {
            RequestPhase::Prefill => {
                self.prefill_worker.write(w);
            }
            RequestPhase::Decode => {
                self.decode_worker.write(w);
            }
            RequestPhase::Aggregated => {
                self.prefill_worker.write(w);
                self.decode_worker.write(w);
            }
        }
    }

    /// Conflicting worker writes seen so far: one per slot a conflicting write hit (each slot
    /// counts up to `2^28 - 1`).
    #[inline]
    pub fn worker_conflicts(&self) -> u32 {
        self.prefill_worker.conflicts() + self.decode_worker.conflicts()
    }

    /// Prefill worker instance id.
    #[inline]
    pub fn prefill_worker_id(&self) -> Option<u64> {
        self.prefill_worker.get().map(|w| w.instance_id)
    }

    /// Prefill worker dp rank.
    #[inline]
    pub fn prefill_dp_rank(&self) -> Option<u32> {
        self.prefill_worker.get().and_then(|w| w.dp_rank)
    }

    /// Decode worker instance id.
    #[inline]
    pub fn decode_worker_id(&self) -> Option<u64> {
        self.decode_worker.get().map(|w| w.instance_id)
    }

    /// Decode worker dp rank.
    #[inline]
    pub fn decode_dp_rank(&self) -> Option<u32> {
        self.decode_worker.get().and_then(|w| w.dp_rank)
    }

    /// Prefill worker type.
    #[inline]
    pub fn prefill_worker_type(&self) -> Option<WorkerType> {
        self.prefill_worker.get().map(|w| w.worker_type)
    }

    /// Decode worker type.
    #[inline]
    pub fn decode_worker_type(&self) -> Option<WorkerType> {
        self.decode_worker.get().map(|w| w.worker_type)
    }

    /// `nvext.worker_id`, or `None` while neither worker is recorded. Each slot is read once,
    /// so an id and its rank always come from the same write.
    #[inline]
    pub fn get_worker_info(&self) -> Option<WorkerIdInfo> {
        let prefill = self.prefill_worker.get();
        let decode = self.decode_worker.get();
        if prefill.is_none() && decode.is_none() {
            return None;
        }
        Some(WorkerIdInfo {
            prefill_worker_id: prefill.map(|w| w.instance_id),
            prefill_dp_rank: prefill.and_then(|w| w.dp_rank),
            decode_worker_id: decode.map(|w| w.instance_id),
            decode_dp_rank: decode.and_then(|w| w.dp_rank),
        })
    }

    // ---- tokenizer ----------------------------------------------------------------

    /// Records the tokenize latency once (first write wins). Saturates at `u64::MAX - 1`
    /// nanoseconds (about 584 years).
    #[inline]
    pub fn record_tokenize_latency(&self, l: Duration) {
        self.tokenize.set(nanos_saturating(l));
    }

    /// Tokenize latency, if recorded.
    #[inline]
    pub fn tokenize_latency(&self) -> Option<Duration> {
        self.tokenize.get().map(Duration::from_nanos)
    }

    /// Adds one detokenize sample (once per generated token). The sum saturates at `u64::MAX`
    /// nanoseconds instead of wrapping.
    #[inline]
    pub fn record_detokenize_latency(&self, l: Duration) {
        self.detokenize
            .add(u64::try_from(l.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Sum of detokenize samples; `None` before the first.
    #[inline]
    pub fn detokenize_total_latency(&self) -> Option<Duration> {
        let (sum, count) = self.detokenize.get();
        (count != 0).then(|| Duration::from_nanos(sum))
    }

    /// Number of detokenize samples.
    #[inline]
    pub fn detokenize_count(&self) -> u64 {
        self.detokenize.get().1
    }

    // ---- router -------------------------------------------------------------------

    /// Records the router queue depth at routing time, once. `true` if this call set it;
    /// `false` if already set, or for `usize::MAX` (not storable; nothing changes).
    #[inline]
    pub fn record_router_queue_depth(&self, depth: usize) -> bool {
        match u64::try_from(depth) {
            Ok(d) if d <= MAX_NANOS => self.router_queue_depth.set(d),
            _ => false,
        }
    }

    /// Router queue depth at routing time, if recorded.
    #[inline]
    pub fn router_queue_depth(&self) -> Option<usize> {
        self.router_queue_depth
            .get()
            .and_then(|d| usize::try_from(d).ok())
    }

    // ---- gauges -------------------------------------------------------------------

    /// Sets TTFT and ISL on the prefill worker's gauges (labels from the prefill slot, its
    /// recorded type). Does nothing with no prefill worker recorded; skips a value not yet
    /// known. No allocation or registry lookup after the worker's first observation.
    pub fn observe_first_token_gauges(&self) {
        let Some(w) = self.prefill_worker.get() else {
            return;
        };
        let mut values = [(WorkerGauge::Ttft, 0.0); 2];
        let mut n = 0;
        if let Some(ttft) = self.ttft_ms() {
            values[n] = (WorkerGauge::Ttft, ttft / 1000.0);
            n += 1;
        }
        if let Some(isl) = self.isl_tokens() {
            values[n] = (WorkerGauge::Isl, isl as f64);
            n += 1;
        }
        set_worker_gauges(w, &values[..n]);
    }

    /// Sets the average ITL on the decode worker's gauge (labels from the decode slot). Does
    /// nothing with no decode worker recorded or while the ITL is unknown.
    pub fn observe_finish_gauges(&self) {
        let Some(w) = self.decode_worker.get() else {
            return;
        };
        if let Some(itl) = self.avg_itl_ms() {
            set_worker_gauges(w, &[(WorkerGauge::Itl, itl / 1000.0)]);
        }
    }

    // ---- reports ------------------------------------------------------------------

    /// `nvext.timing`.
    #[inline]
    pub fn get_timing_info(&self) -> TimingInfo {
        let finish = self.finish.get();
        let first = self.first_token.get();
        let start = self.prefill_start.get();
        TimingInfo {
            request_received_ms: self.received_epoch_ms,
            prefill_wait_time_ms: start.map(ms),
            prefill_time_ms: prefill_time(start, first),
            ttft_ms: first.map(ms),
            total_time_ms: finish.map(ms),
            kv_hit_rate: self.kv_hit_rate(),
            router_queue_depth: self.router_queue_depth(),
        }
    }

    /// Every recorded and derived value, in one call, without allocating.
    pub fn snapshot(&self) -> RequestSnapshot {
        let finish = self.finish.get();
        let first = self.first_token.get();
        let osl = self.osl_tokens();
        let start = self.prefill_start.get();
        let decode_first = self.decode_first_token.get();
        let complete = self.prefill_complete.get();
        let kv = self.kv_hit.get();
        let isl = self.isl.get();
        let (detok_sum, detok_count) = self.detokenize.get();
        let prefill = self.prefill_worker.get();
        let decode = self.decode_worker.get();
        RequestSnapshot {
            request_received_ms: self.received_epoch_ms,
            phase: self.gate.phase(),
            phase_held: self.gate.is_held(),
            prefill_start_ms: start.map(ms),
            first_token_ms: first.map(ms),
            decode_first_token_ms: decode_first.map(ms),
            prefill_complete_ms: complete.map(ms),
            finish_ms: finish.map(ms),
            prefill_wait_time_ms: start.map(ms),
            prefill_time_ms: prefill_time(start, first),
            ttft_ms: first.map(ms),
            total_time_ms: finish.map(ms),
            avg_itl_ms: avg_itl(first, finish, osl),
            kv_transfer_estimated_latency_ms: complete
                .zip(decode_first)
                .map(|(c, d)| span_ms(c, d)),
            kv_overlap_blocks: kv.map(|(o, _)| o),
            isl_blocks: kv.map(|(_, b)| b),
            kv_hit_rate: kv.and_then(hit_rate),
            isl_tokens: isl.map(|(_, t)| t),
            cached_tokens: isl.map(|(c, _)| c),
            osl_tokens: osl,
            router_queue_depth: self.router_queue_depth.get(),
            tokenize_latency_ms: self.tokenize.get().map(ms),
            detokenize_total_ms: (detok_count != 0).then(|| ms(detok_sum)),
            detokenize_count: detok_count,
            prefill_worker_id: prefill.map(|w| w.instance_id),
            prefill_dp_rank: prefill.and_then(|w| w.dp_rank),
            prefill_worker_type: prefill.map(|w| w.worker_type),
            decode_worker_id: decode.map(|w| w.instance_id),
            decode_dp_rank: decode.and_then(|w| w.dp_rank),
            decode_worker_type: decode.map(|w| w.worker_type),
            worker_conflicts: self.worker_conflicts(),
        }
    }
}

impl Default for RequestTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for RequestTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestTracker")
            .field("snapshot", &self.snapshot())
            .finish()
    }
}
