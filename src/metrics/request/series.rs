//! Where and when a request-metric series is registered: [`Target`] (the recorder a
//! [`ModelMetrics`](crate::ModelMetrics) was built for) and [`LazyHandle`] (a handle registered
//! at its first use, then kept).
//!
//! # First use
//!
//! A series appears in the recorder when a request first uses it, never before: a model that
//! served no request exports nothing, and a label set no request had exports nothing (Dynamo's
//! `*Vec::with_label_values` behaves alike). The first use describes the metric (help text,
//! unit) and registers the series through the recorder's own `register_*` methods, not the
//! facade's thread-local macros, so with [`Target::Recorder`] it lands in that recorder on any
//! thread, inside or outside any `with_local_recorder` scope.
//!
//! # After the first use
//!
//! A kept handle is read with one `OnceLock::get`: no registry lookup, no allocation, no lock.
//!
//! # Orderings
//!
//! The only state of this file is each `OnceLock`. `get` is an `Acquire` load that pairs with
//! the `Release` of the `set` that stored the handle, so a thread that sees the handle sees it
//! fully built. Two first uses racing each register (recorders return the same series for the
//! same key); the first `set` wins and the other handle is used once and dropped. The handles
//! themselves are the recorder's (`Arc`s into its storage); it orders its own atomics.

use ::metrics::{Key, Level, Metadata, Recorder};
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The metadata every request-metric series is registered with.
static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// The recorder a [`ModelMetrics`](crate::ModelMetrics) registers its series in.
#[derive(Clone)]
pub(super) enum Target {
    /// The facade's recorder at each series' first use ([`::metrics::with_recorder`]: the
    /// thread's local recorder if one is set, else the global one, else the no-op one). A
    /// handle from a zero-sized recorder (the no-op one when nothing is installed) is not
    /// kept, so counts are not lost to it for good: the next use registers again.
    Facade,
    /// This recorder, wherever the use happens.
    Recorder(Arc<dyn Recorder + Send + Sync>),
}

impl Target {
    /// Calls `register` with the target recorder; returns its handle and whether to keep it.
    pub(super) fn register<T>(&self, register: impl FnOnce(&dyn Recorder) -> T) -> (T, bool) {
        match self {
            Self::Recorder(r) => (register(&**r), true),
            Self::Facade => ::metrics::with_recorder(|r| {
                let keep = std::mem::size_of_val(r) != 0;
                (register(r), keep)
            }),
        }
    }

    /// The metadata to register a series with.
    pub(super) fn metadata() -> &'static Metadata<'static> {
        &METADATA
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Facade => "Facade",
            Self::Recorder(_) => "Recorder",
        })
    }
}

/// A handle registered at its first use and kept (see the module docs).
pub(super) struct LazyHandle<T>(OnceLock<T>);

impl<T> LazyHandle<T> {
    /// Not registered yet.
    pub(super) const fn new() -> Self {
        Self(OnceLock::new())
    }

    /// Calls `f` with the handle, registering it first through `register` (which returns the
    /// handle and whether to keep it) if this is its first use.
    #[inline]
    pub(super) fn with(&self, register: impl FnOnce() -> (T, bool), f: impl FnOnce(&T)) {
        match self.0.get() {
            Some(handle) => f(handle),
            None => self.first_use(register, f),
        }
    }

    #[cold]
    #[inline(never)]
    fn first_use(&self, register: impl FnOnce() -> (T, bool), f: impl FnOnce(&T)) {
        let (handle, keep) = register();
        if !keep {
            f(&handle);
            return;
        }
        // `Err`: another thread kept its handle of the same series first; use that one.
        let _ = self.0.set(handle);
        if let Some(handle) = self.0.get() {
            f(handle);
        }
    }
}

/// `Key::from_parts`, the labels collected (allocates; first use only).
pub(super) fn key(name: String, labels: impl IntoIterator<Item = ::metrics::Label>) -> Key {
    Key::from_parts(name, labels.into_iter().collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_debugs_as_its_variant() {
        assert_eq!(format!("{:?}", Target::Facade), "Facade");
        let recorder: Arc<dyn Recorder + Send + Sync> = Arc::new(::metrics::NoopRecorder);
        assert_eq!(format!("{:?}", Target::Recorder(recorder)), "Recorder");
    }
}
