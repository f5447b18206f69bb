//! `RequestTracker`: a thin composition of the slot kinds, one per recorded value.
//!
//! | slot | kind | kept value |
//! |---|---|---|
//! | prefill start, first token, decode first token, prefill complete | [`OnceStamp`] | first write |
//! | finish + osl | [`BlockStamp`] (a packed word and its spill, stored apart) | finish: largest offset (monotonic max); osl: last write; one value |
//! | `(overlap_blocks, isl_blocks)`, overlap possibly fractional | [`KvHitSlot`] | first valid write, either method |
//! | `(cached_tokens, isl_tokens)` | [`PackedPair`] | first valid write |
//! | prefill worker, decode worker | [`WorkerSlot`] | first write; rank fill-in; conflicts counted; a merged worker until the first own write |
//! | tokenize latency | [`OnceStamp`] | first write |
//! | router queue depth | [`OnceU32`] | first write up to `u32::MAX - 1` |
//! | detokenize latency | [`LatencySum`] | saturating sum + count |
//! | phase | [`PhaseGate`] | as set by the last permit holder |
//! | migrations | `AtomicU32` | saturating count |
//! | merged timing (another hop's) | [`OnceStamp`] each | first merge; read only where the own value is unknown |
//!
//! # Orderings of the tracker's own atomics
//!
//! * `migrations`: a `Relaxed` CAS loop (`fetch_update`) that saturates at `u32::MAX` instead
//!   of wrapping (a `load` + `fetch_add` could wrap racing another increment), and a `Relaxed`
//!   load. It is a standalone count: nothing else is published through it.
//!
//! Merged values (another hop's, `external`) never enter the tracker's own slots except the
//! worker slots' MERGED mark; the `external` module documents their read order.
//!
//! Worker conflicts are counted inside each worker slot's own word (see `slot::worker`), so
//! `worker_conflicts()` is the sum of the two slots' counts.
//!
//! Readers that combine the finish with the first token or osl go through one helper
//! (`read::stream_stamps`), which reads the finish first; see the `read` module.
//!
//! # Files
//!
//! `stamps` (timestamps), `counts` (counts and durations), `overlap` (`record_kv_hit`'s
//! whole-or-fractional overlap argument), `workers` (phase and worker
//! slots), `external` (merging another hop's timing and workers), `read` (derived figures and
//! reports), `clock` (offsets from the base instant), `wall_clock` (the arrival's wall-clock
//! time from a per-thread monotonic→wall anchor).
//!
//! [`OnceStamp`]: crate::slot::OnceStamp
//! [`OnceU32`]: crate::slot::OnceU32
//! [`KvHitSlot`]: crate::slot::KvHitSlot
//! [`BlockStamp`]: crate::slot::BlockStamp
//! [`PackedPair`]: crate::slot::PackedPair
//! [`WorkerSlot`]: crate::slot::WorkerSlot
//! [`LatencySum`]: crate::slot::LatencySum
//! [`PhaseGate`]: crate::gate::PhaseGate

mod clock;
mod counts;
mod external;
mod overlap;
mod read;
mod stamps;
mod wall_clock;
mod workers;

#[cfg(feature = "otel")]
pub(crate) use read::PhaseStamps;

use crate::gate::PhaseGate;
use crate::slot::{
    BlockFast, BlockSpill, BlockStamp, KvHitSlot, LatencySum, OnceStamp, OnceU32, PackedPair,
    WorkerSlot,
};
use crate::sync::AtomicU32;
use external::MergedTiming;
use std::fmt;
use std::time::Instant;

pub use overlap::Overlap;

