//! The `Store` contract, the same assertions against the embedded sled
//! store and the PostgreSQL store (a real PostgreSQL, `heartlink_tests::postgres`):
//! the group commit with idempotency, gapless seqs under concurrent
//! batches (for PostgreSQL from two store instances on one database, i.e.
//! two nodes), paging, read markers, relations and deletions, calls,
//! accounts and moderation, export and restore.

#[path = "pg_contract/fixtures.rs"]
mod fixtures;

use fixtures::{Kind, fresh, message, room, summary, user};
use heartlink_protocol::{CallId, MediaId, RoomId, UserId};
use heartlink_server::store::call_rules::CallRefusal;
use heartlink_server::store::{
    AttachmentKindRecord, AttachmentRecord, BlockOutcome, BlockRecord, CallActionRecord, CallRecord, NameConflict, NewMessage, NewUser,
    PageBudget, PostgresStore, RelKindRecord, RelationRecord, RestoreRecord, RoomBanRecord, SchemaMode, Store,
};
use std::collections::BTreeSet;
use std::sync::Arc;

fn seqs(page: &heartlink_server::store::MessagePage) -> Vec<u64> {
    page.messages.iter().map(|m| m.seq).collect()
}

async fn retries_get_the_original_ack(kind: Kind) {
    let store = fresh(kind).await.store;
    let (room, alice, bob) = (RoomId::random(), UserId::random(), UserId::random());
    let batch = vec![message(room, alice, "a", 100), message(room, alice, "a", 200), message(room, bob, "a", 300)];
    let got: Vec<_> = store.append_batch(batch).await.unwrap().iter().map(|a| (a.seq, a.ts, a.fresh)).collect();
    assert_eq!(got, vec![(1, 100, true), (1, 100, false), (2, 300, true)]);
    let later = store.append_batch(vec![message(room, bob, "a", 400), message(room, bob, "b", 500)]).await.unwrap();
    assert_eq!(later.iter().map(|a| (a.seq, a.ts, a.fresh)).collect::<Vec<_>>(), vec![(2, 300, false), (3, 500, true)]);
    assert_eq!(store.last_seq(room).await.unwrap(), 3);
    assert_eq!(store.sent_seq(bob, room, "b").await.unwrap(), Some(3));
    assert_eq!(store.prune_dedup(301).await.unwrap(), 2, "the records of 1 and 2 are older");
    let again = store.append_batch(vec![message(room, alice, "a", 600)]).await.unwrap();
    assert_eq!((again[0].seq, again[0].fresh), (4, true), "a pruned id is a new message");
}

async fn pages_are_chronological_and_rooms_do_not_mix(kind: Kind) {
    let store = fresh(kind).await.store;
    let (room, other, alice) = (RoomId::random(), RoomId::random(), UserId::random());
    store.append_batch((1..=10).map(|n| message(room, alice, &format!("c{n}"), n)).collect()).await.unwrap();
    store.append_batch(vec![message(other, alice, "c99", 99)]).await.unwrap();
    assert_eq!((store.last_seq(room).await.unwrap(), store.last_seq(other).await.unwrap()), (10, 1));
    assert_eq!(store.last_seq(RoomId::random()).await.unwrap(), 0);
    let latest = store.page_latest(room, 10, PageBudget::count(3)).await.unwrap();
    assert_eq!((seqs(&latest), latest.has_more), (vec![8, 9, 10], true));
    assert_eq!(latest.messages[0].record.body, "body of c8");
    let before = store.page_latest(room, 2, PageBudget::count(5)).await.unwrap();
    assert_eq!((seqs(&before), before.has_more), (vec![1, 2], false));
    let after = store.page_after(room, 7, 10, PageBudget::count(2)).await.unwrap();
    assert_eq!((seqs(&after), after.has_more), (vec![8, 9], true));
    let rest = store.page_after(room, 7, 10, PageBudget::count(5)).await.unwrap();
    assert_eq!((seqs(&rest), rest.has_more), (vec![8, 9, 10], false));
    let size = |_: &heartlink_server::store::SeqMessage| 10;
    let bytes = store.page_after(room, 0, 10, PageBudget { count: 100, bytes: 35, size: &size }).await.unwrap();
    assert_eq!((seqs(&bytes), bytes.has_more), (vec![1, 2, 3], true), "the byte budget ends the page");
    assert!(store.page_after(room, 10, 10, PageBudget::count(5)).await.unwrap().messages.is_empty());
}

