//! A fixed store workload for instruction counts: `batches` group commits of
//! `rooms × per_room` messages (64-byte bodies, one sender per room, as the
//! B3 bench sends them), through `Store::append_batch` on a fresh sled data
//! dir. Run it under `valgrind --tool=callgrind` before and after a change
//! to the write path; the count divided by the messages is the cost of one
//! durable message in the store (fsync time is not an instruction).
//!
//! `cargo run --release -p heartlink-server --example append_load -- [batches] [rooms] [per_room] [in_flight]`
//!
//! `in_flight` batches are in the store at once (default 1, one after the
//! other, as the server's flusher stores them).
//!
//! With `APPEND_LOAD_RAW=1` the same batches go to sled directly, as the
//! least a message can cost there: per message one transaction write of a
//! 300-byte value under `room ++ seq` and a 16-byte one under a 54-byte
//! idempotency key (about the sizes the store writes for these sends), one
//! transaction and one flush per batch. The difference is what heartlink
//! adds to its storage (lookups, numbering, sealing, encoding).

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use heartlink_protocol::{RoomId, UserId};
use heartlink_server::store::{MessageRecord, NewMessage, SledStore, Store, UserSummary};
use std::io::Write;

fn arg(n: usize, default: usize) -> usize {
    std::env::args().nth(n).and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let (batches, rooms, per_room, in_flight) = (arg(1, 50), arg(2, 200), arg(3, 2), arg(4, 1).max(1));
    let dir = tempfile::tempdir()?;
    if std::env::var_os("APPEND_LOAD_RAW").is_some() {
        return raw_sled(dir.path(), batches, rooms, per_room);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(async {
        let store = SledStore::open(dir.path())?;
        let rooms: Vec<(RoomId, UserSummary)> =
            (0..rooms).map(|i| (RoomId::random(), UserSummary { id: UserId::random(), username: format!("user{i}") })).collect();
        let body = "x".repeat(64);
        let started = std::time::Instant::now();
        let mut n = 0u64;
        let mut storing = FuturesOrdered::new();
        for _ in 0..batches {
            let mut batch = Vec::with_capacity(rooms.len() * per_room);
            for _ in 0..per_room {
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
        let seconds = started.elapsed().as_secs_f64();
        writeln!(std::io::stdout(), "{n} messages in {batches} batches: {seconds:.3} s, {:.0} messages/s", n as f64 / seconds)?;
        anyhow::Ok(())
    })
}

/// The same writes straight into sled (see the file doc).
fn raw_sled(dir: &std::path::Path, batches: usize, rooms: usize, per_room: usize) -> anyhow::Result<()> {
    use sled::Transactional;
    let db = sled::Config::new().path(dir).cache_capacity(64 * 1024 * 1024).flush_every_ms(None).open()?;
    let (messages, dedup) = (db.open_tree("messages")?, db.open_tree("dedup")?);
    let rooms: Vec<[u8; 16]> = (0..rooms).map(|_| *RoomId::random().as_bytes()).collect();
    let value = vec![b'v'; 300];
    let started = std::time::Instant::now();
    let (mut n, mut seq) = (0u64, 0u64);
    for _ in 0..batches {
        seq += 1;
        let mut writes = Vec::with_capacity(rooms.len() * per_room);
        for turn in 0..per_room as u64 {
            for room in &rooms {
                n += 1;
                let place = [&room[..], &((seq - 1) * per_room as u64 + turn + 1).to_be_bytes()].concat();
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
    let seconds = started.elapsed().as_secs_f64();
    writeln!(std::io::stdout(), "raw sled: {n} messages in {batches} batches: {seconds:.3} s, {:.0} messages/s", n as f64 / seconds)?;
    Ok(())
}
