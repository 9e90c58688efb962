//! Sending and fetching files from the chat screen: `/upload PATH` (also
//! `/file`, `/image`; Tab completes the path), a pasted or dropped path
//! offered for upload, a long paste sent as a text file, `/save N [PATH]`
//! and `/open [N]`. The transfers themselves run in the media worker; the
//! message with the attachment goes out through the outbox once the upload
//! is complete.

use super::media::{Transfer, TransferKind};
use super::{App, Effect, Pending};
use crate::events::media::{AsVoice, MediaCmd, UploadSource};
use crate::events::{NetCmd, Outgoing};
use crate::sanitize::sanitize_line;
use crate::session::SentAttachment;
use heartlink_protocol::{Attachment, Body, CallRequest, ClientMsgId, RoomId};
use std::path::PathBuf;

/// The commands whose argument is a path (Tab completes it).
const PATH_COMMANDS: &[&str] = &["/upload ", "/file ", "/image ", "/voice "];

/// `2.3 MB`, `512 KB`, `17 bytes`.
pub fn size_text(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} bytes"),
        1_000..1_000_000 => format!("{:.0} KB", bytes as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", bytes as f64 / 1e6),
        _ => format!("{:.2} GB", bytes as f64 / 1e9),
    }
}

/// The file name part of a path as typed.
fn file_name(path: &str) -> String {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or(path).to_owned()
}

/// A paste that is one path to a file (what a terminal types when a file
/// is dropped on it: `/home/a/x.png`, `'~/my file.pdf'`, `file:///tmp/x`,
/// spaces escaped with `\`).
pub fn pasted_path(text: &str) -> Option<String> {
    let text = text.trim();
    if text.contains('\n') || text.is_empty() {
        return None;
    }
    let unquoted = ['\'', '"'].iter().find_map(|q| text.strip_prefix(*q).and_then(|rest| rest.strip_suffix(*q))).unwrap_or(text);
    let path = unquoted.strip_prefix("file://").unwrap_or(unquoted).replace("\\ ", " ");
    let looks_like_a_file = (path.starts_with('/') || path.starts_with("~/")) && !path.ends_with('/') && path.len() > 2;
    // A bare `/command` is a command, not a file.
    let one_word_command = !path[1..].contains('/') && path.starts_with('/');
    (looks_like_a_file && !one_word_command).then_some(path)
}

/// The path typed after a path command, if the input is one.
pub fn path_argument(input: &str) -> Option<(&str, &str)> {
    PATH_COMMANDS.iter().find_map(|command| input.strip_prefix(command).map(|rest| (&command[..command.len() - 1], rest)))
}

impl App {
    /// `/upload PATH`: the file goes up in the background; its message is
    /// sent into the open room once every byte is on the server.
    pub(super) fn upload(&mut self, path: &str) -> Vec<Effect> {
        self.start_upload(UploadSource::File(PathBuf::from(path)), file_name(path), AsVoice::No)
    }

    /// A long paste as a text file (the split question's `t`).
    pub(super) fn upload_text(&mut self, text: String) -> Vec<Effect> {
        let name = "message.txt".to_owned();
        self.start_upload(UploadSource::Text { name: name.clone(), text }, name, AsVoice::No)
    }

    pub(super) fn start_upload(&mut self, source: UploadSource, name: String, voice: AsVoice) -> Vec<Effect> {
        let Some(room) = self.active_room().map(super::RoomView::id) else {
            self.notify("no room is open: open the room to send the file to first", true);
            return Vec::new();
        };
        if self.active_room().is_some_and(|room| room.ended) {
            self.notify("this chat has ended — /match for someone new, /leave to close it", true);
            return Vec::new();
        }
        self.upload_into(room, source, name, voice)
    }

    /// Uploads into `room` (the open one, or the one a recording began in).
    pub(super) fn upload_into(&mut self, room: RoomId, source: UploadSource, name: String, voice: AsVoice) -> Vec<Effect> {
        let Some(access) = self.access() else { return Vec::new() };
        let job = self.next_job();
        let is_voice = voice != AsVoice::No;
        let kind = TransferKind::Upload { room, caption: String::new(), voice: is_voice };
        self.transfers.push(Transfer { job, kind, name, done: 0, total: 0, started: self.now, speed: 0.0 });
        vec![Self::media(MediaCmd::Upload { job, access, source, voice })]
    }

    /// Queues a message (text, attachment, call) into `room` like any other:
    /// shown `(sending…)`, kept in the outbox, re-sent after a reconnect.
    pub(super) fn queue_send(
        &mut self,
        room_id: RoomId,
        text: &str,
        relates_to: Option<heartlink_protocol::RelatesTo>,
        attachment: Option<SentAttachment>,
        call: Option<CallRequest>,
    ) -> Vec<Effect> {
        let Ok(body) = Body::try_from(text.to_owned()) else { return Vec::new() };
        let Some(room) = self.room_mut(room_id) else { return Vec::new() };
        let id = uuid::Uuid::new_v4().to_string();
        let Ok(client_msg_id) = ClientMsgId::try_from(id.as_str()) else { return Vec::new() };
        let reference = attachment.as_ref().map(|sent| sent.reference.clone());
        room.pending.push(Pending { client_msg_id: id, body: text.to_owned(), relates_to, attachment, call, failed: None });
        room.scroll = 0;
        let outgoing = Outgoing::new(room_id, client_msg_id, body).relating(relates_to).attaching(reference).calling(call);
        let mut effects = vec![Effect::Net(NetCmd::Send(outgoing))];
        effects.extend(self.save_outbox());
        effects
    }

