//! Writing an error with its causes into the log. Errors here keep their
//! source instead of flattening it into their message, so a log line
//! prints the whole chain: `reading the room's last seq failed: the
//! database failed: <the I/O error>`.

use std::error::Error;
use std::fmt;

/// Displays an error followed by each of its sources, separated by `: `.
#[derive(Debug)]
pub struct Chain<'a>(pub &'a (dyn Error + Send + Sync + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn every_cause_is_printed() {
        let err = Outer(std::io::Error::other("disk on fire"));
        assert_eq!(Chain(&err).to_string(), "outer: disk on fire");
    }
}
