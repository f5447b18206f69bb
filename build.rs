//! Derives the crate's one model-checker cfg.
//!
//! The library is built for a model checker with `--cfg reqtrack_loom` (loom models) or
//! `--cfg reqtrack_shuttle` (the step-level fuzz target and replay). Code that only differs
//! between "real atomics" and "a model checker's atomics" tests `cfg(reqtrack_model)`, set here
//! when either is, instead of spelling out `any(reqtrack_loom, reqtrack_shuttle)` everywhere.
//! Setting both is a mistake the library reports with `compile_error!` (see `src/sync/mod.rs`).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(reqtrack_model)");
    println!("cargo::rerun-if-env-changed=CARGO_CFG_REQTRACK_LOOM");
    println!("cargo::rerun-if-env-changed=CARGO_CFG_REQTRACK_SHUTTLE");
    let loom = std::env::var_os("CARGO_CFG_REQTRACK_LOOM").is_some();
    let shuttle = std::env::var_os("CARGO_CFG_REQTRACK_SHUTTLE").is_some();
    if loom || shuttle {
        println!("cargo::rustc-cfg=reqtrack_model");
    }
}
