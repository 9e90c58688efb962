//! The import check's tests: whole files, good and bad, line by line.

use super::*;

const ALICE: &str = "11111111111111111111111111111111";
const ROOM: &str = "22222222222222222222222222222222";

fn user() -> String {
    format!(r#"{{"kind":"user","user":{{"id":"{ALICE}","username":"alice","password_hash":"$argon2id$x","created_at":1}}}}"#)
}

fn room() -> String {
    format!(r#"{{"kind":"room","room":{{"id":"{ROOM}","name":"r","kind":"group","created_by":"{ALICE}","created_at":1}}}}"#)
}

fn message(seq: u64) -> String {
    format!(
        r#"{{"kind":"message","room_id":"{ROOM}","seq":{seq},"message":{{"sender":{{"id":"{ALICE}","username":"alice"}},"body":"hi","ts":1,"client_msg_id":"c{seq}"}}}}"#
    )
}

fn file(lines: &[String]) -> Checked {
    let header = r#"{"kind":"header","format":1,"exported_at":1,"server_version":"0","tokens":false}"#.to_owned();
    let mut all = vec![header];
    all.extend_from_slice(lines);
    let text = format!("{}\n{{\"kind\":\"end\",\"lines\":{}}}\n", all.join("\n"), all.len());
    check(&mut text.as_bytes()).unwrap()
}

fn problems(checked: &Checked) -> Vec<(u64, &str)> {
    checked.errors.iter().map(|error| (error.line, error.message.as_str())).collect()
}

#[test]
fn a_whole_file_passes_and_is_counted() {
    let checked = file(&[user(), room(), message(1), message(2)]);
    assert_eq!(checked.error_count, 0, "{:?}", checked.errors);
    assert_eq!((checked.lines, checked.users, checked.rooms, checked.messages), (6, 1, 1, 2));
}

#[test]
fn every_bad_line_is_named_by_its_number() {
    let member = format!(r#"{{"kind":"member","room_id":"{ROOM}","user_id":"{ALICE}","joined_at":1}}"#);
    let checked = file(&[member, user(), user(), room(), message(2)]);
    let found = problems(&checked);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].0 == 2 && found[0].1.contains("not in the file before"), "{found:?}");
    assert!(found[1].0 == 4 && found[1].1.contains("appears twice"), "{found:?}");
    assert!(found[2].0 == 6 && found[2].1.contains("should be 1"), "{found:?}");
}

#[test]
fn pairs_blocks_bans_calls_and_reports_are_checked_against_what_came_before() {
    const BOB: &str = "33333333333333333333333333333333";
    const CAROL: &str = "44444444444444444444444444444444";
    const PAIR: &str = "55555555555555555555555555555555";
    let named = |id: &str, name: &str| format!(r#"{{"kind":"user","user":{{"id":"{id}","username":"{name}","password_hash":"$argon2id$x","created_at":1}}}}"#);
    let pair_room = format!(r#"{{"kind":"room","room":{{"id":"{PAIR}","name":"p","kind":"pair","created_by":"{ALICE}","created_at":1,"pair":["{ALICE}","{BOB}"]}}}}"#);
    let side = |id: &str, alias: &str| format!(r#"{{"user":{{"id":"{id}","username":"u"}},"alias":{{"id":"{}","username":"{alias}"}},"revealed":false}}"#, "6".repeat(32));
    let pair = |second: &str| format!(r#"{{"kind":"pair","pair":{{"room":"{PAIR}","members":[{},{}]}}}}"#, side(ALICE, "quiet-otter"), side(second, "brave-fox"));
    let block = |blocked: &str| format!(r#"{{"kind":"block","blocker":"{ALICE}","block":{{"user":{{"id":"{blocked}","username":"b"}},"shown":{{"id":"{blocked}","username":"b"}},"at":1}}}}"#);
    let call = |id: char| format!(
        r#"{{"kind":"call","room_id":"{ROOM}","call":{{"call_id":"{}","state":{{"inviter":{{"id":"{ALICE}","username":"alice"}},"expires_at":9}},"ringing":true}}}}"#,
        id.to_string().repeat(32)
    );
    let report = |room: &str| format!(r#"{{"kind":"report","report":{{"id":"{}","reporter":{{"id":"{ALICE}","username":"alice"}},"room":"{room}","room_name":"p","reason":"rude","at":1,"messages":[]}}}}"#, "7".repeat(32));
    let good = file(&[user(), named(BOB, "bob"), block(BOB), room(), pair_room.clone(), pair(BOB), call('a'), report(PAIR)]);
    assert_eq!(good.error_count, 0, "{:?}", good.errors);

    let bad = file(&[user(), named(BOB, "bob"), block(CAROL), block(BOB), block(BOB), room(), pair_room, pair(CAROL), call('a'), call('b'), report(CAROL)]);
    let found = problems(&bad);
    assert_eq!(found.len(), 5, "{found:?}");
    assert!(found[0].0 == 4 && found[0].1.contains("not in the file before"), "a block of an unknown user: {found:?}");
    assert!(found[1].0 == 6 && found[1].1.contains("twice"), "{found:?}");
    assert!(found[2].0 == 9 && found[2].1.contains("other users than the room"), "{found:?}");
    assert!(found[3].0 == 11 && found[3].1.contains("two ringing calls"), "{found:?}");
    assert!(found[4].0 == 12 && found[4].1.contains("not in the file before"), "a report of an unknown room: {found:?}");
}

#[test]
fn a_file_without_its_header_or_end_or_with_an_overlong_line_is_refused() {
    assert!(problems(&check(&mut "".as_bytes()).unwrap())[0].1.contains("empty"));
    let no_end = format!("{}\n", r#"{"kind":"header","format":1,"exported_at":1,"server_version":"0","tokens":false}"#);
    assert!(problems(&check(&mut no_end.as_bytes()).unwrap())[0].1.contains("cut short"));
    let no_header = format!("{}\n", user());
    assert!(problems(&check(&mut no_header.as_bytes()).unwrap())[0].1.contains("header"));
    let future = file(&[]).error_count;
    assert_eq!(future, 0);
    let format_three = r#"{"kind":"header","format":3,"exported_at":1,"server_version":"0","tokens":false}
{"kind":"end","lines":1}
"#;
    assert!(problems(&check(&mut format_three.as_bytes()).unwrap())[0].1.contains("format 3"));
    let long = format!("{}\n{}\n", "x".repeat(MAX_LINE_BYTES + 10), user());
    let checked = check(&mut long.as_bytes()).unwrap();
    assert_eq!(problems(&checked)[0], (1, format!("the line is longer than {MAX_LINE_BYTES} bytes").as_str()));
    assert_eq!(checked.lines, 2, "reading goes on after an overlong line");
}
