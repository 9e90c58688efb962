//! Tests of `messages.rs`: pages, retries, group commit, pruning of idempotency records.

use super::super::new_message;
use crate::store::{PageBudget, SledStore, Store};
use heartlink_protocol::{RoomId, UserId};

fn count(n: u32) -> PageBudget<'static> {
    PageBudget::count(n)
}

fn seqs(page: &crate::store::MessagePage) -> Vec<u64> {
    page.messages.iter().map(|m| m.seq).collect()
}

#[tokio::test]
async fn pages_are_chronological_and_rooms_do_not_mix() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let (room, other, alice) = (RoomId::from_bytes([2; 16]), RoomId::from_bytes([3; 16]), UserId::from_bytes([1; 16]));
    let batch = (1..=10).map(|n| new_message(room, alice, &format!("c{n}"), n)).collect();
    store.append_batch(batch).await.unwrap();
    store.append_batch(vec![new_message(other, alice, "c99", 99)]).await.unwrap();
    assert_eq!(store.last_seq(room).await.unwrap(), 10);
    assert_eq!(store.last_seq(other).await.unwrap(), 1);
    assert_eq!(store.last_seq(RoomId::from_bytes([9; 16])).await.unwrap(), 0);

    let latest = store.page_latest(room, 10, count(3)).await.unwrap();
    assert_eq!((seqs(&latest), latest.has_more), (vec![8, 9, 10], true));
    assert_eq!(latest.messages[0].record.body, "body of c8");
    let before = store.page_latest(room, 2, count(5)).await.unwrap();
    assert_eq!((seqs(&before), before.has_more), (vec![1, 2], false));
    let after = store.page_after(room, 7, 10, count(2)).await.unwrap();
    assert_eq!((seqs(&after), after.has_more), (vec![8, 9], true));
    assert!(store.page_after(room, 10, 10, count(5)).await.unwrap().messages.is_empty());
}

#[tokio::test]
async fn batches_written_while_another_flushes_keep_seqs_gapless_and_retries_get_their_original() {
    let dir = tempfile::tempdir().unwrap();
    let (room, alice) = (RoomId::from_bytes([4; 16]), UserId::from_bytes([1; 16]));
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut handles = Vec::new();
        for batch in 0..8u64 {
            let store = store.clone();
            // Every batch also retries the first message of the one before it.
            let mut messages: Vec<_> = (0..50).map(|n| new_message(room, alice, &format!("b{batch}-{n}"), batch * 100 + n)).collect();
            if batch > 0 {
                messages.push(new_message(room, alice, &format!("b{}-0", batch - 1), 1));
            }
            handles.push(tokio::spawn(async move { store.append_batch(messages).await.unwrap() }));
        }
        let mut fresh = Vec::new();
        for handle in handles {
            fresh.extend(handle.await.unwrap().into_iter().filter(|a| a.fresh).map(|a| a.seq));
        }
        fresh.sort_unstable();
        assert_eq!(fresh, (1..=400).collect::<Vec<_>>(), "every fresh message has its own seq, none missing");
        assert_eq!(store.last_seq(room).await.unwrap(), 400);
    }
    let store = SledStore::open(dir.path()).unwrap();
    let page = store.page_after(room, 0, 400, count(400)).await.unwrap();
    assert_eq!(seqs(&page), (1..=400).collect::<Vec<_>>());
    assert!(page.messages.iter().all(|m| m.record.body.starts_with("body of b")), "every text opens with its key");
    let retry = store.append_batch(vec![new_message(room, alice, "b3-0", 9)]).await.unwrap();
    assert!(!retry[0].fresh);
}

#[tokio::test]
async fn retries_get_the_original_seq_in_the_same_batch_a_later_one_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (room, alice, bob) = (RoomId::random(), UserId::from_bytes([1; 16]), UserId::from_bytes([2; 16]));
    {
        let store = SledStore::open(dir.path()).unwrap();
        let batch = vec![
            new_message(room, alice, "a", 100),
            new_message(room, alice, "a", 200), // a retry queued behind its original
            new_message(room, bob, "a", 300),   // same id, other sender: a new message
        ];
        let appended = store.append_batch(batch).await.unwrap();
        let got: Vec<_> = appended.iter().map(|a| (a.seq, a.ts, a.fresh)).collect();
        assert_eq!(got, vec![(1, 100, true), (1, 100, false), (2, 300, true)]);

        let later = store.append_batch(vec![new_message(room, bob, "a", 400), new_message(room, bob, "b", 500)]).await;
        let got: Vec<_> = later.unwrap().iter().map(|a| (a.seq, a.ts, a.fresh)).collect();
        assert_eq!(got, vec![(2, 300, false), (3, 500, true)]);
        assert_eq!(store.page_latest(room, 3, count(10)).await.unwrap().messages.len(), 3, "retries wrote nothing");
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.last_seq(room).await.unwrap(), 3, "the counter restarts from the last stored seq");
    let appended = store.append_batch(vec![new_message(room, alice, "a", 600), new_message(room, alice, "c", 700)]).await;
    let got: Vec<_> = appended.unwrap().iter().map(|a| (a.seq, a.ts, a.fresh)).collect();
    assert_eq!(got, vec![(1, 100, false), (4, 700, true)], "no gap, no reuse, dedup survives the restart");
}

