//! What `send{attachment}` may carry (PROTOCOL.md, "Attachments"): only
//! the uploader's own completed uploads, and the voice fields only on
//! audio. The result is the `attachment` object the message is stored with.

use super::Media;
use super::catalog::UploadRecord;
use heartlink_protocol::limits::{VOICE_DURATION_MS, WAVEFORM_LEVELS};
use heartlink_protocol::{Attachment, AttachmentKind, AttachmentRef, ErrorCode, UserId};

/// Why an attachment was refused: the `error` the sender gets.
#[derive(Debug)]
pub enum AttachRefusal {
    Refused { code: ErrorCode, message: &'static str },
    /// Something broke inside (logged; the client gets `internal`).
    Internal(crate::store::StoreError),
}

fn refused(code: ErrorCode, message: &'static str) -> AttachRefusal {
    AttachRefusal::Refused { code, message }
}

/// The attachment described from its record and the sender's voice fields.
pub fn describe(record: &UploadRecord, request: &AttachmentRef) -> Result<Attachment, AttachRefusal> {
    let Some(completed) = &record.completed else {
        return Err(refused(ErrorCode::NotReady, "that upload is not complete yet"));
    };
    let audio = completed.mime.starts_with("audio/");
    if (request.duration_ms.is_some() || request.waveform.is_some()) && !audio {
        return Err(refused(ErrorCode::BadRequest, "duration_ms and waveform are only for audio"));
    }
    if request.duration_ms.is_some_and(|duration| !VOICE_DURATION_MS.contains(&duration)) {
        return Err(refused(ErrorCode::BadRequest, "duration_ms must be 1-600000"));
    }
    if let Some(waveform) = &request.waveform {
        if !WAVEFORM_LEVELS.contains(&waveform.len()) {
            return Err(refused(ErrorCode::BadRequest, "a waveform has 1-128 levels"));
        }
        if request.duration_ms.is_none() {
            return Err(refused(ErrorCode::BadRequest, "a waveform needs duration_ms"));
        }
    }
    let kind = match (completed.width, completed.height, request.duration_ms) {
        (Some(_), Some(_), _) if completed.mime.starts_with("image/") => AttachmentKind::Image,
        (_, _, Some(_)) => AttachmentKind::Voice,
        _ => AttachmentKind::File,
    };
    let image = kind == AttachmentKind::Image;
    Ok(Attachment {
        media_id: record.id,
        name: record.name.clone(),
        mime: completed.mime.clone(),
        size: record.length,
        sha256: completed.sha256.clone(),
        kind,
        width: completed.width.filter(|_| image),
        height: completed.height.filter(|_| image),
        duration_ms: request.duration_ms,
        waveform: request.waveform.clone(),
    })
}

impl Media {
    /// Checks that `sender` may attach the media and marks it attached (it
    /// no longer expires). Blocking: run it off the async threads.
    pub fn attach(&self, sender: UserId, request: &AttachmentRef) -> Result<Attachment, AttachRefusal> {
        // Under the blob lock: the expiry sweep cannot delete the media
        // between this check and the mark.
        let _blobs = self.lock_blobs();
        let record = self.catalog().upload(request.media_id).map_err(AttachRefusal::Internal)?;
        let record = record.ok_or(refused(ErrorCode::NotFound, "no such media"))?;
        if record.owner != sender {
            return Err(refused(ErrorCode::Forbidden, "only the uploader may attach a media"));
        }
        let attachment = describe(&record, request)?;
        if !record.attached {
            // Made durable by the flush that commits the message.
            self.catalog().mark_attached(record.id).map_err(AttachRefusal::Internal)?;
        }
        Ok(attachment)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::catalog::Completed;
    use heartlink_protocol::MediaId;

    fn record(mime: &str, dimensions: Option<(u32, u32)>) -> UploadRecord {
        let completed = Completed {
            sha256: "ab".repeat(32),
            mime: mime.into(),
            width: dimensions.map(|d| d.0),
            height: dimensions.map(|d| d.1),
            completed_at: 1,
        };
        UploadRecord { id: MediaId::random(), owner: UserId::random(), length: 10, offset: 10, name: "n".into(), created_at: 0, completed: Some(completed), attached: false }
    }

    fn ask(record: &UploadRecord, duration_ms: Option<u32>, waveform: Option<Vec<u8>>) -> Result<Attachment, AttachRefusal> {
        describe(record, &AttachmentRef { media_id: record.id, duration_ms, waveform })
    }

    fn code(result: Result<Attachment, AttachRefusal>) -> ErrorCode {
        match result {
            Err(AttachRefusal::Refused { code, .. }) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn kinds_follow_the_sniffed_bytes() {
        let image = ask(&record("image/png", Some((3, 2))), None, None).unwrap();
        assert_eq!((image.kind, image.width, image.height), (AttachmentKind::Image, Some(3), Some(2)));
        assert_eq!(ask(&record("image/png", None), None, None).unwrap().kind, AttachmentKind::File);
        let voice = ask(&record("audio/ogg", None), Some(1500), Some(vec![0, 255])).unwrap();
        assert_eq!((voice.kind, voice.duration_ms), (AttachmentKind::Voice, Some(1500)));
        assert_eq!(ask(&record("audio/ogg", None), None, None).unwrap().kind, AttachmentKind::File);
        assert_eq!(ask(&record("application/pdf", None), None, None).unwrap().kind, AttachmentKind::File);
    }

    #[test]
    fn voice_fields_out_of_place_or_range_are_bad_requests() {
        let (pdf, ogg) = (record("application/pdf", None), record("audio/ogg", None));
        assert_eq!(code(ask(&pdf, Some(1000), None)), ErrorCode::BadRequest);
        assert_eq!(code(ask(&pdf, None, Some(vec![1]))), ErrorCode::BadRequest);
        assert_eq!(code(ask(&ogg, Some(0), None)), ErrorCode::BadRequest);
        assert_eq!(code(ask(&ogg, Some(600_001), None)), ErrorCode::BadRequest);
        assert_eq!(code(ask(&ogg, Some(10), Some(vec![]))), ErrorCode::BadRequest);
        assert_eq!(code(ask(&ogg, Some(10), Some(vec![1; 129]))), ErrorCode::BadRequest);
        assert_eq!(code(ask(&ogg, None, Some(vec![1]))), ErrorCode::BadRequest);
        let mut unfinished = record("audio/ogg", None);
        unfinished.completed = None;
        assert_eq!(code(ask(&unfinished, None, None)), ErrorCode::NotReady);
    }
}