    /// The attachment of message N of the open room, or why there is none.
    fn nth_attachment(&mut self, nth: usize) -> Option<Attachment> {
        let seq = self.nth_newest(nth);
        let attachment = seq.and_then(|seq| self.active_room()?.messages.get(&seq)?.attachment.as_deref().cloned());
        if attachment.is_none() {
            self.notify(format!("message {nth} has no file — the number is shown on the file's card"), true);
        }
        attachment
    }

    /// `/save N [PATH]`: into the download directory (or PATH), never over a file.
    pub(super) fn save(&mut self, nth: usize, target: Option<String>) -> Vec<Effect> {
        let Some(attachment) = self.nth_attachment(nth) else { return Vec::new() };
        let Some(access) = self.access() else { return Vec::new() };
        let job = self.next_job();
        let name = sanitize_line(&attachment.name);
        let total = attachment.size;
        self.transfers.push(Transfer { job, kind: TransferKind::Save, name: name.clone(), done: 0, total, started: self.now, speed: 0.0 });
        let target = target.map(PathBuf::from);
        vec![Self::media(MediaCmd::Save { job, access, media_id: attachment.media_id, name, target })]
    }

    /// `/open N`: message N's attachment (downloaded, then opened), else its
    /// link; `/open`: the newest link or attachment of the open room.
    pub(super) fn open_nth(&mut self, nth: Option<usize>) -> Vec<Effect> {
        let Some(room) = self.active_room() else { return Vec::new() };
        let found = match nth {
            Some(nth) => self.nth_newest(nth).and_then(|seq| {
                let message = room.messages.get(&seq)?;
                message.attachment.as_deref().map(|a| Ok(a.clone())).or_else(|| first_link(&message.body).map(Err))
            }),
            None => room.messages.values().rev().find_map(|message| {
                let link = super::run_command::links(&message.body).pop();
                message.attachment.as_deref().map(|a| Ok(a.clone())).or_else(|| link.map(Err))
            }),
        };
        match found {
            Some(Ok(attachment)) => {
                let Some(access) = self.access() else { return Vec::new() };
                let job = self.next_job();
                let name = sanitize_line(&attachment.name);
                let total = attachment.size;
                self.transfers.push(Transfer { job, kind: TransferKind::Open, name: name.clone(), done: 0, total, started: self.now, speed: 0.0 });
                let opener = self.settings.open_command.clone();
                vec![Self::media(MediaCmd::Open { job, access, media_id: attachment.media_id, name, opener })]
            }
            Some(Err(url)) => self.open_url(&url),
            None => {
                let what = nth.map_or_else(|| "no link or file in this room".to_owned(), |n| format!("message {n} has no file or link"));
                self.notify(what, true);
                Vec::new()
            }
        }
    }

    /// Opens an http(s) URL with the configured opener (no shell: one argument).
    pub(super) fn open_url(&mut self, url: &str) -> Vec<Effect> {
        let safe = sanitize_line(url);
        if !(url.starts_with("https://") || url.starts_with("http://")) || safe != url {
            self.notify(format!("not opened: {safe} is not an http(s) link"), true);
            return Vec::new();
        }
        self.notify(format!("opening {safe}"), false);
        let mut argv = self.settings.open_command.clone();
        argv.push(url.to_owned());
        vec![Effect::Open(argv)]
    }

    /// Tab after a path command: the worker lists the directory.
    pub(super) fn complete_path(&mut self) -> Vec<Effect> {
        let Some((_, typed)) = path_argument(self.input.text()) else { return Vec::new() };
        vec![Self::media(MediaCmd::CompletePath { typed: typed.to_owned() })]
    }

    /// The completion arrives: applied if the input still says what was completed.
    pub(super) fn path_completed(&mut self, typed: &str, completed: &str, choices: &[String]) {
        let Some((command, now)) = path_argument(self.input.text()) else { return };
        if now != typed {
            return;
        }
        let line = format!("{command} {completed}");
        self.input.take();
        self.input.insert_str(&line);
        if choices.len() > 1 {
            let shown: Vec<String> = choices.iter().take(8).map(|c| sanitize_line(c)).collect();
            let more = if choices.len() > 8 { format!(" … ({} in all)", choices.len()) } else { String::new() };
            self.notify(format!("{}{more}", shown.join("  ")), false);
        }
    }
}

/// The first http(s) link of a text.
fn first_link(text: &str) -> Option<String> {
    super::run_command::links(text).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_files_are_recognised_and_commands_are_not() {
        assert_eq!(pasted_path("/home/alice/photo.png").as_deref(), Some("/home/alice/photo.png"));
        assert_eq!(pasted_path("'/tmp/my file.pdf'\n").as_deref(), Some("/tmp/my file.pdf"));
        assert_eq!(pasted_path("/tmp/my\\ file.pdf").as_deref(), Some("/tmp/my file.pdf"));
        assert_eq!(pasted_path("file:///tmp/x.txt").as_deref(), Some("/tmp/x.txt"));
        assert_eq!(pasted_path("~/notes.md").as_deref(), Some("~/notes.md"));
        for not_a_file in ["/join", "hello /tmp/x", "/tmp/a\n/tmp/b", "/tmp/dir/", "https://example.org/x.png"] {
            assert_eq!(pasted_path(not_a_file), None, "{not_a_file:?}");
        }
        assert_eq!(size_text(17), "17 bytes");
        assert_eq!(size_text(2_345_678), "2.3 MB");
        assert_eq!(path_argument("/image ~/Pic"), Some(("/image", "~/Pic")));
        assert_eq!(path_argument("/join x"), None);
    }
}
