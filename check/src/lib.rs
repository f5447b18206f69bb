//! `reqtrack-check`: reqtrack's model checker and fuzz logic, outside the shipped library.
//!
//! The `fuzz/` targets call the three entry points below, and `cargo test` at the workspace root
//! replays every committed input through them (`tests/corpus_replay.rs`), so a plain test run
//! checks exactly what `cargo fuzz` checked.
//!
//! * [`model()`]: a sequence of operations on one tracker, checked after every step against the
//!   sequential model of the contract's semantics (README, "What each slot keeps" and
//!   "Multi-hop timing"): every observable equal (snapshot, `get_timing_info`,
//!   `get_worker_info`, every getter).
//! * [`interleave()`]: 2-4 logical threads on one tracker; the outcome must be linearizable
//!   against the model (every call's result, each single-location read, and every observable
//!   at the end), and the phase gate exclusive. Calls made of several atomic steps (a worker
//!   write, a waiting `set_phase`, the two merges) are split into one linearization point per
//!   step (`steps.rs`). Built with `--cfg reqtrack_shuttle`
//!   (`RUSTFLAGS="--cfg reqtrack_shuttle" cargo fuzz run -s none interleave --target-dir
//!   target-shuttle`, from `fuzz/`), every atomic step is scheduled by the fuzz bytes; without
//!   it, whole operations are.
//! * [`json()`]: arbitrary recorded values always serialise to JSON with finite numbers and
//!   round-trip.
//!
//! # Adding an operation
//!
//! Four places, none of them in the checkers: the [`Op`] variant and its row at the end of the
//! decode table (`op.rs`), its semantics in `Model::apply` (`model.rs`), its call in
//! `exec::apply`, and an [`INPUT_FORMAT`] bump (below). An operation made of several atomic
//! steps also gets its split in `steps.rs`. A new observable goes into `observe.rs` (tracker
//! side) and `Model::observe`; a new single-location read into [`Read`].
//!
//! # The input format
//!
//! [`Op`]'s byte encoding (`op.rs`, `bytes.rs`) gives every committed corpus file and named
//! regression input its meaning. It is versioned by [`INPUT_FORMAT`]: any change to how bytes
//! decode (a new op, a reordered table row, a different bias) bumps it, and the same commit
//! regenerates `fuzz/corpus/*` (a campaign under the new format seeded with the old files, which
//! are only inputs to it, then `cargo fuzz cmin`: what is kept is what adds coverage under the
//! new format) and re-finds each named regression input under `fuzz/regressions/` (for format
//! 2: the tag and read-index bytes rewritten so the input decodes to the same threads and
//! schedule as before). `tests/regressions.rs` decodes every named
//! input and asserts it still contains the operations that made it a regression, and
//! `tests/input_format.rs` pins the decoding of fixed bytes, so a silent change fails loudly.
//!
//! Not a published crate (`publish = false`): test support, in the style of arc-swap's and
//! metrics-util's.

// `deny`, not `forbid`: the counting allocator (`alloc.rs`) is the one `unsafe impl`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod alloc;
mod bytes;
mod exec;
mod interleave;
mod limits;
mod merged;
mod model;
mod observe;
mod op;
#[cfg(feature = "recorder")]
pub mod recorder;
mod remote;
#[cfg(reqtrack_shuttle)]
mod shuttle_run;
mod steps;

pub use bytes::Bytes;
pub use interleave::Case;
pub use op::{Op, Read};
pub use remote::{RemoteTiming, RemoteWorkers};

use limits::MAX_OPS;
use reqtrack::RequestTracker;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::time::Instant;

/// The version of the fuzz-input byte format; see the crate docs for the rule.
pub const INPUT_FORMAT: u32 = 2;

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
        let want = m.apply(op);
        assert_eq!(got, want, "step {step}: {op:?} returned differently");
        observe::assert_same(&t, &m, step);
    }
}

/// The `model` target's ops with four fixed remote timings and workers merged in
/// (`merged.rs`: every value known, remote clock ahead, remote clock behind, all invalid), each
/// at the start, the middle and the end of the sequence, checked against the model after every
/// step: the tracker's own values must win whether recorded before or after the merge. Decodes
/// the input exactly as [`model()`] does; not a fuzz target, it replays the `model` corpus
/// (`tests/corpus_replay.rs`). The `MergeTiming` / `MergeWorkers` ops fuzz the merges
/// themselves; this keeps the hand-picked cases on every corpus input.
pub fn model_with_merges(data: &[u8]) {
    run(data, model_with_merges_case);
}

/// When the merge call happens in [`model_with_merges`]: 1 s after arrival.
const MERGE_AT_NS: i64 = 1_000_000_000;

fn model_with_merges_case(data: &[u8]) {
    let mut b = Bytes::new(data);
    let received_ms = b.u64();
    let ops = Op::decode_all(&mut b, MAX_OPS);
    let externals = merged::external_timings(received_ms);
    for (timing, workers) in externals.iter().zip(merged::external_workers()) {
        for merge_at in [0, ops.len() / 2, ops.len()] {
            let base = Instant::now();
            let t = RequestTracker::with_received_at(base, received_ms);
            let mut m = model::Model::new(received_ms);
            let mut permit = None;
            for step in 0..=ops.len() {
                if step == merge_at {
                    let now = exec::instant(base, MERGE_AT_NS);
                    let got = (
                        t.set_external_timing_at(timing, now),
                        t.set_external_worker_info(&workers),
                    );
                    let want = (
                        m.merge_timing(timing, MERGE_AT_NS as u64),
                        m.merge_workers(&workers),
                    );
                    assert_eq!(
                        got, want,
                        "merge before step {step}: {timing:?} {workers:?}"
                    );
                    observe::assert_same(&t, &m, step);
                }
                let Some(&op) = ops.get(step) else { break };
                let got = exec::apply(&t, base, op, &mut permit);
                let want = m.apply(op);
                assert_eq!(got, want, "step {step}: {op:?} returned differently");
                observe::assert_same(&t, &m, step);
            }
        }
    }
}

/// The `interleave` target: panics when a concurrent run is not linearizable.
pub fn interleave(data: &[u8]) {
    let case = Case::decode(data);
    #[cfg(reqtrack_shuttle)]
    let (events, last) = shuttle_run::run_step_level(&case);
    #[cfg(not(reqtrack_shuttle))]
    let (events, last) = interleave::run_op_level(&case);
    interleave::check(&case, &events, &last);
}

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let json = serde_json::to_string(value).expect("serialisable");
    // serde_json writes a non-finite float as `null`, and no field is `null` otherwise (unknown
    // values are omitted), so this catches every non-finite number.
    assert!(!json.contains("null"), "non-finite number in {json}");
    let back: T = serde_json::from_str(&json).expect("parses back");
    assert_eq!(&back, value, "JSON did not round-trip: {json}");
}

/// The `json` target: arbitrary recorded values always give valid, finite, round-tripping JSON.
pub fn json(data: &[u8]) {
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
        round_trip(&t.get_timing_info());
        if let Some(w) = t.get_worker_info() {
            round_trip(&w);
        }
        round_trip(&t.snapshot());
    };
    #[cfg(reqtrack_shuttle)]
    shuttle_run::in_execution(case);
    #[cfg(not(reqtrack_shuttle))]
    case();
}
