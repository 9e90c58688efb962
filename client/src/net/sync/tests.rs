//! Unit tests of the network task's bookkeeping: rejoin with `since`, outbox
//! resend with the original ids, paging on, refusals.

use super::*;
use heartlink_protocol::{Body, ClientMsgId, Room, RoomKind, User, UserId, decode_request};

fn room(id: RoomId) -> Room {
    Room { id, name: "general".into(), kind: RoomKind::Group, created_by: Some(UserId::random()), created_at: 0, ended: false }
}

fn message(room_id: RoomId, seq: u64) -> ChatMessage {
    let sender = User { id: UserId::random(), username: "bob".into() };
    ChatMessage { room_id, seq, sender, body: format!("m{seq}"), ts: 0, client_msg_id: format!("c{seq}"), ..ChatMessage::default() }
}

fn joined(room_id: RoomId, seqs: std::ops::RangeInclusive<u64>, last_seq: u64, has_more: bool) -> ServerMsg {
    ServerMsg::Joined {
        room: room(room_id),
        members: vec![],
        last_seq,
        messages: seqs.map(|seq| message(room_id, seq)).collect(),
        has_more,
        reads: vec![],
        members_cursor: None,
    }
}

/// Decodes frames the state produced, and the `ref`s they carry.
fn decoded(frames: &[String]) -> Vec<(ClientMsg, Option<String>)> {
    frames
        .iter()
        .map(|text| {
            let request = decode_request(text).unwrap();
            (request.msg, request.reference.map(|r| r.as_str().to_owned()))
        })
        .collect()
}

fn reply(msg: ServerMsg, reference: Option<&str>) -> ServerFrame {
    ServerFrame { msg, reference: reference.map(str::to_owned) }
}

fn outgoing(room_id: RoomId, id: &str) -> Outgoing {
    Outgoing::new(room_id, ClientMsgId::try_from(id).unwrap(), Body::try_from("hi").unwrap())
}

#[test]
fn reconnect_rejoins_with_last_held_seq_then_resends_outbox_with_original_ids() {
    let now = Instant::now();
    let mut state = SyncState::default();
    let room_id = RoomId::random();
    assert_eq!(state.join(room_id), None, "offline: nothing is sent");
    let step = state.on_connected();
    let sent = decoded(&step.frames);
    assert_eq!(sent[0].0, ClientMsg::Join { room_id, since: None });
    state.on_frame(reply(joined(room_id, 1..=3, 3, false), sent[0].1.as_deref()), now);
    state.on_frame(reply(ServerMsg::ChatMessage(message(room_id, 4)), None), now);
    state.on_disconnected();
    assert_eq!(state.send(outgoing(room_id, "c-offline")), None, "offline sends wait in the outbox");

    let step = state.on_connected();
    let sent = decoded(&step.frames);
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[0].0, ClientMsg::Join { room_id, since: Some(4) });
    assert!(matches!(&sent[1].0, ClientMsg::Send { client_msg_id, .. } if client_msg_id.as_str() == "c-offline"));
    assert_eq!(sent[2].0, ClientMsg::Ping, "the barrier after everything else");
    assert!(step.events.is_empty(), "resynced only after the join reply and the pong");
    let step = state.on_frame(reply(joined(room_id, 5..=6, 6, false), sent[0].1.as_deref()), now);
    assert!(matches!(step.events.as_slice(), [NetEvent::Server(_)]), "the pong is still due");
    let step = state.on_frame(reply(ServerMsg::Pong, None), now);
    assert!(matches!(step.events.as_slice(), [NetEvent::Server(_), NetEvent::Resynced]));
    let step = state.on_frame(reply(ServerMsg::Pong, None), now);
    assert!(!step.events.iter().any(|e| matches!(e, NetEvent::Resynced)), "reported once per connection");

    let ack = ServerMsg::Ack { room_id, client_msg_id: "c-offline".into(), seq: 7, ts: 1, call: None };
    state.on_frame(reply(ack, sent[1].1.as_deref()), now);
    assert_eq!(state.outbox_len(), 0);
    state.on_disconnected();
    assert_eq!(decoded(&state.on_connected().frames)[0].0, ClientMsg::Join { room_id, since: Some(6) });
}

#[test]
fn a_since_join_with_more_pages_on_before_reporting_resynced() {
    let now = Instant::now();
    let mut state = SyncState::default();
    let room_id = RoomId::random();
    state.join(room_id);
    let first = decoded(&state.on_connected().frames);
    state.on_frame(reply(joined(room_id, 1..=2, 2, false), first[0].1.as_deref()), now);
    state.on_disconnected();
    let rejoin = decoded(&state.on_connected().frames);
    assert_eq!(rejoin[0].0, ClientMsg::Join { room_id, since: Some(2) });
    let step = state.on_frame(reply(joined(room_id, 3..=502, 900, true), rejoin[0].1.as_deref()), now);
    let next = decoded(&step.frames);
    assert_eq!(next[0].0, ClientMsg::Join { room_id, since: Some(502) });
    assert!(!step.events.iter().any(|e| matches!(e, NetEvent::Resynced)));
    state.on_frame(reply(ServerMsg::Pong, None), now);
    let step = state.on_frame(reply(joined(room_id, 503..=900, 900, false), next[0].1.as_deref()), now);
    assert!(step.events.iter().any(|e| matches!(e, NetEvent::Resynced)));
}

