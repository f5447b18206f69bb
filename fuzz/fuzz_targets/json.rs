//! Arbitrary recorded values always serialise to JSON with finite numbers and round-trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reqtrack_check::json(data));
