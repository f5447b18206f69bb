//! `reqtrack-frontend`: an OpenAI-compatible frontend (axum) over a simulated disaggregated
//! cluster, every request tracked by `reqtrack`'s tower layer ([`reqtrack::tower`]).
//!
//! The integration a reader studies is three files:
//!
//! * [`app`]: the router, with `TrackLayer` around it and the served models' registry;
//! * [`handlers`]: each handler declares its request after parsing (`Tracked::start` or
//!   `Tracked::refuse`) and reports the tokens of each frame (`Tracked::add_tokens`, or
//!   `Tracked::observe_tokens` for a non-streaming answer);
//! * [`telemetry`]: the simulated cluster's engine events on the request's tracker, and the
//!   frontend's recorder.
//!
//! The rest is the simulation and the OpenAI wire format: [`openai`], [`error`], [`headers`]
//! (TGI's non-timing headers), [`engine`], [`cluster`]; [`scrape`] reads `/metrics` for the
//! load generator's summary and the tests; [`meter`] reads the process CPU; [`traces`] is the
//! `--otlp-endpoint` export.

pub mod app;
pub mod cluster;
pub mod engine;
pub mod error;
pub mod handlers;
pub mod headers;
pub mod meter;
pub mod openai;
pub mod scrape;
pub mod telemetry;
pub mod traces;
