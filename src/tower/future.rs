//! [`ResponseFuture`]: waits for the handler's response; adds the head's timing headers and
//! hands the started request to the body, or ends it if the handler fails, panics or is
//! dropped before answering.

use super::body::{BodyEnd, ResponseBody};
use super::handle::{End, RequestState};
use crate::{RequestType, SERVER_TIMING, TimingHeaders};
use http::header::{HeaderName, HeaderValue, TRAILER};
use http::{Response, response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

pin_project! {
    /// The response future of a [`TrackService`](super::TrackService).
    ///
    /// Dropped before the response: the client went away before the head (`cancelled`), or,
    /// when dropped while unwinding from the handler's panic, `internal`.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<Arc<RequestState>>,
        wants_trailers: bool,
        // Inside the inner poll: still set in `drop` means the handler panicked.
        polling: bool,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(state) = this.state.take() {
                if let Some(started) = state.take_started(true) {
                    let how = if *this.polling { End::Panicked } else { End::Dropped };
                    state.end(started, how);
                }
            }
        }
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, state: Arc<RequestState>, wants_trailers: bool) -> Self {
        Self {
            inner,
            state: Some(state),
            wants_trailers,
            polling: false,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        *this.polling = true;
        let out = this.inner.poll(cx);
        *this.polling = false;
        let out = ready!(out);
        let Some(state) = this.state.take() else {
            // Polled again after its end: pass the inner answer through, untracked.
            return Poll::Ready(out.map(|r| r.map(ResponseBody::untracked)));
        };
        Poll::Ready(match out {
            Ok(resp) => {
                let (mut head, body) = resp.into_parts();
                let end = head_of(&state, &mut head, *this.wants_trailers);
                Ok(Response::from_parts(head, ResponseBody::new(body, end)))
            }
            Err(e) => {
                if let Some(started) = state.take_started(false) {
                    state.end(started, End::Failed);
                }
                Err(e)
            }
        })
    }
}

/// The response head passes: the started request (if any) goes to the body, with its
/// status's outcome; timing headers or the trailer announcement are added.
fn head_of(
    state: &Arc<RequestState>,
    head: &mut response::Parts,
    wants_trailers: bool,
) -> Option<BodyEnd> {
    let started = state.take_started(false)?;
    let config = &state.config;
    let by_status = (config.outcome_from_status)(head.status);
    let mut trailer = false;
    match started.request_type {
        RequestType::Unary => {
            let t = state.tracker();
            if t.total_time_ms().is_none() {
                t.record_finish();
            }
            if head.status.is_success() {
                timing_headers(&TimingHeaders::from_tracker(t), config, &mut head.headers);
            }
        }
        RequestType::Stream => {
            if wants_trailers && config.server_timing_trailer {
                trailer = true;
                head.headers
                    .append(TRAILER, HeaderValue::from_static(SERVER_TIMING));
            }
        }
    }
    Some(BodyEnd::new(started, Arc::clone(state), by_status, trailer))
}

fn timing_headers(t: &TimingHeaders, config: &super::layer::Config, h: &mut http::HeaderMap) {
    if config.server_timing_header {
        if let Ok(v) = HeaderValue::try_from(t.server_timing()) {
            h.insert(HeaderName::from_static(SERVER_TIMING), v);
        }
    }
    if config.tgi_headers {
        for (name, value) in t.tgi() {
            if let Ok(v) = HeaderValue::try_from(value) {
                h.insert(HeaderName::from_static(name), v);
            }
        }
    }
}
