//! The operator's view of users' reports: `admin reports` lists the open
//! ones, `admin report ID` shows one with the messages copied into it when
//! it was made (so the evidence outlives a deletion). A report made in a
//! pair room names the stranger's real account here, and only here.

use super::operator::{Operator, Refused, internal, refuse};
use super::request::{AdminReply, ErrorKind, MAX_PAGE, ReportLine, ReportedLine};
use super::text::safe;
use crate::store::ReportRecord;

impl Operator {
    pub(super) async fn reports(&self) -> Result<AdminReply, Refused> {
        let mut open = self.store.reports_open().await.map_err(|err| internal(&err))?;
        open.sort_by_key(|report| report.at);
        let more = open.len().saturating_sub(MAX_PAGE);
        open.truncate(MAX_PAGE);
        Ok(AdminReply::Reports { reports: open.iter().map(report_line).collect(), more })
    }

    pub(super) async fn report(&self, id: uuid::Uuid) -> Result<AdminReply, Refused> {
        let Some(report) = self.store.report(id).await.map_err(|err| internal(&err))? else {
            return Err(refuse(ErrorKind::NotFound, format!("no report with id {id}")));
        };
        let messages = report
            .messages
            .iter()
            .map(|kept| ReportedLine {
                seq: kept.seq,
                sender: kept.message.sender.username.clone(),
                at: kept.message.ts,
                body: kept.message.body.clone(),
                deleted: kept.message.deleted,
            })
            .collect();
        Ok(AdminReply::Report { report: report_line(&report), messages })
    }
}

fn report_line(report: &ReportRecord) -> ReportLine {
    ReportLine {
        id: report.id,
        at: report.at,
        reporter: report.reporter.username.clone(),
        room_id: report.room,
        room_name: report.room_name.clone(),
        seq: report.seq,
        reason: report.reason.clone(),
        peer: report.peer.as_ref().map(|peer| peer.username.clone()),
        open: report.open,
    }
}

/// One report in one line of the listing; every string from users is escaped.
pub(super) fn listing_line(report: &ReportLine, time: impl Fn(u64) -> String) -> String {
    let message = report.seq.map_or_else(|| "the room".to_owned(), |seq| format!("message {seq}"));
    let peer = report.peer.as_ref().map_or_else(String::new, |peer| format!(" (stranger: {})", safe(peer)));
    format!(
        "{}  {}  by {} in {} {}{peer} about {message}: {}",
        report.id,
        time(report.at),
        safe(&report.reporter),
        report.room_id,
        safe(&report.room_name),
        safe(&report.reason)
    )
}

/// A report and its messages, for `admin report ID`.
pub(super) fn detail(report: &ReportLine, messages: &[ReportedLine], time: impl Fn(u64) -> String) -> String {
    let mut out = listing_line(report, &time);
    out.push('\n');
    if !report.open {
        out.push_str("(closed)\n");
    }
    for message in messages {
        let marker = if Some(message.seq) == report.seq { ">" } else { " " };
        let body = if message.deleted { "(deleted)".to_owned() } else { safe(&message.body) };
        out.push_str(&format!("{marker} #{}  {}  {}: {body}\n", message.seq, time(message.at), safe(&message.sender)));
    }
    out
}
