//! The CLI's side of a request: over the running server's socket, or
//! answered in this process on the opened data dir. Both give the same
//! replies (request.rs).

use super::export;
use super::local::Reach;
use super::request::{AdminReply, AdminRequest, ErrorKind};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

/// The longest reply line read from the server (a page of 1,000 rooms with long names fits).
const MAX_REPLY_BYTES: u64 = 8 * 1024 * 1024;
/// The longest export line read from the server (an import reads no longer one).
const MAX_EXPORT_LINE_BYTES: u64 = super::import::MAX_LINE_BYTES as u64 + 1;

/// Why a request got no reply.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("talking to the server over its admin socket failed")]
    Socket(#[from] std::io::Error),
    #[error("the server's reply was not understood")]
    Reply(#[from] serde_json::Error),
    #[error("the server closed the admin socket without a complete reply")]
    Cut,
    #[error("the export failed")]
    Export(#[from] export::ExportError),
}

/// Sends `request` to a running server and returns its reply.
pub async fn ask(stream: UnixStream, request: AdminRequest) -> Result<AdminReply, AskError> {
    let mut lines = send(stream, &request).await?.take(MAX_REPLY_BYTES);
    let mut line = Vec::new();
    lines.read_until(b'\n', &mut line).await?;
    if line.last() != Some(&b'\n') {
        return Err(AskError::Cut);
    }
    Ok(serde_json::from_slice(&line)?)
}

/// Writes the whole store to `out`: the server streams its lines, or this
/// process reads the opened data dir. `Ok(Err(reply))` when the server
/// refused or failed (its error reply); the lines written so far are then
/// incomplete.
pub async fn export<W: AsyncWrite + Unpin>(reach: Reach, tokens: bool, out: &mut W) -> Result<Result<u64, AdminReply>, AskError> {
    match reach {
        Reach::Local(operator, _) => Ok(Ok(export::export(&operator, tokens, out).await?)),
        Reach::Server(stream) => {
            let mut lines = send(stream, &AdminRequest::Export { tokens }).await?;
            let mut count = 0u64;
            let mut line = Vec::new();
            loop {
                line.clear();
                (&mut lines).take(MAX_EXPORT_LINE_BYTES).read_until(b'\n', &mut line).await?;
                if line.last() != Some(&b'\n') {
                    return Err(AskError::Cut);
                }
                // An export line has a `kind`; a reply (an error) has a `reply`.
                let value: serde_json::Value = serde_json::from_slice(&line)?;
                if value.get("reply").is_some() {
                    let reply: AdminReply = serde_json::from_value(value)?;
                    return Ok(Err(reply));
                }
                out.write_all(&line).await?;
                count += 1;
                if value.get("kind").and_then(serde_json::Value::as_str) == Some("end") {
                    out.flush().await?;
                    return Ok(Ok(count));
                }
            }
        }
    }
}

/// Writes the request line; returns the reply side.
async fn send(stream: UnixStream, request: &AdminRequest) -> Result<BufReader<tokio::net::unix::OwnedReadHalf>, AskError> {
    let (read, mut write) = stream.into_split();
    let mut line = serde_json::to_vec(request)?;
    line.push(b'\n');
    write.write_all(&line).await?;
    write.shutdown().await?;
    Ok(BufReader::new(read))
}

/// The exit code for an error reply.
pub fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Internal => 1,
        ErrorKind::BadRequest => 2,
        ErrorKind::NotFound => 3,
        ErrorKind::Busy => 4,
    }
}