async fn read_markers_only_move_forward(kind: Kind) {
    let store = fresh(kind).await.store;
    let (alice, bob, carol) = (user(&*store, "alice").await, user(&*store, "bob").await, user(&*store, "carol").await);
    let room = room(&*store, alice, &[alice, bob, carol]).await;
    assert_eq!(store.advance_read(room, bob, 5).await.unwrap(), Some(5));
    assert_eq!(store.advance_read(room, bob, 3).await.unwrap(), None, "never backwards");
    assert_eq!(store.advance_read(room, carol, 7).await.unwrap(), Some(7));
    assert_eq!(store.read_seq(room, bob).await.unwrap(), 5);
    assert_eq!(store.read_seq(room, alice).await.unwrap(), 0);
    let leading: Vec<_> = store.leading_reads(room, 5, alice).await.unwrap().into_iter().map(|(u, s)| (u.username, s)).collect();
    assert_eq!(leading, vec![("carol".to_owned(), 7), ("bob".to_owned(), 5)]);
    assert!(store.remove_member(room, carol).await.unwrap());
    assert_eq!(store.leading_reads(room, 5, alice).await.unwrap().len(), 1, "only current members");
    let mut expected = vec![(bob, 5), (carol, 7)];
    expected.sort();
    assert_eq!(store.reads_after(room, None, 10).await.unwrap(), expected);
    let page = store.member_page(room, None, 1).await.unwrap();
    assert_eq!(page.members.len(), 1);
    let rest = store.member_page(room, page.next, 10).await.unwrap();
    assert_eq!((rest.members.len(), rest.next), (1, None));
    assert_eq!(store.rooms_of(bob).await.unwrap(), vec![room]);
    assert_eq!(store.membership_count(carol).await.unwrap(), 0);
}

fn relation(room: RoomId, sender: UserId, id: &str, target: u64, rel: RelKindRecord) -> NewMessage {
    let mut new = message(room, sender, id, 1);
    new.record.relates_to = Some(RelationRecord { seq: target, rel });
    new
}

fn with_media(mut new: NewMessage, media: MediaId) -> NewMessage {
    new.record.attachment = Some(Box::new(AttachmentRecord {
        media_id: media,
        name: "f.txt".into(),
        mime: "text/plain".into(),
        size: 3,
        sha256: "ab".repeat(32),
        kind: AttachmentKindRecord::File,
        width: None,
        height: None,
        duration_ms: None,
        waveform: None,
    }));
    new
}

async fn a_deletion_blanks_the_target_and_its_edits(kind: Kind) {
    let store = fresh(kind).await.store;
    let (room, alice, bob) = (RoomId::random(), UserId::random(), UserId::random());
    let mut first = message(room, alice, "c1", 1);
    first.record.body = "secret plans".into();
    first.record.mentions = vec![bob];
    store.append_batch(vec![first, relation(room, alice, "c2", 1, RelKindRecord::Edit)]).await.unwrap();
    store.append_batch(vec![message(room, bob, "c3", 3)]).await.unwrap();
    assert_eq!(store.mentions_after(room, bob, 0, 100).await.unwrap(), 1);
    let deleted = store.append_batch(vec![relation(room, alice, "c4", 1, RelKindRecord::Delete)]).await.unwrap();
    assert_eq!(deleted[0].seq, 4);
    for seq in [1, 2] {
        let record = store.message(room, seq).await.unwrap().unwrap();
        assert!(record.deleted && record.body.is_empty() && record.mentions.is_empty(), "{seq}: {record:?}");
    }
    assert_eq!(store.message(room, 3).await.unwrap().unwrap().body, "body of c3");
    assert_eq!(store.mentions_after(room, bob, 0, 100).await.unwrap(), 0, "a deleted mention does not count");
    // The operator's blanking (what a shred leaves): the seq stays, the text goes.
    let before = store.blank_message(room, 3).await.unwrap().unwrap();
    assert_eq!(before.body, "body of c3");
    let after = store.message(room, 3).await.unwrap().unwrap();
    assert!(after.deleted && after.body.is_empty() && after.sender.id == bob);
    assert!(store.blank_message(room, 99).await.unwrap().is_none());
}