/// The lifecycle of one LLM-serving request, recorded without locks or allocation.
///
/// Create one per request (usually in an [`Arc`](std::sync::Arc)), write it from any task, read it on every
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
/// 256 bytes, four cache lines grouped by who writes them: the base, the arrival and the stamps
/// written once and read on every chunk (prefill start, first token, decode first token,
/// prefill complete, router queue depth), with the migration count (written only when a
/// request migrates); the finish + osl (its packed word and its spill) and the phase (written
/// per block or per phase); the per-token detokenize counters with the rarely read fields (the
/// prompt pair, tokenize latency, both worker slots); and the KV hit with the values merged
/// from another hop (written once per request, read for the report). The per-token writes of
/// the stream therefore never invalidate the line a chunk reader needs.
/// (The fourth line came with the fractional KV overlap, which needs a 128-bit slot, the
/// migration count and the merged timing; 192 bytes had no byte left. The 64-bit packed
/// finish + osl word added 8 bytes to the second line, which the migration count made room
/// for by moving to the first, beside a router queue depth narrowed to 32 bits.)
#[repr(C, align(64))]
pub struct RequestTracker {
    // ---- line 1: written once, read on every chunk --------------------------------------
    /// Monotonic base; every stored instant is a nanosecond offset from it.
    base: Instant,
    /// Wall clock at arrival, ms since the Unix epoch. Written once in the constructor
    /// (derived from `base` through the thread's clock anchor in `new()`).
    received_epoch_ms: u64,
    prefill_start: OnceStamp,
    first_token: OnceStamp,
    decode_first_token: OnceStamp,
    prefill_complete: OnceStamp,
    router_queue_depth: OnceU32,
    /// Migrations to another worker, saturating (written per migration, rarely).
    migrations: AtomicU32,
    // ---- line 2: written per block or per phase, read on every chunk --------------------
    /// The finish and osl's spill, read only once `block` says it spilled (`slot::block`).
    block_spill: BlockSpill,
    /// The finish and osl, written and read as one value (with `block_spill`: [`Self::block`]).
    block: BlockFast,
    gate: PhaseGate,
    // ---- line 3: written per token (detokenize), rarely read ----------------------------
    detokenize: LatencySum,
    /// `(cached_tokens, isl_tokens)`.
    isl: PackedPair,
    /// Tokenize latency, nanoseconds.
    tokenize: OnceStamp,
    prefill_worker: WorkerSlot,
    decode_worker: WorkerSlot,
    // ---- line 4: written once per request or per merge, read for the report ------------
    /// `(overlap_blocks, isl_blocks)`, the overlap possibly fractional.
    kv_hit: KvHitSlot,
    /// Another hop's timing, read where the tracker's own is unknown (`external`).
    merged: MergedTiming,
}

