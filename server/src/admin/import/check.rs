//! The first pass of an import: every line of the file is read and checked
//! before anything is written. A line is checked on its own (it decodes as
//! one export record, with fields in range) and against what came before it
//! (what it refers to exists, nothing is there twice, a room's messages
//! follow each other from seq 1). The file must start with its header and
//! end with its `end` line, whose count must match.

use crate::admin::export::{ExportLine, FORMAT, OLDEST_FORMAT};
use heartlink_protocol::limits::{BODY_CHARS, CLIENT_MSG_ID_CHARS};
use heartlink_protocol::{MediaId, RoomId, UserId, Username};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read};

/// The longest line an import reads, in bytes (a message line is a few KiB at most).
pub const MAX_LINE_BYTES: usize = 256 * 1024;
/// The most problems one import reports (it counts them all).
pub const MAX_REPORTED: usize = 20;

/// A line that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based; 0 for the file as a whole.
    pub line: u64,
    pub message: String,
}

/// What the check found.
#[derive(Debug, Default)]
pub struct Checked {
    /// The first [`MAX_REPORTED`] problems.
    pub errors: Vec<LineError>,
    /// All problems.
    pub error_count: u64,
    pub lines: u64,
    pub users: u64,
    pub rooms: u64,
    pub messages: u64,
    pub uploads: u64,
}

/// What the lines read so far hold.
#[derive(Default)]
struct Seen {
    header: bool,
    end: bool,
    users: HashSet<UserId>,
    names: HashSet<String>,
    banned: HashSet<UserId>,
    tokens: HashSet<String>,
    /// Each room's last message seq so far.
    rooms: HashMap<RoomId, u64>,
    members: HashSet<(RoomId, UserId)>,
    reads: HashSet<(RoomId, UserId)>,
    uploads: HashSet<MediaId>,
    /// The two users of each pair room so far.
    pair_rooms: HashMap<RoomId, Vec<UserId>>,
    pairs: HashSet<RoomId>,
    last_seen: HashSet<UserId>,
    blocks: HashSet<(UserId, UserId)>,
    room_bans: HashSet<(RoomId, UserId)>,
    reports: HashSet<uuid::Uuid>,
    calls: HashSet<(RoomId, heartlink_protocol::CallId)>,
    /// Rooms with a call marked ringing.
    ringing: HashSet<RoomId>,
}

/// The most messages a report copies (the server copies at most 20).
const REPORT_MESSAGES: usize = 20;

/// Reads the whole of `input` and checks every line.
pub fn check<R: BufRead>(input: &mut R) -> std::io::Result<Checked> {
    let mut checked = Checked::default();
    let mut seen = Seen::default();
    let mut number = 0u64;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = (&mut *input).take(MAX_LINE_BYTES as u64 + 1).read_until(b'\n', &mut buf)?;
        if read == 0 {
            break;
        }
        number += 1;
        if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE_BYTES {
            fail(&mut checked, number, format!("the line is longer than {MAX_LINE_BYTES} bytes"));
            skip_rest_of_line(input)?;
            continue;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        match serde_json::from_slice::<ExportLine>(line) {
            Ok(record) => {
                if let Err(message) = seen.take(record, number, &mut checked) {
                    fail(&mut checked, number, message);
                }
            }
            Err(err) => fail(&mut checked, number, format!("not an export record: {err}")),
        }
    }
    checked.lines = number;
    if number == 0 {
        fail(&mut checked, 0, "the file is empty".to_owned());
    } else if !seen.end {
        fail(&mut checked, 0, "the file has no end line: it was cut short".to_owned());
    }
    Ok(checked)
}

fn fail(checked: &mut Checked, line: u64, message: String) {
    checked.error_count += 1;
    if checked.errors.len() < MAX_REPORTED {
        checked.errors.push(LineError { line, message });
    }
}

fn skip_rest_of_line<R: BufRead>(input: &mut R) -> std::io::Result<()> {
    let mut sink = Vec::new();
    loop {
        sink.clear();
        let read = (&mut *input).take(MAX_LINE_BYTES as u64).read_until(b'\n', &mut sink)?;
        if read == 0 || sink.last() == Some(&b'\n') {
            return Ok(());
        }
    }
}

