//! A minimal WebSocket client (RFC 6455) for the generator's connections.
//!
//! Why not tokio-tungstenite here: per received frame it copies the payload
//! into a fresh allocation, validates UTF-8 and goes through the split
//! stream's lock, about 5 µs a frame on this machine, so one generator core
//! could not receive the B2 rates the servers can deliver. Here a read fills
//! one reusable buffer (4 KiB, growing to 64 KiB while reads keep filling
//! it, so 10,000 idle connections stay small) and frames are parsed in
//! place. The two halves share the socket through `try_read`/`try_write`, so
//! the reading half can answer a server's Ping without owning the writer.

use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::io::Interest;
use tokio::net::TcpStream;

const FIRST_BUFFER: usize = 4 * 1024;
/// Reads that fill the buffer double it up to here (a big frame may go past it).
const GROWN_BUFFER: usize = 64 * 1024;
const MAX_FRAME: u64 = 16 << 20;
/// Any valid base64 of 16 bytes will do; the bench does not check the accept key.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// What the reading half produced.
#[derive(Debug)]
pub enum Frame<'a> {
    /// A complete text (or binary) message.
    Text(&'a [u8]),
    /// A Close frame with its code, if it carried one.
    Close(Option<u16>),
    /// The connection ended without a Close frame.
    Ended,
}

/// A complete message found in the buffer, as positions (so the caller can
/// borrow it after the parse loop).
#[derive(Debug, Clone, Copy)]
pub enum Ready {
    InBuffer(usize, usize),
    Reassembled,
    Close(Option<u16>),
    Ended,
}

/// The socket and the bytes queued for it, shared by both halves.
#[derive(Debug)]
struct Shared {
    stream: TcpStream,
    out: Mutex<Vec<u8>>,
}

impl Shared {
    /// Queues one masked client frame. The mask key is zero (RFC 6455 only
    /// requires the mask bit and a key), so the payload is copied as is.
    fn queue(&self, opcode: u8, payload: &[u8]) {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        out.push(0x80 | opcode);
        match payload.len() {
            len @ 0..=125 => out.push(0x80 | len as u8),
            len @ 126..=0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(payload);
    }

    /// Writes what the socket takes without waiting; true when nothing is left.
    fn try_flush(&self) -> std::io::Result<bool> {
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        while !out.is_empty() {
            match self.stream.try_write(&out) {
                Ok(written) => drop(out.drain(..written)),
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => return Ok(false),
                Err(err) => return Err(err),
            }
        }
        Ok(true)
    }
}

/// The sending half.
#[derive(Debug)]
pub struct WsWriter {
    shared: Arc<Shared>,
}

impl WsWriter {
    /// Queues a text frame (written by the next `flush`).
    pub fn queue_text(&self, text: &[u8]) {
        self.shared.queue(0x1, text);
    }

    /// Writes everything queued.
    pub async fn flush(&self) -> Result<()> {
        while !self.shared.try_flush()? {
            self.shared.stream.writable().await?;
        }
        Ok(())
    }

    pub async fn send_text(&self, text: &[u8]) -> Result<()> {
        self.queue_text(text);
        self.flush().await
    }
}

/// The receiving half.
#[derive(Debug)]
pub struct WsReader {
    shared: Arc<Shared>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// A fragmented message being reassembled (servers here never fragment).
    message: Vec<u8>,
    message_done: bool,
}

/// A connection after the opening handshake.
#[derive(Debug)]
pub struct RawWs {
    pub reader: WsReader,
    pub writer: WsWriter,
}

/// Performs the opening handshake for `ws://addr/ws` on `stream`.
pub async fn handshake(stream: TcpStream, addr: SocketAddr) -> Result<RawWs> {
    let shared = Arc::new(Shared { stream, out: Mutex::new(Vec::new()) });
    let writer = WsWriter { shared: Arc::clone(&shared) };
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    shared.out.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(request.as_bytes());
    writer.flush().await?;
    let mut reader = WsReader { shared, buf: vec![0; FIRST_BUFFER], start: 0, end: 0, message: Vec::new(), message_done: false };
    loop {
        if let Some(at) = memchr::memmem::find(&reader.buf[..reader.end], b"\r\n\r\n") {
            let head = &reader.buf[..at];
            if !head.starts_with(b"HTTP/1.1 101") {
                let status = head.split(|b| *b == b'\n').next().unwrap_or_default();
                bail!("handshake refused: {}", String::from_utf8_lossy(status).trim_end());
            }
            reader.start = at + 4;
            return Ok(RawWs { reader, writer });
        }
        if reader.fill().await? == 0 {
            bail!("connection closed during the WebSocket handshake");
        }
    }
}

impl WsReader {
    /// Reads once from the socket into the buffer; 0 at end of stream.
    pub async fn fill(&mut self) -> Result<usize> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            } else {
                // One frame larger than the buffer.
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let stream = &self.shared.stream;
        loop {
            stream.readable().await?;
            let free = self.buf.len() - self.end;
            let mut read = 0;
            // A short read drained the socket: telling tokio "would block"
            // clears its readiness now, saving the empty recv it would
            // otherwise need (half of all recv calls in B2). Data arriving
            // later raises a new epoll event, so nothing is missed.
            let outcome = stream.try_io(Interest::READABLE, || {
                read = stream.try_read(&mut self.buf[self.end..])?;
                if read > 0 && read < free { Err(std::io::ErrorKind::WouldBlock.into()) } else { Ok(()) }
            });
            match outcome {
                Err(err) if err.kind() != std::io::ErrorKind::WouldBlock => return Err(err.into()),
                _ if read == 0 && outcome.is_err() => {}
                _ => {
                    self.end += read;
                    if read == free && self.buf.len() < GROWN_BUFFER {
                        self.buf.resize(self.buf.len() * 2, 0);
                    }
                    return Ok(read);
                }
            }
        }
    }

