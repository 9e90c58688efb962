//! The servers a client may use (`--server URL1,URL2,…`): which one it is
//! on, and where it goes when that one fails. A failure (no connection, or
//! a connection that dropped) moves to the next server, round-robin; the
//! next one is tried at once unless every server has failed in a row since
//! the last success or the last backoff wait, and then the usual backoff
//! applies before the next round. A single server behaves as before: every
//! failure backs off.

/// The list, completed like any typed URL, and the position in it.
#[derive(Debug, Clone, Default)]
pub struct ServerList {
    urls: Vec<String>,
    current: usize,
    failed_in_row: usize,
}

impl ServerList {
    /// `ws://a/ws,b:7878` → each one completed (`host:port` → `ws://host:port/ws`);
    /// one that cannot be completed is kept as typed, and its attempt says why.
    pub fn parse(list: &str) -> Self {
        let urls: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .map(|url| crate::server_url::normalize(url).unwrap_or_else(|_| url.to_owned()))
            .collect();
        let urls = if urls.is_empty() { vec![list.trim().to_owned()] } else { urls };
        Self { urls, current: 0, failed_in_row: 0 }
    }

    /// The server to connect to now.
    pub fn current(&self) -> &str {
        self.urls.get(self.current).map_or("", String::as_str)
    }

    /// The whole list as the user gives it (and the session file keeps it).
    pub fn joined(&self) -> String {
        self.urls.join(",")
    }

    /// The current server failed: moves to the next. `true`: try that one
    /// now; `false`: every server failed in a row, so wait (a new round
    /// starts after the wait).
    pub fn failed(&mut self) -> bool {
        self.current = (self.current + 1) % self.urls.len().max(1);
        self.failed_in_row += 1;
        if self.failed_in_row >= self.urls.len() {
            self.failed_in_row = 0;
            return false;
        }
        true
    }

    /// Connected: the next failure starts a new round.
    pub fn connected(&mut self) {
        self.failed_in_row = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_completed_and_a_single_server_always_backs_off() {
        let list = ServerList::parse(" 127.0.0.1:1 , ws://h:2/ws,,");
        assert_eq!(list.joined(), "ws://127.0.0.1:1/ws,ws://h:2/ws");
        let mut one = ServerList::parse("ws://h:1/ws");
        assert!(!one.failed() && !one.failed(), "one server: every failure waits");
        assert_eq!(one.current(), "ws://h:1/ws");
    }

    #[test]
    fn failures_move_round_robin_and_wait_once_per_round() {
        let mut list = ServerList::parse("a:1,b:2,c:3");
        assert!(list.failed(), "a failed: b now");
        assert_eq!(list.current(), "ws://b:2/ws");
        assert!(list.failed(), "b failed: c now");
        assert!(!list.failed(), "all three failed in a row: back off");
        assert_eq!(list.current(), "ws://a:1/ws", "the next round starts where the list does");
        assert!(list.failed());
        list.connected();
        assert_eq!(list.current(), "ws://b:2/ws");
        assert!(list.failed() && list.failed(), "after a success a drop tries the two others at once");
        assert!(!list.failed());
    }
}
