//! heartlink-tui's library: the network task, the app model, the screen,
//! and the commands of the `heartlink-tui` binary.
//!
//! Data flow (The Elm Architecture, see DESIGN.md): terminal events, network
//! events and clock ticks become [`app::Msg`]s; [`app::App::update`] changes
//! the model and returns [`app::Effect`]s for the network; [`ui::render`]
//! draws the model.

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod emoji;
pub mod error;
pub mod events;
pub mod frame_stats;
pub mod logging;
pub mod net;
pub mod sanitize;
pub mod script;
pub mod server_url;
pub mod session;
pub mod settings;
pub mod theme;
pub mod timeline;
pub mod tls;
pub mod tui;
pub mod ui;

pub use error::ClientError;
