//! Password hashing on a few dedicated threads, each reusing one argon2
//! memory block.
//!
//! argon2id with the crate's default cost needs 19 MiB per hash. Allocating
//! it per hash on tokio's blocking threads let the allocator keep those
//! buffers: the server's memory grew to ~800 MB after a hundred
//! registrations. Here each hashing thread owns one block buffer for its
//! whole life, so hashing costs `threads × 19 MiB`, however many accounts
//! log in. The threads are also the concurrency bound: a login flood queues
//! (bounded, and fair between addresses: see `queue.rs`) instead of starving
//! the rest of the server, and a job whose connection has gone is dropped
//! instead of computed.
//!
//! The PHC strings are exactly what `argon2::Argon2::default()` writes and
//! reads (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`); a test checks both ways.

mod queue;

use crate::address::AddressKey;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use queue::FairQueue;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::oneshot;

/// Hash requests waiting for a thread, from all addresses together.
const QUEUE: usize = 256;
/// Hash requests one address may have waiting.
const QUEUE_PER_ADDRESS: usize = 8;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Why hashing failed.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// argon2 or the PHC encoding refused the input (an internal error).
    #[error("password hashing: {0}")]
    Argon2(String),
    /// The hashing threads are gone.
    #[error("the password hashing threads stopped")]
    Stopped,
    /// The queue, or this address's line in it, is full: try again shortly.
    #[error("too many password checks waiting")]
    Busy,
}

/// Jobs run and jobs dropped because nobody waited for them any more.
#[derive(Debug, Default)]
struct Counts {
    run: AtomicU64,
    abandoned: AtomicU64,
}

/// The hashing threads. They stop when this is dropped.
#[derive(Debug)]
pub struct Hasher {
    queue: Arc<FairQueue<AddressKey, Job>>,
    counts: Arc<Counts>,
}

impl Hasher {
    /// Starts `threads` hashing threads.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let queue: Arc<FairQueue<AddressKey, Job>> = Arc::new(FairQueue::new(QUEUE, QUEUE_PER_ADDRESS));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new().name(format!("heartlink-hash-{n}")).spawn(move || {
                let mut memory = Vec::new();
                while let Some(job) = queue.pop() {
                    // A panic in one job must not take a hashing thread with
                    // it; the job's caller sees its reply dropped (Stopped).
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory)));
                    if ran.is_err() {
                        memory = Vec::new();
                    }
                }
            })?;
        }
        Ok(Self { queue, counts: Arc::new(Counts::default()) })
    }

    /// A PHC string for `password` with a fresh random salt, computed in
    /// `source`'s turn.
    pub async fn hash(&self, source: AddressKey, password: Vec<u8>) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|err| HashError::Argon2(format!("no randomness: {err}")))?;
        self.run(source, move |memory| hash_with(memory, &password, &salt)).await?
    }

    /// Whether `password` matches the PHC string `stored`, checked in `source`'s turn.
    pub async fn verify(&self, source: AddressKey, password: Vec<u8>, stored: String) -> Result<bool, HashError> {
        self.run(source, move |memory| verify_with(memory, &password, &stored)).await
    }

    /// Jobs computed so far, and jobs dropped unrun because their caller
    /// had gone (its connection closed while the job waited).
    pub fn counts(&self) -> (u64, u64) {
        (self.counts.run.load(Ordering::Relaxed), self.counts.abandoned.load(Ordering::Relaxed))
    }

    /// Jobs waiting for a thread.
    pub fn queued(&self) -> usize {
        self.queue.waiting()
    }

    /// Queues `work`. Dropping the returned future (the connection closed,
    /// its deadline passed) drops the job unrun when its turn comes.
    async fn run<T: Send + 'static>(
        &self,
        source: AddressKey,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, result) = oneshot::channel();
        let counts = Arc::clone(&self.counts);
        let job: Job = Box::new(move |memory| {
            if reply.is_closed() {
                counts.abandoned.fetch_add(1, Ordering::Relaxed);
                return;
            }
            counts.run.fetch_add(1, Ordering::Relaxed);
            let _ = reply.send(work(memory));
        });
        self.queue.push(source, job).map_err(|queue::QueueFull| HashError::Busy)?;
        result.await.map_err(|_| HashError::Stopped)
    }
}

impl Drop for Hasher {
    fn drop(&mut self) {
        self.queue.close();
    }
}

/// Hashes with the default argon2id parameters into a PHC string.
pub fn hash_with(memory: &mut Vec<Block>, password: &[u8], salt: &[u8]) -> Result<String, HashError> {
    let failed = |err: &dyn std::fmt::Display| HashError::Argon2(err.to_string());
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    memory.resize(params.block_count(), Block::default());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
        .hash_password_into_with_memory(password, salt, &mut out, memory.as_mut_slice())
        .map_err(|err| failed(&err))?;
    let salt = SaltString::encode_b64(salt).map_err(|err| failed(&err))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|err| failed(&err))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|err| failed(&err))?),
    };
    Ok(phc.to_string())
}

/// Checks `password` against a PHC string; anything malformed is a mismatch.
fn verify_with(memory: &mut Vec<Block>, password: &[u8], stored: &str) -> bool {
    let Ok(phc) = PasswordHash::new(stored) else { return false };
    let (Ok(params), Ok(algorithm)) = (Params::try_from(&phc), Algorithm::try_from(phc.algorithm)) else {
        return false;
    };
    let version = match phc.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else { return false };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    let mut out = vec![0u8; expected.len()];
    memory.resize(params.block_count(), Block::default());
    let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(password, salt, &mut out, memory.as_mut_slice());
    // Output's equality is constant-time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|output| output == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[tokio::test]
    async fn hashes_verify_both_ways_with_the_argon2_crate() {
        let hasher = Hasher::start(2).unwrap();
        let ours = hasher.hash(HOME, b"correct horse".to_vec()).await.unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());

        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let theirs = Argon2::default().hash_password(b"battery staple", &salt).unwrap().to_string();
        assert!(hasher.verify(HOME, b"battery staple".to_vec(), theirs.clone()).await.unwrap());
        assert!(!hasher.verify(HOME, b"battery stapler".to_vec(), theirs).await.unwrap());
        assert!(!hasher.verify(HOME, b"x".to_vec(), "not a hash".to_owned()).await.unwrap());
    }

    const HOME: AddressKey = AddressKey::V4([127, 0, 0, 1]);

    #[tokio::test]
    async fn a_job_whose_caller_went_away_is_not_computed() {
        let hasher = Hasher::start(1).unwrap();
        // Polled once, a hash is queued; dropping it is the caller going away.
        let waker = futures_util::task::noop_waker();
        let mut context = std::task::Context::from_waker(&waker);
        // Occupy the one thread (a hash takes tens of milliseconds), then
        // queue jobs whose callers give up at once.
        let mut busy = Box::pin(hasher.hash(HOME, b"keeps the thread busy".to_vec()));
        assert!(busy.as_mut().poll(&mut context).is_pending());
        let abandoned: Vec<_> = (0..5u8)
            .map(|n| {
                let mut future = Box::pin(hasher.hash(AddressKey::V4([10, 0, 0, n]), b"never wanted".to_vec()));
                assert!(future.as_mut().poll(&mut context).is_pending());
                future
            })
            .collect();
        drop(abandoned);
        busy.await.unwrap();
        hasher.hash(HOME, b"after them".to_vec()).await.unwrap();
        assert_eq!(hasher.counts(), (2, 5), "two jobs computed, five dropped unrun");
    }
}
