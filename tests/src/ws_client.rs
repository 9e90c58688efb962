//! A scripted WebSocket client that speaks raw JSON. Every receive has a
//! timeout, so a missing reply fails the test instead of hanging it.

use crate::WAIT;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// One client connection.
#[derive(Debug)]
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a connection ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub code: u16,
    pub reason: String,
}

impl WsClient {
    /// Opens a WebSocket to `url`.
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        Self { ws }
    }

    /// Opens a WebSocket over an already connected TCP stream (for tests
    /// that shape the socket: a tiny receive buffer, another source address).
    pub async fn over(stream: TcpStream, url: &str) -> Self {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)))
            .await
            .expect("handshake timed out")
            .expect("handshake failed");
        Self { ws }
    }

    /// Opens a WebSocket to `url` (a `ws://` URL) from the local address
    /// `local_ip`, e.g. `127.0.0.2`: another loopback address stands for
    /// another client machine.
    pub async fn connect_from(url: &str, local_ip: std::net::IpAddr) -> Self {
        let host = url.trim_start_matches("ws://").split('/').next().unwrap_or_default();
        let server: std::net::SocketAddr = host.parse().expect("ws://IP:PORT/... url");
        let socket = if local_ip.is_ipv4() { tokio::net::TcpSocket::new_v4() } else { tokio::net::TcpSocket::new_v6() };
        let socket = socket.expect("tcp socket");
        socket.bind(std::net::SocketAddr::new(local_ip, 0)).expect("bind the local address");
        let stream =
            tokio::time::timeout(WAIT, socket.connect(server)).await.expect("connect timed out").expect("connect");
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(stream)))
            .await
            .expect("handshake timed out")
            .expect("handshake failed");
        Self { ws }
    }

    /// Opens a `wss://` WebSocket trusting only the PEM certificate `ca_pem`.
    pub async fn connect_tls(url: &str, ca_pem: &str) -> Self {
        use rustls_pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        let cert = rustls_pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes()).expect("a PEM certificate");
        roots.add(cert).expect("a usable CA certificate");
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(config));
        let connect = tokio_tungstenite::connect_async_tls_with_config(url, None, false, Some(connector));
        let (ws, _) = tokio::time::timeout(WAIT, connect).await.expect("connect timed out").expect("TLS connect failed");
        Self { ws }
    }

    /// Connects and registers `username` (password `password123`).
    pub async fn register(url: &str, username: &str) -> (Self, Value) {
        let mut client = Self::connect(url).await;
        client.send(json!({"type": "register", "username": username, "password": "password123"})).await;
        let established = client.recv_type("connection_established").await;
        (client, established)
    }

    /// Sends a JSON value as a text frame.
    pub async fn send(&mut self, value: Value) {
        self.send_raw(Message::text(value.to_string())).await;
    }

    /// Sends a JSON value, or says why it could not (the server may be gone).
    pub async fn try_send(&mut self, value: Value) -> Result<(), String> {
        match tokio::time::timeout(WAIT, self.ws.send(Message::text(value.to_string()))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("send timed out".to_owned()),
        }
    }

    /// Sends any frame.
    pub async fn send_raw(&mut self, message: Message) {
        tokio::time::timeout(WAIT, self.ws.send(message)).await.expect("send timed out").expect("send failed");
    }

    /// The next JSON frame and its size in bytes on the wire (its text).
    pub async fn recv_sized(&mut self) -> (Value, usize) {
        match self.next_text().await {
            Ok(text) => (serde_json::from_str(&text).expect("server sent invalid JSON"), text.len()),
            Err(closed) => panic!("connection closed while waiting for a frame: {closed:?}"),
        }
    }

    /// The next text frame exactly as it arrived (for byte-for-byte comparisons).
    pub async fn recv_text(&mut self) -> String {
        match self.next_text().await {
            Ok(text) => text,
            Err(closed) => panic!("connection closed while waiting for a frame: {closed:?}"),
        }
    }

    /// The next JSON frame, skipping WebSocket pings and pongs.
    pub async fn recv(&mut self) -> Value {
        match self.next_frame().await {
            Ok(value) => value,
            Err(closed) => panic!("connection closed while waiting for a frame: {closed:?}"),
        }
    }

    /// The next JSON frame, which must have `type` = `kind`.
    pub async fn recv_type(&mut self, kind: &str) -> Value {
        let value = self.recv().await;
        assert_eq!(value["type"], kind, "expected a {kind} frame, got {value}");
        value
    }

    /// Skips frames until one of type `kind` arrives; returns it and the skipped ones.
    pub async fn recv_until(&mut self, kind: &str) -> (Value, Vec<Value>) {
        let mut skipped = Vec::new();
        loop {
            let value = self.recv().await;
            if value["type"] == kind {
                return (value, skipped);
            }
            skipped.push(value);
        }
    }

    /// Asserts that nothing arrives for `quiet` (used only to prove an absence).
    pub async fn expect_silence(&mut self, quiet: std::time::Duration) {
        if let Ok(frame) = tokio::time::timeout(quiet, self.next_frame()).await {
            panic!("expected no frame, got {frame:?}");
        }
    }

    /// Waits for the server's close frame (frames before it are returned).
    pub async fn expect_close(&mut self) -> (Closed, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            match self.next_frame().await {
                Ok(value) => before.push(value),
                Err(closed) => return (closed, before),
            }
        }
    }

    /// The next JSON frame, or how the connection ended (for tests where
    /// the end is expected at an unknown moment, e.g. a killed server).
    pub async fn recv_or_closed(&mut self) -> Result<Value, Closed> {
        self.next_frame().await
    }

    async fn next_frame(&mut self) -> Result<Value, Closed> {
        let text = self.next_text().await?;
        Ok(serde_json::from_str(&text).expect("server sent invalid JSON"))
    }

    async fn next_text(&mut self) -> Result<String, Closed> {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next()).await.expect("timed out waiting for a frame");
            match next {
                Some(Ok(Message::Text(text))) => return Ok(text.to_string()),
                Some(Ok(Message::Close(frame))) => return Err(closed(frame)),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Binary(_))) => panic!("server sent a binary frame"),
                Some(Err(err)) => return Err(Closed { code: 1006, reason: err.to_string() }),
                None => return Err(Closed { code: 1006, reason: "stream ended".to_owned() }),
            }
        }
    }
}

fn closed(frame: Option<CloseFrame>) -> Closed {
    match frame {
        Some(frame) => Closed { code: frame.code.into(), reason: frame.reason.to_string() },
        None => Closed { code: 1005, reason: String::new() },
    }
}
