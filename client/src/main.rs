//! `heartlink-tui`: placeholder until the TUI lands.
fn main() {}
