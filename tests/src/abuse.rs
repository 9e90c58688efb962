//! Helpers for the abuse suite: flood connections that never panic (the
//! server refusing them is the point), many loopback source addresses
//! standing for many machines, the server's memory while it is attacked,
//! and the sizes of short (CI) and long (`tests/long-run.sh`) runs.

use crate::WAIT;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A raw client connection.
pub type Ws = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// Whether this is the long run (`HEARTLINK_ABUSE_LONG=1`, set by
/// `tests/long-run.sh`): floods at ten times the sizes first reported.
pub fn long_mode() -> bool {
    std::env::var("HEARTLINK_ABUSE_LONG").is_ok_and(|value| value == "1")
}

/// `short` in CI, `long` in the long run.
pub fn sized(short: usize, long: usize) -> usize {
    if long_mode() { long } else { short }
}

/// Source address number `n` on loopback (127.1.0.0 and up), standing for
/// another machine; 127.0.0.x stays free for the tests' own clients.
pub fn source(n: usize) -> IpAddr {
    IpAddr::from([127, 1 + (n / 65_536 % 200) as u8, (n / 256 % 256) as u8, (n % 256) as u8])
}

/// Opens a WebSocket to `url` (`ws://IP:PORT/ws`) from `local`.
pub async fn open_from(url: &str, local: IpAddr) -> Result<Ws, String> {
    let host = url.trim_start_matches("ws://").split('/').next().unwrap_or_default();
    let server: SocketAddr = host.parse().map_err(|err| format!("{url}: {err}"))?;
    let socket = TcpSocket::new_v4().map_err(|err| err.to_string())?;
    socket.bind(SocketAddr::new(local, 0)).map_err(|err| err.to_string())?;
    let open = async {
        let stream = socket.connect(server).await.map_err(|err| err.to_string())?;
        let (ws, _) = tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)).await.map_err(|err| err.to_string())?;
        Ok::<Ws, String>(ws)
    };
    tokio::time::timeout(WAIT, open).await.map_err(|_| "connect timed out".to_owned())?
}

/// How a connection ended: the close frame's code and reason, or 1006.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub code: u16,
    pub reason: String,
}

/// The next JSON frame (Pings and Pongs skipped), or how the connection ended.
pub async fn next_json(ws: &mut Ws) -> Result<Value, Ended> {
    loop {
        let next = tokio::time::timeout(WAIT, ws.next()).await.map_err(|_| Ended { code: 0, reason: "timed out".into() })?;
        match next {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).map_err(|err| Ended { code: 0, reason: format!("bad JSON: {err}") });
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(match frame {
                    Some(frame) => Ended { code: frame.code.into(), reason: frame.reason.to_string() },
                    None => Ended { code: 1005, reason: String::new() },
                });
            }
            Some(Ok(_)) => {}
            Some(Err(err)) => return Err(Ended { code: 1006, reason: err.to_string() }),
            None => return Err(Ended { code: 1006, reason: "stream ended".into() }),
        }
    }
}

/// Sends `request` and waits for the next JSON frame.
pub async fn ask(ws: &mut Ws, request: &Value) -> Result<Value, Ended> {
    ws.send(Message::text(request.to_string())).await.map_err(|err| Ended { code: 1006, reason: err.to_string() })?;
    next_json(ws).await
}

/// Resident memory of process `pid` in KiB (0 once it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Samples a process's resident memory every 20 ms and keeps the peak.
#[derive(Debug)]
pub struct RssWatch {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    sampler: Option<std::thread::JoinHandle<()>>,
    /// At the start of the watch, KiB.
    pub before_kib: u64,
}

impl RssWatch {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let before_kib = rss_kib(pid);
        let (stop, peak) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(before_kib)));
        let (stopping, peaking) = (Arc::clone(&stop), Arc::clone(&peak));
        let sampler = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                peaking.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self { stop, peak, sampler: Some(sampler), before_kib }
    }

    /// The highest sample so far, KiB.
    pub fn peak_kib(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for RssWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
    }
}

/// The `p`-quantile (0..=1) of `times`, sorting them.
pub fn quantile(times: &mut [Duration], p: f64) -> Duration {
    times.sort_unstable();
    let index = ((times.len() as f64 - 1.0) * p).round() as usize;
    times.get(index).copied().unwrap_or_default()
}

/// MiB, for figures.
pub fn mib(kib: u64) -> u64 {
    kib / 1024
}

/// A `login` request.
pub fn login_request(username: &str, password: &str) -> Value {
    serde_json::json!({"type": "login", "username": username, "password": password})
}

/// One login on a fresh connection from `from`: the reply and the time
/// from sending the request to the reply.
pub async fn timed_login(url: &str, from: IpAddr, username: &str, password: &str) -> (Value, Duration) {
    let mut ws = open_from(url, from).await.expect("the real user connects");
    let started = std::time::Instant::now();
    let reply = ask(&mut ws, &login_request(username, password)).await.expect("the real user gets a reply");
    (reply, started.elapsed())
}

/// Stops the server (SIGTERM, exit 0) and reads from its shutdown log line
/// how many password hashes it computed and how many it dropped unrun
/// because their connection had closed.
pub fn stop_and_count_hashes(server: &mut crate::TestServer) -> (u64, u64) {
    assert!(server.terminate().success());
    let log = std::fs::read_to_string(&server.log_path).unwrap_or_default();
    let line = log.lines().find(|line| line.contains("password hashes computed")).unwrap_or_default();
    let field = |name: &str| -> u64 {
        let rest = line.split(&format!("{name}=")).nth(1).unwrap_or_default();
        rest.split(|c: char| !c.is_ascii_digit()).next().unwrap_or_default().parse().unwrap_or(0)
    };
    (field("hashed"), field("abandoned"))
}
