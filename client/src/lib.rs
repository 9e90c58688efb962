//! heartlink-tui's library: placeholder until the TUI lands.