#[test]
fn live_messages_during_paging_do_not_shorten_the_gap() {
    let now = Instant::now();
    let mut state = SyncState::default();
    let room_id = RoomId::random();
    state.join(room_id);
    let first = decoded(&state.on_connected().frames);
    state.on_frame(reply(joined(room_id, 1..=2, 2, false), first[0].1.as_deref()), now);
    state.on_disconnected();
    let rejoin = decoded(&state.on_connected().frames);
    // A page cut short by size: 3..=20 of a gap up to 900, then live 901 arrives.
    let step = state.on_frame(reply(joined(room_id, 3..=20, 900, true), rejoin[0].1.as_deref()), now);
    let next = decoded(&step.frames);
    state.on_frame(reply(ServerMsg::ChatMessage(message(room_id, 901)), None), now);
    assert_eq!(next[0].0, ClientMsg::Join { room_id, since: Some(20) });
    // Cut off again before the next page: the reconnect asks from the gap, not from 901.
    state.on_disconnected();
    let again = decoded(&state.on_connected().frames);
    assert_eq!(again[0].0, ClientMsg::Join { room_id, since: Some(20) });
    state.on_frame(reply(joined(room_id, 21..=901, 901, false), again[0].1.as_deref()), now);
    state.on_frame(reply(ServerMsg::ChatMessage(message(room_id, 902)), None), now);
    state.on_disconnected();
    assert_eq!(decoded(&state.on_connected().frames)[0].0, ClientMsg::Join { room_id, since: Some(902) });
}

#[test]
fn a_plain_join_with_has_more_means_older_history_not_a_gap() {
    let now = Instant::now();
    let mut state = SyncState::default();
    let room_id = RoomId::random();
    state.on_connected();
    let frame = decoded(&[state.join(room_id).unwrap()]);
    let step = state.on_frame(reply(joined(room_id, 51..=100, 100, true), frame[0].1.as_deref()), now);
    assert!(step.frames.is_empty());
    state.on_disconnected();
    assert_eq!(decoded(&state.on_connected().frames)[0].0, ClientMsg::Join { room_id, since: Some(100) });
}

#[test]
fn refused_join_forgets_the_room_and_a_rate_limited_send_is_retried_later() {
    let now = Instant::now();
    let mut state = SyncState::default();
    let room_id = RoomId::random();
    state.on_connected();
    let join = decoded(&[state.join(room_id).unwrap()]);
    let refusal = ServerMsg::error(ErrorCode::NotFound, "no such room");
    let step = state.on_frame(reply(refusal, join[0].1.as_deref()), now);
    assert!(matches!(&step.events[0], NetEvent::Refused { request: RequestKind::Join(id), code: ErrorCode::NotFound, .. } if *id == room_id));
    state.on_disconnected();
    let rejoin = decoded(&state.on_connected().frames);
    assert!(!rejoin.iter().any(|(msg, _)| matches!(msg, ClientMsg::Join { .. })), "a refused room is not re-joined");

    let send = decoded(&[state.send(outgoing(room_id, "c1")).unwrap()]);
    let step = state.on_frame(reply(ServerMsg::rate_limited("slow down", 500), send[0].1.as_deref()), now);
    assert!(step.events.is_empty(), "rate limiting is handled quietly by retrying");
    assert_eq!(state.next_retry(), Some(now + Duration::from_millis(500)));
    assert!(state.due_retries(now).is_empty());
    let retried = decoded(&state.due_retries(now + Duration::from_millis(500)));
    assert!(matches!(&retried[0].0, ClientMsg::Send { client_msg_id, .. } if client_msg_id.as_str() == "c1"));

    let unsaved = ServerMsg::Error { code: ErrorCode::Internal, message: "not saved".into(), retry_after_ms: Some(1000) };
    let step = state.on_frame(reply(unsaved, retried[0].1.as_deref()), now);
    assert!(step.events.is_empty(), "a send the store could not commit stays in the outbox");
    let retried = decoded(&state.due_retries(now + Duration::from_millis(1000)));
    assert!(matches!(&retried[0].0, ClientMsg::Send { client_msg_id, .. } if client_msg_id.as_str() == "c1"));

    let step = state.on_frame(reply(ServerMsg::error(ErrorCode::Forbidden, "not a member"), retried[0].1.as_deref()), now);
    assert!(matches!(&step.events[0], NetEvent::Refused { request: RequestKind::Send { .. }, code: ErrorCode::Forbidden, .. }));
    assert_eq!(state.outbox_len(), 0, "a message refused for good leaves the outbox");
}

#[test]
fn no_rooms_means_resynced_at_the_pong_and_typing_carries_no_ref() {
    let mut state = SyncState::default();
    let step = state.on_connected();
    assert!(step.events.is_empty(), "a login alone is not a re-sync");
    assert_eq!(decoded(&step.frames)[0].0, ClientMsg::Ping);
    let step = state.on_frame(reply(ServerMsg::Pong, None), Instant::now());
    assert!(matches!(step.events.as_slice(), [NetEvent::Server(_), NetEvent::Resynced]));
    let typing = state.request(&ClientMsg::Typing { room_id: RoomId::random(), active: true });
    assert!(!typing.contains("\"ref\""), "{typing}");
    assert!(state.request(&ClientMsg::ListRooms { cursor: None, limit: None }).contains("\"ref\""));
}
