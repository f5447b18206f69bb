//! A sequence of operations on one tracker, checked after every step against the sequential
//! model (logic in `reqtrack-check`, so `cargo test` replays the corpus).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reqtrack_check::model(data));