#[tokio::test]
async fn seqs_are_gapless_per_room_across_interleaved_batches() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let (one, two, alice) = (RoomId::from_bytes([1; 16]), RoomId::from_bytes([2; 16]), UserId::random());
    let mut expected = (0u64, 0u64);
    for round in 0..5 {
        let batch: Vec<_> = (0..7)
            .map(|n| new_message(if n % 3 == 0 { two } else { one }, alice, &format!("{round}-{n}"), n))
            .collect();
        for (message, appended) in batch.clone().iter().zip(store.append_batch(batch).await.unwrap()) {
            let counter = if message.room == one { &mut expected.0 } else { &mut expected.1 };
            *counter += 1;
            assert_eq!(appended.seq, *counter);
        }
    }
    assert_eq!((store.last_seq(one).await.unwrap(), store.last_seq(two).await.unwrap()), expected);
}

#[tokio::test]
async fn pages_are_cut_by_size_and_never_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let (room, alice) = (RoomId::from_bytes([2; 16]), UserId::from_bytes([1; 16]));
    store.append_batch((1..=40).map(|n| new_message(room, alice, &format!("c{n}"), n)).collect()).await.unwrap();
    // Every message measures 100; the budget holds five and a half.
    let size = |_: &crate::store::SeqMessage| 100;
    let budget = PageBudget { count: 100, bytes: 550, size: &size };

    let latest = store.page_latest(room, 40, budget).await.unwrap();
    let seqs: Vec<u64> = latest.messages.iter().map(|m| m.seq).collect();
    assert_eq!((seqs, latest.has_more), (vec![36, 37, 38, 39, 40], true));
    let oldest = store.page_latest(room, 3, budget).await.unwrap();
    assert_eq!((oldest.messages.len(), oldest.has_more), (3, false));

    let after = store.page_after(room, 10, 40, budget).await.unwrap();
    let seqs: Vec<u64> = after.messages.iter().map(|m| m.seq).collect();
    assert_eq!((seqs, after.has_more), (vec![11, 12, 13, 14, 15], true));
    let tail = store.page_after(room, 37, 40, budget).await.unwrap();
    assert_eq!((tail.messages.len(), tail.has_more), (3, false));

    // A budget smaller than one message still moves on by one.
    let tiny = PageBudget { count: 100, bytes: 10, size: &size };
    assert_eq!(store.page_after(room, 0, 40, tiny).await.unwrap().messages.len(), 1);
    assert_eq!(store.page_latest(room, 40, tiny).await.unwrap().messages.len(), 1);
}

#[tokio::test]
async fn idempotency_records_are_pruned_after_their_window_and_the_messages_stay() {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let (room, alice) = (RoomId::from_bytes([2; 16]), UserId::from_bytes([1; 16]));
    // ts = n: messages 1..=10 stored at times 1..=10.
    store.append_batch((1..=10).map(|n| new_message(room, alice, &format!("c{n}"), n)).collect()).await.unwrap();
    let (mut removed, mut cursor) = (0, None);
    loop {
        let swept = store.trees.prune_dedup(6, cursor.as_ref(), 4).unwrap();
        removed += swept.removed;
        match swept.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(removed, 5);
    assert_eq!(store.prune_dedup(6).await.unwrap(), 0, "a whole pass finds nothing more");
    // A retry of 5 (pruned) is a new message; a retry of 6 (kept) is not.
    let retries = store.append_batch(vec![new_message(room, alice, "c5", 50), new_message(room, alice, "c6", 60)]).await;
    let got: Vec<_> = retries.unwrap().iter().map(|a| (a.seq, a.fresh)).collect();
    assert_eq!(got, [(11, true), (6, false)]);
    assert_eq!(store.page_latest(room, 11, count(20)).await.unwrap().messages.len(), 11, "the messages themselves stay");
}