impl Seen {
    /// Checks one record against what came before and notes it.
    fn take(&mut self, record: ExportLine, number: u64, checked: &mut Checked) -> Result<(), String> {
        if self.end {
            return Err("a line after the end line".to_owned());
        }
        if !self.header && !matches!(record, ExportLine::Header { .. }) {
            return Err("the first line must be the export's header".to_owned());
        }
        match record {
            ExportLine::Header { format, .. } => {
                if self.header {
                    return Err("a second header".to_owned());
                }
                self.header = true;
                if !(OLDEST_FORMAT..=FORMAT).contains(&format) {
                    return Err(format!("export format {format} is not supported (this build reads {OLDEST_FORMAT} to {FORMAT})"));
                }
            }
            ExportLine::User { user } => {
                let name = Username::try_from(user.username.as_str()).map_err(|_| format!("{:?} is not a valid username", user.username))?;
                if !user.password_hash.starts_with("$argon2") {
                    return Err("the password hash is not an argon2 hash".to_owned());
                }
                if !self.users.insert(user.id) {
                    return Err(format!("user {} appears twice", user.id));
                }
                if !self.names.insert(name.canonical()) {
                    return Err(format!("the username {} appears twice", name.canonical()));
                }
                checked.users += 1;
            }
            ExportLine::LastSeen { user_id, .. } => {
                self.known_user(user_id)?;
                if !self.last_seen.insert(user_id) {
                    return Err(format!("two last_seen lines of user {user_id}"));
                }
            }
            ExportLine::Ban { ban } => {
                self.known_user(ban.user_id)?;
                if ban.reason.chars().count() > crate::admin::BAN_REASON_CHARS || ban.reason.chars().any(char::is_control) {
                    return Err("the ban reason is too long or holds control characters".to_owned());
                }
                if !self.banned.insert(ban.user_id) {
                    return Err(format!("user {} is banned twice", ban.user_id));
                }
            }
            ExportLine::Token { hash, token } => {
                if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err("a token hash is 64 hex digits".to_owned());
                }
                self.known_user(token.user_id)?;
                if !self.tokens.insert(hash.to_ascii_lowercase()) {
                    return Err("a token appears twice".to_owned());
                }
            }
            ExportLine::Room { room } => {
                if room.name.is_empty() || room.name.chars().count() > 200 || room.name.chars().any(char::is_control) {
                    return Err("a room name is 1-200 characters without control characters".to_owned());
                }
                if room.kind == crate::store::RoomKindRecord::Pair && room.pair.len() != 2 {
                    return Err("a pair room names exactly two users".to_owned());
                }
                if self.rooms.insert(room.id, 0).is_some() {
                    return Err(format!("room {} appears twice", room.id));
                }
                if room.kind == crate::store::RoomKindRecord::Pair {
                    self.pair_rooms.insert(room.id, room.pair.clone());
                }
                checked.rooms += 1;
            }
            ExportLine::Member { room_id, user_id, .. } => {
                self.known_room(room_id)?;
                self.known_user(user_id)?;
                if !self.members.insert((room_id, user_id)) {
                    return Err(format!("user {user_id} is a member of room {room_id} twice"));
                }
            }
            ExportLine::Read { room_id, user_id, .. } => {
                self.known_room(room_id)?;
                self.known_user(user_id)?;
                if !self.reads.insert((room_id, user_id)) {
                    return Err(format!("two read markers of user {user_id} in room {room_id}"));
                }
            }
            ExportLine::Message { room_id, seq, message } => {
                let last = self.rooms.get_mut(&room_id).ok_or_else(|| format!("room {room_id} is not in the file before this line"))?;
                if seq != *last + 1 {
                    return Err(format!("message {seq} of room {room_id} should be {} (seqs follow each other from 1)", *last + 1));
                }
                *last = seq;
                if message.body.chars().count() > *BODY_CHARS.end() {
                    return Err(format!("a message body is at most {} characters", BODY_CHARS.end()));
                }
                if !CLIENT_MSG_ID_CHARS.contains(&message.client_msg_id.chars().count()) {
                    return Err("a client_msg_id is 1-64 characters".to_owned());
                }
                checked.messages += 1;
            }
            ExportLine::Block { blocker, block } => {
                self.known_user(blocker)?;
                self.known_user(block.user.id)?;
                one_line_name(&block.shown.username)?;
                if !self.blocks.insert((blocker, block.user.id)) {
                    return Err(format!("user {blocker} blocks user {} twice", block.user.id));
                }
            }
            ExportLine::Pair { pair } => {
                let users = self.pair_rooms.get(&pair.room).ok_or_else(|| format!("pair room {} is not in the file before this line", pair.room))?;
                let mut named: Vec<UserId> = pair.members.iter().map(|member| member.user.id).collect();
                let mut expected = users.clone();
                named.sort();
                expected.sort();
                if named != expected {
                    return Err(format!("the pair record of room {} names other users than the room", pair.room));
                }
                for member in &pair.members {
                    one_line_name(&member.alias.username)?;
                }
                if !self.pairs.insert(pair.room) {
                    return Err(format!("room {} has two pair records", pair.room));
                }
            }
            ExportLine::RoomBan { room_id, ban } => {
                self.known_room(room_id)?;
                self.known_user(ban.user.id)?;
                if !self.room_bans.insert((room_id, ban.user.id)) {
                    return Err(format!("user {} is banned from room {room_id} twice", ban.user.id));
                }
            }
            ExportLine::Report { report } => {
                self.known_user(report.reporter.id)?;
                self.known_room(report.room)?;
                if report.reason.chars().count() > crate::admin::BAN_REASON_CHARS || report.reason.chars().any(char::is_control) {
                    return Err("the report reason is too long or holds control characters".to_owned());
                }
                if report.messages.len() > REPORT_MESSAGES {
                    return Err(format!("a report copies at most {REPORT_MESSAGES} messages"));
                }
                if report.messages.iter().any(|copied| copied.message.body.chars().count() > *BODY_CHARS.end()) {
                    return Err(format!("a message body is at most {} characters", BODY_CHARS.end()));
                }
                if !self.reports.insert(report.id) {
                    return Err(format!("report {} appears twice", report.id));
                }
            }
            ExportLine::Call { room_id, call } => {
                self.known_room(room_id)?;
                if !self.calls.insert((room_id, call.call_id)) {
                    return Err(format!("call {} of room {room_id} appears twice", call.call_id));
                }
                if call.ringing && (call.state.ended.is_some() || !self.ringing.insert(room_id)) {
                    return Err(format!("room {room_id} has a ringing call that ended, or two ringing calls"));
                }
                one_line_name(&call.state.inviter.username)?;
            }
            ExportLine::Upload { upload } => {
                let Some(completed) = &upload.completed else {
                    return Err("only completed uploads are imported".to_owned());
                };
                if completed.sha256.len() != 64 || !completed.sha256.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    return Err("an upload's sha256 is 64 lower-case hex digits".to_owned());
                }
                if !self.uploads.insert(upload.id) {
                    return Err(format!("upload {} appears twice", upload.id));
                }
                checked.uploads += 1;
            }
            ExportLine::End { lines } => {
                self.end = true;
                if lines != number - 1 {
                    return Err(format!("the end line counts {lines} lines before it, the file has {}", number - 1));
                }
            }
        }
        Ok(())
    }

    fn known_user(&self, user: UserId) -> Result<(), String> {
        if self.users.contains(&user) { Ok(()) } else { Err(format!("user {user} is not in the file before this line")) }
    }

    fn known_room(&self, room: RoomId) -> Result<(), String> {
        if self.rooms.contains_key(&room) { Ok(()) } else { Err(format!("room {room} is not in the file before this line")) }
    }
}

/// A name shown to users (an alias, or how a blocked user appeared): 1-64 characters on one line.
fn one_line_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(format!("{name:?} is not a name: 1-64 characters without control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
