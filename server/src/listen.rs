//! The listening socket, with a backlog sized for bursts of connections.
//!
//! `tokio::net::TcpListener::bind` listens with std's backlog of 128. A
//! burst of more connections than that while the accept loop is busy (200
//! handshakes at once in the benchmark, a reconnect storm after a restart)
//! overflows the accept queue: the kernel drops the SYNs and final ACKs it
//! has no room for, clients wait for retransmits (1 s, 3 s, ...), and with
//! SYN cookies in play a connection can end in a reset during its handshake.
//! So the server asks for a backlog of [`BACKLOG`]; the kernel caps it at
//! `net.core.somaxconn` (4096 by default since Linux 5.4).

use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpSocket};

/// The accept queue the server asks for.
pub const BACKLOG: u32 = 4096;

/// Listens on the first address `address` resolves to that can be bound
/// (as `TcpListener::bind` does), with `SO_REUSEADDR` and a backlog of [`BACKLOG`].
pub async fn bind(address: &str) -> io::Result<TcpListener> {
    let mut last = None;
    for addr in tokio::net::lookup_host(address).await? {
        match bind_addr(addr) {
            Ok(listener) => return Ok(listener),
            Err(err) => last = Some(err),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the address resolved to nothing")))
}

fn bind_addr(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    // As tokio's own bind: a restarted server can listen again at once.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Connections that wait for `accept` fit in the queue: with std's 128,
    /// the 130th connect waits for SYN retransmits (seconds) while nothing
    /// is accepted, and this burst does not complete within the deadline.
    #[tokio::test]
    async fn a_burst_of_connections_larger_than_stds_backlog_waits_in_the_accept_queue() {
        let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn").unwrap().trim().parse().unwrap();
        assert!(somaxconn >= 300, "net.core.somaxconn is {somaxconn}: the kernel caps every backlog there; raise it");
        let listener = bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let burst = async {
            let mut streams = Vec::new();
            for _ in 0..300 {
                streams.push(tokio::net::TcpStream::connect(addr).await.unwrap());
            }
            streams
        };
        let streams = tokio::time::timeout(Duration::from_secs(10), burst).await.expect("every connect completes while none is accepted");
        for _ in 0..streams.len() {
            tokio::time::timeout(Duration::from_secs(10), listener.accept()).await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn a_name_resolves_and_a_bad_address_is_an_error() {
        assert!(bind("localhost:0").await.unwrap().local_addr().unwrap().ip().is_loopback());
        assert!(bind("256.0.0.1:0").await.is_err());
    }
}