async fn a_deleted_attachment_is_released_when_nothing_carries_it(kind: Kind) {
    let fresh = fresh(kind).await;
    let store = fresh.store;
    let (room, other_room, alice) = (RoomId::random(), RoomId::random(), UserId::random());
    let media = MediaId::random();
    store.append_batch(vec![with_media(message(room, alice, "a", 1), media)]).await.unwrap();
    store.append_batch(vec![with_media(message(other_room, alice, "b", 2), media)]).await.unwrap();
    let first = store.append_batch(vec![relation(room, alice, "d1", 1, RelKindRecord::Delete)]).await.unwrap();
    assert!(first[0].released_media.is_empty(), "the other room's message still carries it");
    assert!(store.message(room, 1).await.unwrap().unwrap().attachment.is_none());
    let second = store.append_batch(vec![relation(other_room, alice, "d2", 1, RelKindRecord::Delete)]).await.unwrap();
    assert_eq!(second[0].released_media, vec![media]);
    let again = store.append_batch(vec![relation(other_room, alice, "d3", 1, RelKindRecord::Delete)]).await.unwrap();
    assert!(again[0].released_media.is_empty(), "released once");
}

fn step(room: RoomId, sender: UserId, id: &str, ts: u64, call: CallId, action: CallActionRecord) -> NewMessage {
    let mut new = message(room, sender, id, ts);
    new.record.body = String::new();
    let expires_at = (action == CallActionRecord::Invite).then_some(1000);
    new.record.call = Some(Box::new(CallRecord { call_id: call, action, url: None, expires_at }));
    new
}

async fn calls_are_judged_in_the_batch(kind: Kind) {
    let store = fresh(kind).await.store;
    let (alice, bob, carol) = (user(&*store, "alice").await, user(&*store, "bob").await, user(&*store, "carol").await);
    let room = room(&*store, alice, &[alice, bob, carol]).await;
    let (id, second) = (CallId::random(), CallId::random());
    let batch = vec![
        step(room, alice, "i", 10, id, CallActionRecord::Invite),
        step(room, bob, "a", 20, id, CallActionRecord::Accept),
        step(room, carol, "a", 21, id, CallActionRecord::Accept),
    ];
    let answers = store.append_batch(batch).await.unwrap();
    assert_eq!(answers.iter().map(|a| (a.seq, a.refused)).collect::<Vec<_>>(), [(1, None), (2, None), (0, Some(CallRefusal::Finished))]);
    assert_eq!(store.next_call_expiry().await.unwrap(), None, "an answered call has no pending expiry");
    store.append_batch(vec![step(room, alice, "i2", 30, second, CallActionRecord::Invite)]).await.unwrap();
    let busy = store.append_batch(vec![step(room, bob, "i3", 31, CallId::random(), CallActionRecord::Invite)]).await.unwrap();
    assert_eq!(busy[0].refused, Some(CallRefusal::RoomRinging));
    let declines = store
        .append_batch(vec![step(room, bob, "d", 32, second, CallActionRecord::Decline), step(room, bob, "d2", 33, second, CallActionRecord::Decline)])
        .await
        .unwrap();
    assert_eq!(declines.iter().map(|a| a.refused).collect::<Vec<_>>(), [None, Some(CallRefusal::AlreadyDeclined)]);
    assert_eq!(store.next_call_expiry().await.unwrap(), Some(1000), "carol has not declined");
    let due = store.due_calls(1000, 10).await.unwrap();
    assert_eq!((due.len(), due[0].call_id, due[0].inviter.id), (1, second, alice));
    let calls = store.calls_after(room, None, 10).await.unwrap();
    assert_eq!(calls.len(), 2);
    let ringing = calls.iter().find(|call| call.call_id == second).unwrap();
    assert!(ringing.ringing && ringing.declined == vec![bob]);
    let missed = store.append_batch(vec![step(room, alice, "m", 1001, second, CallActionRecord::Missed)]).await.unwrap();
    assert_eq!((missed[0].seq, missed[0].refused), (5, None));
    assert!(store.due_calls(u64::MAX, 10).await.unwrap().is_empty());
}

