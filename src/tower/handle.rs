//! [`Tracked`]: the handle a handler finds in its request's extensions, and the per-request
//! state it shares with the layer's future and bodies.

use super::layer::Config;
use crate::{Endpoint, ErrorType, Outcome, RequestTracker, RequestType, StreamMetrics};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// One request's handle, in its extensions (`req.extensions().get::<Tracked>()`, or axum's
/// `Extension<Tracked>`): the tracker, and what only the handler knows. Cheap to clone (one
/// `Arc`). See the [module docs](super) for the protocol.
#[derive(Clone, Debug)]
pub struct Tracked(pub(super) Arc<RequestState>);

/// What the handle, the response future and the bodies of one request share.
#[derive(Debug)]
pub(super) struct RequestState {
    tracker: Arc<RequestTracker>,
    /// Output tokens of the next data frame.
    pending: AtomicUsize,
    /// The request body failed: the client cut its upload.
    upload_cut: AtomicBool,
    /// The declared outcome: 0 none, else `Outcome::index() + 1`.
    outcome: AtomicU8,
    slot: Mutex<Slot>,
    pub(super) config: Arc<Config>,
    /// The incoming trace context, when the layer has a propagator (feature `otel`); written
    /// before the state is shared, read when the guard starts.
    #[cfg(feature = "otel")]
    trace_parent: Option<opentelemetry::Context>,
}

#[derive(Debug)]
enum Slot {
    /// Not declared yet; the route's endpoint if the handler named it.
    Open(Option<Endpoint>),
    Started(Started),
    /// Refused, or handed to the response (or ended).
    Closed,
}

/// A started request: its guard (as a stream) and labels.
#[derive(Debug)]
pub(super) struct Started {
    pub(super) stream: StreamMetrics,
    pub(super) request_type: RequestType,
}

/// How a started request ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// The response body ended; the status means this outcome.
    Complete(Outcome),
    /// The service or the response body returned an error.
    Failed,
    /// The handler (or its body) panicked.
    Panicked,
    /// The response (future or body) was dropped before its end: the client went away.
    Dropped,
}

impl RequestState {
    /// A request's state, its arrival stamped now; `headers` give its trace context (feature
    /// `otel`, when the layer has a propagator).
    pub(super) fn new(config: Arc<Config>, headers: &http::HeaderMap) -> Self {
        // The arrival first: nothing before it on the request's path.
        let tracker = Arc::new(RequestTracker::new());
        #[cfg(feature = "otel")]
        let trace_parent =
            (config.propagator.as_ref()).map(|p| super::trace::extract(&**p, headers));
        #[cfg(not(feature = "otel"))]
        let _ = headers;
        Self {
            tracker,
            pending: AtomicUsize::new(0),
            upload_cut: AtomicBool::new(false),
            outcome: AtomicU8::new(0),
            slot: Mutex::new(Slot::Open(None)),
            config,
            #[cfg(feature = "otel")]
            trace_parent,
        }
    }

    pub(super) fn tracker(&self) -> &Arc<RequestTracker> {
        &self.tracker
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the started request out (the response head passed, or the response is gone); no
    /// declaration is accepted after this. A request never declared but routed
    /// ([`Tracked::route`]) whose client went away (`gone`, or its upload cut) is started here
    /// under `unknown_model` so that it ends as a disconnect.
    pub(super) fn take_started(&self, gone: bool) -> Option<Started> {
        match std::mem::replace(&mut *self.slot(), Slot::Closed) {
            Slot::Started(s) => Some(s),
            Slot::Open(Some(endpoint)) if gone || self.upload_cut.load(Relaxed) => {
                Some(self.start(crate::UNKNOWN_MODEL, endpoint, RequestType::Unary))
            }
            _ => None,
        }
    }

    /// A guard for `model`, turned into a stream (from here on the layer ends it).
    fn start(&self, model: &str, endpoint: Endpoint, request_type: RequestType) -> Started {
        let tracker = Arc::clone(&self.tracker);
        let guard = self
            .config
            .models
            .start(model, tracker, endpoint, request_type);
        #[cfg(feature = "otel")]
        let guard = match &self.trace_parent {
            Some(parent) => guard.with_trace_parent(parent.clone()),
            None => guard,
        };
        Started {
            stream: guard.into_stream(),
            request_type,
        }
    }

    /// The tokens reported since the previous data frame, taken.
    #[inline]
    pub(super) fn take_pending(&self) -> usize {
        self.pending.swap(0, Relaxed)
    }

    pub(super) fn mark_upload_cut(&self) {
        self.upload_cut.store(true, Relaxed);
    }

    fn declared(&self) -> Option<Outcome> {
        match self.outcome.load(Relaxed) {
            0 => None,
            1 => Some(Outcome::Success),
            i => ErrorType::ALL
                .get(usize::from(i) - 2)
                .map(|&e| Outcome::Error(e)),
        }
    }

    /// Ends `started`, once: see the module docs for which outcome wins.
    pub(super) fn end(&self, started: Started, how: End) {
        let now = Instant::now();
        let Started { stream, .. } = started;
        let disconnected = how == End::Dropped || self.upload_cut.load(Relaxed);
        let outcome = match how {
            End::Panicked => Outcome::Error(ErrorType::Internal),
            End::Complete(by_status) => self.declared().unwrap_or(by_status),
            End::Failed | End::Dropped => self
                .declared()
                .unwrap_or(Outcome::Error(ErrorType::Internal)),
        };
        if disconnected && how != End::Panicked {
            stream.client_disconnected_at(now);
        } else {
            stream.finish_at(outcome, now);
        }
    }
}

impl Tracked {
    /// The request's tracker, received when the request entered the layer: record the engine's
    /// events on it (workers, prefill, KV hits, ISL, migrations) as without the layer.
    pub fn tracker(&self) -> &Arc<RequestTracker> {
        self.0.tracker()
    }