    /// The next complete message in the buffer, answering Pings on the way;
    /// `None` when more bytes are needed.
    pub fn advance(&mut self) -> Result<Option<Ready>> {
        if self.message_done {
            self.message.clear();
            self.message_done = false;
        }
        loop {
            let Some((fin, opcode, from, to)) = self.header()? else { return Ok(None) };
            self.start = to;
            match opcode {
                0x9 => self.shared.queue(0xA, &self.buf[from..to]),
                0xA => {}
                0x8 => {
                    let code = self.buf.get(from..from + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
                    return Ok(Some(Ready::Close(code.filter(|_| to - from >= 2))));
                }
                0x1 | 0x2 if fin && self.message.is_empty() => return Ok(Some(Ready::InBuffer(from, to))),
                0x0..=0x2 => {
                    self.message.extend_from_slice(&self.buf[from..to]);
                    if fin {
                        self.message_done = true;
                        return Ok(Some(Ready::Reassembled));
                    }
                }
                other => bail!("unknown WebSocket opcode {other}"),
            }
        }
    }

    /// (fin, opcode, payload start, payload end) of a complete frame at `start`.
    fn header(&self) -> Result<Option<(bool, u8, usize, usize)>> {
        let bytes = &self.buf[self.start..self.end];
        let (Some(&first), Some(&second)) = (bytes.first(), bytes.get(1)) else { return Ok(None) };
        if second & 0x80 != 0 {
            bail!("the server sent a masked frame");
        }
        let (len, at) = match second & 0x7f {
            126 => match bytes.get(2..4) {
                Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
                None => return Ok(None),
            },
            127 => match bytes.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                Some(b) => (u64::from_be_bytes(b), 10),
                None => return Ok(None),
            },
            len => (u64::from(len), 2),
        };
        if len > MAX_FRAME {
            bail!("a {len}-byte frame is larger than the bench accepts");
        }
        let from = self.start + at;
        let to = from + len as usize;
        Ok((to <= self.end).then_some((first & 0x80 != 0, first & 0x0f, from, to)))
    }

    /// Whether a complete frame is already buffered.
    pub fn has_frame(&self) -> bool {
        matches!(self.header(), Ok(Some(_)) | Err(_))
    }

    /// The message `ready` refers to.
    pub fn view(&self, ready: Ready) -> Frame<'_> {
        match ready {
            Ready::InBuffer(from, to) => Frame::Text(&self.buf[from..to]),
            Ready::Reassembled => Frame::Text(&self.message),
            Ready::Close(code) => Frame::Close(code),
            Ready::Ended => Frame::Ended,
        }
    }

    /// Writes queued Pongs if the socket takes them now.
    pub fn flush_pongs(&self) -> Result<()> {
        self.shared.try_flush()?;
        Ok(())
    }

    /// The next message, reading as needed.
    pub async fn next(&mut self) -> Result<Frame<'_>> {
        let ready = loop {
            if let Some(ready) = self.advance()? {
                break ready;
            }
            self.flush_pongs()?;
            if self.fill().await? == 0 {
                break Ready::Ended;
            }
        };
        Ok(self.view(ready))
    }
}

impl RawWs {
    /// Sends a Close (1000) and waits for the server's Close or the end of
    /// the stream.
    pub async fn close(mut self) -> Result<()> {
        self.writer.shared.queue(0x8, &1000u16.to_be_bytes());
        self.writer.flush().await?;
        tokio::time::timeout(super::REPLY_TIMEOUT, async {
            while let Ok(Frame::Text(_)) = self.reader.next().await {}
        })
        .await
        .context("no close from the server")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;

    /// Against a real tungstenite server: handshake, a Ping answered on the
    /// way, an echo of our masked frame, a frame larger than the buffer, Close.
    #[tokio::test]
    async fn talks_to_a_tungstenite_server() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let big = "y".repeat(200_000);
        let server_big = big.clone();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            ws.send(Message::Ping(b"p".to_vec().into())).await.unwrap();
            ws.send(Message::Text("hello".into())).await.unwrap();
            let echo = loop {
                match ws.next().await.unwrap().unwrap() {
                    Message::Text(text) => break text,
                    Message::Pong(payload) => assert_eq!(&payload[..], b"p"),
                    other => panic!("unexpected {other:?}"),
                }
            };
            ws.send(Message::Text(echo)).await.unwrap();
            ws.send(Message::Text(server_big.into())).await.unwrap();
            ws.close(Some(CloseFrame { code: 1000.into(), reason: "".into() })).await.unwrap();
            while ws.next().await.is_some() {}
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let mut ws = handshake(stream, addr).await.unwrap();
        assert!(matches!(ws.reader.next().await.unwrap(), Frame::Text(b"hello")));
        ws.writer.send_text(b"echo me").await.unwrap();
        assert!(matches!(ws.reader.next().await.unwrap(), Frame::Text(b"echo me")));
        assert!(matches!(ws.reader.next().await.unwrap(), Frame::Text(text) if text == big.as_bytes()));
        assert!(matches!(ws.reader.next().await.unwrap(), Frame::Close(Some(1000))));
        ws.close().await.unwrap();
        server.await.unwrap();
    }
}
