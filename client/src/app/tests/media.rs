//! Attachments, voice messages and calls through `App::update`: the
//! effects asked of the media worker, what its reports do, the messages
//! sent, and the call's banner, bell and story.

use super::fixtures::*;
use super::*;
use crate::events::media::{AsVoice, MediaCmd, MediaEvent, UploadSource, VoiceInfo};
use heartlink_protocol::{Attachment, AttachmentKind, CallAction, CallId, CallInfo, CallRequestAction, ChatMessage, MediaId, ServerMsg};

fn media_cmds(effects: &[Effect]) -> Vec<MediaCmd> {
    effects.iter().filter_map(|effect| if let Effect::Media(cmd) = effect { Some(cmd.clone()) } else { None }).collect()
}

fn attachment(kind: AttachmentKind, name: &str) -> Attachment {
    Attachment {
        media_id: MediaId(uuid::Uuid::from_u128(0x3ed1a)),
        name: name.into(),
        mime: "application/pdf".into(),
        size: 2_345_678,
        sha256: "00".repeat(32),
        kind,
        width: None,
        height: None,
        duration_ms: None,
        waveform: None,
    }
}

fn with_attachment(room: RoomId, seq: u64, attachment: Attachment) -> ChatMessage {
    ChatMessage { attachment: Some(Box::new(attachment)), ..message(room, seq, &bob(), "", &format!("att-{seq}")) }
}

#[test]
fn an_upload_shows_progress_then_sends_its_message_through_the_outbox() {
    let (mut app, room) = chat_app();
    let effects = enter_line(&mut app, "/upload ~/report.pdf");
    let cmds = media_cmds(&effects);
    let [MediaCmd::Upload { job, source, voice, .. }] = cmds.as_slice() else { panic!("{effects:?}") };
    assert_eq!((source, voice), (&UploadSource::File("~/report.pdf".into()), &AsVoice::No));
    assert!(app.input.is_empty() && app.transfers[0].name == "report.pdf");
    let at = t0() + tokio::time::Duration::from_secs(2);
    app.update(Msg::Media(MediaEvent::Progress { job: *job, done: 4_000_000, total: 8_000_000, at }));
    assert_eq!((app.transfers[0].done, app.transfers[0].speed as u64), (4_000_000, 2_000_000));
    let media_id = MediaId::random();
    let effects = app.update(Msg::Media(MediaEvent::Uploaded { job: *job, media_id, name: "report.pdf".into(), size: 8_000_000, voice: None, note: None }));
    let sent = sends(&effects);
    assert_eq!(sent.len(), 1, "{effects:?}");
    assert_eq!((sent[0].room_id, sent[0].attachment.as_ref().map(|a| a.media_id)), (room, Some(media_id)));
    assert!(effects.iter().any(|e| matches!(e, Effect::SaveOutbox(o) if o.messages[0].attachment.is_some())), "kept in the outbox");
    assert!(app.transfers.is_empty());
    // A failure says what and why, in one line.
    let effects = enter_line(&mut app, "/file /nonexistent.bin");
    let cmds = media_cmds(&effects);
    let [MediaCmd::Upload { job, .. }] = cmds.as_slice() else { panic!() };
    app.update(Msg::Media(MediaEvent::Failed { job: *job, reason: "cannot read /nonexistent.bin: No such file or directory".into() }));
    assert!(notices(&app).last().unwrap().contains("nonexistent.bin: cannot read"), "{:?}", notices(&app));
}

#[test]
fn a_dropped_path_is_offered_for_upload_and_a_long_paste_can_go_as_a_text_file() {
    let (mut app, _) = chat_app();
    app.update(Msg::Paste("'/tmp/holiday photo.png'".into()));
    assert!(matches!(&app.prompt, Some(Prompt::UploadPasted { path }) if path == "/tmp/holiday photo.png"));
    let effects = app.update(char_key('y'));
    assert!(matches!(media_cmds(&effects).as_slice(), [MediaCmd::Upload { source: UploadSource::File(p), .. }] if p.ends_with("holiday photo.png")));
    app.update(Msg::Paste("/tmp/x.txt".into()));
    app.update(char_key('n'));
    assert_eq!(app.input.text(), "/tmp/x.txt", "no: pasted as text");
    app.input.take();
    app.update(Msg::Paste("x".repeat(5000)));
    app.update(key(KeyCode::Enter));
    assert!(app.prompt.as_ref().unwrap().question().contains("t: as a text file"));
    let effects = app.update(char_key('t'));
    assert!(matches!(media_cmds(&effects).as_slice(), [MediaCmd::Upload { source: UploadSource::Text { name, text }, .. }] if name == "message.txt" && text.len() == 5000));
    assert!(app.input.is_empty());
}

