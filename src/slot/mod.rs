//! Slot layer: one atomic encoding per kind of recorded value. Each file documents its
//! encoding and why each memory ordering it uses is enough.
//!
//! | slot | kept value | atomics |
//! |---|---|---|
//! | [`OnceStamp`] | first write | one `AtomicU64`, `v + 1` (private `encoding` module) |
//! | [`OnceU32`] | first write up to `u32::MAX - 1` | one `AtomicU32`, `v + 1` |
//! | [`BlockStamp`] | finish (monotonic max) and osl (last write), together | one `AtomicU64` (43-bit finish `v + 1`, 20-bit osl), spilling once to a 128-bit atomic |
//! | [`PackedPair`] | first valid `(part, whole)` | one `AtomicU64`, `(whole + 1) << 32 \| part` |
//! | [`KvHitSlot`] | first valid `(overlap, isl_blocks)`, overlap possibly fractional | one 128-bit atomic: `isl_blocks + 1`, overlap's `f64` bits |
//! | [`WorkerSlot`] | first `(id, rank, type)`, rank fill-in, conflicts; a merged triple until an own write | one 128-bit atomic |
//! | [`LatencySum`] | saturating sum + count | one `AtomicU64` (39-bit sum, 23-bit count), spilling once to two |
//!
//! [`OverlapRejected`], [`WorkerType`] and the triple a worker slot holds ([`WorkerInfo`]) live here too.

mod block;
mod encoding;
mod once;
mod overlap;
mod pair;
mod sum;
mod worker;
mod worker_type;

pub(crate) use block::{BlockFast, BlockSpill, BlockStamp};
pub(crate) use encoding::MAX_STORED;
pub(crate) use once::{OnceStamp, OnceU32};
pub(crate) use overlap::KvHitSlot;
pub use overlap::OverlapRejected;
pub(crate) use pair::PackedPair;
pub use pair::{MAX_COUNT, PairRejected};
pub(crate) use sum::LatencySum;
pub(crate) use worker::WorkerSlot;
pub(crate) use worker_type::WorkerInfo;
pub use worker_type::{WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL, WorkerType};