async fn accounts_tokens_and_moderation(kind: Kind) {
    let store = fresh(kind).await.store;
    let alice = user(&*store, "alice").await;
    let taken = NewUser { username: "x".into(), canonical: "alice".into(), lookalikes: vec![], password_hash: "h".into(), created_at: 2 };
    assert_eq!(store.create_user(taken).await.unwrap(), Err(NameConflict::Taken));
    let lookalike = NewUser { username: "y".into(), canonical: "other".into(), lookalikes: vec!["look-alice".into()], password_hash: "h".into(), created_at: 2 };
    assert_eq!(store.create_user(lookalike).await.unwrap(), Err(NameConflict::LooksLike));
    assert!(store.user_by_name("other").await.unwrap().is_none(), "a refused account leaves nothing");
    assert_eq!(store.user_by_name("alice").await.unwrap().unwrap().id, alice);
    for n in 0..4u8 {
        store.insert_token(&[n; 32], alice, 1_000 + u64::from(n)).await.unwrap();
    }
    assert_eq!(store.use_token(&[0; 32], 1_500, 1_000).await.unwrap(), Some(alice));
    assert_eq!(store.trim_tokens(alice, 2, &[0; 32]).await.unwrap(), vec![[1; 32], [2; 32]], "oldest first, never the current");
    assert_eq!(store.token_count(alice).await.unwrap(), 2);
    assert_eq!(store.use_token(&[3; 32], 9_000, 1_000).await.unwrap(), None, "expired");
    assert!(!store.token_exists(&[3; 32]).await.unwrap());
    assert_eq!(store.sweep_tokens(9_000, 1_000).await.unwrap(), 1);
    let bob = user(&*store, "bob").await;
    let block = BlockRecord { user: summary(bob, "bob"), shown: summary(UserId::random(), "fox"), at: 5 };
    assert_eq!(store.block_user(alice, &block, 1).await.unwrap(), BlockOutcome::Added);
    assert!(matches!(store.block_user(alice, &block, 1).await.unwrap(), BlockOutcome::Already(_)));
    let other = BlockRecord { user: summary(UserId::random(), "c"), shown: summary(UserId::random(), "c"), at: 6 };
    assert_eq!(store.block_user(alice, &other, 1).await.unwrap(), BlockOutcome::Full);
    assert_eq!(store.unblock_user(alice, block.shown.id).await.unwrap(), Some(block));
    let room = room(&*store, alice, &[alice]).await;
    let ban = RoomBanRecord { user: summary(bob, "bob"), by: alice, at: 7 };
    assert!(store.ban_from_room(room, &ban).await.unwrap());
    assert!(!store.ban_from_room(room, &ban).await.unwrap());
    assert!(store.is_banned_from(room, bob).await.unwrap());
    assert!(store.unban_from_room(room, bob).await.unwrap());
    store.set_last_seen(bob, 42).await.unwrap();
    assert_eq!(store.last_seen(&[alice, bob]).await.unwrap(), vec![None, Some(42)]);
    store.probe().await.unwrap();
}