#[test]
fn save_and_open_act_on_the_numbered_card_and_links_open_only_over_http() {
    let (mut app, room) = chat_app();
    server(&mut app, ServerMsg::ChatMessage(with_attachment(room, 1, attachment(AttachmentKind::File, "report.pdf"))));
    server(&mut app, ServerMsg::ChatMessage(message(room, 2, &bob(), "see https://example.org/x and javascript:alert(1)", "l")));
    let effects = enter_line(&mut app, "/save 2 ~/Desktop");
    assert!(matches!(media_cmds(&effects).as_slice(), [MediaCmd::Save { name, target: Some(t), .. }] if name == "report.pdf" && t.ends_with("Desktop")));
    let effects = enter_line(&mut app, "/open 2");
    assert!(matches!(media_cmds(&effects).as_slice(), [MediaCmd::Open { opener, .. }] if opener == &app.settings.open_command));
    let effects = enter_line(&mut app, "/open 1");
    assert_eq!(effects.iter().filter(|e| matches!(e, Effect::Open(argv) if argv.last().unwrap() == "https://example.org/x")).count(), 1);
    assert!(media_cmds(&enter_line(&mut app, "/save 1")).is_empty());
    assert!(notices(&app).last().unwrap().contains("message 1 has no file"));
}

#[test]
fn recording_enter_sends_esc_discards_and_failures_say_what_to_do() {
    let (mut app, room) = chat_app();
    let effects = enter_line(&mut app, "/voice");
    assert!(matches!(media_cmds(&effects).as_slice(), [MediaCmd::Record { recorder: None }]));
    app.update(Msg::Media(MediaEvent::RecordingStarted { source: "arecord".into() }));
    app.update(Msg::Media(MediaEvent::RecordingLevel { peak: 200, elapsed_ms: 7_000 }));
    assert_eq!(app.recording.as_ref().map(|r| (r.elapsed_ms, r.levels.len())), Some((7_000, 1)));
    assert!(media_cmds(&app.update(char_key('x'))).is_empty(), "other keys wait");
    let effects = app.update(key(KeyCode::Enter));
    assert!(matches!(media_cmds(&effects).as_slice(), [MediaCmd::StopRecording { keep: true }]));
    let voice = VoiceInfo { duration_ms: 7_000, waveform: vec![10, 200, 30] };
    let effects = app.update(Msg::Media(MediaEvent::Recorded { path: "/c/voice-1.flac".into(), voice: voice.clone() }));
    assert!(matches!(media_cmds(&effects).as_slice(), [MediaCmd::Upload { voice: AsVoice::Known(v), .. }] if *v == voice));
    assert!(app.recording.is_none() && app.transfers.len() == 1);
    let job = app.transfers[0].job;
    let effects = app.update(Msg::Media(MediaEvent::Uploaded { job, media_id: MediaId::random(), name: "voice-1.flac".into(), size: 9, voice: Some(voice), note: None }));
    let sent = sends(&effects);
    assert_eq!(sent[0].attachment.as_ref().and_then(|a| a.duration_ms), Some(7_000));
    assert_eq!(sent[0].room_id, room);
    // Esc discards; a 0-second recording sends nothing; nothing to record with says so once.
    enter_line(&mut app, "/voice");
    assert!(matches!(media_cmds(&app.update(key(KeyCode::Esc))).as_slice(), [MediaCmd::StopRecording { keep: false }]));
    assert!(app.recording.is_none());
    enter_line(&mut app, "/voice");
    app.update(key(KeyCode::Enter));
    assert!(app.update(Msg::Media(MediaEvent::RecordingEmpty)).is_empty());
    assert!(notices(&app).last().unwrap().contains("nothing sent"));
    enter_line(&mut app, "/voice");
    app.update(Msg::Media(MediaEvent::RecordingFailed { reason: "nothing can record here — microphone: no input device; arecord: not installed".into() }));
    assert!(app.recording.is_none() && notices(&app).last().unwrap().contains("audio.recorder"), "{:?}", notices(&app));
}

#[test]
fn play_toggles_and_the_position_moves_with_the_clock() {
    let (mut app, room) = chat_app();
    let voice = Attachment { kind: AttachmentKind::Voice, duration_ms: Some(7_000), waveform: Some(vec![1, 255]), ..attachment(AttachmentKind::Voice, "v.ogg") };
    let media_id = voice.media_id;
    server(&mut app, ServerMsg::ChatMessage(with_attachment(room, 1, voice)));
    let effects = enter_line(&mut app, "/play 1");
    assert!(matches!(media_cmds(&effects).as_slice(), [MediaCmd::StopPlaying, MediaCmd::Play { media_id: m, player: None, .. }] if *m == media_id));
    app.update(Msg::Media(MediaEvent::PlayStarted { media_id, duration_ms: 7_000, through: "aplay".into() }));
    app.update(Msg::Tick { now: t0() + tokio::time::Duration::from_secs(3) });
    let position = app.media.playing.as_ref().map(|p| p.position_ms).unwrap();
    assert!((2_000..=3_000).contains(&position), "{position}");
    let effects = enter_line(&mut app, "/play");
    assert_eq!(media_cmds(&effects), [MediaCmd::StopPlaying]);
    assert!(app.media.playing.is_none());
    enter_line(&mut app, "/play 1");
    app.update(Msg::Media(MediaEvent::PlayFailed { media_id, reason: "nothing can play sound here — aplay: not installed".into() }));
    assert!(app.media.playing.is_none() && notices(&app).last().unwrap().contains("audio.player"));
}

