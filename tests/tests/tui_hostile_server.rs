//! `heartlink-tui login --password-stdin`, `send`, `tail` and `logout`
//! against a hostile fake server whose usernames, room names, bodies,
//! refusals and close reasons carry ESC, C1, bidi and zero-width
//! characters: nothing raw reaches standard output, standard error or the
//! client's log file. Also `send -` reading standard input.

use futures_util::{SinkExt, StreamExt};
use heartlink_tests::{WAIT, binaries};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const EVIL: &str = "mal\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m\u{202e}gnp\u{200b}\u{feff}";
const ROOM: &str = "0b4e28ba-2fa1-41d2-883f-0016d3cca427";

fn user() -> Value {
    json!({"id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427", "username": EVIL})
}

/// A server speaking just enough of the protocol, with hostile text everywhere.
async fn hostile_server() -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let (seen_tx, seen) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen_tx.clone();
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
                let mut seq = 0;
                while let Some(Ok(Message::Text(text))) = ws.next().await {
                    let request: Value = serde_json::from_str(&text).unwrap();
                    let _ = seen.send(request.clone());
                    let reference = request["ref"].clone();
                    let reply = match request["type"].as_str().unwrap_or("") {
                        "login" | "resume" => json!({"type": "connection_established", "user": user(), "token": "tok",
                            "session_id": "2b4e28ba-2fa1-41d2-883f-0016d3cca427", "heartbeat_secs": 30,
                            "server_version": EVIL, "protocol": 1}),
                        "join" => json!({"type": "joined", "ref": reference, "room": {"id": ROOM, "name": EVIL, "kind": "group",
                            "created_by": user()["id"], "created_at": 0}, "members": [{"user": user(), "online": true}],
                            "last_seq": 1, "has_more": false, "messages": [{"room_id": ROOM, "seq": 1, "sender": user(),
                            "body": EVIL, "ts": 0, "client_msg_id": "x"}]}),
                        "send" if request["body"] == "refuse me" => {
                            json!({"type": "error", "ref": reference, "code": "forbidden", "message": EVIL})
                        }
                        "send" => {
                            seq += 1;
                            json!({"type": "ack", "ref": reference, "room_id": ROOM, "client_msg_id": request["client_msg_id"], "seq": seq, "ts": 1})
                        }
                        "ping" => json!({"type": "pong"}),
                        "logout" => {
                            let frame = CloseFrame { code: CloseCode::Normal, reason: EVIL.into() };
                            let _ = ws.close(Some(frame)).await;
                            return;
                        }
                        _ => continue,
                    };
                    if ws.send(Message::text(reply.to_string())).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, seen)
}

fn tui(config: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(binaries::bin("heartlink-tui"))
        .arg("--config-dir")
        .arg(config)
        .args(args)
        .env("HEARTLINK_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start heartlink-tui");
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(started.elapsed() < WAIT * 2, "heartlink-tui {args:?} did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Nothing a terminal would act on, nor anything invisible.
fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let raw = text.chars().find(|c| {
        (c.is_control() && *c != '\n') || ('\u{80}'..='\u{9f}').contains(c) || ['\u{202e}', '\u{200b}', '\u{feff}'].contains(c)
    });
    assert!(raw.is_none(), "{what} holds {raw:?}: {text:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_server_text_never_reaches_the_terminal_or_the_log_raw() {
    let (url, mut seen) = hostile_server().await;
    let config = tempfile::tempdir().unwrap();
    // Not there yet: the client creates it (private) before writing anything.
    let dir = config.path().join("heartlink");

    let login = tokio::task::spawn_blocking({
        let (dir, url) = (dir.clone(), url.clone());
        move || tui(&dir, &["login", "--server", &url, "--username", "alice", "--password-stdin"], "password123\n")
    })
    .await
    .unwrap();
    assert!(login.status.success(), "{login:?}");
    assert_clean("login's stdout", &login.stdout);
    assert!(String::from_utf8_lossy(&login.stdout).contains("as mal␛]0;pwned␇␛[2J⟨U+009B⟩31m⟨U+202E⟩gnp⟨U+200B⟩⟨U+FEFF⟩"));
    let first = seen.recv().await.unwrap();
    assert_eq!((first["type"].as_str(), first["password"].as_str()), (Some("login"), Some("password123")));

    let sent = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || tui(&dir, &["send", "--room", ROOM, "--lines", "-"], "first line\nsecond line\n")
    })
    .await
    .unwrap();
    assert!(sent.status.success(), "{sent:?}");
    assert_eq!(String::from_utf8_lossy(&sent.stdout), "sent (seq 1)\nsent (seq 2)\n");
    let mut bodies = Vec::new();
    while let Ok(Some(request)) = tokio::time::timeout(Duration::from_millis(500), seen.recv()).await {
        if request["type"] == "resume" {
            assert_eq!(request["presence"], false, "scripts connect without presence");
        }
        if request["type"] == "send" {
            bodies.push(request["body"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(bodies, ["first line", "second line"]);

    let refused = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || tui(&dir, &["send", "--room", ROOM, "refuse", "me"], "")
    })
    .await
    .unwrap();
    assert!(!refused.status.success());
    assert_clean("a refusal on stderr", &refused.stderr);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("␛]0;pwned"), "{refused:?}");

    let mut tail = Command::new(binaries::bin("heartlink-tui"))
        .arg("--config-dir")
        .arg(&dir)
        .args(["tail", "--room", ROOM])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = tail.stdout.take().unwrap();
    let read = tokio::task::spawn_blocking(move || {
        let mut buffer = vec![0u8; 4096];
        let n = std::io::Read::read(&mut stdout, &mut buffer).unwrap_or(0);
        buffer.truncate(n);
        buffer
    });
    let printed = tokio::time::timeout(WAIT, read).await.expect("tail printed in time").unwrap();
    let _ = tail.kill();
    let _ = tail.wait();
    assert_clean("tail's stdout", &printed);
    assert!(String::from_utf8_lossy(&printed).contains("⟨U+202E⟩"), "{:?}", String::from_utf8_lossy(&printed));

    let logout = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || tui(&dir, &["logout"], "")
    })
    .await
    .unwrap();
    assert_clean("logout's stdout", &logout.stdout);
    assert_clean("logout's stderr", &logout.stderr);
    assert!(String::from_utf8_lossy(&logout.stdout).contains("logged out of"), "{logout:?}");

    let log = std::fs::read(dir.join("heartlink-tui.log")).unwrap();
    assert!(!log.is_empty());
    assert_clean("the log file", &log);
    assert!(String::from_utf8_lossy(&log).contains("\\u{1b}"), "server text is logged escaped");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("heartlink-tui.log")), 0o600);
    }
}
