//! A throwaway HAProxy (Debian's `haproxy`) in front of a cluster's nodes,
//! with the configuration docs/SCALING.md gives: HTTP mode (the WebSocket
//! upgrade passes through), `timeout tunnel` for the long-lived sockets,
//! `leastconn`, health checks on `GET /healthz`, and a connection that
//! cannot reach its node re-dispatched to another.
//!
//! HAProxy cannot listen on port 0 and report the port, so the frontend
//! takes a free port found the way [`crate::redis`] finds one. It runs in
//! the foreground (`-db`) from a temp dir holding its config, its log and
//! its runtime API socket (`show stat` tells which node holds how many
//! sessions and which nodes the checks see up). Killed on drop, and by the
//! kernel when the test process dies (`setpriv --pdeathsig KILL`). A machine
//! without `haproxy` fails the test saying what to install; it never skips.

use crate::WAIT;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running HAProxy; `url` is the `ws://…/ws` clients connect to.
#[derive(Debug)]
pub struct Haproxy {
    child: Child,
    dir: tempfile::TempDir,
    /// `ws://127.0.0.1:PORT/ws`, the balancer's frontend.
    pub url: String,
}

/// Open connections HAProxy lets one client address have (the server's own
/// default per address, which behind a balancer only HAProxy can apply).
pub const PER_SOURCE_CONNECTIONS: usize = 64;

/// One backend server's line of `show stat`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStat {
    /// `node1`, `node2`… in the order the nodes were given.
    pub name: String,
    /// `UP`, `DOWN`, or a transition such as `UP 1/2`.
    pub status: String,
    /// Sessions open through HAProxy to this server now.
    pub sessions: u64,
}

/// The configuration docs/SCALING.md shows, for a frontend on `port` and
/// the nodes at `nodes` (`host:port` each), with the runtime API on `socket`.
pub fn config(port: u16, nodes: &[&str], socket: &str) -> String {
    let servers: String =
        nodes.iter().enumerate().map(|(index, addr)| format!("    server node{} {addr}\n", index + 1)).collect();
    format!(
        "global
    stats socket unix@{socket} mode 600 level admin
    log stderr format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # An upgraded WebSocket is a tunnel: the client pings every half
    # heartbeat, so an hour only ever cuts a connection that is gone.
    timeout tunnel 1h
    timeout client-fin 5s
    # A node that refuses the connection (killed, restarting): try again on another.
    retries 3
    option redispatch 1

frontend heartlink
    bind 127.0.0.1:{port}
    # The nodes see every client at this balancer's address, so the limits
    # per client address are kept here: open connections and new ones a minute.
    stick-table type ipv6 size 1m expire 10m store conn_cur,conn_rate(1m)
    tcp-request connection track-sc0 src
    tcp-request connection reject if {{ sc0_conn_cur gt {PER_SOURCE_CONNECTIONS} }} || {{ sc0_conn_rate gt 600 }}
    option forwardfor
    default_backend nodes

backend nodes
    balance leastconn
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host heartlink
    http-check expect status 200
    default-server check inter 500ms fall 2 rise 2
{servers}"
    )
}

