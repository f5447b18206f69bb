//! A model-checker-visible (loom or shuttle) stand-in for tokio's `Notify`, with the semantics the gate relies on.
//!
//! * `notify_one` wakes the oldest registered waiter that has not been chosen yet; with none
//!   registered it stores a single permit.
//! * `Notified::enable` registers the waiter; if a permit is stored, it is consumed and the
//!   waiter is ready at once.
//! * Dropping a waiter that was chosen but has not completed passes the wake-up on, exactly as
//!   tokio does for `notify_one`.
//!
//! State lives behind the checker's mutex so that every step is a scheduling point.

use super::Mutex;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

#[derive(Debug, Default)]
struct State {
    permit: bool,
    next_id: u64,
    waiters: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    id: u64,
    chosen: bool,
    waker: Option<Waker>,
}

impl State {
    fn notify_one(&mut self) {
        match self.waiters.iter_mut().find(|e| !e.chosen) {
            Some(e) => {
                e.chosen = true;
                if let Some(w) = e.waker.take() {
                    w.wake();
                }
            }
            None => self.permit = true,
        }
    }
}

/// Stand-in for `tokio::sync::Notify` under loom or shuttle.
#[derive(Debug, Default)]
pub(crate) struct Notify {
    state: Mutex<State>,
}

impl Notify {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            id: None,
            done: false,
        }
    }

    pub(crate) fn notify_one(&self) {
        self.state.lock().unwrap().notify_one();
    }
}

/// Stand-in for `tokio::sync::futures::Notified`.
#[derive(Debug)]
pub(crate) struct Notified<'a> {
    notify: &'a Notify,
    id: Option<u64>,
    done: bool,
}

impl Notified<'_> {
    pub(crate) fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        if this.done || this.id.is_some() {
            return this.done;
        }
        let mut st = this.notify.state.lock().unwrap();
        if st.permit {
            st.permit = false;
            this.done = true;
        } else {
            let id = st.next_id;
            st.next_id += 1;
            st.waiters.push(Entry {
                id,
                chosen: false,
                waker: None,
            });
            this.id = Some(id);
        }
        this.done
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.as_mut().enable();
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let id = this.id.expect("registered by enable");
        let mut st = this.notify.state.lock().unwrap();
        let pos = st
            .waiters
            .iter()
            .position(|e| e.id == id)
            .expect("own entry");
        if st.waiters[pos].chosen {
            st.waiters.remove(pos);
            this.id = None;
            this.done = true;
            Poll::Ready(())
        } else {
            st.waiters[pos].waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let mut st = self.notify.state.lock().unwrap();
        if let Some(pos) = st.waiters.iter().position(|e| e.id == id) {
            let entry = st.waiters.remove(pos);
            if entry.chosen {
                // Chosen but never completed: pass the wake-up on.
                st.notify_one();
            }
        }
    }
}
