//! heartlink-tui's library: the network task, the app model, the screen,
//! and the commands of the `heartlink-tui` binary.
//!
//! Data flow (The Elm Architecture, see DESIGN.md): terminal events, network
//! events and clock ticks become [`app::Msg`]s; [`app::App::update`] changes
//! the model and returns [`app::Effect`]s for the network; [`ui::render`]
//! draws the model.

pub mod app;
pub mod audio;
pub mod cli;
pub mod commands;
pub mod config;
pub mod emoji;
pub mod error;
pub mod events;
pub mod frame_stats;
pub mod logging;
pub mod media;
pub mod mention;
pub mod net;
pub mod sanitize;
pub mod script;
pub mod server_url;
pub mod session;
pub mod settings;
pub mod theme;
pub mod timeline;
pub mod tls;
pub mod transfer;
pub mod tui;
pub mod ui;

pub use error::ClientError;

#[cfg(test)]
mod walls {
    /// The app and the view depend on no I/O code: no socket, no file, no
    /// terminal loop (DESIGN.md's data flow; they talk through `events`).
    #[test]
    fn app_and_ui_import_no_io_code() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![root.join("app.rs"), root.join("ui.rs"), root.join("timeline.rs")];
        let mut dirs = vec![root.join("app"), root.join("ui"), root.join("timeline")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|ext| ext == "rs") {
                    files.push(path);
                }
            }
        }
        assert!(files.len() > 20, "{files:?}");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for banned in ["crate::net", "crate::config", "crate::tui", "crate::script", "crate::media", "crate::audio", "crate::transfer", "std::fs", "tokio::net", "tokio_tungstenite"] {
                let code: String = text.lines().filter(|line| !line.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
                let in_walls_test = file.ends_with("lib.rs");
                assert!(in_walls_test || !code.contains(banned), "{} uses {banned}", file.display());
            }
        }
    }
}
