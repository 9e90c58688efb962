//! One message as logical lines: the quoted line of a reply, "HH:MM name:
//! text" with its continuation lines, `(edited)`, `message deleted`, the
//! reactions under it, `@you` and links picked out, and the whole message
//! shown reversed while it is selected. Pending own messages and notices
//! are drawn here too.

use super::Appearance;
use super::rows::Layout;
use super::wrap::{Logical, Piece, fit};
use crate::app::{Annotations, Pending};
use crate::sanitize::{sanitize, sanitize_line};
use heartlink_protocol::{ChatMessage, RelKind, User, UserId};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use std::sync::Arc;
use unicode_width::UnicodeWidthStr;

/// A message's text hangs under its first character when it starts within
/// this share of the pane; otherwise (long names, narrow panes) under the name.
const HANG_UNDER_TEXT_MAX: usize = 3;
/// At most this many different emoji are listed under a message; the rest are counted.
const REACTIONS_SHOWN: usize = 12;

pub(super) fn notice_line(look: &Appearance, text: &str, alert: bool) -> Logical {
    let style = if alert { look.theme.alert() } else { look.theme.dim() };
    let mark = if alert { "  ! " } else { "  — " };
    Logical::from_spans(vec![Span::styled(format!("{mark}{}", look.shown(&sanitize_line(text))), style)], mark.width())
}

/// The width of a formatted time (the same for every time in a format
/// whose fields are padded, which strftime's are).
pub(super) fn time_width(look: &Appearance) -> usize {
    super::clock(0, 0, &look.time_format).width()
}

/// A line under the timeline's messages, indented to the text: "✓ read by …",
/// "N messages from a blocked user".
pub(super) fn indented_line(look: &Appearance, text: &str, style: Style) -> Logical {
    let indent = " ".repeat(time_width(look) + 1);
    Logical::from_spans(vec![Span::styled(format!("{indent}{text}"), style)], indent.len())
}

/// `──── new since you left ────` across the pane.
pub(super) fn since_left_line(look: &Appearance, width: usize) -> Logical {
    let label = " new since you left ";
    let side = width.saturating_sub(label.width()) / 2;
    let text = format!("{}{label}{}", "─".repeat(side.max(2)), "─".repeat(side.max(2)));
    Logical::from_spans(vec![Span::styled(fit(&text, width.max(label.width())), look.theme.warn())], 0)
}

/// A pending own message: an ordinary or reply line, or what the edit,
/// deletion or reaction on its way will do.
pub(super) fn pending_lines(layout: Layout<'_>, pending: &Pending) -> Vec<Logical> {
    let Layout { room, me, look, .. } = layout;
    let status = match &pending.failed {
        Some(reason) => Span::styled(format!("  ✗ {}", sanitize_line(reason)), look.theme.alert()),
        None => Span::styled("  (sending…)", look.theme.dim()),
    };
    let (body, relates_to) = match pending.relates_to {
        Some(relation) if relation.rel == RelKind::Edit => (format!("✎ {}", pending.body), None),
        Some(relation) if relation.rel == RelKind::Delete => ("✗ deleting a message".to_owned(), None),
        Some(relation) if relation.rel == RelKind::React => (format!("reacting {}", pending.body), None),
        other => (pending.body.clone(), other),
    };
    let fake = ChatMessage {
        room_id: room.id(),
        seq: 0,
        sender: me.cloned().unwrap_or_else(|| User { id: UserId(uuid::Uuid::nil()), username: "you".into() }),
        body,
        ts: 0,
        client_msg_id: String::new(),
        relates_to,
        ..ChatMessage::default()
    };
    let mut fake = fake;
    // What the server will describe once it is sent, as far as the sender knows it.
    fake.attachment = pending.attachment.as_ref().map(|sent| {
        let voice = sent.reference.duration_ms.is_some();
        Box::new(heartlink_protocol::Attachment {
            media_id: sent.reference.media_id,
            name: sent.name.clone(),
            mime: String::new(),
            size: sent.size,
            sha256: String::new(),
            kind: if voice { heartlink_protocol::AttachmentKind::Voice } else { heartlink_protocol::AttachmentKind::File },
            width: None,
            height: None,
            duration_ms: sent.reference.duration_ms,
            waveform: sent.reference.waveform.clone(),
        })
    });
    if let Some(call) = pending.call {
        let what = match call.action {
            heartlink_protocol::CallRequestAction::Invite => "📞 calling…",
            heartlink_protocol::CallRequestAction::Accept => "📞 accepting the call…",
            heartlink_protocol::CallRequestAction::Decline => "📞 declining the call…",
            heartlink_protocol::CallRequestAction::Cancel => "📞 stopping the call…",
        };
        fake.body = what.to_owned();
    }
    message_lines(layout, &fake, Some(status), None)
}

