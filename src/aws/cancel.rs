//! A caller's "stop now" (Ctrl-C in Python) for long AWS operations, which then undo what they
//! started instead of leaving half of it behind.

use tokio::sync::watch;

/// The receiving side: long operations select on [`Cancel::cancelled`].
#[derive(Clone, Debug)]
pub struct Cancel(Option<watch::Receiver<bool>>);

/// The sending side, kept by the caller.
#[derive(Debug)]
pub struct CancelHandle(watch::Sender<bool>);

impl Cancel {
    /// A pair: `handle.cancel()` makes `cancelled()` of every clone complete.
    pub fn new() -> (CancelHandle, Cancel) {
        let (tx, rx) = watch::channel(false);
        (CancelHandle(tx), Cancel(Some(rx)))
    }

    /// A signal that never comes (async callers, whose runtime cancels by dropping).
    pub fn never() -> Cancel {
        Cancel(None)
    }

    /// Completes once the caller cancels; never if it cannot (no handle, or handle dropped).
    pub async fn cancelled(&self) {
        if let Some(rx) = &self.0 {
            let mut rx = rx.clone();
            if rx.wait_for(|stop| *stop).await.is_ok() {
                return;
            }
        }
        std::future::pending::<()>().await;
    }
}

impl CancelHandle {
    pub fn cancel(&self) {
        let _ = self.0.send(true);
    }
}
