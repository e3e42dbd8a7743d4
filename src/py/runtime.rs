//! Parallelism shared by every call: rayon after `fork()`, thread counts, Ctrl-C.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::error::Error;

/// Registers the fork handler. rayon's global pool does not survive `fork()` (its threads are
/// gone in the child, so the first parallel call would wait forever); like tokenizers, a forked
/// child (multiprocessing with the fork start method, Dask, gunicorn) runs sequentially instead.
pub fn install_fork_handler() {
    crate::sys::watch_forks();
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
            _ if crate::sys::forked() => Ok(Threads::Sequential),
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

/// How often a running batch wakes to check for Ctrl-C and report progress.
const TICK: Duration = Duration::from_millis(100);

/// Maps `f` over `items` on `pool` with the GIL released, returning results in order.
///
/// The work runs on its own thread while the calling thread waits without the GIL, waking every
/// 100 ms to check for Ctrl-C (which cancels the remaining items and raises `KeyboardInterrupt`)
/// and to report progress; one parallel pass, so no core idles at chunk boundaries.
pub fn run_parallel<T, R, F>(
    py: Python<'_>,
    pool: &Threads,
    items: &[T],
    f: F,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<R>>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    use rayon::prelude::*;
    let done = AtomicUsize::new(0);
    let cancel = AtomicBool::new(false);
    let work = |item: &T| {
        if cancel.load(Ordering::Relaxed) {
            return None;
        }
        let r = f(item);
        done.fetch_add(1, Ordering::Relaxed);
        Some(r)
    };
    std::thread::scope(|scope| {
        let (tx, mut rx) = mpsc::channel();
        let work = &work;
        let handle = scope.spawn(move || {
            let out: Vec<Option<R>> = pool.run(
                || items.par_iter().with_min_len(1).map(work).collect(),
                || items.iter().map(work).collect(),
            );
            let _ = tx.send(());
            out
        });
        let mut reported = 0;
        loop {
            // The receiver is Send but not Sync: it goes into the detached closure and back.
            let (finished, back) = py.detach(move || (rx.recv_timeout(TICK).is_ok(), rx));
            rx = back;
            if let Err(e) = py.check_signals() {
                cancel.store(true, Ordering::Relaxed);
                let _ = py.detach(|| handle.join());
                return Err(e);
            }
            if let Some(cb) = progress {
                let now = done.load(Ordering::Relaxed);
                if now > reported {
                    cb.call1((now - reported,))?;
                    reported = now;
                }
            }
            if finished || handle.is_finished() {
                break;
            }
        }
        let out = py
            .detach(|| handle.join())
            .map_err(|_| PyRuntimeError::new_err("bedrock-batch worker panicked (a bug)"))?;
        Ok(out.into_iter().map(|r| r.expect("not cancelled")).collect())
    })
}

/// Runs `f` with the GIL released, then checks for Ctrl-C (a pending `KeyboardInterrupt`).
pub fn detach<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> PyResult<T> {
    let out = py.detach(f);
    py.check_signals()?;
    Ok(out)
}

/// The vector instruction paths the stages use here: e.g. `["vector", "sse2", "avx2"]`; empty
/// on a CPU without them or when `BEDROCK_BATCH_SIMD=off` was set before the first call.
#[pyfunction]
pub fn simd_paths() -> Vec<&'static str> {
    crate::sys::cpu_names()
}
