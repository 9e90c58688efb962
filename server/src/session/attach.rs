//! `send{attachment}`: the media service decides what may be attached; the
//! session maps its refusal to the `error` the sender gets.

use super::requests::Fail;
use crate::media::attach::AttachRefusal;
use crate::shared::Shared;
use heartlink_protocol::{Attachment, AttachmentRef, UserId};
use std::sync::Arc;

/// The attachment a `send` of `sender`'s will carry, or why not.
pub(super) async fn attachment(shared: &Arc<Shared>, sender: UserId, request: AttachmentRef) -> Result<Attachment, Fail> {
    let media = shared.media.clone();
    let outcome = tokio::task::spawn_blocking(move || media.attach(sender, &request)).await;
    match outcome {
        Ok(Ok(attachment)) => Ok(attachment),
        Ok(Err(AttachRefusal::Refused { code, message })) => Err(Fail::code(code, message)),
        Ok(Err(AttachRefusal::Internal(err))) => Err(err.into()),
        Err(err) => Err(err.into()),
    }
}
