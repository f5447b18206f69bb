//! Which recorder a model's series land in, and when they appear: at their first use, always
//! in the recorder the `ModelMetrics` was built for, on whichever thread the use happens.

#![cfg(not(reqtrack_model))]

#[path = "request_metrics_common/mod.rs"]
mod common;

use common::{MODEL, metrics, outcome_labels, record};
use reqtrack::{
    Endpoint, ModelMetrics, Outcome, Prefix, RequestGuard, RequestTracker, RequestType, names,
};
use std::sync::Arc;

#[test]
fn a_model_that_served_no_request_exports_empty_series() {
    let r = record(|| drop(metrics()));
    let names: Vec<_> = r.series().iter().map(|s| s.name.as_str()).collect();
    assert!(names.is_empty(), "{names:?}");
}

#[test]
fn requests_total_first_used_outside_the_recorders_scope_is_lost() {
    let r = record(|| {
        let m = metrics();
        // A request served on another thread: outside this thread's local-recorder scope.
        std::thread::scope(|s| {
            s.spawn(|| {
                let t = Arc::new(RequestTracker::new());
                RequestGuard::new(m.clone(), t, Endpoint::ChatCompletions, RequestType::Stream)
                    .finish(Outcome::Success);
            });
        });
    });
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("success", "")),
        Some(1)
    );
    assert_eq!(
        r.counter(
            names::REQUESTS_STARTED_TOTAL,
            &outcome_labels("success", "")[..3]
        ),
        Some(1)
    );
}

#[test]
fn a_series_first_used_before_any_recorder_is_registered_again_once_there_is_one() {
    // `new` registers in the facade's recorder at first use; with none installed that is the
    // no-op recorder, whose handle is not kept.
    let m = Arc::new(ModelMetrics::new(&Prefix::default(), MODEL));
    let one_request = || {
        let t = Arc::new(RequestTracker::new());
        RequestGuard::new(m.clone(), t, Endpoint::ChatCompletions, RequestType::Stream)
            .finish(Outcome::Success);
    };
    one_request(); // no recorder: lost
    let r = record(one_request);
    assert_eq!(
        r.counter(names::REQUESTS_TOTAL, &outcome_labels("success", "")),
        Some(1)
    );
}
