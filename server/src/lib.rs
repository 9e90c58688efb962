//! heartlink-server: chat rooms over WebSocket, durable in an embedded store.
//!
//! [`Server::open`] opens the data dir; [`Server::run`] takes an
//! already-bound listener (tests bind port 0) and a shutdown token. Data
//! flow: listener → session (one task per connection) → the seams: the
//! [`store::Store`] (durable state, seqs, group commit), the [`bus::Bus`]
//! (fan-out to every node's hub) and [`live::LiveState`] (presence, the
//! match queue, shared limits); sends go through the group-commit flusher
//! ([`commit`]) so that nothing is visible before it is durable, and the
//! [`hub::Hub`] delivers to this node's connections in seq order. The same
//! listener serves HTTP (`http`): `/healthz`, `/metrics` and the
//! attachments of `media`. docs/ARCHITECTURE.md draws the seams and what
//! each promises.

pub mod accounts;
pub mod activity;
pub mod address;
pub mod admin;
pub mod admission;
pub mod aliases;
pub mod bounded_map;
pub mod bus;
pub mod calls;
pub mod clock;
pub mod commit;
pub mod config;
pub mod disguise;
pub mod handshake;
pub mod hashing;
pub mod http;
pub mod hub;
pub mod listen;
pub mod live;
pub mod logging;
pub mod match_expiry;
pub mod media;
pub mod metrics;
pub mod node;
pub mod quota;
pub mod rate_limit;
pub mod report;
pub mod server;
pub mod session;
pub mod shared;
pub mod store;
pub mod sweeper;
pub mod tls;
pub mod usernames;
pub mod wire;
pub mod wire_size;

pub use config::{AllowedOrigins, Config, Registration, TlsFiles};
pub use server::{Server, ServerError};
