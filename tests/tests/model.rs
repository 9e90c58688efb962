//! Model-based test of the server: random sequences of register, join,
//! leave, send, resend (same client_msg_id) and restart (SIGTERM, then the
//! same data dir) run against the real server and an in-memory model
//! (model/state.rs). After every step the server must agree with the model
//! on the reply, on who received which event, on every user's rooms and last
//! seqs, and on every room's whole history: seqs 1..n without gaps, a resend
//! answered with the original seq and broadcasting nothing, all of it
//! surviving restarts.
//!
//! CI runs 8 sequences of 10-60 steps, ~1-2 s each (server starts and
//! restarts are the slow part); `HEARTLINK_MODEL_CASES=200 cargo test -p
//! heartlink-tests --test model` runs more (docs/CONFORMANCE.md).

#[path = "model/state.rs"]
mod state;
#[path = "model/world.rs"]
mod world;

use proptest::prelude::*;
use serde_json::json;
use state::{ACTORS, Model, ROOMS, Reply, Who};
use world::{World, next_frame, request};

/// One step. Actor and room numbers index the model's pools. A step by an
/// actor that has not registered yet registers it first, so that every step
/// means something, also once shrinking removed the earlier ones.
#[derive(Debug, Clone)]
enum Op {
    Register(usize),
    Join(usize, usize),
    Leave(usize, usize),
    /// Sends a new message; the room number aims it (see `Model::send_target`).
    Send(usize, usize, String),
    /// Repeats one of the actor's acked sends (chosen by the number), with a
    /// different body, which the server must ignore.
    Resend(usize, usize, String),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    let actor = 0..ACTORS;
    let room = 0..ROOMS;
    let body = "[a-zé❤ ]{0,8}[a-z]";
    // Weighted towards joins and sends: messages, seqs and retries are what
    // most needs checking; restarts are the slowest step (~0.4 s).
    prop_oneof![
        1 => actor.clone().prop_map(Op::Register),
        6 => (actor.clone(), room.clone()).prop_map(|(a, r)| Op::Join(a, r)),
        1 => (actor.clone(), room.clone()).prop_map(|(a, r)| Op::Leave(a, r)),
        6 => (actor.clone(), room, body).prop_map(|(a, r, b)| Op::Send(a, r, b)),
        4 => (actor, any::<usize>(), body).prop_map(|(a, n, b)| Op::Resend(a, n, b)),
        1 => Just(Op::Restart),
    ]
}

/// Cases per run: few in CI (each starts a server), more on demand.
fn cases() -> u32 {
    std::env::var("HEARTLINK_MODEL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(8)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Shrinking reruns whole sequences against fresh servers; bound it.
        max_shrink_time: 180_000,
        // The minimal failing sequence goes into the report and, once the
        // cause is understood, into a named regression test, not a file.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn server_agrees_with_the_model(ops in proptest::collection::vec(op(), 10..=60)) {
        block_on(run(ops));
    }
}

/// The first failure this test found (fixed in 48c4171): after a restart the
/// founder's re-join moved it behind actor 2 in `joined.members`, because a
/// re-join reset the membership time.
#[test]
fn rejoin_keeps_the_membership_order() {
    block_on(run(vec![Op::Register(2), Op::Join(2, 0), Op::Restart]));
}

fn block_on(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Runtime::new().expect("tokio runtime").block_on(test);
}

async fn run(ops: Vec<Op>) {
    let mut world = World::start().await;
    let mut model = Model::new();
    for op in ops {
        if step(&mut world, &mut model, &op).await {
            world.assert_state(&model).await;
        }
    }
    world.assert_no_stray_events().await;
}

/// Runs one step and checks its reply and events; false when it was a no-op.
async fn step(world: &mut World, model: &mut Model, op: &Op) -> bool {
    let actor = match op {
        Op::Restart => {
            model.restart();
            world.restart(model).await;
            return true;
        }
        Op::Register(a) => {
            register(world, model, *a).await;
            return true;
        }
        Op::Join(a, _) | Op::Leave(a, _) | Op::Send(a, _, _) | Op::Resend(a, _, _) => *a,
    };
    if !model.registered[actor] {
        register(world, model, actor).await;
        world.assert_state(model).await;
    }
    match op {
        Op::Join(a, r) => join(world, model, *a, *r).await,
        Op::Leave(a, r) => leave(world, model, *a, *r).await,
        Op::Send(a, r, body) => send(world, model, *a, model.send_target(*a, *r), body).await,
        Op::Resend(a, pick, body) => return resend(world, model, *a, *pick, body).await,
        Op::Register(_) | Op::Restart => unreachable!("handled above"),
    }
    true
}

