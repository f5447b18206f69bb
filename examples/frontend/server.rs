//! The frontend server, as one module tree that both the example (`main.rs`) and the
//! integration tests (`tests/frontend_*.rs`, through `#[path]`) include. Each child is named
//! with `#[path]` relative to this file's directory, so the tree is the same wherever it is
//! included; children refer to each other through `super::`.
//!
//! * `app`: configuration, state, routes, serving.
//! * `handlers`: the two completion endpoints, streaming (SSE) and not.
//! * `openai`: request parsing and validation, response and chunk shapes.
//! * `error`: OpenAI error JSON and statuses.
//! * `headers`: `Server-Timing` and TGI's timing headers.
//! * `engine`: the simulated backend serving one request.
//! * `cluster`: simulated workers, prefix caches, routing.
//! * `telemetry`: every tracker and metrics call.
//! * `meter`: CPU accounting of those calls and of the process.

#[path = "app.rs"]
pub mod app;
#[path = "cluster.rs"]
pub mod cluster;
#[path = "engine.rs"]
pub mod engine;
#[path = "error.rs"]
pub mod error;
#[path = "handlers.rs"]
pub mod handlers;
#[path = "headers.rs"]
pub mod headers;
#[path = "meter.rs"]
pub mod meter;
#[path = "openai.rs"]
pub mod openai;
#[path = "telemetry.rs"]
pub mod telemetry;
