//! Every named regression input under `fuzz/regressions/` still decodes to the operations that
//! made it a regression. If the input format changes (see `reqtrack_check::INPUT_FORMAT`), these
//! fail loudly instead of letting a regression input silently stop reproducing its bug.

use reqtrack_check::{Case, Op};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn regression(target: &str, name: &str) -> Vec<u8> {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target)
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The threads of `case` that issue a detokenize sample, with the largest sample each issues.
fn detokenizing_threads(case: &Case) -> Vec<Duration> {
    case.threads
        .iter()
        .filter_map(|ops| {
            ops.iter()
                .filter_map(|op| match op {
                    Op::Detokenize(d) => Some(*d),
                    _ => None,
                })
                .max()
        })
        .collect()
}

/// The bug: a `load` + `fetch_add` fast path for the detokenize sum, racing a saturating add of
/// a sample of `u64::MAX` ns or more, wrapped the sum. The input must keep two threads adding
/// detokenize samples concurrently, one of them a sample that saturates the sum on its own.
#[test]
fn detokenize_fast_add_wraps_after_saturation_still_races_a_saturating_sample() {
    let case = Case::decode(&regression(
        "interleave",
        "detokenize_fast_add_wraps_after_saturation",
    ));
    let samples = detokenizing_threads(&case);
    assert!(
        samples.len() >= 2,
        "needs two threads adding detokenize samples; decoded {:#?}",
        case.threads
    );
    assert!(
        samples.iter().any(|d| d.as_nanos() >= u128::from(u64::MAX)),
        "needs one sample that saturates the sum on its own; decoded {:#?}",
        case.threads
    );
    assert!(
        samples.iter().filter(|d| !d.is_zero()).count() >= 2,
        "the racing sample must add something; decoded {:#?}",
        case.threads
    );
}

/// Every file under `fuzz/regressions/` has a test above (a new one must get its own).
#[test]
fn every_named_regression_input_has_a_test() {
    let known = ["interleave/detokenize_fast_add_wraps_after_saturation"];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions");
    let mut found = Vec::new();
    for target in fs::read_dir(&root).expect("fuzz/regressions exists") {
        let target = target.expect("entry").path();
        for input in fs::read_dir(&target).expect("target dir") {
            let input = input.expect("entry").path();
            found.push(format!(
                "{}/{}",
                target.file_name().unwrap().to_string_lossy(),
                input.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    found.sort();
    assert_eq!(found, known, "add a test for each new regression input");
}
