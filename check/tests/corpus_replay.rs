//! Replays every committed fuzz input (`fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`)
//! through the same logic `cargo fuzz` runs, on stable, plus a batch of seeded random inputs so
//! the targets run even before a corpus exists.
//!
//! Under `--cfg reqtrack_shuttle` (CI's second replay) `interleave` schedules every atomic step with
//! shuttle; in a plain build it interleaves whole operations.

#![cfg(not(reqtrack_loom))]

use std::fs;
use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut out = Vec::new();
    for dir in ["corpus", "regressions"] {
        let path = root.join(dir).join(target);
        let Ok(entries) = fs::read_dir(&path) else {
            // Only the interleave target has named regressions; every target has a corpus.
            assert!(dir == "regressions", "missing {}", path.display());
            continue;
        };
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_file() {
                out.push((
                    path.display().to_string(),
                    fs::read(&path).expect("readable"),
                ));
            }
        }
    }
    out.sort();
    assert!(
        !out.is_empty(),
        "no committed inputs for {target} under {}",
        root.display()
    );
    out
}

/// Deterministic pseudo-random inputs (splitmix64), the same on every run.
fn seeded(count: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..count)
        .map(|_| {
            let len = (next() % 160) as usize;
            (0..len).map(|_| next() as u8).collect()
        })
        .collect()
}

fn replay(target: &str, run: fn(&[u8])) {
    let committed = inputs(target);
    for (name, data) in &committed {
        let result = std::panic::catch_unwind(|| run(data));
        assert!(result.is_ok(), "{target}: committed input {name} fails");
    }
    let count = if cfg!(debug_assertions) { 300 } else { 3000 };
    for (i, data) in seeded(count, target.len() as u64).into_iter().enumerate() {
        let result = std::panic::catch_unwind(|| run(&data));
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        assert!(result.is_ok(), "{target}: seeded input {i} fails: {hex}");
    }
}

#[test]
fn model_corpus_replays() {
    replay("model", reqtrack_check::model);
}

#[test]
fn model_corpus_replays_with_merges() {
    replay("model", reqtrack_check::model_with_merges);
}

#[test]
fn interleave_corpus_replays() {
    replay("interleave", reqtrack_check::interleave);
}

#[test]
fn json_corpus_replays() {
    replay("json", reqtrack_check::json);
}