/// A message as logical lines. `status` (pending / failed) marks an own
/// message not yet acked; a held message shows what its relations did.
/// `nth` is its number for `/save N`, `/play N` (none while pending).
pub(super) fn message_lines(layout: Layout<'_>, message: &ChatMessage, status: Option<Span<'static>>, nth: Option<usize>) -> Vec<Logical> {
    let Layout { room, width, utc_offset, me, look, .. } = layout;
    let pending = status.is_some();
    let annotations = if pending { Annotations::default() } else { room.annotations(message.seq) };
    let time = if pending {
        // Not stored yet, so no time: the format's shape, digits dashed.
        super::clock(0, 0, &look.time_format).chars().map(|c| if c.is_alphanumeric() { '-' } else { c }).collect()
    } else {
        super::clock(message.ts, utc_offset, &look.time_format)
    };
    let mut name_style = look.theme.user(message.sender.id).add_modifier(Modifier::BOLD);
    if me.is_some_and(|me| me.id == message.sender.id) {
        name_style = name_style.add_modifier(Modifier::UNDERLINED);
    }
    let name = look.shown(&sanitize_line(&message.sender.username));
    let text_column = time.width() + 1 + name.width() + 2;
    let hang = if text_column * HANG_UNDER_TEXT_MAX <= width { text_column } else { time.width() + 1 };
    let mut lines = Vec::new();
    if !pending {
        if let Some(line) = super::attachment::call_line(layout, message, &time) {
            return vec![line];
        }
    }
    if let Some(relation) = message.relates_to.filter(|relation| relation.rel == RelKind::Reply) {
        lines.push(quote_line(layout, relation.seq, time.width() + 1));
    }
    let head = vec![
        Piece::new(Span::styled(format!("{time} "), look.theme.dim())),
        Piece::new(Span::styled(name, name_style)),
        Piece::new(Span::raw(": ")),
    ];
    if annotations.deleted {
        let style = look.theme.dim().add_modifier(Modifier::ITALIC);
        let mut pieces = head;
        pieces.push(Piece::new(Span::styled("message deleted", style)));
        lines.push(Logical { pieces, hang, image: None });
    } else if let Some(attachment) = message.attachment.as_deref().filter(|_| message.body.is_empty()) {
        // A file without a caption: the card is the message's text.
        let head_width: usize = head.iter().map(|piece| piece.span.width()).sum();
        let mut pieces = head;
        pieces.extend(super::attachment::card(layout, attachment, nth, width.saturating_sub(head_width)));
        lines.push(Logical { pieces, hang, image: None });
    } else {
        let body_style = if pending { look.theme.dim() } else { Style::default() };
        let text = annotations.edited.as_deref().unwrap_or(&message.body);
        let body = look.shown(&sanitize(text));
        for (index, text) in body.split('\n').enumerate() {
            let mut pieces = if index == 0 { head.clone() } else { vec![Piece::new(Span::raw(" ".repeat(hang)))] };
            pieces.extend(linked(text, body_style, look, me));
            lines.push(Logical { pieces, hang, image: None });
        }
        if let Some(attachment) = message.attachment.as_deref() {
            let mut pieces = vec![Piece::new(Span::raw(" ".repeat(hang)))];
            pieces.extend(super::attachment::card(layout, attachment, nth, width.saturating_sub(hang)));
            lines.push(Logical { pieces, hang, image: None });
        }
        if annotations.edited.is_some() {
            if let Some(last) = lines.last_mut() {
                last.pieces.push(Piece::new(Span::styled(" (edited)", look.theme.dim())));
            }
        }
    }
    if let (Some(status), Some(last)) = (status, lines.last_mut()) {
        last.pieces.push(Piece::new(status));
    }
    if let Some(attachment) = message.attachment.as_deref().filter(|a| !annotations.deleted && a.kind == heartlink_protocol::AttachmentKind::Image) {
        lines.extend(super::attachment::image_rows(layout, attachment, hang));
    }
    if let Some(reactions) = reactions_line(layout, &annotations) {
        lines.push(reactions);
    }
    if !pending && room.selected == Some(message.seq) {
        for line in &mut lines {
            for piece in &mut line.pieces {
                piece.span.style = piece.span.style.add_modifier(Modifier::REVERSED);
            }
        }
    }
    lines
}

