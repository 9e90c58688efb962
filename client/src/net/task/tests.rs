//! The network task against a fake server on a real socket: when the
//! backoff resets, how it is capped after a long-lived session, and that a
//! sleep of the computer makes it reconnect at once.

use super::super::{NetHandle, NetOptions, WallClock, spawn_with};
use super::*;
use heartlink_protocol::{ServerMsg, SessionId, User, UserId, decode_request, encode_server};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

/// How the fake server treats each connection after the login frame.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Accepts the login, then drops the connection before answering anything else.
    DropAfterLogin,
    /// Accepts the login, answers every `ping` (so the client re-syncs), and
    /// drops the connection after `keep`.
    ResyncThenDrop { keep: Duration },
    /// Accepts the login, then closes with 4003 (the operator banned the account).
    BanAfterLogin,
    /// Refuses every login with `error{code:"banned"}`.
    RefuseBanned,
}

struct FakeServer {
    url: String,
    connections: Arc<AtomicUsize>,
    /// Set: every new connection is closed at once (the server is "down").
    down: Arc<std::sync::atomic::AtomicBool>,
}

async fn fake_server(behaviour: Behaviour) -> FakeServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let down = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (counter, is_down) = (Arc::clone(&connections), Arc::clone(&down));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            if is_down.load(Ordering::SeqCst) {
                continue;
            }
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(stream, behaviour));
        }
    });
    FakeServer { url, connections, down }
}

async fn serve(stream: tokio::net::TcpStream, behaviour: Behaviour) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let _login = ws.next().await;
    if let Behaviour::RefuseBanned = behaviour {
        let refusal = ServerMsg::error(heartlink_protocol::ErrorCode::Banned, "banned: spam");
        let _ = ws.send(Message::text(encode_server(&refusal, None))).await;
        return;
    }
    let user = User { id: UserId(uuid::Uuid::from_u128(7)), username: "alice".into() };
    let established = ServerMsg::ConnectionEstablished {
        user,
        token: "t".into(),
        session_id: SessionId(uuid::Uuid::from_u128(8)),
        heartbeat_secs: 30,
        server_version: "fake".into(),
        protocol: 1,
        blocked: Vec::new(),
    };
    let _ = ws.send(Message::text(encode_server(&established, None))).await;
    let keep = match behaviour {
        Behaviour::DropAfterLogin | Behaviour::RefuseBanned => return,
        Behaviour::BanAfterLogin => {
            let frame = CloseFrame { code: CloseCode::from(4003), reason: "spam\u{1b}[2J".into() };
            let _ = ws.close(Some(frame)).await;
            return;
        }
        Behaviour::ResyncThenDrop { keep } => keep,
    };
    let until = Instant::now() + keep;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(until, ws.next()).await {
        let Message::Text(text) = frame else { continue };
        if decode_request(&text).is_ok_and(|request| request.msg == ClientMsg::Ping) {
            let _ = ws.send(Message::text(encode_server(&ServerMsg::Pong, None))).await;
        }
    }
}

fn options(base_ms: u64, cap_ms: u64) -> NetOptions {
    NetOptions { backoff: Backoff::new(Duration::from_millis(base_ms), Duration::from_millis(cap_ms)), ..NetOptions::default() }
}

fn start(options: NetOptions, url: &str) -> (NetHandle, CancellationToken) {
    let tracker = TaskTracker::new();
    let cancel = CancellationToken::new();
    let handle = spawn_with(&tracker, cancel.clone(), options);
    let auth = Auth::Resume { token: Secret::new("t"), presence: true };
    handle.commands.try_send(NetCmd::Authenticate { server: url.to_owned(), auth }).unwrap();
    (handle, cancel)
}

/// The next backoff wait the task reports: (attempt number, its length).
async fn next_wait(handle: &mut NetHandle) -> (u32, Duration) {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(20), handle.events.recv()).await.expect("an event in time");
        if let Some(NetEvent::State(ConnState::Reconnecting { attempt, retry_at: Some(at) })) = event {
            return (attempt, at.saturating_duration_since(Instant::now()));
        }
        assert!(event.is_some(), "the task stopped");
    }
}

#[tokio::test]
async fn a_server_that_drops_after_the_login_is_not_hammered() {
    let server = fake_server(Behaviour::DropAfterLogin).await;
    let (mut handle, cancel) = start(options(40, 5_000), &server.url);
    let mut attempts = Vec::new();
    for _ in 0..4 {
        attempts.push(next_wait(&mut handle).await.0);
    }
    // Before the fix every login reset the backoff: attempt 1, 1, 1, 1.
    assert_eq!(attempts, [1, 2, 3, 4], "the backoff grows although each login succeeds");
    cancel.cancel();
}

