//! The README's axum and hyper examples are the files `cargo test` compiles
//! (`frontend/examples/`), character for character. They are fenced `rust,ignore` so that the
//! library's README doctests (`reqtrack::ReadmeDoctests`) skip them: only this member has axum
//! and hyper; here they are compiled as examples.

/// The body of the first ```` ```rust,ignore ```` block after `heading` in the README.
fn block_after(readme: &str, heading: &str) -> String {
    let from = readme
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?}"));
    let rest = &readme[from..];
    let open = "```rust,ignore\n";
    let start = rest.find(open).expect("a rust,ignore block") + open.len();
    let len = rest[start..].find("```\n").expect("the block ends");
    rest[start..start + len].to_owned()
}

#[test]
fn readme_axum_example_is_the_compiled_example() {
    let readme = include_str!("../../README.md");
    let block = block_after(readme, "## Add reqtrack to an axum router");
    assert_eq!(block, include_str!("../examples/axum_router.rs"));
}

#[test]
fn readme_hyper_example_is_the_compiled_example() {
    let readme = include_str!("../../README.md");
    let block = block_after(readme, "### A bare hyper service");
    assert_eq!(block, include_str!("../examples/hyper_service.rs"));
}
