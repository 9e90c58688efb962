//! A fixed store workload for instruction counts and for the floor of the
//! storage below B3: `batches` group commits of `rooms × per_room` messages
//! (64-byte bodies, one sender per room, as the B3 bench sends them),
//! through `Store::append_batch` on a fresh sled data dir. Run it under
//! `valgrind --tool=callgrind` before and after a change to the write path;
//! the count divided by the messages is the cost of one durable message in
//! the store (fsync time is not an instruction).
//!
//! `cargo run --release -p heartlink-append-load -- [batches] [rooms] [per_room] [in_flight]`
//!
//! `in_flight` batches are in the store at once (default 1, one after the
//! other, as the server's flusher stores them).
//!
//! `APPEND_LOAD_RAW` writes the same batches below heartlink instead, each
//! as the least a message can cost there (`heartlink-bench` runs every mode
//! beside B3, pinned to one core):
//!
//! - `sled` (or `1`): per message one transaction write of a 300-byte value
//!   under `room ++ seq` and a 16-byte one under a 54-byte idempotency key
//!   (about the sizes the store writes for these sends), one transaction and
//!   one flush per batch. The difference to the store is what heartlink adds
//!   to its storage (lookups, numbering, sealing, encoding).
//! - `sled-per-room`: one value per room per batch, the room's `per_room`
//!   messages of 300 bytes together under `room ++ first seq`, one
//!   `apply_batch` and one flush per batch: the floor of storing a room's
//!   messages of a batch as one sled value.
//! - `file`: a plain append-only file, one `write` of the whole batch (300
//!   bytes a message) and one `fdatasync` per batch.
//!
//! `APPEND_LOAD_SECONDS=S` stops after the first batch that ends past `S`
//! seconds (`batches` is then an upper bound). Every mode prints one line,
//! `MODE: N messages in B batches: S s, R messages/s` (MODE `store`, `sled`,
//! `sled-per-room` or `file`); opening the store or file is not timed.

use anyhow::{Context, bail};
use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use heartlink_protocol::{RoomId, UserId};
use heartlink_server::store::{MessageRecord, NewMessage, SledStore, Store, UserSummary};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Bytes a stored message takes in the raw modes.
const MESSAGE_BYTES: usize = 300;

