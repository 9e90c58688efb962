//! A connection's outbound queue: bounded, and free while empty; and the
//! request to close the connection (slow consumer, logout elsewhere, ban),
//! which the session reads when its closing signal fires.
//!
//! Not a tokio `mpsc` channel: that allocates ~1.5 KiB per connection up
//! front (its shared state and a first block of 32 slots), and an idle
//! connection, which is most of them, never uses it. This queue is a
//! `VecDeque` that allocates on the first event and gives its buffer back
//! once a burst is written, so an idle connection costs one small `Arc`.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// A queue above this capacity is released when it empties; below it, it is
/// kept for the next event (a connection in a busy room gets a steady stream).
const KEEP_CAPACITY: usize = 16;

#[derive(Debug)]
struct Shared {
    frames: Mutex<Frames>,
    ready: Notify,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Frames {
    queue: VecDeque<Utf8Bytes>,
    /// The receiver is gone: later frames are dropped, not kept.
    closed: bool,
    /// Why the session should close, once something asked it to.
    close: Option<CloseRequest>,
}

/// A close code and reason for the session to end with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRequest {
    pub code: u16,
    pub reason: Cow<'static, str>,
}

impl Shared {
    fn frames(&self) -> MutexGuard<'_, Frames> {
        self.frames.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The queue already holds `capacity` frames.
#[derive(Debug)]
pub struct Full;

/// The hub's end: pushes without waiting.
#[derive(Debug, Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

/// The session's end.
#[derive(Debug)]
pub struct Inbox {
    shared: Arc<Shared>,
}

/// A queue holding at most `capacity` frames (at least one).
pub fn outbox(capacity: usize) -> (Outbox, Inbox) {
    let shared = Arc::new(Shared { frames: Mutex::default(), ready: Notify::new(), capacity: capacity.max(1) });
    (Outbox { shared: Arc::clone(&shared) }, Inbox { shared })
}

impl Outbox {
    /// Queues a frame; `Full` when the session has fallen `capacity` frames
    /// behind. A frame for a session that has ended is dropped.
    pub fn push(&self, frame: Utf8Bytes) -> Result<(), Full> {
        let mut frames = self.shared.frames();
        if frames.closed {
            return Ok(());
        }
        if frames.queue.len() >= self.shared.capacity {
            return Err(Full);
        }
        frames.queue.push_back(frame);
        drop(frames);
        // Stores a permit when the session is not waiting: no lost wake-up.
        self.shared.ready.notify_one();
        Ok(())
    }

    /// Records why the session should close; the first request wins (a
    /// slow consumer stays a slow consumer). `false` when one was already there.
    pub fn request_close(&self, request: CloseRequest) -> bool {
        let mut frames = self.shared.frames();
        if frames.close.is_some() {
            return false;
        }
        frames.close = Some(request);
        true
    }
}

impl Inbox {
    /// The next frame, waiting for one. Cancel-safe: a frame is taken only
    /// in the same poll that returns it.
    pub async fn recv(&self) -> Utf8Bytes {
        loop {
            let notified = self.shared.ready.notified();
            tokio::pin!(notified);
            // Registered before the check, so a push right after it wakes us.
            notified.as_mut().enable();
            if let Some(frame) = self.try_recv() {
                return frame;
            }
            notified.await;
        }
    }

    /// The next frame if one is queued.
    pub fn try_recv(&self) -> Option<Utf8Bytes> {
        let mut frames = self.shared.frames();
        let frame = frames.queue.pop_front();
        if frames.queue.is_empty() && frames.queue.capacity() > KEEP_CAPACITY {
            frames.queue = VecDeque::new();
        }
        frame
    }

    /// Gives the queue's buffer back when nothing is queued (a session
    /// that has been quiet for a while; a busy one keeps it, see
    /// `KEEP_CAPACITY`).
    pub fn release_if_empty(&self) {
        let mut frames = self.shared.frames();
        if frames.queue.is_empty() {
            frames.queue = VecDeque::new();
        }
    }

    /// Frames queued now.
    pub fn queued(&self) -> usize {
        self.shared.frames().queue.len()
    }

    /// Why the session was asked to close, if it was.
    pub fn close_request(&self) -> Option<CloseRequest> {
        self.shared.frames().close.clone()
    }
}

impl Drop for Inbox {
    /// Frees what is queued; the hub's later pushes are dropped.
    fn drop(&mut self) {
        let mut frames = self.shared.frames();
        frames.closed = true;
        frames.queue = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &str) -> Utf8Bytes {
        Utf8Bytes::from(text.to_owned())
    }

    #[tokio::test]
    async fn frames_come_out_in_order_and_the_bound_holds() {
        let (outbox, inbox) = outbox(2);
        outbox.push(frame("a")).unwrap();
        outbox.push(frame("b")).unwrap();
        assert!(outbox.push(frame("c")).is_err(), "a third frame overflows a queue of two");
        assert_eq!(inbox.queued(), 2);
        assert_eq!(inbox.recv().await.as_str(), "a");
        assert_eq!(inbox.try_recv().map(|f| f.as_str().to_owned()).as_deref(), Some("b"));
        assert!(inbox.try_recv().is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_push() {
        let (outbox, inbox) = outbox(8);
        let waiter = tokio::spawn(async move { inbox.recv().await.as_str().to_owned() });
        tokio::task::yield_now().await;
        outbox.push(frame("late")).unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.unwrap().unwrap();
        assert_eq!(got, "late");
    }

    #[test]
    fn the_first_close_request_wins() {
        let (outbox, inbox) = outbox(1);
        assert_eq!(inbox.close_request(), None);
        assert!(outbox.request_close(CloseRequest { code: 4008, reason: "slow consumer".into() }));
        assert!(!outbox.request_close(CloseRequest { code: 1000, reason: "logged out".into() }));
        assert_eq!(inbox.close_request().map(|request| request.code), Some(4008));
    }

    #[test]
    fn a_quiet_queue_gives_its_buffer_back_and_a_busy_one_keeps_it() {
        let (outbox, inbox) = outbox(64);
        for n in 0..3 {
            outbox.push(frame(&n.to_string())).unwrap();
        }
        inbox.try_recv().unwrap();
        inbox.release_if_empty();
        assert_eq!(inbox.queued(), 2, "frames still queued are kept");
        while inbox.try_recv().is_some() {}
        assert!(outbox.shared.frames().queue.capacity() > 0, "a small buffer survives a burst");
        inbox.release_if_empty();
        assert_eq!(outbox.shared.frames().queue.capacity(), 0);
    }

    #[tokio::test]
    async fn a_burst_gives_its_memory_back_and_a_closed_queue_keeps_nothing() {
        let (outbox, inbox) = outbox(1024);
        for n in 0..100 {
            outbox.push(frame(&n.to_string())).unwrap();
        }
        while inbox.try_recv().is_some() {}
        assert_eq!(outbox.shared.frames().queue.capacity(), 0);
        drop(inbox);
        outbox.push(frame("after")).unwrap();
        assert_eq!(outbox.shared.frames().queue.len(), 0);
    }
}
