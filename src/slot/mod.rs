//! Slot layer: one atomic encoding per kind of recorded value. Each file documents its
//! encoding and why each memory ordering it uses is enough.
//!
//! | slot | kept value | atomics |
//! |---|---|---|
//! | [`OnceStamp`] | first write | one `AtomicU64`, `v + 1` ([`encoding`](self::encoding)) |
//! | [`LatestStamp`] | largest write (monotonic max) | one `AtomicU64`, `v + 1` |
//! | [`PackedPair`] | first valid `(part, whole)` | one `AtomicU64`, `(whole + 1) << 32 \| part` |
//! | [`WorkerSlot`] | first `(id, rank, type)`, rank fill-in, conflicts | one 128-bit atomic |
//! | [`LatencySum`] | saturating sum + count | one `AtomicU64` (39-bit sum, 23-bit count), spilling once to two |
//!
//! [`WorkerType`] and the triple a worker slot holds ([`WorkerInfo`]) live here too.

mod encoding;
mod latest;
mod once;
mod pair;
mod sum;
mod worker;
mod worker_type;

pub(crate) use encoding::MAX_STORED;
pub(crate) use latest::LatestStamp;
pub(crate) use once::OnceStamp;
pub(crate) use pair::PackedPair;
pub use pair::{MAX_COUNT, PairRejected};
pub(crate) use sum::LatencySum;
pub(crate) use worker::WorkerSlot;
pub(crate) use worker_type::WorkerInfo;
pub use worker_type::{WORKER_TYPE_DECODE, WORKER_TYPE_PREFILL, WorkerType};
