//! A `redis-server` per bed: its own temp dir, a free loopback port, no
//! persistence (as docs/SCALING.md deploys it), pinned to the server CPU
//! like every server under test, killed when the bed ends (and by the
//! kernel if the bench dies first). Its command counters (`INFO
//! commandstats`) say how many publishes and script calls a run cost.

use crate::servers::free_port;
use crate::toolbox::{Toolbox, which};
use anyhow::{Context, Result, bail};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// How long a fresh redis-server may take to answer PING on a busy machine.
const START_WAIT: Duration = Duration::from_secs(20);
/// The largest `INFO` reply read (a few KiB in practice).
const MAX_INFO: usize = 1 << 20;

/// A running redis-server.
#[derive(Debug)]
pub struct RedisProc {
    child: Child,
    /// Its pid and port, for the engine meter.
    pub probe: RedisProbe,
    /// `redis://127.0.0.1:PORT/`
    pub url: String,
    _dir: tempfile::TempDir,
}

/// Command counts from `INFO commandstats`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Calls {
    pub publish: u64,
    /// Every command (publishes, scripts, keys, subscriptions).
    pub all: u64,
}

impl RedisProc {
    /// Why no redis-server can be started here, if none can.
    pub fn missing() -> Option<String> {
        which("redis-server")
            .is_none()
            .then(|| "redis-server is not installed (Debian: apt-get install redis-server)".to_owned())
    }

    /// Starts one and waits until it answers PING.
    pub async fn start(tools: &Toolbox) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("heartlink-bench-redis-").tempdir()?;
        let port = free_port()?;
        let mut child = Command::new("taskset")
            .args(["-c", &tools.server_cpu.to_string(), "setpriv", "--pdeathsig", "KILL", "--", "redis-server"])
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--loglevel", "warning", "--protected-mode", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(dir.path().join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting redis-server")?;
        let pid = child.id().context("redis-server exited at once")?;
        let started = Instant::now();
        while command(port, "PING").await.map_or(true, |reply| reply != "+PONG") {
            if let Some(status) = child.try_wait()? {
                let log = std::fs::read_to_string(dir.path().join("redis.log")).unwrap_or_default();
                bail!("redis-server exited at start ({status}): {log}");
            }
            if started.elapsed() > START_WAIT {
                bail!("redis-server did not answer PING within {START_WAIT:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Self { child, probe: RedisProbe { pid, port }, url: format!("redis://127.0.0.1:{port}/"), _dir: dir })
    }

    /// An error if it has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("redis-server exited during the run: {status}");
        }
        Ok(())
    }

    /// Kills it; an error if it had crashed.
    pub async fn stop(mut self) -> Result<()> {
        self.check_alive()?;
        self.child.kill().await?;
        Ok(())
    }
}

/// What the engine meter reads of a redis-server: its process and its counters.
#[derive(Debug, Clone, Copy)]
pub struct RedisProbe {
    pub pid: u32,
    port: u16,
}

impl RedisProbe {
    /// Publishes and commands so far.
    pub async fn calls(&self) -> Result<Calls> {
        Ok(parse_commandstats(&command(self.port, "INFO commandstats").await?))
    }
}

/// Sends one inline command and returns the reply: a status line as is
/// (`+PONG`), a bulk string's contents.
async fn command(port: u16, line: &str) -> Result<String> {
    let mut stream = BufReader::new(TcpStream::connect(("127.0.0.1", port)).await?);
    stream.get_mut().write_all(format!("{line}\r\n").as_bytes()).await?;
    let mut first = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_line(&mut first))
        .await
        .context("no reply from redis")??;
    let first = first.trim_end();
    let Some(len) = first.strip_prefix('$') else { return Ok(first.to_owned()) };
    let len: usize = len.parse().with_context(|| format!("bad bulk length in {first:?}"))?;
    if len > MAX_INFO {
        bail!("redis reply of {len} bytes");
    }
    let mut body = vec![0; len];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut body))
        .await
        .context("short reply from redis")??;
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// `cmdstat_publish:calls=12,usec=…` lines → counts.
fn parse_commandstats(info: &str) -> Calls {
    let mut calls = Calls::default();
    for line in info.lines() {
        let Some((name, stats)) = line.strip_prefix("cmdstat_").and_then(|rest| rest.split_once(':')) else { continue };
        let count: u64 = stats
            .split(',')
            .find_map(|field| field.strip_prefix("calls="))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        calls.all += count;
        if name == "publish" {
            calls.publish += count;
        }
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commandstats_are_counted() {
        let info = "# Commandstats\r\ncmdstat_publish:calls=12,usec=40,usec_per_call=3.33,rejected_calls=0,failed_calls=0\r\n\
                    cmdstat_evalsha:calls=5,usec=9,usec_per_call=1.80\r\nnot_a_stat:calls=99\r\n";
        let calls = parse_commandstats(info);
        assert_eq!(calls.publish, 12);
        assert_eq!(calls.all, 17);
    }
}
