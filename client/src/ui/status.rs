//! The status bar (connection state, server, user, key hints), the prompt
//! rows and the input box with the terminal cursor.

use super::text::fit;
use crate::app::App;
use crate::events::ConnState;
use crate::sanitize::sanitize_line;
use crate::settings::Action;
use crate::timeline::{Logical, wrap};
use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use unicode_width::UnicodeWidthStr;

/// A prompt never takes more rows than this (the rest of the question is cut).
const PROMPT_MAX_ROWS: usize = 3;

/// The connection state in words, with the countdown while reconnecting.
pub fn state_text(app: &App) -> String {
    match app.conn {
        ConnState::Reconnecting { retry_at: Some(at), .. } => {
            let left = at.saturating_duration_since(app.now);
            let secs = left.as_millis().div_ceil(1000);
            let retry = app.settings.keys.get(Action::Reconnect).label();
            format!("reconnecting in {secs}s ({retry}: now)")
        }
        ConnState::Reconnecting { retry_at: None, .. } => "reconnecting…".to_owned(),
        other => other.word().to_owned(),
    }
}

pub fn render(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.look.theme;
    let palette = &theme.palette;
    let colour = match app.conn {
        ConnState::Connected => palette.ok,
        ConnState::Connecting | ConnState::Reconnecting { .. } => palette.warn,
        ConnState::Offline => palette.alert,
    };
    let width = usize::from(area.width);
    let state = format!(" {} ", state_text(app));
    let user = if app.username.is_empty() { "not logged in".to_owned() } else { sanitize_line(&app.username) };
    let who = format!(" {user} @ {} ", sanitize_line(&app.on_server));
    let hints = format!("│ {} help · {} quit", app.settings.keys.get(Action::Help).label(), app.settings.keys.get(Action::Quit).label());
    let mut spans = vec![Span::styled(fit(&state, width), theme.badge(colour))];
    let mut left = width.saturating_sub(state.width());
    // What the user is doing besides chatting: away, waiting for a stranger.
    let mut badges = Vec::new();
    if app.status == heartlink_protocol::PresenceStatus::Away {
        badges.push((" ◐ away ".to_owned(), theme.warn()));
    }
    if let Some(waiting) = app.match_status() {
        badges.push((format!(" {waiting} "), theme.active()));
    }
    for (badge, style) in badges {
        if badge.width() + 8 <= left {
            left -= badge.width();
            spans.push(Span::styled(badge, style));
        }
    }
    if who.width() + hints.width() <= left {
        spans.push(Span::raw(who));
        spans.push(Span::styled(hints, theme.dim()));
    } else {
        spans.push(Span::raw(fit(&who, left)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The open prompt's question wrapped to the screen's width, or nothing.
pub fn prompt_rows(app: &App, width: u16) -> Vec<Line<'static>> {
    let Some(prompt) = &app.prompt else { return Vec::new() };
    let spans = vec![Span::styled(format!(" {}", prompt.question()), app.look.theme.alert())];
    let mut rows: Vec<Line> = wrap(Logical::from_spans(spans, 1), usize::from(width)).into_iter().map(|row| row.line).collect();
    rows.truncate(PROMPT_MAX_ROWS);
    rows
}

/// One row per transfer under way (two at most): `↑ name ███░░ 62% · 2.3 MB/s`.
pub fn transfer_rows(app: &App, width: u16) -> Vec<Line<'static>> {
    let theme = &app.look.theme;
    let width = usize::from(width);
    app.transfers
        .iter()
        .take(2)
        .map(|transfer| {
            let arrow = if matches!(transfer.kind, crate::app::TransferKind::Upload { .. }) { "↑" } else { "↓" };
            let share = if transfer.total > 0 { (transfer.done as f64 / transfer.total as f64).clamp(0.0, 1.0) } else { 0.0 };
            let facts = format!(
                " {:>3}% · {} of {} · {}/s",
                (share * 100.0).round() as u32,
                crate::app::size_text(transfer.done),
                crate::app::size_text(transfer.total),
                crate::app::size_text(transfer.speed as u64)
            );
            let bar_width = 20.min(width.saturating_sub(facts.width() + 14)).max(4);
            let filled = ((share * bar_width as f64).round() as usize).min(bar_width);
            let bar = format!("{}{}", "█".repeat(filled), "░".repeat(bar_width - filled));
            let name = fit(&sanitize_line(&transfer.name), width.saturating_sub(bar_width + facts.width() + 4).max(6));
            Line::from(vec![
                Span::styled(format!(" {arrow} {name} "), theme.bold()),
                Span::styled(bar, theme.link()),
                Span::styled(facts, theme.dim()),
            ])
        })
        .collect()
}

/// The input box while recording: the level meter, the time, the keys.
fn render_recording(app: &App, recording: &crate::app::Recording, frame: &mut Frame, area: Rect) {
    let theme = &app.look.theme;
    let secs = recording.elapsed_ms / 1000;
    let cap = crate::app::RECORDING_CAP_SECS;
    let levels: Vec<u8> = recording.levels.iter().copied().collect();
    let meter = crate::timeline::waveform_text(&levels, crate::app::METER_LEVELS);
    let source = recording.source.as_deref().map_or_else(|| "starting…".to_owned(), |source| format!("from {source}"));
    let state = match (recording.sending, recording.capped) {
        (true, _) => "sending…".to_owned(),
        (false, true) => format!("stopped at the {}-minute limit · Enter send · Esc discard", cap / 60),
        (false, false) => "Enter send · Esc discard".to_owned(),
    };
    let title = fit(&format!(" recording a voice message {source} "), usize::from(area.width.saturating_sub(2)));
    let block = Block::bordered().title(Span::styled(title, theme.dim()));
    let line = Line::from(vec![
        Span::styled(" ● ", theme.alert()),
        Span::styled(format!("{}:{:02} / {}:00 ", secs / 60, secs % 60, cap / 60), theme.bold()),
        Span::styled(format!("{meter:<16} "), theme.ok()),
        Span::styled(state, theme.dim()),
    ]);
    frame.render_widget(Paragraph::new(line).block(block), area);
}

pub fn render_input(app: &App, frame: &mut Frame, area: Rect) {
    if let Some(recording) = &app.recording {
        render_recording(app, recording, frame, area);
        return;
    }
    let theme = &app.look.theme;
    let newline = app.settings.keys.get(Action::Newline).label();
    let title = match app.active_room() {
        Some(room) if room.ended => " this chat has ended · /match for someone new · /leave ".to_owned(),
        Some(room) => match (app.compose_line(), app.selected_number()) {
            (Some(compose), _) => format!(" {compose} · Enter send · Esc cancel "),
            (None, Some(n)) if app.input.is_empty() => {
                format!(" message {n} selected · e edit · r reply · d delete · + react · Esc ")
            }
            _ => format!(" to {} · Enter send · {newline} new line ", sanitize_line(&room.room.name)),
        },
        None => " /help for commands ".to_owned(),
    };
    let title = fit(&title, usize::from(area.width.saturating_sub(2)));
    let block = Block::bordered().title(Span::styled(title, theme.dim()));
    let inner = block.inner(area);
    // The input is the user's own text but may hold pasted control characters.
    let text = crate::sanitize::sanitize(app.input.text());
    let lines: Vec<Line> = text.split('\n').map(|line| Line::raw(line.to_owned())).collect();
    let before = crate::sanitize::sanitize(app.input.before_cursor());
    let row = before.matches('\n').count();
    let column = before.rsplit('\n').next().map_or(0, UnicodeWidthStr::width);
    let skip = (row + 1).saturating_sub(usize::from(inner.height));
    // A line longer than the box scrolls sideways to keep the cursor in view.
    let shift = column.saturating_sub(usize::from(inner.width).saturating_sub(1));
    let visible: Vec<Line> = lines.into_iter().skip(skip).collect();
    let shift_u16 = u16::try_from(shift).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(visible).block(block).scroll((0, shift_u16)), area);
    let x = inner.x.saturating_add(u16::try_from(column - shift).unwrap_or(u16::MAX)).min(inner.right().saturating_sub(1));
    let y = inner.y.saturating_add(u16::try_from(row - skip).unwrap_or(0));
    frame.set_cursor_position(Position::new(x, y));
}
