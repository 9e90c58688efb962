//! The server's address as users type it: `ws://host:port/ws` in full, or
//! `host:port` / `ws://host:port` completed to that, with a plain reason
//! and a suggestion for anything that cannot be a heartlink server URL.

/// The WebSocket path of every heartlink server.
const PATH: &str = "/ws";

/// `input` as a full `ws://` or `wss://` URL with a path (`/ws` when none
/// was given), or why not, with the URL that was probably meant.
pub fn normalize(input: &str) -> Result<String, String> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err("enter the server's URL, e.g. ws://127.0.0.1:7878/ws".to_owned());
    }
    let (scheme, rest) = match trimmed.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("ws".to_owned(), trimmed),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains(char::is_whitespace) {
        return Err(format!("{trimmed} is not a server address — it looks like ws://127.0.0.1:7878/ws"));
    }
    let path = if path.is_empty() || path == "/" { PATH } else { path };
    match scheme.as_str() {
        "ws" | "wss" => Ok(format!("{scheme}://{authority}{path}")),
        "http" => Err(format!("heartlink speaks WebSocket, not HTTP — did you mean ws://{authority}{PATH}?")),
        "https" => Err(format!("heartlink speaks WebSocket, not HTTPS — did you mean wss://{authority}{PATH}?")),
        other => Err(format!("{other}:// is not a heartlink URL — did you mean ws://{authority}{PATH}?")),
    }
}

/// A comma-separated list of servers (`--server URL1,URL2`), each one
/// [`normalize`]d; the first that cannot be is the error.
pub fn normalize_list(input: &str) -> Result<String, String> {
    let urls: Vec<String> = input.split(',').map(str::trim).filter(|url| !url.is_empty()).map(normalize).collect::<Result<_, _>>()?;
    if urls.is_empty() {
        return normalize("");
    }
    Ok(urls.join(","))
}

/// The first server of a list (`URL1,URL2`), completed: where a client
/// starts, and where a script's HTTP requests go.
pub fn first(list: &str) -> String {
    let first = list.split(',').map(str::trim).find(|url| !url.is_empty()).unwrap_or("");
    normalize(first).unwrap_or_else(|_| first.to_owned())
}

/// `host:port` of a (normalized) URL, with the scheme's default port, for
/// messages that name the place that did not answer.
pub fn host_port(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("ws", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    let has_port = authority.rsplit_once(':').is_some_and(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        && !authority.ends_with(']');
    if has_port {
        authority.to_owned()
    } else {
        format!("{authority}:{}", if scheme == "wss" { 443 } else { 80 })
    }
}

/// The URL with its path replaced by `/ws` (a suggestion for a 404).
pub fn with_ws_path(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("ws", url));
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}{PATH}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_and_urls_without_path_are_completed() {
        assert_eq!(normalize("127.0.0.1:17878").unwrap(), "ws://127.0.0.1:17878/ws");
        assert_eq!(normalize("ws://127.0.0.1:17878").unwrap(), "ws://127.0.0.1:17878/ws");
        assert_eq!(normalize(" ws://h:1/ ").unwrap(), "ws://h:1/ws");
        assert_eq!(normalize("wss://chat.example.org").unwrap(), "wss://chat.example.org/ws");
        assert_eq!(normalize("ws://h:1/ws").unwrap(), "ws://h:1/ws");
        assert_eq!(normalize("ws://h:1/other").unwrap(), "ws://h:1/other", "an explicit path is kept");
    }

    #[test]
    fn lists_are_completed_one_by_one() {
        assert_eq!(normalize_list("a:1, ws://b:2/ws").unwrap(), "ws://a:1/ws,ws://b:2/ws");
        assert!(normalize_list("a:1,http://b:2").unwrap_err().contains("did you mean ws://b:2/ws?"));
        assert!(normalize_list(" , ").is_err());
        assert_eq!(first(" , a:1,b:2"), "ws://a:1/ws");
    }

    #[test]
    fn other_schemes_get_the_url_that_was_meant() {
        assert!(normalize("http://h:1").unwrap_err().contains("did you mean ws://h:1/ws?"));
        assert!(normalize("https://h").unwrap_err().contains("did you mean wss://h/ws?"));
        assert!(normalize("ftp://h:1/x").unwrap_err().contains("did you mean ws://h:1/ws?"));
        assert!(normalize("").unwrap_err().contains("ws://127.0.0.1:7878/ws"));
        assert!(normalize("ws:///ws").is_err());
    }

    #[test]
    fn host_port_names_the_place() {
        assert_eq!(host_port("ws://127.0.0.1:1/ws"), "127.0.0.1:1");
        assert_eq!(host_port("wss://example.org/ws"), "example.org:443");
        assert_eq!(host_port("ws://[::1]/ws"), "[::1]:80");
        assert_eq!(host_port("ws://[::1]:9/ws"), "[::1]:9");
        assert_eq!(with_ws_path("ws://h:1/chat"), "ws://h:1/ws");
    }
}
