//! A sequence of operations on one tracker, checked after every step against the sequential
//! model (logic in `reqtrack::fuzzing`, so `cargo test` replays the corpus).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reqtrack::fuzzing::model(data));
