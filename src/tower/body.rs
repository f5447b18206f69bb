//! The request body ([`RequestBody`]: notices a cut upload) and the response body
//! ([`ResponseBody`]: one chunk per data frame, the request's end, the trailer).

use super::handle::{End, RequestState, Started};
use crate::{Outcome, SERVER_TIMING, TimingHeaders};
use http::{HeaderMap, HeaderName, HeaderValue};
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

pin_project! {
    /// A tracked request's body: as the client's, but an error reading it (the client cut its
    /// upload, or broke the framing; the connection is lost either way) makes the request a
    /// client disconnect.
    pub struct RequestBody<B> {
        #[pin]
        inner: B,
        state: Arc<RequestState>,
    }
}

impl<B> RequestBody<B> {
    pub(super) fn new(inner: B, state: Arc<RequestState>) -> Self {
        Self { inner, state }
    }
}

impl<B: Body> Body for RequestBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(Err(_)) = &frame {
            this.state.mark_upload_cut();
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A started request on its way out: owned by the response body until its end.
#[derive(Debug)]
pub(super) struct BodyEnd {
    started: Started,
    state: Arc<RequestState>,
    by_status: Outcome,
    /// Send `Server-Timing` as a trailer.
    trailer: bool,
}

impl BodyEnd {
    pub(super) fn new(
        started: Started,
        state: Arc<RequestState>,
        by_status: Outcome,
        trailer: bool,
    ) -> Self {
        Self {
            started,
            state,
            by_status,
            trailer,
        }
    }

    /// A data frame goes to the server: a chunk if tokens were reported for it.
    #[inline]
    fn data_frame(&mut self) {
        let tokens = self.state.take_pending();
        if tokens > 0 {
            self.started.stream.observe_chunk(tokens, Instant::now());
        }
    }

    /// Ends the request as `how`.
    fn end(self, how: End) {
        self.state.end(self.started, how);
    }

    /// The body reached its end: the request ends with its outcome; the `Server-Timing`
    /// trailer value (read after the end) when one is due.
    fn complete(self) -> Option<HeaderValue> {
        let (state, trailer) = (Arc::clone(&self.state), self.trailer);
        let how = End::Complete(self.by_status);
        self.end(how);
        if !trailer {
            return None;
        }
        HeaderValue::try_from(TimingHeaders::from_tracker(state.tracker()).server_timing()).ok()
    }
}

pin_project! {
    /// A tracked response's body: the handler's, each data frame observed as a chunk on its
    /// way to the server, the request ended at the body's end (or as a disconnect when the
    /// body is dropped before it), then the `Server-Timing` trailer when one is due.
    pub struct ResponseBody<B>
    where
        B: Body,
    {
        #[pin]
        inner: B,
        end: Option<BodyEnd>,
        // The inner body returned its end.
        finished: bool,
        // Inside the inner poll: still set in `drop` means the body panicked.
        polling: bool,
    }

    impl<B> PinnedDrop for ResponseBody<B>
    where
        B: Body,
    {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(end) = this.end.take() {
                if *this.polling {
                    end.end(End::Panicked);
                } else if this.inner.as_ref().get_ref().is_end_stream() && !end.trailer {
                    // The server took the last frame and needed no more poll to know it.
                    end.complete();
                } else {
                    end.end(End::Dropped);
                }
            }
        }
    }
}

impl<B: Body> ResponseBody<B> {
    pub(super) fn new(inner: B, end: Option<BodyEnd>) -> Self {
        Self {
            inner,
            end,
            finished: false,
            polling: false,
        }
    }

    /// A body the layer does not track (a request never declared).
    pub(super) fn untracked(inner: B) -> Self {
        Self::new(inner, None)
    }
}

fn trailer_map(value: HeaderValue) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(1);
    map.insert(HeaderName::from_static(SERVER_TIMING), value);
    map
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        if *this.finished {
            return Poll::Ready(None);
        }
        if this.end.is_none() {
            return this.inner.poll_frame(cx);
        }
        *this.polling = true;
        let frame = this.inner.as_mut().poll_frame(cx);
        *this.polling = false;
        let frame = ready!(frame);
        let Some(end) = this.end.as_mut() else {
            return Poll::Ready(frame);
        };
        match frame {
            Some(Ok(mut frame)) => {
                if frame.is_data() {
                    end.data_frame();
                    if !end.trailer && this.inner.is_end_stream() {
                        if let Some(end) = this.end.take() {
                            end.complete();
                        }
                    }
                } else if let Some(theirs) = frame.trailers_mut() {
                    if let Some(v) = this.end.take().and_then(BodyEnd::complete) {
                        theirs.insert(HeaderName::from_static(SERVER_TIMING), v);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(e)) => {
                if let Some(end) = this.end.take() {
                    end.end(End::Failed);
                }
                Poll::Ready(Some(Err(e)))
            }
            None => {
                *this.finished = true;
                let value = this.end.take().and_then(BodyEnd::complete);
                Poll::Ready(value.map(|v| Ok(Frame::trailers(trailer_map(v)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        if self.finished {
            return true;
        }
        match &self.end {
            Some(end) if end.trailer => false,
            _ => self.inner.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        match &self.end {
            // A trailer needs chunked framing: never claim an exact length.
            Some(end) if end.trailer => {
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower());
                hint
            }
            _ => inner,
        }
    }
}