async fn register(world: &mut World, model: &mut Model, actor: usize) {
    match model.register(actor).reply {
        Reply::Registered => world.register(actor).await,
        _ => world.register_taken(actor).await,
    }
}

async fn join(world: &mut World, model: &mut Model, actor: usize, room: usize) {
    if model.join_adds_member(actor, room) {
        world.space_new_membership().await;
    }
    let effect = model.join(actor, room);
    let room_id = world.room_ids[room].clone();
    let client = world.client(Who::Actor(actor));
    let joined = request(client, &json!({"type": "join", "room_id": room_id})).await;
    world.assert_joined(&joined, model, room);
    world.expect_events(&effect.events, model).await;
}

async fn leave(world: &mut World, model: &mut Model, actor: usize, room: usize) {
    let effect = model.leave(actor, room);
    let room_id = world.room_ids[room].clone();
    let client = world.client(Who::Actor(actor));
    let left = request(client, &json!({"type": "leave", "room_id": room_id})).await;
    assert_eq!(left, json!({"type": "left", "room_id": room_id}));
    world.expect_events(&effect.events, model).await;
}

async fn send(world: &mut World, model: &mut Model, actor: usize, room: usize, body: &str) {
    let effect = model.send(actor, room);
    let client_msg_id = world.fresh_client_msg_id();
    let room_id = world.room_ids[room].clone();
    let client = world.client(Who::Actor(actor));
    let request = json!({"type": "send", "room_id": room_id, "client_msg_id": client_msg_id, "body": body});
    client.send(request).await;
    match effect.reply {
        Reply::Sent { seq, .. } => {
            // PROTOCOL.md, Decisions: the sender's own chat_message precedes the ack.
            let echo = next_frame(client, "own chat_message").await;
            assert_eq!((&echo["type"], &echo["seq"], &echo["body"]), (&json!("chat_message"), &json!(seq), &json!(body)));
            let ack = next_frame(client, "ack").await;
            let expected = json!({"type": "ack", "room_id": room_id, "client_msg_id": client_msg_id, "seq": seq, "ts": echo["ts"]});
            assert_eq!(ack, expected, "ack of a new message");
            let ts = ack["ts"].as_u64().expect("ts");
            model.acked(actor, room, body.to_owned(), client_msg_id, ts);
        }
        Reply::Forbidden => expect_forbidden(next_frame(client, "forbidden").await),
        other => unreachable!("send cannot reply {other:?}"),
    }
    world.expect_events(&effect.events, model).await;
}

async fn resend(world: &mut World, model: &mut Model, actor: usize, pick: usize, body: &str) -> bool {
    let Some(original) = model.resend_target(actor, pick) else { return false };
    let effect = model.resend(actor, &original);
    let room_id = world.room_ids[original.room].clone();
    let client = world.client(Who::Actor(actor));
    let cmid = &original.client_msg_id;
    client.send(json!({"type": "send", "room_id": room_id, "client_msg_id": cmid, "body": body})).await;
    let reply = next_frame(client, "reply to a retry").await;
    match effect.reply {
        Reply::Resent { seq, ts, .. } => {
            // No chat_message first: a retry broadcasts nothing, to the sender neither.
            let expected = json!({"type": "ack", "room_id": room_id, "client_msg_id": cmid, "seq": seq, "ts": ts});
            assert_eq!(reply, expected, "a retry must get the original ack");
        }
        Reply::Forbidden => expect_forbidden(reply),
        other => unreachable!("resend cannot reply {other:?}"),
    }
    assert!(effect.events.is_empty());
    true
}

fn expect_forbidden(reply: serde_json::Value) {
    assert_eq!((&reply["type"], &reply["code"]), (&json!("error"), &json!("forbidden")), "{reply}");
}
