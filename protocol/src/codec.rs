//! Text frames ⇄ messages, including the `ref` that travels beside a request
//! and its direct reply.

use crate::client::ClientMsg;
use crate::fields::{FieldError, RequestRef};
use crate::server::{ErrorCode, ServerMsg};
use serde::Serialize;
use serde_json::Value;

/// A decoded client frame: the message and the `ref` its reply must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub msg: ClientMsg,
    pub reference: Option<RequestRef>,
}

/// Why a client frame was refused, with the reply the server owes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
    /// The frame's `ref`, when it had a valid one, so the error can carry it.
    pub reference: Option<RequestRef>,
    /// The frame's `type`, when it had one: a malformed `register` is still
    /// an attempt to log in, answered with its field error rather than a
    /// refusal of the connection.
    pub kind: Option<String>,
}

impl DecodeError {
    fn bad_request(message: impl Into<String>, reference: Option<RequestRef>) -> Self {
        Self { code: ErrorCode::BadRequest, message: message.into(), reference, kind: None }
    }

    /// Whether the refused frame was a `register`, `login` or `resume`.
    pub fn is_authentication(&self) -> bool {
        matches!(self.kind.as_deref(), Some("register" | "login" | "resume"))
    }

    /// The `error` message to send back.
    pub fn to_reply(&self) -> ServerMsg {
        ServerMsg::error(self.code, self.message.clone())
    }
}

/// Decodes one client text frame.
///
/// The frame is parsed into a JSON value first so that the `ref` is known even
/// when the rest is malformed: the error reply then carries it too.
pub fn decode_request(text: &str) -> Result<Request, DecodeError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|err| DecodeError::bad_request(format!("malformed JSON: {err}"), None))?;
    let Value::Object(mut object) = value else {
        return Err(DecodeError::bad_request("a frame must be a JSON object", None));
    };
    let reference = match object.remove("ref") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(
            RequestRef::try_from(text).map_err(|err| DecodeError::bad_request(err.message, None))?,
        ),
        Some(_) => return Err(DecodeError::bad_request("ref must be a string", None)),
    };
    let kind = match object.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        _ => return Err(DecodeError::bad_request("missing string field `type`", reference)),
    };
    match serde_json::from_value::<ClientMsg>(Value::Object(object)) {
        Ok(msg) => Ok(Request { msg, reference }),
        Err(err) => Err(DecodeError { kind: Some(kind), ..classify(&err.to_string(), reference) }),
    }
}

/// Turns a serde error into the reply it earns. A validating newtype's
/// [`FieldError`] reaches us only as text through serde's `custom` error, so
/// its `code: message` prefix is read back here; this is the one place that
/// knows that format, and the tests pin it.
fn classify(serde_message: &str, reference: Option<RequestRef>) -> DecodeError {
    if let Some((code, message)) = serde_message.split_once(": ") {
        if let Some(code) = ErrorCode::from_wire(code) {
            return DecodeError { code, message: message.to_owned(), reference, kind: None };
        }
    }
    DecodeError::bad_request(serde_message.to_owned(), reference)
}

// Compile-time check that `classify` reads the format `FieldError` writes.
const _: fn(&FieldError) -> String = |err| format!("{}: {}", err.code, err.message);

#[derive(Serialize)]
struct Framed<'a, M> {
    #[serde(flatten)]
    msg: &'a M,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'a RequestRef>,
}

fn encode<M: Serialize>(msg: &M, reference: Option<&RequestRef>) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Framed { msg, reference })
}

/// Encodes a server message, with the request's `ref` when it is a direct reply.
pub fn encode_server(msg: &ServerMsg, reference: Option<&RequestRef>) -> String {
    // Every field is a string, number, bool, id or list of those: serde_json
    // cannot fail on them. Should that ever change, the client still gets a
    // well-formed `internal` error rather than a panic.
    encode(msg, reference).unwrap_or_else(|_| {
        r#"{"type":"error","code":"internal","message":"the server could not encode its reply"}"#.to_owned()
    })
}

/// Encodes a client request.
pub fn encode_request(msg: &ClientMsg, reference: Option<&RequestRef>) -> String {
    encode(msg, reference).unwrap_or_else(|_| r#"{"type":"ping"}"#.to_owned())
}

/// A decoded server frame and the `ref` it answered, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFrame {
    pub msg: ServerMsg,
    pub reference: Option<String>,
}

/// Decodes one server text frame (used by clients).
pub fn decode_server(text: &str) -> Result<ServerFrame, serde_json::Error> {
    let mut value: Value = serde_json::from_str(text)?;
    let reference = match value.as_object_mut().and_then(|object| object.remove("ref")) {
        Some(Value::String(text)) => Some(text),
        _ => None,
    };
    let msg = serde_json::from_value(value)?;
    Ok(ServerFrame { msg, reference })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> DecodeError {
        decode_request(text).unwrap_err()
    }

    #[test]
    fn malformed_frames_are_bad_requests() {
        assert_eq!(err("{").code, ErrorCode::BadRequest);
        assert_eq!(err("[1]").code, ErrorCode::BadRequest);
        assert_eq!(err(r#"{"ref":"r1"}"#).code, ErrorCode::BadRequest);
        let unknown = err(r#"{"type":"dance","ref":"r2"}"#);
        assert_eq!(unknown.code, ErrorCode::BadRequest);
        assert_eq!(unknown.reference.unwrap().as_str(), "r2");
        let room = crate::RoomId::random();
        let missing = err(&format!(r#"{{"type":"send","room_id":"{room}"}}"#));
        assert_eq!(missing.code, ErrorCode::BadRequest);
        assert_eq!(err(r#"{"type":"ping","ref":7}"#).code, ErrorCode::BadRequest);
        assert_eq!(err(&format!(r#"{{"type":"ping","ref":"{}"}}"#, "x".repeat(65))).code, ErrorCode::BadRequest);
    }

    #[test]
    fn field_errors_keep_their_codes() {
        let e = err(r#"{"type":"register","username":"a!","password":"longenough","ref":"q"}"#);
        assert!(e.is_authentication());
        assert_eq!((e.code, e.reference.unwrap().as_str()), (ErrorCode::InvalidUsername, "q"));
        assert_eq!(err(r#"{"type":"register","username":"alice","password":"short"}"#).code, ErrorCode::WeakPassword);
        let (long, room) = ("x".repeat(4001), crate::RoomId::random());
        let send = format!(r#"{{"type":"send","room_id":"{room}","client_msg_id":"c","body":"{long}"}}"#);
        assert_eq!(err(&send).code, ErrorCode::TooLarge);
    }

    #[test]
    fn unknown_fields_are_ignored_and_ref_round_trips() {
        let request = decode_request(r#"{"type":"ping","ref":"abc","extra":{"x":1}}"#).unwrap();
        assert_eq!(request.msg, ClientMsg::Ping);
        let reply = encode_server(&ServerMsg::Pong, request.reference.as_ref());
        assert_eq!(reply, r#"{"type":"pong","ref":"abc"}"#);
        let frame = decode_server(&reply).unwrap();
        assert_eq!((frame.msg, frame.reference.as_deref()), (ServerMsg::Pong, Some("abc")));
    }
}
