//! loom's stand-in for `portable_atomic::AtomicU128`: a 128-bit atomic that honours the
//! orderings passed to it.
//!
//! loom has no 128-bit atomic. A loom mutex around a `u128` would give the checker one location
//! with sequentially consistent access, and every model that publishes through a 128-bit slot
//! would then synchronise through that mutex whatever orderings the slot asks for: weakening
//! them failed no model. This stand-in instead keeps the value in two parts:
//!
//! * a loom `AtomicU64` **version**, on which every access is made with exactly the caller's
//!   ordering, so loom decides what a thread may see and what it synchronises with, as for any
//!   other atomic;
//! * a plain `std` append-only table `version → value` per instance. Each successful write
//!   appends its value under a fresh version and publishes that version, so equal versions mean
//!   equal writes (no ABA), and a stale version loom returns is a stale value. loom runs one
//!   thread at a time, so the `std` lock is never contended and synchronises nothing loom sees:
//!   it is bookkeeping, not part of the model.
//!
//! # Operations
//!
//! * `load(o)`: `table[version.load(o)]`. loom may return any version coherence allows, so a
//!   reader may see an old value, as a weak-memory load may.
//! * `compare_exchange(cur, new, s, f)`: a real CAS compares with the latest value and either
//!   writes with `s` or fails with `f`. The stand-in takes the latest version it published as a
//!   guess (`std` bookkeeping); if that value is `cur` it appends `new` at a fresh version and
//!   does `version.compare_exchange(guess, fresh, s, f)`. Otherwise it fails by a loom
//!   `compare_exchange` that expects a version never published: loom reads the latest version
//!   with ordering `f` and writes nothing, which is exactly a failed CAS. Either loom CAS that
//!   fails returns the latest version; if its value differs from `cur` that is the result (read
//!   with `f`), if it equals `cur` (another thread wrote an equal value, or published between
//!   the guess and the CAS) the stand-in tries again with it. Only that retry reads with `f`
//!   once more than a real CAS would: it can add synchronisation in that rare interleaving,
//!   never remove any.
//!
//! shuttle (`--cfg reqtrack_shuttle`) is sequentially consistent whatever the orderings, so it
//! keeps the simpler mutex stand-in (`u128_mutex`), whose scheduling points the committed
//! step-level fuzz inputs were recorded against.

use loom::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A version no write ever publishes: a CAS expecting it always fails.
const NEVER: u64 = u64::MAX;

/// Every value written, by version, and the version last published.
#[derive(Debug)]
struct History {
    values: Vec<u128>,
    latest: u64,
}

/// Stand-in for a 128-bit atomic under loom, honouring the orderings it is given.
#[derive(Debug)]
pub(crate) struct AtomicU128 {
    /// Index into `history.values`; every loom-visible access goes through it.
    version: AtomicU64,
    history: Mutex<History>,
}

impl AtomicU128 {
    pub(crate) fn new(v: u128) -> Self {
        Self {
            version: AtomicU64::new(0),
            history: Mutex::new(History {
                values: vec![v],
                latest: 0,
            }),
        }
    }

    fn history(&self) -> std::sync::MutexGuard<'_, History> {
        // Never poisoned: nothing panics while holding it.
        self.history.lock().unwrap()
    }

    fn value(&self, version: u64) -> u128 {
        self.history().values[version as usize]
    }

    pub(crate) fn load(&self, order: Ordering) -> u128 {
        self.value(self.version.load(order))
    }

    pub(crate) fn compare_exchange(
        &self,
        current: u128,
        new: u128,
        success: Ordering,
        failure: Ordering,
    ) -> Result<u128, u128> {
        let (mut guess, fresh) = {
            let mut h = self.history();
            h.values.push(new);
            (h.latest, (h.values.len() - 1) as u64)
        };
        loop {
            let expect = if self.value(guess) == current {
                guess
            } else {
                NEVER
            };
            match self
                .version
                .compare_exchange(expect, fresh, success, failure)
            {
                Ok(_) => {
                    self.history().latest = fresh;
                    return Ok(current);
                }
                Err(seen) => {
                    let value = self.value(seen);
                    if value != current {
                        return Err(value);
                    }
                    guess = seen;
                }
            }
        }
    }
}