impl Haproxy {
    /// Starts HAProxy in front of `nodes` (`host:port` each) and waits until
    /// it accepts connections and its checks see every node up.
    pub fn start(nodes: &[&str]) -> Self {
        let found = Command::new("haproxy").arg("-v").stdout(Stdio::null()).stderr(Stdio::null()).status();
        assert!(
            found.is_ok_and(|status| status.success()),
            "haproxy is not installed: the load-balancer test needs a real one (Debian: apt-get install haproxy; .ci/run installs it)"
        );
        let dir = tempfile::tempdir().expect("temp dir for haproxy");
        let port = free_port();
        let socket = dir.path().join("admin.sock");
        let config_path = dir.path().join("haproxy.cfg");
        std::fs::write(&config_path, config(port, nodes, &socket.to_string_lossy())).expect("write haproxy.cfg");
        let log = std::fs::File::create(dir.path().join("haproxy.log")).expect("haproxy log file");
        let child = Command::new("setpriv")
            .args(["--pdeathsig", "KILL", "--", "haproxy", "-db", "-f"])
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log handle")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start haproxy (through setpriv)");
        let mut haproxy = Self { child, dir, url: format!("ws://127.0.0.1:{port}/ws") };
        haproxy.wait_ready(port, nodes.len());
        haproxy
    }

    fn wait_ready(&mut self, port: u16, nodes: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("haproxy exited at start ({status}):\n{}", self.log());
            }
            let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && self.try_stats().is_ok_and(|stats| stats.len() == nodes && stats.iter().all(|s| s.status == "UP"));
            if up {
                return;
            }
            assert!(Instant::now() < deadline, "haproxy did not see every node up within {WAIT:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The backend's servers as HAProxy sees them now.
    pub fn stats(&self) -> Vec<ServerStat> {
        self.try_stats().unwrap_or_else(|err| panic!("haproxy's runtime API: {err}\n{}", self.log()))
    }

    fn try_stats(&self) -> std::io::Result<Vec<ServerStat>> {
        Ok(parse_stats(&self.command("show stat")?))
    }

    /// Connections open now from `ip` (as the frontend's stick table counts them, `conn_cur`).
    pub fn open_connections_from(&self, ip: &str) -> u64 {
        let table = self.command("show table heartlink").unwrap_or_else(|err| panic!("haproxy's runtime API: {err}"));
        conn_cur(&table, ip)
    }

    /// One command on the runtime API; its whole answer.
    fn command(&self, command: &str) -> std::io::Result<String> {
        let mut stream = UnixStream::connect(self.socket())?;
        stream.set_read_timeout(Some(WAIT))?;
        stream.write_all(format!("{command}\n").as_bytes())?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    /// Polls `show stat` until `check` holds; fails with the stats and the log.
    pub fn wait_stats(&self, what: &str, within: Duration, check: impl Fn(&[ServerStat]) -> bool) -> Vec<ServerStat> {
        let deadline = Instant::now() + within;
        loop {
            let stats = self.stats();
            if check(&stats) {
                return stats;
            }
            assert!(Instant::now() < deadline, "haproxy: waited {within:?} for {what}; {stats:?}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    /// What HAProxy logged (one line per request and per closed session).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("haproxy.log")).unwrap_or_else(|err| format!("(no log: {err})"))
    }
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The backend servers' lines of `show stat`'s CSV (header `# pxname,svname,…`).
fn parse_stats(csv: &str) -> Vec<ServerStat> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().trim_start_matches("# ").split(',').collect();
    let column = |name: &str| header.iter().position(|field| *field == name);
    let (Some(proxy), Some(server), Some(sessions), Some(status)) =
        (column("pxname"), column("svname"), column("scur"), column("status"))
    else {
        return Vec::new();
    };
    lines
        .map(|line| line.split(',').collect::<Vec<_>>())
        .filter(|fields| fields.get(proxy) == Some(&"nodes") && !matches!(fields.get(server), Some(&"BACKEND" | &"FRONTEND") | None))
        .map(|fields| ServerStat {
            name: fields[server].to_owned(),
            status: fields.get(status).copied().unwrap_or_default().to_owned(),
            sessions: fields.get(sessions).and_then(|n| n.parse().ok()).unwrap_or(0),
        })
        .collect()
}

/// `conn_cur` of `ip`'s entry in a `show table` answer (an IPv4 address is
/// keyed as IPv4-mapped IPv6); 0 without an entry.
fn conn_cur(table: &str, ip: &str) -> u64 {
    let keys = [format!("key={ip} "), format!("key=::ffff:{ip} ")];
    table
        .lines()
        .find(|line| keys.iter().any(|key| line.contains(key.as_str())))
        .and_then(|line| line.split_whitespace().find_map(|field| field.strip_prefix("conn_cur=")))
        .and_then(|count| count.parse().ok())
        .unwrap_or(0)
}

/// A port nobody listens on now (bound and released; the OS does not hand
/// it out again at once).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_stat_is_read_by_column_name_and_only_the_servers_count() {
        let csv = "# pxname,svname,qcur,qmax,scur,smax,status\n\
                   heartlink,FRONTEND,,,2,3,OPEN\n\
                   nodes,node1,0,0,1,1,UP\n\
                   nodes,node2,0,0,0,1,DOWN\n\
                   nodes,BACKEND,0,0,1,2,UP\n";
        assert_eq!(
            parse_stats(csv),
            [
                ServerStat { name: "node1".into(), status: "UP".into(), sessions: 1 },
                ServerStat { name: "node2".into(), status: "DOWN".into(), sessions: 0 },
            ]
        );
        assert!(parse_stats("").is_empty());
    }

    #[test]
    fn conn_cur_is_read_from_the_addresses_entry() {
        let table = "# table: heartlink, type: ipv6, size:1048576, used:1\n\
                     0x55d1: key=::ffff:127.0.0.1 use=3 exp=599000 shard=0 conn_rate(60000)=9 conn_cur=3\n";
        assert_eq!(conn_cur(table, "127.0.0.1"), 3);
        assert_eq!(conn_cur(table, "127.0.0.2"), 0);
    }
}
