//! 2-4 shuttle tasks on one tracker, every atomic step scheduled by the fuzz bytes; the run
//! must be linearizable against the sequential model and the phase gate exclusive.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| reqtrack_check::interleave(data));
