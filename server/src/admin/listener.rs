//! The running server's side of the admin socket (`admin.sock` in the data
//! dir): one request per connection, answered through the server's own
//! store and bus (request.rs has the protocol).
//!
//! Who may ask: the socket is 0600 in a 0700 data dir, and the peer must be
//! the server's own user (checked with SO_PEERCRED). One request is
//! answered at a time; another admin command meanwhile gets `busy`. A
//! request line is at most [`MAX_REQUEST_BYTES`] and must arrive within
//! [`REQUEST_DEADLINE`].

use super::export;
use super::operator::Operator;
use super::request::{AdminReply, AdminRequest, ErrorKind, MAX_REQUEST_BYTES};
use crate::report::Chain;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

/// How long a client has to send its request line.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// The bound socket; its file is removed when this is dropped.
#[derive(Debug)]
pub struct AdminSocket {
    listener: UnixListener,
    path: PathBuf,
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds `admin.sock` in `data_dir`. The caller holds the data dir's lock,
/// so a socket file found there is a dead server's and is replaced.
pub fn bind(data_dir: &Path) -> std::io::Result<AdminSocket> {
    let path = data_dir.join(super::SOCKET_FILE);
    match std::fs::remove_file(&path) {
        Ok(()) => tracing::info!(path = %path.display(), "removed a stale admin socket"),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(AdminSocket { listener, path })
}

/// Answers admin connections until `shutdown`.
pub async fn serve(socket: AdminSocket, operator: Operator, shutdown: CancellationToken) {
    let one_at_a_time = Arc::new(tokio::sync::Mutex::new(()));
    let tasks = tokio_util::task::TaskTracker::new();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = socket.listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let (operator, turn) = (operator.clone(), Arc::clone(&one_at_a_time));
                    tasks.spawn(async move {
                        if let Err(err) = answer(stream, &operator, &turn).await {
                            tracing::warn!(cause = %Chain(&err), "admin connection failed");
                        }
                    });
                }
                Err(err) => {
                    tracing::warn!(cause = %err, "accepting an admin connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    tasks.close();
    // An export in progress is cut off by the shutdown; its client sees no end line.
    let _ = tokio::time::timeout(Duration::from_secs(1), tasks.wait()).await;
    drop(socket);
}

async fn answer(stream: UnixStream, operator: &Operator, turn: &tokio::sync::Mutex<()>) -> std::io::Result<()> {
    let ours = nix::unistd::geteuid().as_raw();
    let peer = stream.peer_cred()?.uid();
    let (read, write) = stream.into_split();
    let mut out = BufWriter::new(write);
    if peer != ours {
        tracing::warn!(peer, "refused an admin connection from another user");
        return reply(&mut out, &AdminReply::error(ErrorKind::BadRequest, "only the server's own user may use this socket")).await;
    }
    let request = match read_request(read).await {
        Ok(request) => request,
        Err(refusal) => return reply(&mut out, &refusal).await,
    };
    let Ok(_turn) = turn.try_lock() else {
        return reply(&mut out, &AdminReply::error(ErrorKind::Busy, "another admin command is running on this server; try again when it is done")).await;
    };
    tracing::info!(request = ?request, "admin request");
    match request {
        AdminRequest::Export { tokens } => {
            if let Err(err) = export::export(operator, tokens, &mut out).await {
                tracing::error!(cause = %Chain(&err), "export failed");
                let refusal = AdminReply::error(ErrorKind::Internal, format!("the export failed: {}", Chain(&err)));
                return reply(&mut out, &refusal).await;
            }
            out.shutdown().await
        }
        request => {
            let answer = operator.answer(request).await;
            reply(&mut out, &answer).await
        }
    }
}

/// The request line, or the reply that refuses it.
async fn read_request(read: tokio::net::unix::OwnedReadHalf) -> Result<AdminRequest, AdminReply> {
    let mut line = Vec::new();
    let mut limited = BufReader::new(read).take(MAX_REQUEST_BYTES as u64 + 1);
    match tokio::time::timeout(REQUEST_DEADLINE, limited.read_until(b'\n', &mut line)).await {
        Err(_) => return Err(AdminReply::error(ErrorKind::BadRequest, "no request line within the deadline")),
        Ok(Err(err)) => return Err(AdminReply::error(ErrorKind::BadRequest, format!("reading the request failed: {err}"))),
        Ok(Ok(_)) => {}
    }
    if line.len() > MAX_REQUEST_BYTES {
        return Err(AdminReply::error(ErrorKind::BadRequest, format!("a request is one line of at most {MAX_REQUEST_BYTES} bytes")));
    }
    serde_json::from_slice(line.strip_suffix(b"\n").unwrap_or(&line))
        .map_err(|err| AdminReply::error(ErrorKind::BadRequest, format!("not an admin request: {err}")))
}

async fn reply(out: &mut BufWriter<tokio::net::unix::OwnedWriteHalf>, reply: &AdminReply) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(reply).map_err(std::io::Error::other)?;
    line.push(b'\n');
    out.write_all(&line).await?;
    out.shutdown().await
}
