//! How attachments and calls look in the timeline: a file's card
//! (`📎 report.pdf · 2.3 MB · /save 3 /open 3`), an image's card with the
//! rows its picture is drawn over, a voice message (`▶ 0:07 ▁▂▅▇▅▃▂▁ ·
//! /play 3`, with the position while it plays) and a call's story
//! (`📞 alice called — bob accepted`). Names and types come from the
//! network and are sanitized; a card is cut to the pane, never wrapped.

use super::Appearance;
use super::rows::Layout;
use super::wrap::{ImageRow, Logical, Piece, fit};
use crate::app::{CallOutcome, ImageState, size_text};
use crate::sanitize::sanitize_line;
use heartlink_protocol::{Attachment, AttachmentKind, ChatMessage};
use ratatui::style::Modifier;
use ratatui::text::Span;
use unicode_width::UnicodeWidthStr;

/// The widest an inline image is drawn, and the most rows it takes.
pub const IMAGE_COLS: u16 = 40;
const IMAGE_MAX_ROWS: u16 = 8;
/// Columns of a voice message's waveform.
const WAVEFORM_COLS: usize = 24;
const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The cells (columns, rows) an image of `width`×`height` pixels is drawn
/// in: at most 40×8, cells taken to be twice as tall as wide.
pub fn image_cells(width: u32, height: u32) -> (u16, u16) {
    let (width, height) = (u64::from(width.max(1)), u64::from(height.max(1)));
    let rows = (u64::from(IMAGE_COLS) * height).div_ceil(width * 2).clamp(2, u64::from(IMAGE_MAX_ROWS));
    let cols = (rows * 2 * width).div_ceil(height).clamp(4, u64::from(IMAGE_COLS));
    (cols as u16, rows as u16)
}

/// A waveform in `columns` bar characters (the peak of each stretch).
pub fn waveform_text(levels: &[u8], columns: usize) -> String {
    if levels.is_empty() || columns == 0 {
        return String::new();
    }
    let columns = columns.min(levels.len());
    (0..columns)
        .map(|column| {
            let from = column * levels.len() / columns;
            let to = ((column + 1) * levels.len() / columns).max(from + 1);
            let peak = levels[from..to].iter().copied().max().unwrap_or(0);
            BARS[usize::from(peak) * BARS.len() / 256]
        })
        .collect()
}

fn clock(ms: u32) -> String {
    let secs = ms / 1000;
    format!("{}:{:02}", secs / 60, secs % 60)
}

/// The card (or the voice line) of an attachment, cut to `width` columns.
/// `nth` is the message's number for the commands (none while pending).
pub(super) fn card(layout: Layout<'_>, attachment: &Attachment, nth: Option<usize>, width: usize) -> Vec<Piece> {
    let look = layout.look;
    let name = look.shown(&sanitize_line(&attachment.name));
    if attachment.kind == AttachmentKind::Voice {
        return voice(layout, attachment, nth, width);
    }
    let (icon, facts) = match attachment.kind {
        AttachmentKind::Image => {
            let dims = match (attachment.width, attachment.height) {
                (Some(w), Some(h)) => format!(" · {w}×{h}"),
                _ => String::new(),
            };
            ("📷 ", format!("{dims} · {}", size_text(attachment.size)))
        }
        _ => ("📎 ", format!(" · {}", size_text(attachment.size))),
    };
    let commands = nth.map(|n| format!(" · /save {n} /open {n}")).unwrap_or_default();
    // What gives way in a narrow pane: the facts first, then the name; the commands stay.
    let least_name = 6;
    let facts = if icon.width() + facts.width() + commands.width() + least_name > width { String::new() } else { facts };
    let room = width.saturating_sub(icon.width() + facts.width() + commands.width());
    let name = fit(&name, room.max(3));
    vec![
        Piece::new(Span::styled(format!("{icon}{name}"), look.theme.bold())),
        Piece::new(Span::styled(facts, look.theme.dim())),
        Piece::new(Span::styled(commands, look.theme.dim())),
    ]
}