#[tokio::test]
async fn a_re_synced_connection_resets_the_backoff() {
    let server = fake_server(Behaviour::ResyncThenDrop { keep: Duration::from_millis(150) }).await;
    let (mut handle, cancel) = start(options(40, 5_000), &server.url);
    for _ in 0..3 {
        assert_eq!(next_wait(&mut handle).await.0, 1, "each connection re-synced, so each outage starts afresh");
    }
    cancel.cancel();
}

/// The waits of the outage that follows a session of `keep`, with the
/// server down after it: long-lived means ≥ 300 ms here, the short cap is
/// 250 ms, the normal one 30 s (base 200 ms).
async fn outage_after(keep: Duration) -> Vec<Duration> {
    let server = fake_server(Behaviour::ResyncThenDrop { keep }).await;
    let mut opts = options(200, 30_000);
    opts.long_lived = Duration::from_millis(300);
    opts.short_cap = Duration::from_millis(250);
    let (mut handle, cancel) = start(opts, &server.url);
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), handle.events.recv()).await.expect("resync in time");
        if matches!(event, Some(NetEvent::Resynced)) {
            break;
        }
    }
    server.down.store(true, Ordering::SeqCst);
    let mut waits = Vec::new();
    for _ in 0..4 {
        waits.push(next_wait(&mut handle).await.1);
    }
    cancel.cancel();
    waits
}

#[tokio::test]
async fn the_outage_after_a_long_lived_session_is_capped_lower() {
    let after_long = outage_after(Duration::from_millis(500)).await;
    assert!(after_long.iter().all(|wait| *wait <= Duration::from_millis(250)), "{after_long:?}");
    // After a short session the usual doubling goes past that cap (ceilings 0.2, 0.4, 0.8, 1.6 s).
    let after_short = outage_after(Duration::from_millis(50)).await;
    assert!(after_short[2..].iter().all(|wait| *wait > Duration::from_millis(250)), "{after_short:?}");
}

#[tokio::test]
async fn waking_from_a_sleep_reconnects_at_once() {
    let server = fake_server(Behaviour::ResyncThenDrop { keep: Duration::from_secs(60) }).await;
    let ahead = Arc::new(AtomicU64::new(0));
    let clock_ahead = Arc::clone(&ahead);
    let wall_clock: WallClock =
        Arc::new(move || std::time::SystemTime::now() + Duration::from_secs(clock_ahead.load(Ordering::SeqCst)));
    let (mut handle, cancel) = start(NetOptions { wall_clock, ..options(40, 5_000) }, &server.url);
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), handle.events.recv()).await.expect("resync in time");
        if matches!(event, Some(NetEvent::Resynced)) {
            break;
        }
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    // The laptop slept for two minutes: the wall clock jumped, the monotonic one did not.
    ahead.store(120, Ordering::SeqCst);
    let woke = Instant::now();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), handle.events.recv()).await.expect("a reconnect in time");
        if matches!(event, Some(NetEvent::Resynced)) {
            break;
        }
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 2, "a new connection, not the old socket");
    // The check runs every 2 s; the heartbeat (60 s of silence) was not waited for.
    assert!(woke.elapsed() < Duration::from_secs(5), "{:?}", woke.elapsed());
    cancel.cancel();
}

/// Close 4003 or `error{code:"banned"}`: the reason is reported, the session
/// ends (the app shows the login screen) and nothing is retried.
#[tokio::test]
async fn a_banned_account_stops_with_the_reason_and_does_not_retry() {
    for behaviour in [Behaviour::BanAfterLogin, Behaviour::RefuseBanned] {
        let server = fake_server(behaviour).await;
        let (mut handle, cancel) = start(options(20, 100), &server.url);
        let reason = loop {
            let event = tokio::time::timeout(Duration::from_secs(10), handle.events.recv()).await.expect("an event in time");
            match event {
                Some(NetEvent::AuthFailed { reason, session_expired }) => {
                    assert!(session_expired, "the saved session is over");
                    break reason;
                }
                Some(_) => {}
                None => panic!("the task stopped"),
            }
        };
        assert!(reason.starts_with("this account is banned by the server's operator"), "{reason}");
        // With a 20 ms backoff, a retry loop would have made many connections by now.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(server.connections.load(Ordering::SeqCst), 1, "no retry after a ban");
        cancel.cancel();
    }
}
