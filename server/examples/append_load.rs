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

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use heartlink_protocol::{RoomId, UserId};
use heartlink_server::store::{MessageRecord, NewMessage, SledStore, Store, UserSummary};

fn arg(n: usize, default: usize) -> usize {
    std::env::args().nth(n).and_then(|value| value.parse().ok()).unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let (batches, rooms, per_room, in_flight) = (arg(1, 50), arg(2, 200), arg(3, 2), arg(4, 1).max(1));
    let dir = tempfile::tempdir()?;
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
        println!("{n} messages in {batches} batches: {seconds:.3} s, {:.0} messages/s", n as f64 / seconds);
        anyhow::Ok(())
    })
}
