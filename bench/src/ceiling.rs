//! The ceiling: a storage-less tokio-tungstenite broadcast server that speaks
//! the bench's minimal JSON room protocol (the same one as the Node `ws`
//! peer; see docs/BENCHMARKS.md). No accounts, no disk, no ordering work:
//! what remains is the cost of WebSocket framing and fan-out on this
//! machine, so heartlink's figures can be read against it.
//!
//! Single-threaded on purpose: it is pinned to one core, where one runtime
//! thread without cross-thread wake-ups is the fastest tokio can be. State
//! lives in an `Rc<RefCell<..>>` that is never borrowed across an `.await`.

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::rc::Rc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames a connection may have queued before it is dropped as too slow
/// (the same bound heartlink uses).
const QUEUE: usize = 1024;

type Rooms = Rc<RefCell<HashMap<String, Vec<(u64, mpsc::Sender<Utf8Bytes>)>>>>;

/// The same small buffers heartlink uses, so memory per connection compares
/// servers rather than buffer settings.
pub fn small_buffers() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(512).write_buffer_size(8 * 1024)
}

/// Listens with the backlog heartlink-server asks for (its `listen.rs`), not
/// std's 128, so a burst of handshakes meets the same accept queue on both.
async fn bind(listen: &str) -> Result<TcpListener> {
    let addr = tokio::net::lookup_host(listen).await?.next().context("the address resolved to nothing")?;
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    Ok(socket.listen(4096)?)
}

/// Serves on `listen` forever (the bench kills it).
pub fn run(listen: &str) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = bind(listen).await.with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        writeln!(std::io::stdout(), "ceiling listening on ws://{addr}/ws")?;
        std::io::stdout().flush()?;
        let rooms: Rooms = Rc::default();
        let mut next_id = 0u64;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            next_id += 1;
            tokio::task::spawn_local(serve(stream, next_id, Rc::clone(&rooms)));
        }
    })
}

async fn serve(stream: TcpStream, id: u64, rooms: Rooms) {
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(small_buffers())).await else { return };
    let (tx, mut rx) = mpsc::channel::<Utf8Bytes>(QUEUE);
    let mut joined: Vec<String> = Vec::new();
    loop {
        tokio::select! {
            Some(frame) = rx.recv() => {
                let mut batch = vec![frame];
                while let (true, Ok(more)) = (batch.len() < 256, rx.try_recv()) {
                    batch.push(more);
                }
                let mut failed = false;
                for frame in batch {
                    failed |= ws.feed(Message::Text(frame)).await.is_err();
                }
                if failed || ws.flush().await.is_err() {
                    break;
                }
            }
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some(reply) = handle(&text, id, &tx, &rooms, &mut joined) {
                        if ws.send(Message::Text(reply)).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let mut rooms = rooms.borrow_mut();
    for room in joined {
        if let Some(members) = rooms.get_mut(&room) {
            members.retain(|(member, _)| *member != id);
        }
    }
}

/// Handles one request; returns the direct reply, if any.
fn handle(text: &str, id: u64, tx: &mpsc::Sender<Utf8Bytes>, rooms: &Rooms, joined: &mut Vec<String>) -> Option<Utf8Bytes> {
    let request: Value = serde_json::from_str(text).ok()?;
    let room = request.get("room_id").and_then(Value::as_str).unwrap_or_default().to_owned();
    match request.get("type").and_then(Value::as_str)? {
        "join" => {
            if !joined.contains(&room) {
                rooms.borrow_mut().entry(room.clone()).or_default().push((id, tx.clone()));
                joined.push(room.clone());
            }
            Some(Utf8Bytes::from(serde_json::json!({"type": "joined", "room_id": room}).to_string()))
        }
        "send" => {
            let client_msg_id = request.get("client_msg_id").cloned().unwrap_or(Value::Null);
            let body = request.get("body").cloned().unwrap_or(Value::Null);
            let event = serde_json::json!({"type": "chat_message", "room_id": room, "body": body, "client_msg_id": client_msg_id});
            let event = Utf8Bytes::from(event.to_string());
            if let Some(members) = rooms.borrow().get(&room) {
                for (_, member) in members {
                    // A full queue drops the frame: the ceiling promises nothing.
                    let _ = member.try_send(event.clone());
                }
            }
            Some(Utf8Bytes::from(
                serde_json::json!({"type": "ack", "room_id": room, "client_msg_id": client_msg_id}).to_string(),
            ))
        }
        "ping" => Some(Utf8Bytes::from_static(r#"{"type":"pong"}"#)),
        _ => None,
    }
}