/// `▶ 0:07 ▁▂▅▇▅▃▂▁ · /play 3`, or while playing `■ 0:03 / 0:07` with the
/// played part of the waveform highlighted.
fn voice(layout: Layout<'_>, attachment: &Attachment, nth: Option<usize>, width: usize) -> Vec<Piece> {
    let look = layout.look;
    let duration = attachment.duration_ms.unwrap_or(0);
    let playing = layout.media.playing.as_ref().filter(|playing| playing.media_id == attachment.media_id);
    let (mark, time) = match playing {
        Some(playing) => ("■ ", format!("{} / {} ", clock(playing.position_ms), clock(duration))),
        None => ("▶ ", format!("{} ", clock(duration))),
    };
    let commands = match (nth, playing) {
        (_, Some(_)) => " · /play stops".to_owned(),
        (Some(n), None) => format!(" · /play {n}"),
        (None, None) => String::new(),
    };
    let room_for_bars = width.saturating_sub(mark.width() + time.width() + commands.width());
    let bars = waveform_text(attachment.waveform.as_deref().unwrap_or(&[]), WAVEFORM_COLS.min(room_for_bars));
    let played = playing.map_or(0, |playing| {
        let total = u64::from(duration.max(1));
        (u64::from(playing.position_ms) * bars.chars().count() as u64 / total) as usize
    });
    let (done, rest): (String, String) = (bars.chars().take(played).collect(), bars.chars().skip(played).collect());
    vec![
        Piece::new(Span::styled(format!("{mark}{time}"), look.theme.bold())),
        Piece::new(Span::styled(done, look.theme.highlight())),
        Piece::new(Span::styled(rest, look.theme.link())),
        Piece::new(Span::styled(commands, look.theme.dim())),
    ]
}

/// The rows an image is drawn over (its placeholder text shows until the
/// picture is ready, or says why it is not shown).
pub(super) fn image_rows(layout: Layout<'_>, attachment: &Attachment, indent: usize) -> Vec<Logical> {
    let (Some(width), Some(height)) = (attachment.width, attachment.height) else { return Vec::new() };
    let look = layout.look;
    let state = layout.media.images.get(&attachment.media_id);
    let text = match state {
        _ if layout.media.images_off => return Vec::new(),
        Some(ImageState::Failed(why)) => return vec![indented(look, indent, why)],
        Some(ImageState::Ready(_)) => String::new(),
        Some(ImageState::Loading) | None => "loading the picture…".to_owned(),
    };
    let (_, rows) = image_cells(width, height);
    let x = u16::try_from(indent).unwrap_or(0);
    (0..rows)
        .map(|index| {
            let shown = if index == 0 { text.clone() } else { String::new() };
            let mut line = Logical::from_spans(vec![Span::raw(" ".repeat(indent)), Span::styled(shown, look.theme.dim())], indent);
            line.image = Some(ImageRow { media_id: attachment.media_id, index, rows, x });
            line
        })
        .collect()
}

fn indented(look: &Appearance, indent: usize, text: &str) -> Logical {
    let style = look.theme.dim().add_modifier(Modifier::ITALIC);
    Logical::from_spans(vec![Span::raw(" ".repeat(indent)), Span::styled(sanitize_line(text), style)], indent)
}

/// A call invitation as its story: who called and how it ended.
pub(super) fn call_line(layout: Layout<'_>, message: &ChatMessage, time: &str) -> Option<Logical> {
    let call = message.call.as_deref()?;
    let look = layout.look;
    let story = layout.room.call_story(call.call_id)?;
    let me = layout.me.map(|me| me.id);
    let caller = sanitize_line(&message.sender.username);
    let mine = me == Some(message.sender.id);
    let text = match story.outcome(layout.media.wall_ms) {
        CallOutcome::Ringing if mine => format!("📞 {caller} is calling — /hangup stops it"),
        CallOutcome::Ringing => format!("📞 {caller} is calling — /accept or /decline"),
        CallOutcome::Accepted(by) => format!("📞 {caller} called — {} accepted", sanitize_line(&by)),
        CallOutcome::Declined(by) => format!("📞 {caller} called — declined by {}", by.iter().map(|n| sanitize_line(n)).collect::<Vec<_>>().join(", ")),
        CallOutcome::Cancelled => format!("📞 {caller} called — cancelled"),
        CallOutcome::Missed => format!("📞 missed call from {caller}"),
    };
    let style = look.theme.highlight();
    let indent = time.width() + 1;
    Some(Logical::from_spans(vec![Span::styled(format!("{time} "), look.theme.dim()), Span::styled(look.shown(&text), style)], indent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_fit_forty_by_eight_cells_and_waveforms_fit_their_columns() {
        assert_eq!(image_cells(640, 480), (22, 8), "4:3 keeps its shape in 8 rows");
        assert_eq!(image_cells(1600, 200), (40, 3));
        assert_eq!(image_cells(100, 1000), (4, 8));
        assert_eq!(image_cells(0, 0), (16, 8), "no dimensions: a square");
        assert_eq!(waveform_text(&[0, 64, 128, 255], 4), "▁▃▅█");
        assert_eq!(waveform_text(&[0, 255, 0, 255], 2), "██");
        assert_eq!(waveform_text(&[], 10), "");
        assert_eq!(clock(7_400), "0:07");
        assert_eq!(clock(301_000), "5:01");
    }
}
