//! A TCP proxy for fault injection: it sits between clients and the server
//! and, on a test's command, severs, half-drops or black-holes the
//! connections passing through it, so the recovery rules of PROTOCOL.md are
//! exercised over real sockets instead of being assumed.
//!
//! Each accepted connection is one task that owns both sockets and pumps the
//! two directions with `join!` (no spawned halves that could be left behind).
//! Every fault is a value in a per-connection `watch` channel that the pumps
//! consult for each chunk, so a fault takes effect between two chunks and
//! never tears one apart. Dropping the [`FaultProxy`] drops the shutdown
//! sender, which ends the accept loop and every connection task.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// One read per direction is in flight at a time: a full buffer is written
/// out before the next read, so the proxy holds at most this much per
/// direction and TCP's own flow control pushes back on a fast sender.
const CHUNK: usize = 16 * 1024;

/// What happens to one connection's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways.
    Pass,
    /// Forward both ways until the client sends its next chunk; from then on
    /// behave as [`Fault::DropReplies`] (the switch happens *before* that
    /// chunk is forwarded, so no reply to it can slip through).
    DropRepliesAfterRequest,
    /// Forward client→server; read and discard server→client (the server's
    /// writes succeed, nothing arrives). A server FIN is not passed on.
    DropReplies,
    /// Read and discard both ways and keep both sockets open: no FIN, no RST,
    /// as when a NAT entry or a route silently disappears.
    BlackHole,
    /// Close both sockets now.
    Severed,
}

impl Fault {
    fn forwards(self, to_server: bool) -> bool {
        match self {
            Fault::Pass | Fault::DropRepliesAfterRequest => true,
            Fault::DropReplies => to_server,
            Fault::BlackHole | Fault::Severed => false,
        }
    }
}

/// A running proxy. Listens on `127.0.0.1:0`; every task ends when it is dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Never sent on: dropping it is the shutdown signal (`changed()` errs).
    _shutdown: watch::Sender<()>,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    /// Controls of the connections that may still be live. A std mutex: it is
    /// held only to push, prune or walk the list, never across an `.await`.
    live: Mutex<Vec<Arc<watch::Sender<Fault>>>>,
    /// What a newly accepted connection starts as: `Pass`, or `BlackHole`
    /// during a partition.
    admit: Mutex<Fault>,
    /// Connections accepted so far; a watch so a test can wait for an attempt.
    accepted: watch::Sender<u64>,
}

impl Shared {
    /// Applies `fault` to every live connection; returns how many it reached.
    fn apply(&self, fault: Fault) -> usize {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|control| !control.is_closed());
        for control in live.iter() {
            // A severed connection stays severed; anything else takes the new fault.
            control.send_if_modified(|current| {
                let change = *current != Fault::Severed && *current != fault;
                if change {
                    *current = fault;
                }
                change
            });
        }
        live.len()
    }
}

