//! Starting and stopping the servers under test, each pinned to the server
//! core with `taskset`, each on a port the OS chose: heartlink and the two
//! WebSocket peers bind port 0 and print their address; InspIRCd cannot, so
//! the bench asks the OS for a free port and writes it into a generated
//! config in a temp dir.

use crate::proc_stat;
use crate::toolbox::Toolbox;
use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The servers that can be benchmarked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Heartlink,
    /// The storage-less tokio-tungstenite broadcast server in this crate.
    Ceiling,
    NodeWs,
    Inspircd,
}

impl Peer {
    pub const ALL: [Peer; 4] = [Peer::Heartlink, Peer::Ceiling, Peer::NodeWs, Peer::Inspircd];

    /// Column name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Heartlink => "heartlink",
            Self::Ceiling => "ceiling (tungstenite, no storage)",
            Self::NodeWs => "Node ws",
            Self::Inspircd => "InspIRCd",
        }
    }

    /// How the generator talks to it.
    pub fn wire(self) -> Wire {
        match self {
            Self::Heartlink => Wire::Heartlink,
            Self::Ceiling | Self::NodeWs => Wire::Rooms,
            Self::Inspircd => Wire::Irc,
        }
    }
}

/// The three dialects the generator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// docs/PROTOCOL.md, with accounts.
    Heartlink,
    /// The bench's minimal JSON room protocol (no accounts, no storage).
    Rooms,
    /// Plain IRC over TCP: NICK/USER/JOIN/PRIVMSG.
    Irc,
}

/// A running server.
#[derive(Debug)]
pub struct ServerProc {
    pub peer: Peer,
    pub addr: SocketAddr,
    pub pid: u32,
    child: Child,
    /// Data dir or generated config; removed when the server is dropped.
    pub dir: tempfile::TempDir,
}

impl ServerProc {
    /// Starts `peer` pinned to the server core and waits until it listens.
    pub async fn start(peer: Peer, tools: &Toolbox) -> Result<Self> {
        Self::start_with(peer, tools, &[]).await
    }

    /// The same with `extra` arguments after heartlink's own (`--store`,
    /// `--bus` for a cluster node); other peers take none.
    pub async fn start_with(peer: Peer, tools: &Toolbox, extra: &[String]) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("heartlink-bench-").tempdir()?;
        let log = std::fs::File::create(dir.path().join("stderr.log"))?;
        let mut command = Command::new("taskset");
        command.arg("-c").arg(tools.server_cpu.to_string());
        let mut port_in_config = None;
        match peer {
            Peer::Heartlink => {
                // A load test lifts the per-user send rate and room quota; B8 uploads
                // 100 MiB, past the default 50 MiB limit.
                command.arg(&tools.heartlink_server).args(["start", "--listen", "127.0.0.1:0", "--send-rate", "0", "--rooms-per-hour", "0"]);
                command.args(["--max-upload-bytes", "1073741824"]);
                // B1 holds 10,000 connections at once, the server's default cap;
                // the generator spreads them over many 127.x.y.z sources, one or
                // two each, so the per-address cap (64) is never near.
                command.args(["--max-connections", "15000"]);
                command.arg("--data-dir").arg(dir.path().join("data"));
                command.args(extra);
                // Per-session info lines would make the log, not the server, the subject.
                command.env("RUST_LOG", "warn");
            }
            Peer::Ceiling => {
                command.arg(&tools.bench_exe).args(["ceiling", "--listen", "127.0.0.1:0"]);
            }
            Peer::NodeWs => {
                let node = tools.node.as_ref().context("node is not installed")?;
                command.arg(node).arg(tools.node_ws_dir.join("server.js")).env("PORT", "0");
            }
            Peer::Inspircd => {
                let inspircd = tools.inspircd.as_ref().context("inspircd is not installed")?;
                let port = free_port()?;
                let template = std::fs::read_to_string(&tools.inspircd_template)?;
                let config = template.replace("@PORT@", &port.to_string()).replace("@DIR@", &dir.path().display().to_string());
                let path = dir.path().join("inspircd.conf");
                std::fs::write(&path, config)?;
                command.arg(inspircd).args(["--nofork", "--runasroot"]).arg(format!("--config={}", path.display()));
                port_in_config = Some(port);
            }
        }
        command.stdout(Stdio::piped()).stderr(log).stdin(Stdio::null()).kill_on_drop(true);
        let mut child = command.spawn().with_context(|| format!("starting {}", peer.name()))?;
        let pid = child.id().context("server exited at once")?;
        let addr = match port_in_config {
            Some(port) => wait_for_port(port, &mut child).await?,
            None => read_address(&mut child).await?,
        };
        let server = Self { peer, addr, pid, child, dir };
        server.check_alive_ref()?;
        Ok(server)
    }

    fn check_alive_ref(&self) -> Result<()> {
        proc_stat::cpu_seconds(self.pid).map(|_| ()).with_context(|| format!("{} is not running", self.peer.name()))
    }

    /// An error when the server has exited (crashed) since it started.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited during the run: {status}; log in {}", self.peer.name(), self.dir.path().display());
        }
        Ok(())
    }

    /// Stops the server with SIGTERM (SIGKILL after 3 s); an error if it had crashed.
    pub async fn stop(mut self) -> Result<()> {
        self.check_alive()?;
        let _ = Command::new("kill").arg("-TERM").arg(self.pid.to_string()).status().await;
        if tokio::time::timeout(Duration::from_secs(3), self.child.wait()).await.is_err() {
            self.child.kill().await?;
        }
        Ok(())
    }
}

/// A port that was free a moment ago (bound to port 0, read back, released).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Reads `... listening on ws://HOST:PORT/ws` from the server's stdout.
async fn read_address(child: &mut Child) -> Result<SocketAddr> {
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .context("server did not print its address within 20 s")??
        .context("server closed stdout without printing its address")?;
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let addr = line.split("ws://").nth(1).and_then(|rest| rest.strip_suffix("/ws")).context("unexpected first line")?;
    addr.parse().with_context(|| format!("bad address in {line:?}"))
}

/// Waits until something accepts on 127.0.0.1:`port`.
async fn wait_for_port(port: u16, child: &mut Child) -> Result<SocketAddr> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..200 {
        if let Some(status) = child.try_wait()? {
            bail!("server exited while starting: {status}");
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(addr);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("nothing listening on {addr} after 10 s")
}
