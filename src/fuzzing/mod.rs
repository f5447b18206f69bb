//! Fuzz-target logic, kept in the crate so a plain `cargo test` replays every committed input
//! (`tests/fuzz_corpus.rs`) exactly as `cargo fuzz` runs it. Not part of the public API.
//!
//! * `model`: a sequence of operations on one tracker, checked after every step against the
//!   sequential model of DESIGN.md's semantics: every observable equal.
//! * `interleave`: 2-4 logical threads on one tracker; the outcome must be linearizable
//!   against the model, and the phase gate exclusive. Built with `--cfg reqtrack_shuttle`
//!   (`RUSTFLAGS="--cfg reqtrack_shuttle" cargo fuzz run interleave --target-dir
//!   target/fuzz-shuttle`), every atomic step is scheduled by the fuzz bytes; without it,
//!   whole operations are.
//! * `json`: arbitrary recorded values always serialise to JSON with finite numbers and
//!   round-trip.

mod bytes;
mod exec;
mod interleave;
mod model;
mod op;
#[cfg(reqtrack_shuttle)]
mod shuttle_run;

use crate::RequestTracker;
use bytes::Bytes;
use op::Op;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::time::Instant;

/// The most operations one `model` / `json` input decodes.
const MAX_OPS: usize = 64;

#[cfg(reqtrack_shuttle)]
fn run(data: &[u8], f: fn(&[u8])) {
    let data = data.to_vec();
    shuttle_run::in_execution(move || f(&data));
}

#[cfg(not(reqtrack_shuttle))]
fn run(data: &[u8], f: fn(&[u8])) {
    f(data);
}

/// The `model` target: panics when the tracker and the sequential model disagree.
pub fn model(data: &[u8]) {
    run(data, model_case);
}

fn model_case(data: &[u8]) {
    let mut b = Bytes::new(data);
    let received_ms = b.u64();
    let base = Instant::now();
    let t = RequestTracker::with_received_at(base, received_ms);
    let mut m = model::Model::new(received_ms);
    let mut permit = None;
    for (step, op) in Op::decode_all(&mut b, MAX_OPS).into_iter().enumerate() {
        let got = exec::apply(&t, base, op, &mut permit);
        let want = m.apply(op, false).expect("sequential ops always apply");
        assert_eq!(got, want, "step {step}: {op:?} returned differently");
        exec::assert_same(&t, &m, step);
    }
}

/// The `interleave` target: panics when a concurrent run is not linearizable.
pub fn interleave(data: &[u8]) {
    let case = interleave::Case::decode(data);
    #[cfg(reqtrack_shuttle)]
    let (events, last) = shuttle_run::run_step_level(&case);
    #[cfg(not(reqtrack_shuttle))]
    let (events, last) = interleave::run_op_level(&case);
    interleave::check(&case, &events, &last);
}

/// How the `json` target turns values into JSON and back (serde_json, supplied by the caller so
/// the library does not depend on it).
pub trait JsonCodec {
    /// Serialises `value`.
    fn to_json<T: Serialize>(value: &T) -> String;
    /// Parses `json`.
    fn from_json<T: DeserializeOwned>(json: &str) -> T;
}

fn round_trip<C: JsonCodec, T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = C::to_json(value);
    // serde_json writes a non-finite float as `null`, and no field is `null` otherwise (unknown
    // values are omitted), so this catches every non-finite number.
    assert!(!json.contains("null"), "non-finite number in {json}");
    let back: T = C::from_json(&json);
    assert_eq!(&back, value, "JSON did not round-trip: {json}");
}

/// The `json` target: arbitrary recorded values always give valid, finite, round-tripping JSON.
pub fn json<C: JsonCodec>(data: &[u8]) {
    let data = data.to_vec();
    let case = move || {
        let mut b = Bytes::new(&data);
        let received_ms = b.u64();
        let base = Instant::now();
        let t = RequestTracker::with_received_at(base, received_ms);
        let mut permit = None;
        for op in Op::decode_all(&mut b, MAX_OPS) {
            exec::apply(&t, base, op, &mut permit);
        }
        drop(permit);
        round_trip::<C, _>(&t.get_timing_info());
        if let Some(w) = t.get_worker_info() {
            round_trip::<C, _>(&w);
        }
        round_trip::<C, _>(&t.snapshot());
    };
    #[cfg(reqtrack_shuttle)]
    shuttle_run::in_execution(case);
    #[cfg(not(reqtrack_shuttle))]
    case();
}