impl FaultProxy {
    /// Starts a proxy forwarding to `upstream` (`HOST:PORT`, e.g. `TestServer::addr`).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            live: Mutex::new(Vec::new()),
            admit: Mutex::new(Fault::Pass),
            accepted: watch::Sender::new(0),
        });
        let (shutdown, stopped) = watch::channel(());
        tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
        Self { addr, shared, _shutdown: shutdown }
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/ws`: the server's WebSocket URL, through the proxy.
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        *self.shared.accepted.borrow()
    }

    /// Waits until `count` connections have been accepted in all.
    pub async fn wait_accepted(&self, count: u64, within: Duration) {
        let mut accepted = self.shared.accepted.subscribe();
        let reached = tokio::time::timeout(within, accepted.wait_for(|n| *n >= count)).await;
        assert!(matches!(reached, Ok(Ok(_))), "the proxy did not accept {count} connections within {within:?}");
    }

    /// Closes both sides of every live connection at once; returns how many.
    pub fn sever_all(&self) -> usize {
        self.shared.apply(Fault::Severed)
    }

    /// Stops forwarding server→client on every live connection (bytes discarded).
    pub fn drop_replies(&self) -> usize {
        self.shared.apply(Fault::DropReplies)
    }

    /// Arms every live connection to drop server→client from the client's
    /// next request on: that request reaches the server, its reply does not.
    pub fn drop_replies_after_next_request(&self) -> usize {
        self.shared.apply(Fault::DropRepliesAfterRequest)
    }

    /// Black-holes every live connection; with `new_too`, connections
    /// accepted from now on are black-holed as well (a partition) until
    /// [`FaultProxy::restore`].
    pub fn black_hole(&self, new_too: bool) -> usize {
        if new_too {
            *self.shared.admit.lock().unwrap_or_else(PoisonError::into_inner) = Fault::BlackHole;
        }
        self.shared.apply(Fault::BlackHole)
    }

    /// New connections pass normally again. Connections already faulted
    /// keep their fault: their peers must notice and reconnect.
    pub fn restore(&self) {
        *self.shared.admit.lock().unwrap_or_else(PoisonError::into_inner) = Fault::Pass;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stopped: watch::Receiver<()>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let client = match accepted {
            Ok((client, _)) => client,
            // Out of descriptors, say: pause instead of spinning on the error.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.accepted.send_modify(|n| *n += 1);
        let admit = *shared.admit.lock().unwrap_or_else(PoisonError::into_inner);
        let control = Arc::new(watch::Sender::new(admit));
        // Subscribe before registering: a control without receivers counts
        // as a finished connection and would be pruned.
        let fault = control.subscribe();
        {
            let mut live = shared.live.lock().unwrap_or_else(PoisonError::into_inner);
            live.retain(|control| !control.is_closed());
            live.push(Arc::clone(&control));
        }
        tokio::spawn(connection(client, shared.upstream.clone(), control, fault, stopped.clone()));
    }
}

/// One proxied connection, from accept to whichever comes first: both
/// directions ended, a sever, or the proxy's shutdown.
async fn connection(
    mut client: TcpStream,
    upstream: String,
    control: Arc<watch::Sender<Fault>>,
    fault: watch::Receiver<Fault>,
    mut stopped: watch::Receiver<()>,
) {
    // `fault` lives as long as the task: `control.is_closed()` turns true when it ends.
    let severed = until_severed(fault);
    tokio::pin!(severed);
    let connected = tokio::select! {
        connected = TcpStream::connect(&upstream) => connected,
        () = &mut severed => return,
        _ = stopped.changed() => return,
    };
    // The server is down: dropping the client socket is what it would have seen.
    let Ok(mut server) = connected else { return };
    // Small frames (acks, pings) must not wait for Nagle.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (from_client, to_client) = client.split();
    let (from_server, to_server) = server.split();
    let up = pump(from_client, to_server, true, &control);
    let down = pump(from_server, to_client, false, &control);
    tokio::select! {
        _ = async { tokio::join!(up, down) } => {}
        () = &mut severed => {}
        _ = stopped.changed() => {}
    }
    // Returning drops both sockets: a FIN (or an RST if unread bytes remain)
    // to each side, which is what "severed" means here.
}

async fn until_severed(mut fault: watch::Receiver<Fault>) {
    loop {
        if *fault.borrow_and_update() == Fault::Severed {
            return;
        }
        if fault.changed().await.is_err() {
            // The control is gone only when the proxy is; shutdown ends the task.
            std::future::pending::<()>().await;
        }
    }
}

/// Copies one direction chunk by chunk, consulting the fault for each.
async fn pump(mut from: ReadHalf<'_>, mut to: WriteHalf<'_>, to_server: bool, control: &watch::Sender<Fault>) {
    let mut buf = vec![0_u8; CHUNK];
    loop {
        let read = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if to_server {
            // Cut the replies before this request can reach the server.
            control.send_if_modified(|fault| {
                let armed = *fault == Fault::DropRepliesAfterRequest;
                if armed {
                    *fault = Fault::DropReplies;
                }
                armed
            });
        }
        if !control.borrow().forwards(to_server) {
            continue;
        }
        if to.write_all(&buf[..read]).await.is_err() {
            break;
        }
    }
    // Pass the half-close on only while this direction is forwarded: a cut
    // direction must not leak the peer's FIN (the other side would notice).
    if control.borrow().forwards(to_server) {
        let _ = to.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    /// How long a test listens to prove that nothing arrives.
    const QUIET: Duration = Duration::from_millis(300);
    const WAIT: Duration = Duration::from_secs(5);

    /// An upstream that echoes each chunk back and reports it (or its EOF,
    /// as an empty chunk) on a bounded channel, so a test sees what arrived.
    async fn upstream() -> (String, mpsc::Receiver<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let (seen, reports) = mpsc::channel(64);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = [0_u8; 256];
                    while let Ok(read) = socket.read(&mut buf).await {
                        let _ = seen.send(buf[..read].to_vec()).await;
                        if read == 0 || socket.write_all(&buf[..read]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (addr, reports)
    }

    async fn read_some(socket: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
        let mut buf = [0_u8; 256];
        match tokio::time::timeout(within, socket.read(&mut buf)).await {
            Ok(Ok(read)) => Some(buf[..read].to_vec()),
            Ok(Err(_)) => Some(Vec::new()),
            Err(_) => None,
        }
    }

    async fn next_report(reports: &mut mpsc::Receiver<Vec<u8>>) -> Vec<u8> {
        tokio::time::timeout(WAIT, reports.recv()).await.expect("upstream report in time").expect("upstream alive")
    }

    #[tokio::test]
    async fn each_fault_does_what_it_says_and_new_connections_pass() {
        let (addr, mut reports) = upstream().await;
        let proxy = FaultProxy::start(&addr).await;
        let mut client = TcpStream::connect(proxy.addr()).await.expect("connect");
        client.write_all(b"hi").await.expect("write");
        assert_eq!(read_some(&mut client, WAIT).await.as_deref(), Some(&b"hi"[..]));
        assert_eq!(next_report(&mut reports).await, b"hi");

        // Replies dropped: the request still arrives, its echo does not.
        assert_eq!(proxy.drop_replies(), 1);
        client.write_all(b"req").await.expect("write");
        assert_eq!(next_report(&mut reports).await, b"req");
        assert_eq!(read_some(&mut client, QUIET).await, None, "the reply must be discarded");

        // Black hole: nothing passes and the socket stays open (no EOF).
        assert_eq!(proxy.black_hole(false), 1);
        client.write_all(b"lost").await.expect("write");
        assert_eq!(read_some(&mut client, QUIET).await, None, "no bytes and no FIN");
        assert!(reports.try_recv().is_err(), "nothing may reach the server");

        // Sever: both sides see the end.
        assert_eq!(proxy.sever_all(), 1);
        assert_eq!(read_some(&mut client, WAIT).await, Some(Vec::new()), "the client sees the close");
        assert_eq!(next_report(&mut reports).await, b"", "the server sees the close");

        // A new connection after the faults passes normally.
        let mut again = TcpStream::connect(proxy.addr()).await.expect("connect");
        again.write_all(b"again").await.expect("write");
        assert_eq!(read_some(&mut again, WAIT).await.as_deref(), Some(&b"again"[..]));

        // Dropping the proxy ends its connections.
        drop(proxy);
        assert_eq!(read_some(&mut again, WAIT).await, Some(Vec::new()), "the proxy's tasks stop");
    }

    #[tokio::test]
    async fn an_armed_connection_loses_the_reply_to_its_next_request() {
        let (addr, mut reports) = upstream().await;
        let proxy = FaultProxy::start(&addr).await;
        let mut client = TcpStream::connect(proxy.addr()).await.expect("connect");
        client.write_all(b"one").await.expect("write");
        assert_eq!(read_some(&mut client, WAIT).await.as_deref(), Some(&b"one"[..]));
        assert_eq!(proxy.drop_replies_after_next_request(), 1);
        client.write_all(b"two").await.expect("write");
        next_report(&mut reports).await;
        assert_eq!(next_report(&mut reports).await, b"two");
        assert_eq!(read_some(&mut client, QUIET).await, None, "the reply to the armed request is lost");
    }

    #[tokio::test]
    async fn a_partition_swallows_new_connections_until_restored() {
        let (addr, mut reports) = upstream().await;
        let proxy = FaultProxy::start(&addr).await;
        proxy.black_hole(true);
        let mut swallowed = TcpStream::connect(proxy.addr()).await.expect("connect");
        swallowed.write_all(b"x").await.expect("write");
        assert_eq!(read_some(&mut swallowed, QUIET).await, None);
        proxy.restore();
        let mut passes = TcpStream::connect(proxy.addr()).await.expect("connect");
        passes.write_all(b"y").await.expect("write");
        assert_eq!(read_some(&mut passes, WAIT).await.as_deref(), Some(&b"y"[..]));
        assert_eq!(next_report(&mut reports).await, b"y", "only the healed connection reached the server");
        assert_eq!(proxy.accepted(), 2);
    }
}
