//! [`ServedModels`]: the registry every router writes: one [`ModelMetrics`] per served model,
//! and one for [`UNKNOWN_MODEL`] that every other model string falls back to, so a client's
//! string never becomes a label value (Dynamo's `UNKNOWN_METRIC_MODEL`).
//!
//! Built once at start-up, read-only afterwards: a lookup is one hash of the model string, per
//! request, never per chunk. With [`ServedModels::with_recorder`] every model's metrics are
//! built for that recorder ([`ModelMetrics::with_recorder`]): each series lands there at its
//! first use, wherever the call runs, so a frontend with a recorder of its own (one per test
//! server, say) needs no global recorder; [`ServedModels::in_scope`] makes it current for the
//! calls that go through the facade (the per-worker gauges). The buckets go to the exporter with
//! [`with_default_buckets`](crate::with_default_buckets) (`prometheus` feature) under
//! [`ServedModels::prefix`]. Dynamo's `model_cancellation_total` and `model_rejection_total`
//! are counted by the requests' guards ([`RequestGuard`]). With the `otel` feature,
//! `ServedModels::with_tracer` gives every model's metrics one tracer
//! (`ModelMetrics::with_tracer`): each request's end emits its spans.

use super::labels::{Endpoint, ErrorType, Outcome, RequestType};
use super::model_metrics::ModelMetrics;
use super::names::Prefix;
use super::request_guard::RequestGuard;
use crate::RequestTracker;
use ::metrics::Recorder;
use rustc_hash::FxHashMap;
use std::fmt;
use std::sync::Arc;

/// The `model` label of requests for a model that is not served (or could not be parsed).
pub const UNKNOWN_MODEL: &str = "unknown_model";

/// One served model's handles: its [`ModelMetrics`].
#[derive(Debug)]
pub struct ServedModel {
    metrics: Arc<ModelMetrics>,
}

impl ServedModel {
    fn resolve(
        prefix: &Prefix,
        model: &str,
        recorder: Option<&Arc<dyn Recorder + Send + Sync>>,
    ) -> Self {
        Self::of(model_metrics(prefix, model, recorder))
    }

    fn of(metrics: ModelMetrics) -> Self {
        Self {
            metrics: Arc::new(metrics),
        }
    }

    /// The model's request metrics.
    pub fn metrics(&self) -> &Arc<ModelMetrics> {
        &self.metrics
    }
}

/// The served models' metrics, and [`UNKNOWN_MODEL`]'s; see the module docs.
///
/// ```
/// use reqtrack::{Endpoint, ErrorType, Prefix, RequestTracker, RequestType, ServedModels};
/// use std::sync::Arc;
///
/// let models = ServedModels::new(&Prefix::default(), ["llama-3-8b"]);
/// assert_eq!(models.get("llama-3-8b").metrics().model(), "llama-3-8b");
/// assert_eq!(models.get("a client's typo").metrics().model(), "unknown_model");
/// // A refused request: started and ended at once.
/// models.refuse("a client's typo", Arc::new(RequestTracker::new()),
///               Endpoint::ChatCompletions, RequestType::Unary, ErrorType::NotFound);
/// ```
pub struct ServedModels {
    prefix: Prefix,
    models: FxHashMap<Box<str>, Arc<ServedModel>>,
    unknown: Arc<ServedModel>,
    recorder: Option<Arc<dyn Recorder + Send + Sync>>,
}

impl ServedModels {
    /// The metrics of `models` and [`UNKNOWN_MODEL`] under `prefix`, each series registered at
    /// its first use in the recorder current then ([`ModelMetrics::new`]'s rule).
    pub fn new<I, M>(prefix: &Prefix, models: I) -> Self
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        Self::build(None, prefix, models)
    }

    /// The metrics of `models` and [`UNKNOWN_MODEL`] under `prefix`, built for `recorder`
    /// ([`ModelMetrics::with_recorder`]): every series lands there, wherever the call runs.
    pub fn with_recorder<I, M>(
        recorder: Arc<dyn Recorder + Send + Sync>,
        prefix: &Prefix,
        models: I,
    ) -> Self
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        Self::build(Some(recorder), prefix, models)
    }

    fn build<I, M>(
        recorder: Option<Arc<dyn Recorder + Send + Sync>>,
        prefix: &Prefix,
        models: I,
    ) -> Self
    where
        I: IntoIterator<Item = M>,
        M: AsRef<str>,
    {
        let resolve = |m: &str| Arc::new(ServedModel::resolve(prefix, m, recorder.as_ref()));
        let unknown = resolve(UNKNOWN_MODEL);
        let models = models
            .into_iter()
            .filter(|m| m.as_ref() != UNKNOWN_MODEL)
            .map(|m| (Box::from(m.as_ref()), resolve(m.as_ref())))
            .collect();
        Self {
            prefix: prefix.clone(),
            models,
            unknown,
            recorder,
        }
    }

    /// The same registry, every model's requests emitted as traces through `tracer`
    /// ([`ModelMetrics::with_tracer`]; feature `otel`). Builds the models' metrics anew (no
    /// series is registered before its first use, so nothing is lost): call it before serving,
    /// as a handle taken with [`get`](Self::get) before keeps its metrics, without the tracer.
    #[cfg(feature = "otel")]
    pub fn with_tracer(
        mut self,
        tracer: Arc<dyn crate::otel::RequestTracer + Send + Sync>,
    ) -> Self {
        let traced = |model: &str| {
            let metrics = model_metrics(&self.prefix, model, self.recorder.as_ref());
            Arc::new(ServedModel::of(metrics.with_tracer(Arc::clone(&tracer))))
        };
        self.unknown = traced(UNKNOWN_MODEL);
        for (model, served) in self.models.iter_mut() {
            *served = traced(model);
        }
        self
    }

    /// The metric-name prefix.
    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// Whether `model` is served (an exact match).
    pub fn is_served(&self, model: &str) -> bool {
        self.models.contains_key(model)
    }

    /// `model`'s handles; [`UNKNOWN_MODEL`]'s for any model that is not served.
    pub fn get(&self, model: &str) -> &Arc<ServedModel> {
        self.models.get(model).unwrap_or(&self.unknown)
    }

    /// Runs `f` with the registry's recorder current (just `f()` without one): for calls that
    /// go through the facade, such as the per-worker gauges (`observe_*_gauges`).
    pub fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.recorder {
            Some(r) => ::metrics::with_local_recorder(&**r, f),
            None => f(),
        }
    }

    /// An accepted request of `model` begins ([`RequestGuard::new`]).
    pub fn start(
        &self,
        model: &str,
        tracker: Arc<RequestTracker>,
        endpoint: Endpoint,
        request_type: RequestType,
    ) -> RequestGuard {
        let metrics = Arc::clone(self.get(model).metrics());
        RequestGuard::new(metrics, tracker, endpoint, request_type)
    }

    /// A request refused before any work: started and ended at once with `error`, under
    /// [`UNKNOWN_MODEL`] when `model` is not served. [`ErrorType::Overload`] is a rejection
    /// ([`RequestGuard::reject`]: Dynamo's `model_rejection_total` +1 as well).
    pub fn refuse(
        &self,
        model: &str,
        tracker: Arc<RequestTracker>,
        endpoint: Endpoint,
        request_type: RequestType,
        error: ErrorType,
    ) {
        let guard = self.start(model, tracker, endpoint, request_type);
        if error == ErrorType::Overload {
            guard.reject();
        } else {
            guard.finish(Outcome::Error(error));
        }
    }
}

