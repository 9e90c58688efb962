//! Helpers for the end-to-end tests: start the real server, script clients.
