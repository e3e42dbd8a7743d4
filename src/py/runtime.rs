//! Parallelism shared by every call: rayon after `fork()`, thread counts, Ctrl-C.

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;

use crate::error::Error;

static FORKED: AtomicBool = AtomicBool::new(false);

extern "C" fn after_fork_in_child() {
    FORKED.store(true, Ordering::SeqCst);
}

/// Registers the fork handler. rayon's global pool does not survive `fork()` (its threads are
/// gone in the child, so the first parallel call would wait forever); like tokenizers, a forked
/// child (multiprocessing with the fork start method, Dask, gunicorn) runs sequentially instead.
pub fn install_fork_handler() {
    // SAFETY: pthread_atfork only stores the function pointer; the handler touches one atomic.
    #[allow(unsafe_code)]
    unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_in_child));
    }
}

/// How a batch call uses threads.
pub enum Threads {
    /// The global rayon pool (all cores).
    Global,
    /// A pool of its own with this many threads.
    Pool(rayon::ThreadPool),
    /// Sequential, on the calling thread (one thread asked for, or a forked child).
    Sequential,
}

impl Threads {
    pub fn new(threads: Option<usize>) -> Result<Self, Error> {
        match threads {
            Some(0) => Err(Error::InvalidArgument(
                "threads must be a positive integer or None (all cores)".into(),
            )),
            _ if FORKED.load(Ordering::Relaxed) => Ok(Threads::Sequential),
            Some(1) => Ok(Threads::Sequential),
            None => Ok(Threads::Global),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map(Threads::Pool)
                .map_err(|e| Error::InvalidArgument(format!("cannot start {n} threads: {e}"))),
        }
    }

    /// Runs `par` on the chosen pool, or `seq` sequentially.
    pub fn run<T: Send>(&self, par: impl FnOnce() -> T + Send, seq: impl FnOnce() -> T) -> T {
        match self {
            Threads::Global => par(),
            Threads::Pool(pool) => pool.install(par),
            Threads::Sequential => seq(),
        }
    }
}

/// Runs `f` with the GIL released, then checks for Ctrl-C (a pending `KeyboardInterrupt`).
pub fn detach<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    let out = py.detach(f);
    py.check_signals()?;
    Ok(out)
}