fn arg(n: usize, default: usize) -> usize {
    std::env::args().nth(n).and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// The shape of the run, from the arguments and the environment.
#[derive(Debug, Clone, Copy)]
struct Load {
    batches: usize,
    rooms: usize,
    per_room: usize,
    /// When to stop early (`APPEND_LOAD_SECONDS`).
    limit: Option<Duration>,
}

impl Load {
    /// Whether another batch should start, `started` being when the first did.
    fn more(&self, done: usize, started: Instant) -> bool {
        done < self.batches && self.limit.is_none_or(|limit| started.elapsed() < limit)
    }
}

fn main() -> anyhow::Result<()> {
    let limit = match std::env::var("APPEND_LOAD_SECONDS") {
        Ok(text) => Some(Duration::try_from_secs_f64(text.parse().context("APPEND_LOAD_SECONDS")?).context("APPEND_LOAD_SECONDS")?),
        Err(_) => None,
    };
    let load = Load { batches: arg(1, 50), rooms: arg(2, 200), per_room: arg(3, 2), limit };
    let in_flight = arg(4, 1).max(1);
    let dir = ScratchDir::create()?;
    match std::env::var("APPEND_LOAD_RAW").as_deref() {
        Err(_) => store(dir.path(), load, in_flight),
        Ok("1" | "sled") => raw_sled(dir.path(), load),
        Ok("sled-per-room") => sled_per_room(dir.path(), load),
        Ok("file") => file(dir.path(), load),
        Ok(other) => bail!("APPEND_LOAD_RAW={other}: expected sled, sled-per-room or file"),
    }
}

/// A fresh directory under the system's temporary dir, removed on drop
/// (the server's own dependencies have no temp-dir crate; adding one would
/// change the feature set of a server built in the same cargo call).
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn create() -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("heartlink-append-load-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The line every mode ends with.
fn report(mode: &str, messages: u64, batches: usize, seconds: f64) -> anyhow::Result<()> {
    writeln!(
        std::io::stdout(),
        "{mode}: {messages} messages in {batches} batches: {seconds:.3} s, {:.0} messages/s",
        messages as f64 / seconds
    )?;
    Ok(())
}

/// heartlink's store: `Store::append_batch` (see the file doc).
fn store(dir: &Path, load: Load, in_flight: usize) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(async {
        let store = SledStore::open(dir)?;
        let rooms: Vec<(RoomId, UserSummary)> =
            (0..load.rooms).map(|i| (RoomId::random(), UserSummary { id: UserId::random(), username: format!("user{i}") })).collect();
        let body = "x".repeat(64);
        let started = Instant::now();
        let (mut n, mut batches) = (0u64, 0usize);
        let mut storing = FuturesOrdered::new();
        while load.more(batches, started) {
            batches += 1;
            let mut batch = Vec::with_capacity(rooms.len() * load.per_room);
            for _ in 0..load.per_room {
                for (room, sender) in &rooms {
                    n += 1;
                    let record = MessageRecord {
                        sender: sender.clone(),
                        body: body.clone(),
                        ts: 1_700_000_000_000 + n,
                        client_msg_id: format!("1700000000000000000-{n}"),
                        ..MessageRecord::default()
                    };
                    batch.push(NewMessage { room: *room, record });
                }
            }
            let store = store.clone();
            storing.push_back(async move { store.append_batch(batch).await });
            if storing.len() >= in_flight {
                if let Some(stored) = storing.next().await {
                    stored?;
                }
            }
        }
        while let Some(stored) = storing.next().await {
            stored?;
        }
        report("store", n, batches, started.elapsed().as_secs_f64())
    })
}

/// sled opened as the store opens it, without its own periodic flush.
fn open_sled(dir: &Path) -> anyhow::Result<sled::Db> {
    Ok(sled::Config::new().path(dir).cache_capacity(64 * 1024 * 1024).flush_every_ms(None).open()?)
}

fn room_ids(rooms: usize) -> Vec<[u8; 16]> {
    (0..rooms).map(|_| *RoomId::random().as_bytes()).collect()
}

/// The same writes straight into sled, two per message (see the file doc).
fn raw_sled(dir: &Path, load: Load) -> anyhow::Result<()> {
    use sled::Transactional;
    let db = open_sled(dir)?;
    let (messages, dedup) = (db.open_tree("messages")?, db.open_tree("dedup")?);
    let rooms = room_ids(load.rooms);
    let value = vec![b'v'; MESSAGE_BYTES];
    let started = Instant::now();
    let (mut n, mut batches) = (0u64, 0usize);
    while load.more(batches, started) {
        batches += 1;
        let seq = batches as u64;
        let mut writes = Vec::with_capacity(rooms.len() * load.per_room);
        for turn in 0..load.per_room as u64 {
            for room in &rooms {
                n += 1;
                let place = [&room[..], &((seq - 1) * load.per_room as u64 + turn + 1).to_be_bytes()].concat();
                let id = [&room[..], &room[..], format!("1700000000000000000-{n:04}").as_bytes()].concat();
                writes.push((place, id));
            }
        }
        (&messages, &dedup)
            .transaction(|(messages, dedup)| {
                for (place, id) in &writes {
                    messages.insert(place.as_slice(), value.as_slice())?;
                    dedup.insert(id.as_slice(), &[0u8; 16][..])?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|err| anyhow::anyhow!("transaction: {err:?}"))?;
        db.flush()?;
    }
    report("sled", n, batches, started.elapsed().as_secs_f64())
}

/// One sled value per room per batch (see the file doc).
fn sled_per_room(dir: &Path, load: Load) -> anyhow::Result<()> {
    let db = open_sled(dir)?;
    let messages = db.open_tree("messages")?;
    let rooms = room_ids(load.rooms);
    let value = vec![b'v'; MESSAGE_BYTES * load.per_room];
    let started = Instant::now();
    let (mut n, mut batches) = (0u64, 0usize);
    while load.more(batches, started) {
        let first_seq = (batches * load.per_room + 1) as u64;
        batches += 1;
        let mut batch = sled::Batch::default();
        for room in &rooms {
            batch.insert([&room[..], &first_seq.to_be_bytes()].concat(), value.as_slice());
            n += load.per_room as u64;
        }
        messages.apply_batch(batch)?;
        db.flush()?;
    }
    report("sled-per-room", n, batches, started.elapsed().as_secs_f64())
}

/// A plain append-only file: one write and one fdatasync per batch.
fn file(dir: &Path, load: Load) -> anyhow::Result<()> {
    let path = dir.join("messages.log");
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(&path).with_context(|| format!("opening {}", path.display()))?;
    let messages = load.rooms * load.per_room;
    let batch = vec![b'v'; MESSAGE_BYTES * messages];
    let started = Instant::now();
    let (mut n, mut batches) = (0u64, 0usize);
    while load.more(batches, started) {
        batches += 1;
        log.write_all(&batch).context("writing a batch")?;
        log.sync_data().context("fdatasync")?;
        n += messages as u64;
    }
    report("file", n, batches, started.elapsed().as_secs_f64())
}
