//! Size and allocation report: `size_of` of both trackers and heap allocations of `new()`.
//!
//! `cargo bench --bench size`

use reqtrack::RequestTracker;
use std::hint::black_box;
use std::mem::size_of;

#[path = "common/mod.rs"]
mod common;
#[path = "reference/mod.rs"]
mod reference;

use common::{CountingAlloc, allocations};
use reference::RefTracker;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn main() {
    let ours = allocations(|| {
        black_box(RequestTracker::new());
    })
    .1;
    let theirs = allocations(|| drop(black_box(RefTracker::new()))).1;
    println!(
        "{:<12} {:>10} {:>22}",
        "tracker", "size_of", "allocations in new()"
    );
    println!(
        "{:<12} {:>10} {:>22}",
        "reqtrack",
        size_of::<RequestTracker>(),
        ours
    );
    println!(
        "{:<12} {:>10} {:>22}",
        "reference",
        size_of::<RefTracker>(),
        theirs
    );
}