/// Exports one store page by page and restores it into another: every
/// message, seq and read marker reads back the same.
async fn export_and_restore_keep_everything(kind: Kind) {
    let source = fresh(kind).await.store;
    let (alice, bob) = (user(&*source, "alice").await, user(&*source, "bob").await);
    let room = room(&*source, alice, &[alice, bob]).await;
    source.append_batch((1..=30).map(|n| message(room, alice, &format!("m{n}"), n)).collect()).await.unwrap();
    source.append_batch(vec![relation(room, bob, "del", 3, RelKindRecord::Delete)]).await.unwrap();
    source.advance_read(room, bob, 17).await.unwrap();
    let mut records = Vec::new();
    for user in source.users_after(None, 100).await.unwrap() {
        let canonical = user.username.clone();
        records.push(RestoreRecord::User { record: user, canonical, lookalikes: vec![] });
    }
    for record in source.rooms_after(None, 100).await.unwrap() {
        let id = record.id;
        records.push(RestoreRecord::Room(record));
        let members = source.member_page(id, None, 100).await.unwrap().members;
        records.extend(members.into_iter().map(|m| RestoreRecord::Member { room: id, user: m.user.id, joined_at: m.joined_at }));
        for (user, seq) in source.reads_after(id, None, 100).await.unwrap() {
            records.push(RestoreRecord::Read { room: id, user, seq });
        }
        let last = source.last_seq(id).await.unwrap();
        let page = source.page_after(id, 0, last, PageBudget::count(1000)).await.unwrap();
        records.extend(page.messages.into_iter().map(|m| RestoreRecord::Message { room: id, seq: m.seq, record: m.record }));
    }
    let target = fresh(kind).await.store;
    assert!(target.is_empty().await.unwrap());
    target.restore(records).await.unwrap();
    assert!(!target.is_empty().await.unwrap());
    assert_eq!(target.last_seq(room).await.unwrap(), 31);
    let (from, to) = (source.page_after(room, 0, 31, PageBudget::count(100)).await.unwrap(), target.page_after(room, 0, 31, PageBudget::count(100)).await.unwrap());
    let read = |page: &heartlink_server::store::MessagePage| page.messages.iter().map(|m| (m.seq, m.record.clone())).collect::<Vec<_>>();
    assert_eq!(read(&from), read(&to));
    assert_eq!(target.read_seq(room, bob).await.unwrap(), 17);
    assert_eq!(target.sent_seq(alice, room, "m5").await.unwrap(), Some(5), "the idempotency records came along");
    let next = target.append_batch(vec![message(room, bob, "new", 99)]).await.unwrap();
    assert_eq!(next[0].seq, 32, "seqs go on where the export ended");
}

/// 2 × 2000 concurrent single-message batches to one room, from two store
/// handles (two nodes on one database for PostgreSQL): seqs 1..=4000, no
/// gap, no duplicate, and every ack reads back.
async fn concurrent_sends_get_gapless_seqs(kind: Kind) {
    let first = fresh(kind).await;
    let second: Arc<dyn Store> = match &first.url {
        Some(url) => Arc::new(PostgresStore::open(url, SchemaMode::Require).await.unwrap()),
        None => Arc::clone(&first.store),
    };
    let room = RoomId::random();
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for (node, store) in [first.store.clone(), second].into_iter().enumerate() {
        for lane in 0..16 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let sender = UserId::random();
                let mut acked = Vec::new();
                for n in 0..125 {
                    let appended = store.append_batch(vec![message(room, sender, &format!("n{node}-{lane}-{n}"), n)]).await.unwrap();
                    acked.push(appended[0].seq);
                }
                acked
            }));
        }
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.extend(task.await.unwrap());
    }
    let took = started.elapsed();
    let rate = 4000.0 / took.as_secs_f64();
    eprintln!("figure: 4000 single-message batches to one room, 32 at a time from two handles, on {kind:?}: {took:.1?} ({rate:.0} acks/s)");
    assert_eq!(seqs.len(), 4000);
    let unique: BTreeSet<u64> = seqs.iter().copied().collect();
    assert_eq!(unique.len(), 4000, "no seq given twice");
    assert_eq!((unique.first().copied(), unique.last().copied()), (Some(1), Some(4000)), "no gap");
    assert_eq!(first.store.last_seq(room).await.unwrap(), 4000);
    let page = first.store.page_after(room, 0, 4000, PageBudget::count(5000)).await.unwrap();
    assert_eq!(page.messages.len(), 4000);
}

both_stores!(
    retries_get_the_original_ack,
    pages_are_chronological_and_rooms_do_not_mix,
    read_markers_only_move_forward,
    a_deletion_blanks_the_target_and_its_edits,
    a_deleted_attachment_is_released_when_nothing_carries_it,
    calls_are_judged_in_the_batch,
    accounts_tokens_and_moderation,
    export_and_restore_keep_everything,
    concurrent_sends_get_gapless_seqs,
);
