//! Report layer: what a tracker renders for a client and for logs.
//!
//! * `timing`: [`TimingInfo`] / [`WorkerIdInfo`], the `nvext.timing` / `nvext.worker_id` JSON.
//! * `nvext`: [`NvExtResponse`], the response's `nvext` object that carries them.
//! * `snapshot`: [`RequestSnapshot`], every recorded and derived value.
//! * `headers`: [`TimingHeaders`], the `Server-Timing` and TGI `x-*` header values.
//! * `derive`: the shared formulas (ms, prefill time, average ITL, hit rate).

pub(crate) mod derive;
mod headers;
mod nvext;
mod snapshot;
mod timing;

pub use headers::{SERVER_TIMING, TimingHeaders};
pub use nvext::NvExtResponse;
pub use snapshot::RequestSnapshot;
pub use timing::{TimingInfo, WorkerIdInfo};
