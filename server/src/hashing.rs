//! Password hashing on a few dedicated threads, each reusing one argon2
//! memory block.
//!
//! argon2id with the crate's default cost needs 19 MiB per hash. Allocating
//! it per hash on tokio's blocking threads let the allocator keep those
//! buffers: the server's memory grew to ~800 MB after a hundred
//! registrations. Here each hashing thread owns one block buffer for its
//! whole life, so hashing costs `threads × 19 MiB`, however many accounts
//! log in. The threads are also the concurrency bound: a login flood queues
//! (bounded) instead of starving the rest of the server.
//!
//! The PHC strings are exactly what `argon2::Argon2::default()` writes and
//! reads (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`); a test checks both ways.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot};

/// Hash requests waiting for a thread, before callers wait to queue.
const QUEUE: usize = 256;

type Job = Box<dyn FnOnce(&mut Vec<Block>) + Send>;

/// Why hashing failed (an internal error; details are logged).
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// argon2 or the PHC encoding refused the input.
    #[error("password hashing: {0}")]
    Argon2(String),
    /// The hashing threads are gone.
    #[error("the password hashing threads stopped")]
    Stopped,
}

/// The hashing threads. They stop when this is dropped.
#[derive(Debug)]
pub struct Hasher {
    jobs: mpsc::Sender<Job>,
}

impl Hasher {
    /// Starts `threads` hashing threads.
    pub fn start(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new().name(format!("heartlink-hash-{n}")).spawn(move || {
                let mut memory = Vec::new();
                loop {
                    // The guard is dropped at the end of this statement, so
                    // the other threads can wait for the next job meanwhile.
                    let job = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner).blocking_recv();
                    match job {
                        Some(job) => job(&mut memory),
                        None => return,
                    }
                }
            })?;
        }
        Ok(Self { jobs })
    }

    /// A PHC string for `password` with a fresh random salt.
    pub async fn hash(&self, password: Vec<u8>) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|err| HashError::Argon2(format!("no randomness: {err}")))?;
        self.run(move |memory| hash_with(memory, &password, &salt)).await?
    }

    /// Whether `password` matches the PHC string `stored`.
    pub async fn verify(&self, password: Vec<u8>, stored: String) -> Result<bool, HashError> {
        self.run(move |memory| verify_with(memory, &password, &stored)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, result) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let _ = reply.send(work(memory));
        });
        self.jobs.send(job).await.map_err(|_| HashError::Stopped)?;
        result.await.map_err(|_| HashError::Stopped)
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
        let ours = hasher.hash(b"correct horse".to_vec()).await.unwrap();
        assert!(ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{ours}");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"correct horse", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"wrong", &parsed).is_err());

        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let theirs = Argon2::default().hash_password(b"battery staple", &salt).unwrap().to_string();
        assert!(hasher.verify(b"battery staple".to_vec(), theirs.clone()).await.unwrap());
        assert!(!hasher.verify(b"battery stapler".to_vec(), theirs).await.unwrap());
        assert!(!hasher.verify(b"x".to_vec(), "not a hash".to_owned()).await.unwrap());
    }
}
