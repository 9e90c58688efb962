//! Plain IRC client for the InspIRCd peer: NICK/USER until the welcome
//! (001), JOIN until the end of NAMES (366), PRIVMSG to a channel, PONG to
//! every PING, QUIT. IRC does not echo a PRIVMSG to its sender, so a room
//! of N delivers N − 1 copies of each message.

use super::{REPLY_TIMEOUT, tcp_connect};
use crate::tally::{Tally, numeric};
use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// A registered IRC connection.
#[derive(Debug)]
pub struct IrcConn {
    reader: BufReader<OwnedReadHalf>,
    writer: BufWriter<OwnedWriteHalf>,
}

impl IrcConn {
    /// Connects and registers as `nick`.
    pub async fn connect(addr: SocketAddr, nick: &str) -> Result<Self> {
        let (read, write) = tcp_connect(addr).await?.into_split();
        let mut conn = Self { reader: BufReader::with_capacity(8 * 1024, read), writer: BufWriter::new(write) };
        conn.line(&format!("NICK {nick}\r\nUSER {nick} 0 * :bench\r\n")).await?;
        conn.wait_for(|code| code == Some(1)).await.context("IRC registration")?;
        Ok(conn)
    }

    async fn line(&mut self, text: &str) -> Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.flush().await?;
        Ok(())
    }

    /// Reads lines (answering PINGs) until one whose numeric satisfies `done`.
    async fn wait_for(&mut self, done: impl Fn(Option<u16>) -> bool) -> Result<()> {
        let mut line = Vec::new();
        tokio::time::timeout(REPLY_TIMEOUT, async {
            loop {
                line.clear();
                if self.reader.read_until(b'\n', &mut line).await? == 0 {
                    bail!("server closed the connection");
                }
                if line.starts_with(b"PING ") {
                    let pong = [b"PONG ", &line[5..]].concat();
                    self.writer.write_all(&pong).await?;
                    self.writer.flush().await?;
                    continue;
                }
                if line.starts_with(b"ERROR ") {
                    bail!("server said {}", String::from_utf8_lossy(&line).trim_end());
                }
                let code = numeric(&line);
                if done(code) {
                    return Ok(());
                }
                if code.is_some_and(is_refusal) {
                    bail!("server refused: {}", String::from_utf8_lossy(&line).trim_end());
                }
            }
        })
        .await
        .context("no reply in time")?
    }

    /// Joins `channel` and waits for the end of its NAMES list.
    pub async fn join(&mut self, channel: &str) -> Result<()> {
        self.line(&format!("JOIN {channel}\r\n")).await?;
        self.wait_for(|code| code == Some(366)).await.with_context(|| format!("joining {channel}"))
    }

    /// Splits into the buffered writer and the reader.
    pub fn split(self) -> (BufWriter<OwnedWriteHalf>, BufReader<OwnedReadHalf>) {
        (self.writer, self.reader)
    }

    /// QUIT and wait for the server to close.
    pub async fn quit(mut self) -> Result<()> {
        self.line("QUIT :bye\r\n").await?;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(REPLY_TIMEOUT, async {
            while self.reader.read_until(b'\n', &mut sink).await.is_ok_and(|n| n > 0) {
                sink.clear();
            }
        })
        .await;
        Ok(())
    }
}

/// An error numeric, except ERR_NOMOTD (422): a server without a message
/// of the day is not refusing anything.
pub fn is_refusal(code: u16) -> bool {
    (400..600).contains(&code) && code != 422
}

/// Counts every line until the connection ends. A PING cannot be answered
/// from here (the writer belongs to the sender); the bench's config pings
/// every 10 minutes, longer than any run.
pub async fn drain(mut reader: BufReader<OwnedReadHalf>, tally: Tally) {
    let mut line = Vec::with_capacity(512);
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => {
                tally.closed(None);
                return;
            }
            Ok(_) => tally.irc_line(&line),
        }
    }
}

/// Queues one PRIVMSG.
pub async fn privmsg(writer: &mut BufWriter<OwnedWriteHalf>, channel: &str, body: &str) -> Result<()> {
    writer.write_all(format!("PRIVMSG {channel} :{body}\r\n").as_bytes()).await?;
    Ok(())
}
