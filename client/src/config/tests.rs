//! The files of the config directory: modes, crash-safe writes, the outbox
//! per account, the settings file.

use super::*;
use heartlink_protocol::RoomId;

fn session() -> Session {
    Session {
        server: "ws://127.0.0.1:7878/ws".into(),
        username: "alice".into(),
        token: "ab".repeat(32),
        rooms: vec![RoomId::random()],
        active: None,
        muted: vec![RoomId::random()],
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn session_round_trips_with_mode_0600_and_no_password_field() {
    let tmp = tempfile::tempdir().unwrap();
    let config = ConfigDir::resolve(Some(tmp.path().join("nested"))).unwrap();
    assert_eq!(config.load_session().unwrap(), None);
    let saved = Session { active: saved_active(), ..session() };
    config.save_session(&saved).unwrap();
    assert_eq!(config.load_session().unwrap(), Some(saved));
    let text = std::fs::read_to_string(config.session_path()).unwrap();
    assert!(!text.contains("password"), "{text}");
    #[cfg(unix)]
    {
        assert_eq!(mode(&config.session_path()), 0o600);
        assert_eq!(mode(config.path()), 0o700, "the directory is private");
    }
    assert!(!format!("{:?}", session()).contains(&"ab".repeat(32)));
    config.delete_session().unwrap();
    config.delete_session().unwrap();
    assert_eq!(config.load_session().unwrap(), None);
}

fn saved_active() -> Option<RoomId> {
    Some(RoomId::random())
}

#[test]
fn a_session_file_of_an_older_version_still_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let config = ConfigDir::resolve(Some(tmp.path().to_path_buf())).unwrap();
    std::fs::write(config.session_path(), r#"{"server":"ws://h:1/ws","username":"a","token":"t","rooms":[]}"#).unwrap();
    let loaded = config.load_session().unwrap().unwrap();
    assert_eq!(loaded.active, None);
}

#[test]
fn a_damaged_session_file_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let config = ConfigDir::resolve(Some(tmp.path().to_path_buf())).unwrap();
    std::fs::write(config.session_path(), "{not json").unwrap();
    let err = config.load_session().unwrap_err().to_string();
    assert!(err.contains("damaged") && err.contains("login"), "{err}");
}

#[cfg(unix)]
#[test]
fn the_directory_is_private_before_anything_is_written_and_old_files_are_narrowed() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let config = ConfigDir::resolve(Some(tmp.path().join("fresh"))).unwrap();
    config.prepare().unwrap();
    assert_eq!(mode(config.path()), 0o700);
    // A session file left 0644 by something else is 0600 after the next save.
    std::fs::write(config.session_path(), "{}").unwrap();
    std::fs::set_permissions(config.session_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    config.save_session(&session()).unwrap();
    assert_eq!(mode(&config.session_path()), 0o600);
    // Appending to an old 0644 log narrows it as well.
    let log = config.default_log_path();
    std::fs::write(&log, "old\n").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(open_private(&log, true).unwrap());
    assert_eq!(mode(&log), 0o600);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "old\n", "appending keeps the old lines");
}

#[test]
fn the_outbox_is_kept_per_account_with_mode_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let config = ConfigDir::resolve(Some(tmp.path().to_path_buf())).unwrap();
    let alice = Account { server: "ws://h:1/ws".into(), username: "alice".into() };
    let bob = Account { server: "ws://h:1/ws".into(), username: "bob".into() };
    assert!(config.load_outbox(&alice).unwrap().is_empty());
    let message = |body: &str| UnsentMessage { room_id: RoomId::random(), client_msg_id: format!("id-{body}"), body: body.into(), relates_to: None, attachment: None, call: None };
    config.save_outbox(&Outbox { account: alice.clone(), messages: vec![message("one"), message("two")] }).unwrap();
    config.save_outbox(&Outbox { account: bob.clone(), messages: vec![message("bob's")] }).unwrap();
    let shouting = Account { username: "ALICE".into(), ..alice.clone() };
    let bodies: Vec<String> = config.load_outbox(&shouting).unwrap().into_iter().map(|m| m.body).collect();
    assert_eq!(bodies, ["one", "two"], "usernames are case-insensitive");
    config.save_outbox(&Outbox { account: alice.clone(), messages: vec![] }).unwrap();
    assert!(config.load_outbox(&alice).unwrap().is_empty());
    assert_eq!(config.load_outbox(&bob).unwrap().len(), 1, "another account's messages stay");
    #[cfg(unix)]
    assert_eq!(mode(&config.outbox_path()), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(config.path()).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert!(!leftovers.iter().any(|name| name.to_string_lossy().ends_with(".tmp")), "{leftovers:?}");
}

#[test]
fn a_crash_before_the_rename_leaves_the_old_outbox() {
    let tmp = tempfile::tempdir().unwrap();
    let config = ConfigDir::resolve(Some(tmp.path().to_path_buf())).unwrap();
    let alice = Account { server: "ws://h:1/ws".into(), username: "alice".into() };
    let kept = UnsentMessage { room_id: RoomId::random(), client_msg_id: "c1".into(), body: "kept".into(), relates_to: None, attachment: None, call: None };
    config.save_outbox(&Outbox { account: alice.clone(), messages: vec![kept.clone()] }).unwrap();
    // What a crash half-way through the next write leaves: a partial temp file.
    std::fs::write(config.path().join(".outbox.json.tmp"), "[{\"acc").unwrap();
    assert_eq!(config.load_outbox(&alice).unwrap(), [kept]);
}

#[test]
fn settings_come_from_config_toml_or_default() {
    let tmp = tempfile::tempdir().unwrap();
    let config = ConfigDir::resolve(Some(tmp.path().to_path_buf())).unwrap();
    assert_eq!(config.load_settings().unwrap(), Settings::default());
    std::fs::write(config.settings_path(), "time_format = \"%H:%M:%S\"\n").unwrap();
    assert_eq!(config.load_settings().unwrap().time_format, "%H:%M:%S");
    std::fs::write(config.settings_path(), "time_format = 3\n").unwrap();
    let err = config.load_settings().unwrap_err().to_string();
    assert!(err.contains("config.toml") && err.contains("time_format"), "{err}");
}