/// `↳ bob: the first line of what this replies to…`, one row at most.
fn quote_line(layout: Layout<'_>, target: u64, indent: usize) -> Logical {
    let Layout { room, width, look, .. } = layout;
    let quoted = match room.messages.get(&target) {
        Some(original) => {
            let name = sanitize_line(&original.sender.username);
            let text = room.current_body(target).map_or_else(|| "message deleted".to_owned(), |body| sanitize_line(first_line(&body)));
            format!("↳ {name}: {text}")
        }
        None => "↳ a reply to an earlier message".to_owned(),
    };
    let text = fit(&look.shown(&quoted), width.saturating_sub(indent));
    Logical::from_spans(vec![Span::raw(" ".repeat(indent)), Span::styled(text, look.theme.dim())], indent)
}

fn first_line(text: &str) -> &str {
    text.split('\n').find(|line| !line.trim().is_empty()).unwrap_or("")
}

/// `👍 2  ❤️ 1` under a message, the ones I chose highlighted. Reactions
/// of users I blocked are not counted.
fn reactions_line(layout: Layout<'_>, annotations: &Annotations) -> Option<Logical> {
    let Layout { me, look, blocked, .. } = layout;
    let me = me.map(|me| me.id);
    let mut spans = vec![Span::raw(" ".repeat(time_width(look) + 1))];
    let mut shown = 0;
    let mut more = 0;
    for reaction in &annotations.reactions {
        let count = reaction.users.iter().filter(|user| !blocked.contains_key(user)).count();
        if count == 0 {
            continue;
        }
        if shown == REACTIONS_SHOWN {
            more += 1;
            continue;
        }
        let mine = me.is_some_and(|me| reaction.users.contains(&me));
        let style = if mine { look.theme.highlight() } else { look.theme.dim() };
        if shown > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(format!("{} {count}", look.shown(&sanitize_line(&reaction.emoji))), style));
        shown += 1;
    }
    if shown == 0 {
        return None;
    }
    if more > 0 {
        spans.push(Span::styled(format!("  +{more}"), look.theme.dim()));
    }
    let hang = time_width(look) + 1;
    Some(Logical::from_spans(spans, hang))
}

/// Text split into plain runs, links (http, https: styled and carrying
/// their URL for OSC 8) and mentions of me (`@me`, picked out).
fn linked(text: &str, style: Style, look: &Appearance, me: Option<&User>) -> Vec<Piece> {
    if !text.contains("://") {
        return mentioned(text, style, look, me);
    }
    let mut finder = linkify::LinkFinder::new();
    finder.kinds(&[linkify::LinkKind::Url]);
    finder
        .spans(text)
        .flat_map(|span| {
            let url = span.kind().is_some() && (span.as_str().starts_with("https://") || span.as_str().starts_with("http://"));
            if url {
                vec![Piece { span: Span::styled(span.as_str().to_owned(), look.theme.link()), link: Some(Arc::from(span.as_str())) }]
            } else {
                mentioned(span.as_str(), style, look, me)
            }
        })
        .collect()
}

/// Splits out every `@me` (case-insensitive, a whole name) in a run of text.
fn mentioned(text: &str, style: Style, look: &Appearance, me: Option<&User>) -> Vec<Piece> {
    let plain = |s: &str| Piece::new(Span::styled(s.to_owned(), style));
    let Some(me) = me.filter(|me| !me.username.is_empty()) else { return vec![plain(text)] };
    let spots = crate::mention::spots(text, &me.username);
    if spots.is_empty() {
        return vec![plain(text)];
    }
    let mut pieces = Vec::new();
    let mut at = 0;
    for (start, end) in spots {
        if start > at {
            pieces.push(plain(&text[at..start]));
        }
        pieces.push(Piece::new(Span::styled(text[start..end].to_owned(), look.theme.mention())));
        at = end;
    }
    if at < text.len() {
        pieces.push(plain(&text[at..]));
    }
    pieces
}
