//! The writing side of a PATCH, off the connection's task: body frames are
//! handed, as they arrive, to a blocking thread that writes them straight
//! to the part file (the frames hyper read, gathered into vectored writes
//! of a MiB or more: no copy into a buffer of ours or tokio's), feeds the
//! hashes (the whole file's SHA-256 and the PATCH's own `Upload-Checksum`
//! digest), and every [`SYNC_EVERY`] bytes wakes a second thread that
//! starts making what was written durable. The disk then works while the
//! next bytes arrive, and the fsync before the PATCH's answer (which stays
//! the caller's: [`Written::file`] is handed back unsynced) has little left
//! to flush.
//!
//! A failed background fsync is reported by [`PartWriter::finish`]: Linux
//! reports a writeback error once per open file, so the final fsync could
//! otherwise succeed after bytes were lost.

use super::MediaError;
use bytes::Bytes;
use ring::digest::Context;
use std::fs::File;
use std::io::{IoSlice, Write};
use std::path::PathBuf;
use tokio::sync::mpsc;

/// Frames waiting for the writer. A frame is at most hyper's read buffer
/// (~400 KiB), so a PATCH holds at most a few MiB here and in the batch
/// being gathered, usually about one.
const QUEUE: usize = 8;
/// Frames are gathered into writes of at least this many bytes: the page
/// cache keeps big writes in big folios, and a file written in hyper's
/// 16–64 KiB frames is read back (downloads) at a fraction of the speed.
const WRITE_AT_LEAST: usize = 1024 * 1024;
/// The most frames in one write (below the kernel's IOV_MAX of 1024).
const MOST_FRAMES: usize = 256;
/// Bytes written between two requests to the syncing thread.
const SYNC_EVERY: u64 = 8 * 1024 * 1024;

/// What the writer did: the part file (bytes written, not yet synced as a
/// whole), how many bytes, and the hashes continued with them.
pub struct Written {
    pub file: File,
    pub bytes: u64,
    pub whole: Option<Context>,
    pub digest: Option<Context>,
}

/// A running writer; frames go in with [`write`](Self::write).
pub struct PartWriter {
    frames: mpsc::Sender<Bytes>,
    done: tokio::task::JoinHandle<Result<Written, MediaError>>,
}

impl PartWriter {
    /// Starts writing to `file` (opened at the PATCH's offset) on a blocking thread.
    pub fn start(file: File, path: PathBuf, whole: Option<Context>, digest: Option<Context>) -> Self {
        let (frames, queue) = mpsc::channel(QUEUE);
        let done = tokio::task::spawn_blocking(move || write_all(file, &path, queue, whole, digest));
        Self { frames, done }
    }

    /// Hands a frame to the writer, waiting while the queue is full.
    /// `false`: the writer stopped (its error comes from [`finish`](Self::finish)).
    pub async fn write(&self, frame: Bytes) -> bool {
        self.frames.send(frame).await.is_ok()
    }

    /// No more frames: waits until every frame is written; the file and hashes.
    pub async fn finish(self) -> Result<Written, MediaError> {
        drop(self.frames);
        self.done.await?
    }
}

/// The writer thread: frames gathered into writes of [`WRITE_AT_LEAST`]
/// bytes (the rest when the body ends), hashed, and a sync started every
/// [`SYNC_EVERY`] bytes on a scoped second thread.
fn write_all(
    file: File,
    path: &std::path::Path,
    mut queue: mpsc::Receiver<Bytes>,
    mut whole: Option<Context>,
    mut digest: Option<Context>,
) -> Result<Written, MediaError> {
    let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
    let mut bytes = 0u64;
    let (written, synced) = std::thread::scope(|scope| {
        let file = &file;
        let syncer = scope.spawn(move || {
            let mut outcome = Ok(());
            while woken.recv().is_ok() {
                if let Err(err) = file.sync_data() {
                    outcome = Err(err);
                }
            }
            outcome
        });
        let written = (|| {
            let mut batch: Vec<Bytes> = Vec::with_capacity(MOST_FRAMES);
            let mut batched = 0usize;
            let mut since_sync = 0u64;
            loop {
                let next = queue.blocking_recv();
                let ended = next.is_none();
                if let Some(frame) = next {
                    batched += frame.len();
                    batch.push(frame);
                }
                if batch.is_empty() || (!ended && batched < WRITE_AT_LEAST && batch.len() < MOST_FRAMES) {
                    if ended {
                        break;
                    }
                    continue;
                }
                for frame in &batch {
                    if let Some(whole) = whole.as_mut() {
                        whole.update(frame);
                    }
                    if let Some(digest) = digest.as_mut() {
                        digest.update(frame);
                    }
                }
                write_batch(file, &batch)?;
                bytes += batched as u64;
                since_sync += batched as u64;
                batch.clear();
                batched = 0;
                if since_sync >= SYNC_EVERY {
                    // A sync already asked for and not started covers these bytes too.
                    let _ = wake.try_send(());
                    since_sync = 0;
                }
                if ended {
                    break;
                }
            }
            Ok::<(), std::io::Error>(())
        })();
        drop(wake);
        let synced = syncer.join().unwrap_or_else(|_| Err(std::io::Error::other("the syncing thread panicked")));
        (written, synced)
    });
    written.and(synced).map_err(|err| MediaError::io(path, err))?;
    Ok(Written { file, bytes, whole, digest })
}

/// Writes every frame of `batch`, in order, with as few calls as the kernel allows.
fn write_batch(mut file: &File, batch: &[Bytes]) -> std::io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = batch.iter().filter(|frame| !frame.is_empty()).map(|frame| IoSlice::new(frame)).collect();
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        match file.write_vectored(slices) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn frames_are_written_in_order_and_hashed_as_they_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        let file = File::create(&path).unwrap();
        let writer = PartWriter::start(file, path.clone(), Some(Context::new(&ring::digest::SHA256)), None);
        let mut expected = Vec::new();
        // Enough to cross SYNC_EVERY twice, in frames of uneven sizes.
        for n in 0..600u32 {
            let frame: Vec<u8> = (0..(n % 7 + 1) * 10_000).map(|i| (i ^ n) as u8).collect();
            expected.extend_from_slice(&frame);
            assert!(writer.write(Bytes::from(frame)).await);
        }
        let written = writer.finish().await.unwrap();
        assert_eq!(written.bytes, expected.len() as u64);
        assert!(written.bytes > 2 * SYNC_EVERY);
        drop(written.file);
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        let hash = hex::encode(written.whole.unwrap().finish());
        assert_eq!(hash, hex::encode(ring::digest::digest(&ring::digest::SHA256, &expected)));
    }
}
