//! A client that is not Rust, written from docs/PROTOCOL.md alone
//! (tests/python/foreign_client.py), works against the real server.

use heartlink_tests::TestServer;
use std::path::Path;
use std::time::Duration;
use tokio::process::Command;

#[tokio::test]
async fn a_python_websockets_client_written_from_the_doc_works() {
    let probe = Command::new("python3").args(["-c", "import websockets"]).output().await;
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "this test needs python3 with the `websockets` package: run `pip install websockets` ({})",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(err) => panic!("this test needs python3 on PATH with `pip install websockets`: {err}"),
    }
    let server = TestServer::start(&[]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/foreign_client.py");
    let run = Command::new("python3").arg(&script).arg(&server.url).kill_on_drop(true).output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the python client finished within a minute")
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the python client failed ({}):\n{stdout}\n{stderr}", output.status);
    assert!(stdout.contains("foreign client: ok"), "{stdout}\n{stderr}");
}