fn invite(room: RoomId, seq: u64, call_id: CallId, expires_at: u64) -> ChatMessage {
    let call = CallInfo { call_id, action: CallAction::Invite, url: Some(format!("https://meet.example/{call_id}")), expires_at: Some(expires_at) };
    ChatMessage { call: Some(Box::new(call)), ts: expires_at - 60_000, ..message(room, seq, &bob(), "", &format!("c{seq}")) }
}

fn answer(room: RoomId, seq: u64, call_id: CallId, from: &heartlink_protocol::User, action: CallAction) -> ChatMessage {
    let call = CallInfo { call_id, action, url: None, expires_at: None };
    ChatMessage { call: Some(Box::new(call)), ..message(room, seq, from, "", &format!("a{seq}")) }
}

#[test]
fn a_call_rings_with_a_banner_until_accepted_and_the_story_stays() {
    let (mut app, room) = chat_app();
    app.update(Msg::WallClock(1_000_000));
    let call_id = CallId::random();
    let effects = server(&mut app, ServerMsg::ChatMessage(invite(room, 1, call_id, 1_050_000)));
    assert!(effects.contains(&Effect::Bell) && effects.iter().any(|e| matches!(e, Effect::Notify { body, .. } if body.contains("bob is calling"))));
    let banner = app.call_banner().unwrap();
    assert!(banner.contains("bob is calling in general") && banner.contains("/accept") && banner.contains("0:10"), "{banner}");
    // It rings again while it rings.
    assert!(app.update(Msg::Tick { now: t0() + tokio::time::Duration::from_secs(7) }).contains(&Effect::Bell));
    let effects = enter_line(&mut app, "/accept");
    let sent = sends(&effects);
    assert_eq!(sent[0].call.map(|c| (c.action, c.call_id)), Some((CallRequestAction::Accept, Some(call_id))));
    assert!(effects.iter().any(|e| matches!(e, Effect::Open(argv) if argv.last().unwrap().starts_with("https://meet.example/"))));
    assert!(notices(&app).iter().any(|n| n.contains("https://meet.example/")), "the link is printed");
    let id = sent[0].client_msg_id.to_string();
    server(&mut app, ServerMsg::ChatMessage(ChatMessage { client_msg_id: id, ..answer(room, 2, call_id, &alice(), CallAction::Accept) }));
    assert!(app.call_banner().is_none(), "accepted: no longer ringing");
    let story = app.active_room().unwrap().call_story(call_id).unwrap();
    assert_eq!(story.outcome(1_010_000), CallOutcome::Accepted("alice".into()));
    assert!(!app.update(Msg::Tick { now: t0() + tokio::time::Duration::from_secs(20) }).contains(&Effect::Bell));
}

#[test]
fn calls_end_by_cancel_decline_or_expiry_and_only_allowed_answers_count() {
    let (mut app, room) = chat_app();
    app.update(Msg::WallClock(1_000_000));
    let (one, two, three) = (CallId::random(), CallId::random(), CallId::random());
    let (me, bob) = (alice(), bob());
    server(&mut app, joined(room, vec![invite(room, 1, one, 1_050_000), answer(room, 2, one, &bob, CallAction::Accept), answer(room, 3, one, &bob, CallAction::Cancel)]));
    assert_eq!(app.active_room().unwrap().call_story(one).unwrap().told, CallOutcome::Cancelled, "the caller's own accept is ignored");
    server(&mut app, ServerMsg::ChatMessage(invite(room, 4, two, 1_050_000)));
    server(&mut app, ServerMsg::ChatMessage(answer(room, 5, two, &me, CallAction::Decline)));
    assert_eq!(app.active_room().unwrap().call_story(two).unwrap().told, CallOutcome::Declined(vec!["alice".into()]));
    server(&mut app, ServerMsg::ChatMessage(invite(room, 6, three, 1_050_000)));
    assert!(app.call_banner().is_some());
    app.update(Msg::WallClock(1_050_001));
    assert!(app.call_banner().is_none(), "past its expiry it stops ringing");
    assert_eq!(app.active_room().unwrap().call_story(three).unwrap().outcome(1_050_001), CallOutcome::Missed);
    assert!(notices(&app).is_empty() || !notices(&app).iter().any(|n| n.contains("call")));
    assert!(media_cmds(&enter_line(&mut app, "/hangup")).is_empty());
    assert!(notices(&app).last().unwrap().contains("no call of yours is ringing"));
    let effects = enter_line(&mut app, "/call");
    assert_eq!(sends(&effects)[0].call.map(|c| c.action), Some(CallRequestAction::Invite));
}
