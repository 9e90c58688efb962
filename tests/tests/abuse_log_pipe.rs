//! The server survives its own log pipe: when whatever reads its stderr goes
//! away (`… 2>&1 | tee log` and Ctrl-C, `… | head -2`), it keeps serving new
//! logins, and SIGTERM or SIGINT still shut it down cleanly (exit 0), with
//! everything flushed.

use heartlink_tests::{PASSWORD, TestServer, WAIT, WsClient, binaries};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Kills the process if the test ends early.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Running {
    fn signal(&self, name: &str) {
        let status = Command::new("kill").args([format!("-{name}"), self.0.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit within {WAIT:?} of the signal");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn server_command(data_dir: &std::path::Path, listen: &str) -> Command {
    let mut command = Command::new(binaries::bin("heartlink-server"));
    command.args(["start", "--listen", listen]).arg("--data-dir").arg(data_dir);
    command.env("RUST_LOG", "heartlink_server=debug,info").stdin(Stdio::null());
    command
}

/// A dozen logins on fresh connections: each is logged several times, so
/// the logging path meets the closed pipe over and over.
async fn logins_still_work(url: &str) {
    for _ in 0..12 {
        let (mut client, _) = WsClient::login(url, "alice", PASSWORD).await;
        client.sync().await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_until_listening(url: &str) {
    let deadline = Instant::now() + WAIT;
    while tokio_tungstenite::connect_async(url).await.is_err() {
        assert!(Instant::now() < deadline, "the server did not listen within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_log_pipe_neither_stops_nor_hangs_the_server() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut child = server_command(data_dir.path(), "127.0.0.1:0").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut server = Running(child);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("heartlink-server listening on ").expect("the address line").to_owned();
    WsClient::register(&url, "alice").await;
    // Read the log up to the start line (a few lines at most)…
    let mut seen = String::new();
    while !seen.contains("heartlink-server started") {
        assert!(stderr.read_line(&mut seen).unwrap() > 0 && seen.len() < 10_000, "no start line in {seen}");
    }
    // The reader of the log goes away, as `tee` does on Ctrl-C.
    drop(stderr);

    logins_still_work(&url).await;
    let signalled = Instant::now();
    server.signal("TERM");
    let status = server.wait_exit();
    assert!(status.success(), "exit status after SIGTERM with a closed log pipe: {status}");
    eprintln!("figure: stderr's reader gone: 12 logins served, SIGTERM -> exit 0 in {:.0?}", signalled.elapsed());

    // Everything was flushed: the account is there after a restart.
    let mut again = server_command(data_dir.path(), "127.0.0.1:0").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdout = BufReader::new(again.stdout.take().unwrap());
    let _again = Running(again);
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line.trim().strip_prefix("heartlink-server listening on ").expect("the address line").to_owned();
    WsClient::login(&url, "alice", PASSWORD).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_through_head_the_server_serves_on_and_stops_on_ctrl_c() {
    let data_dir = tempfile::tempdir().unwrap();
    // `heartlink-server start 2>&1 | head -2`: stdout and stderr share the pipe.
    let mut head = Command::new("head").arg("-2").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let pipe = OwnedFd::from(head.stdin.take().unwrap());
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let child = server_command(data_dir.path(), &listen)
        .stdout(Stdio::from(pipe.try_clone().unwrap()))
        .stderr(Stdio::from(pipe))
        .spawn()
        .unwrap();
    let mut server = Running(child);
    let url = format!("ws://{listen}/ws");
    wait_until_listening(&url).await;
    WsClient::register(&url, "alice").await;
    // head prints its two lines and exits: the pipe has no reader any more.
    let mut shown = String::new();
    head.stdout.take().unwrap().read_to_string(&mut shown).unwrap();
    assert!(head.wait().unwrap().success());
    assert_eq!(shown.lines().count(), 2, "{shown}");

    logins_still_work(&url).await;
    let signalled = Instant::now();
    server.signal("INT");
    let status = server.wait_exit();
    assert!(status.success(), "exit status after SIGINT with a closed log pipe: {status}");
    eprintln!("figure: '2>&1 | head -2' after head exited: 12 logins served, SIGINT -> exit 0 in {:.0?}", signalled.elapsed());
}

#[tokio::test]
async fn the_log_is_complete_after_a_clean_shutdown() {
    let mut server = TestServer::start(&[]);
    WsClient::register(&server.url, "alice").await;
    assert!(server.terminate().success());
    let log = std::fs::read_to_string(&server.log_path).unwrap();
    let last = log.lines().last().unwrap_or_default();
    assert!(last.contains("shutdown complete; everything flushed"), "the last log line is {last:?}");
}