impl RequestTracker {
    /// A tracker for a request received now: one monotonic clock read, no allocation.
    ///
    /// The wall-clock arrival ([`request_received_epoch_ms`](Self::request_received_epoch_ms))
    /// is derived from that read through this thread's clock anchor, refreshed when older than
    /// 1 s: within a millisecond of `SystemTime::now()`, following a wall-clock step within
    /// 1 s (see the `wall_clock` module for the bounds).
    ///
    /// Out of line on purpose: inlined, LLVM built the tracker in a temporary and copied it
    /// out with unaligned 16-byte loads straddling the zeroing stores it had just made, a
    /// store-forwarding stall that cost about 15 ns (more than everything else here but the
    /// clock read; `perf annotate` put 55-60 % of the non-clock samples on one of those loads;
    /// measured when the tracker was 192 bytes, before the fourth line). Out of line, it writes
    /// the caller's slot in place; the call costs ~1 ns.
    #[inline(never)]
    pub fn new() -> Self {
        let now = Instant::now();
        Self::with_received_at(now, wall_clock::epoch_ms_at(now))
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
            block: BlockFast::new(),
            block_spill: BlockSpill::new(),
            kv_hit: KvHitSlot::new(),
            isl: PackedPair::new(),
            migrations: AtomicU32::new(0),
            merged: MergedTiming::new(),
            tokenize: OnceStamp::new(),
            detokenize: LatencySum::new(),
            router_queue_depth: OnceU32::new(),
            prefill_worker: WorkerSlot::new(),
            decode_worker: WorkerSlot::new(),
            gate: PhaseGate::new(),
        }
    }

    /// The offset of `t` from arrival, ns (0 before it).
    #[inline]
    pub(crate) fn offset(&self, t: Instant) -> u64 {
        clock::offset_since(self.base, t)
    }

    /// The finish + osl slot: its packed word and its spill, stored apart (`slot::block`).
    #[inline]
    pub(crate) fn block(&self) -> BlockStamp<'_> {
        BlockStamp::new(&self.block, &self.block_spill)
    }

    /// The phase gate (the permits release it).
    pub(crate) fn gate(&self) -> &PhaseGate {
        &self.gate
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

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::RequestTracker;
    use std::mem::offset_of;

    fn line(offset: usize) -> usize {
        offset / 64
    }

    #[test]
    fn the_chunk_readers_fields_share_no_line_with_the_per_token_counter() {
        let per_token = line(offset_of!(RequestTracker, detokenize));
        for (name, offset) in [
            ("base", offset_of!(RequestTracker, base)),
            (
                "received_epoch_ms",
                offset_of!(RequestTracker, received_epoch_ms),
            ),
            ("prefill_start", offset_of!(RequestTracker, prefill_start)),
            ("first_token", offset_of!(RequestTracker, first_token)),
            (
                "router_queue_depth",
                offset_of!(RequestTracker, router_queue_depth),
            ),
            ("block (finish + osl)", offset_of!(RequestTracker, block)),
            ("kv_hit", offset_of!(RequestTracker, kv_hit)),
            ("merged", offset_of!(RequestTracker, merged)),
            ("gate", offset_of!(RequestTracker, gate)),
        ] {
            assert_ne!(line(offset), per_token, "{name} is on the detokenize line");
        }
    }

    #[test]
    fn each_field_is_on_the_line_the_layout_docs_give() {
        for (name, offset, documented) in [
            ("base", offset_of!(RequestTracker, base), 0),
            ("received", offset_of!(RequestTracker, received_epoch_ms), 0),
            (
                "prefill_start",
                offset_of!(RequestTracker, prefill_start),
                0,
            ),
            ("first_token", offset_of!(RequestTracker, first_token), 0),
            (
                "decode_first",
                offset_of!(RequestTracker, decode_first_token),
                0,
            ),
            (
                "prefill_done",
                offset_of!(RequestTracker, prefill_complete),
                0,
            ),
            (
                "queue_depth",
                offset_of!(RequestTracker, router_queue_depth),
                0,
            ),
            ("block", offset_of!(RequestTracker, block), 1),
            ("migrations", offset_of!(RequestTracker, migrations), 0),
            ("block_spill", offset_of!(RequestTracker, block_spill), 1),
            ("gate", offset_of!(RequestTracker, gate), 1),
            ("detokenize", offset_of!(RequestTracker, detokenize), 2),
            ("isl (prompt pair)", offset_of!(RequestTracker, isl), 2),
            ("tokenize", offset_of!(RequestTracker, tokenize), 2),
            (
                "prefill_worker",
                offset_of!(RequestTracker, prefill_worker),
                2,
            ),
            (
                "decode_worker",
                offset_of!(RequestTracker, decode_worker),
                2,
            ),
            ("kv_hit", offset_of!(RequestTracker, kv_hit), 3),
            ("merged", offset_of!(RequestTracker, merged), 3),
        ] {
            assert_eq!(line(offset), documented, "{name}");
        }
        assert_eq!(std::mem::size_of::<RequestTracker>(), 256);
    }

    #[test]
    fn the_block_slot_and_its_spill_share_one_line() {
        let start = offset_of!(RequestTracker, block_spill);
        assert_eq!(line(start), line(start + 15), "the spill on one line");
        assert_eq!(line(start), line(offset_of!(RequestTracker, block)));
    }
}
