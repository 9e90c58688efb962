//! heartlink-server library (in progress).