/// `model`'s metrics under `prefix`, built for `recorder` if any, else for the facade.
fn model_metrics(
    prefix: &Prefix,
    model: &str,
    recorder: Option<&Arc<dyn Recorder + Send + Sync>>,
) -> ModelMetrics {
    match recorder {
        Some(r) => ModelMetrics::with_recorder(prefix, model, Arc::clone(r)),
        None => ModelMetrics::new(prefix, model),
    }
}

impl fmt::Debug for ServedModels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServedModels")
            .field("prefix", &self.prefix)
            .field("models", &self.models.keys().collect::<Vec<_>>())
            .field("own_recorder", &self.recorder.is_some())
            .finish()
    }
}

#[cfg(all(test, not(reqtrack_model)))]
mod tests {
    use super::*;
    use metrics_util::debugging::DebuggingRecorder;

    #[test]
    fn a_refusal_that_is_not_overload_counts_its_error_and_no_rejection() {
        let recorder = Arc::new(DebuggingRecorder::new());
        let snapshotter = recorder.snapshotter();
        let models = ServedModels::with_recorder(recorder, &Prefix::default(), ["m"]);
        models.refuse(
            "m",
            Arc::new(RequestTracker::new()),
            Endpoint::Completions,
            RequestType::Unary,
            ErrorType::NotFound,
        );
        let names_and_error_types = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(k, ..)| {
                let key = k.key();
                let error_type = key
                    .labels()
                    .find(|l| l.key() == "error_type")
                    .map(|l| l.value().to_owned());
                (key.name().to_owned(), error_type)
            })
            .collect::<Vec<_>>();
        assert!(
            names_and_error_types.contains(&(
                "dynamo_frontend_requests_total".to_owned(),
                Some("not_found".to_owned())
            )),
            "{names_and_error_types:?}"
        );
        assert!(
            !names_and_error_types
                .iter()
                .any(|(name, _)| name == "dynamo_frontend_model_rejection_total"),
            "{names_and_error_types:?}"
        );
    }

    #[test]
    fn served_models_debug_shows_prefix_models_and_whether_it_owns_a_recorder() {
        let models = ServedModels::new(&Prefix::new("router").unwrap(), ["m"]);
        assert_eq!(
            format!("{models:?}"),
            r#"ServedModels { prefix: Prefix("router"), models: ["m"], own_recorder: false }"#
        );
    }

    #[test]
    fn the_prefix_is_the_one_given() {
        let prefix = Prefix::new("router").unwrap();
        assert_eq!(ServedModels::new(&prefix, ["m"]).prefix(), &prefix);
    }

    #[test]
    fn unknown_strings_fall_back_and_the_unknown_name_is_not_a_second_entry() {
        let recorder = Arc::new(DebuggingRecorder::new());
        let snapshotter = recorder.snapshotter();
        let models =
            ServedModels::with_recorder(recorder, &Prefix::default(), ["m", UNKNOWN_MODEL]);
        assert!(models.is_served("m"));
        assert!(!models.is_served(UNKNOWN_MODEL));
        assert!(Arc::ptr_eq(models.get("nope"), models.get(UNKNOWN_MODEL)));
        let tracker = Arc::new(RequestTracker::new());
        models.refuse(
            "nope",
            tracker,
            Endpoint::Completions,
            RequestType::Unary,
            ErrorType::NotFound,
        );
        let ended = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(k, ..)| k.key().name() == "dynamo_frontend_requests_total")
            .map(|(k, ..)| {
                k.key()
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>();
        assert_eq!(ended.len(), 1, "{ended:?}");
        assert!(
            ended[0].contains(&"model=unknown_model".to_owned()),
            "{ended:?}"
        );
    }
}