    /// The handler accepted a request for `model` (looked up in the layer's
    /// [`ServedModels`](crate::ServedModels); one not served counts as `unknown_model`): the
    /// guard starts (`requests_started_total`, in-flight, active, queued +1). From here on
    /// the layer ends it. `false` (and nothing changes) if the request was already declared,
    /// or its response head has already passed the layer.
    pub fn start(&self, model: &str, endpoint: Endpoint, request_type: RequestType) -> bool {
        let state = &*self.0;
        let mut slot = state.slot();
        if !matches!(*slot, Slot::Open(_)) {
            return false;
        }
        *slot = Slot::Started(state.start(model, endpoint, request_type));
        true
    }

    /// The request came in on `endpoint`'s route; call it on entry, before reading the body.
    /// If the request ends before the handler declares it (the client cut its upload, or went
    /// away while the body was read), it is counted as a cancelled `unary` request of
    /// `unknown_model` on `endpoint`; a request never routed nor declared is not counted.
    /// `false` if the request was already declared.
    pub fn route(&self, endpoint: Endpoint) -> bool {
        let mut slot = self.0.slot();
        match &mut *slot {
            Slot::Open(e) => {
                *e = Some(endpoint);
                true
            }
            _ => false,
        }
    }

    /// The handler refused the request before any work (bad input, unknown model) with
    /// `error`: counted at once, started and ended (under `unknown_model` when `model` is not
    /// served). A request whose upload the client cut is counted as a disconnect instead.
    /// `false` if the request was already declared.
    pub fn refuse(
        &self,
        model: &str,
        endpoint: Endpoint,
        request_type: RequestType,
        error: ErrorType,
    ) -> bool {
        let state = &*self.0;
        {
            let mut slot = state.slot();
            if !matches!(*slot, Slot::Open(_)) {
                return false;
            }
            *slot = Slot::Closed;
        }
        if state.upload_cut.load(Relaxed) {
            state.end(state.start(model, endpoint, request_type), End::Dropped);
        } else {
            let tracker = Arc::clone(&state.tracker);
            let models = &state.config.models;
            models.refuse(model, tracker, endpoint, request_type, error);
        }
        true
    }

    /// The next data frame the handler yields carries `tokens` more output tokens: call it
    /// just before yielding the frame. Counts saturate.
    #[inline]
    pub fn add_tokens(&self, tokens: usize) {
        let _ = self
            .0
            .pending
            .fetch_update(Relaxed, Relaxed, |p| Some(p.saturating_add(tokens)));
    }

    /// `tokens` output tokens arrived now, for a response built before it is sent (the
    /// non-streaming case): observed at once as a chunk, so the last one stamps the finish
    /// that the body's `nvext.timing` and the timing headers report. `false` if the request
    /// is not started (or already past its response head).
    pub fn observe_tokens(&self, tokens: usize) -> bool {
        self.observe_tokens_at(tokens, Instant::now())
    }

    /// [`observe_tokens`](Self::observe_tokens) at `now`.
    pub fn observe_tokens_at(&self, tokens: usize, now: Instant) -> bool {
        match &mut *self.0.slot() {
            Slot::Started(s) => {
                s.stream.observe_chunk(tokens, now);
                true
            }
            _ => false,
        }
    }

    /// Declares how the request ends (e.g. an error after a streamed response's `200`), in
    /// place of the outcome its status would mean. A disconnect still counts as `cancelled`.
    pub fn set_outcome(&self, outcome: Outcome) {
        let code = u8::try_from(outcome.index() + 1).unwrap_or(0);
        self.0.outcome.store(code, Relaxed);
    }

    /// Whether the request was started ([`start`](Self::start)) and has not reached its
    /// response head yet.
    pub fn is_started(&self) -> bool {
        matches!(*self.0.slot(), Slot::Started(_))
    }
}
