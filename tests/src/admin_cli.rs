//! Runs `heartlink-server admin …` as an operator would, with a deadline.

use crate::WAIT;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// What an admin command did.
#[derive(Debug)]
pub struct AdminRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl AdminRun {
    /// Asserts exit code 0 and returns stdout.
    pub fn ok(self) -> String {
        assert_eq!(self.code, Some(0), "admin failed: {self:?}");
        self.stdout
    }

    /// Asserts the exit code and returns stderr.
    pub fn failed(self, code: i32) -> String {
        assert_eq!(self.code, Some(code), "admin should have exited with {code}: {self:?}");
        self.stderr
    }
}

/// Starts `admin --data-dir DIR ARGS…` with stdin closed (a script: no prompt) and piped output.
pub fn spawn_admin(data_dir: &Path, args: &[&str]) -> Child {
    Command::new(crate::binaries::bin("heartlink-server"))
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start heartlink-server admin")
}

/// Runs an admin command to its end (at most [`WAIT`]).
pub fn admin(data_dir: &Path, args: &[&str]) -> AdminRun {
    finish(spawn_admin(data_dir, args))
}

/// Waits for a started admin command, reading its output as it comes.
pub fn finish(mut child: Child) -> AdminRun {
    // Either may have been taken (and read) by the caller already.
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stdout) = stdout {
            let _ = stdout.read_to_string(&mut text);
        }
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });
    let deadline = std::time::Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for admin") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("admin did not finish within {WAIT:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    AdminRun { code: status.code(), stdout: out.join().expect("stdout reader"), stderr: err.join().expect("stderr reader") }
}
