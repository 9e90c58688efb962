//! Helpers for the end-to-end tests: build and start the real binaries on
//! port 0 with temporary directories, and script WebSocket clients that speak
//! raw JSON, as a third-party client following docs/PROTOCOL.md would.

pub mod abuse;
pub mod admin_cli;
pub mod binaries;
pub mod calls;
pub mod fault_proxy;
pub mod matching;
pub mod media_client;
pub mod postgres;
pub mod process_cluster;
pub mod reconnecting_client;
pub mod redis;
pub mod requests;
pub mod server_process;
pub mod tls_files;
pub mod tmux;
pub mod tui_cli;
pub mod ws_client;

pub use media_client::MediaClient;
pub use requests::{PASSWORD, QUIET, now_ms, post_many};
pub use server_process::TestServer;
pub use ws_client::WsClient;

/// How long any single wait in a test may take before the test fails.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(10);
