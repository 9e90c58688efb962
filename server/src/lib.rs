//! heartlink-server: chat rooms over WebSocket, durable in sled.
//!
//! [`Server::open`] opens the data dir; [`Server::run`] takes an
//! already-bound listener (tests bind port 0) and a shutdown token. Data
//! flow: listener → session (one task per connection) → hub (live state,
//! fan-out) and store (sled); sends go through the group-commit flusher so
//! that nothing is visible before it is durable. The same listener serves
//! HTTP (`http`): `/healthz`, `/metrics` and the attachments of `media`.

pub mod accounts;
pub mod address;
pub mod admission;
pub mod bounded_map;
pub mod clock;
pub mod commit;
pub mod config;
pub mod handshake;
pub mod hashing;
pub mod http;
pub mod hub;
pub mod media;
pub mod metrics;
pub mod quota;
pub mod logging;
pub mod rate_limit;
pub mod sequencer;
pub mod server;
pub mod session;
pub mod shared;
pub mod store;
pub mod sweeper;
pub mod tls;
pub mod wire_size;
pub mod usernames;

pub use config::{AllowedOrigins, Config, Registration, TlsFiles};
pub use server::{Server, ServerError};
