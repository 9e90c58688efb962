//! Which handler answers a request: the path table of PROTOCOL.md ("HTTP on
//! the same listener"). Anything else is 404, as before.

use super::reply::{self, Body, HttpError};
use super::{Site, health};
use crate::handshake;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The paths the server knows, with their ids parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    WebSocket,
    Health,
    Metrics,
    Uploads,
    Upload(&'a str),
    Media(&'a str),
}

impl Route<'_> {
    fn parse(path: &str) -> Option<Route<'_>> {
        match path {
            "/ws" => Some(Route::WebSocket),
            "/healthz" => Some(Route::Health),
            "/metrics" => Some(Route::Metrics),
            "/media/uploads" => Some(Route::Uploads),
            _ => match path.strip_prefix("/media/uploads/") {
                Some(id) => Some(Route::Upload(id)),
                None => path.strip_prefix("/media/").filter(|id| !id.contains('/')).map(Route::Media),
            },
        }
    }

    /// A fixed label for the request counter (never a raw path: ids would
    /// make every request its own series).
    fn label(self) -> &'static str {
        match self {
            Self::WebSocket => "ws",
            Self::Health => "healthz",
            Self::Metrics => "metrics",
            Self::Uploads => "uploads",
            Self::Upload(_) => "upload",
            Self::Media(_) => "media",
        }
    }
}

/// Answers one request.
pub(super) async fn route(
    mut request: Request<Incoming>,
    peer: SocketAddr,
    site: Site,
    pending_upgrade: Arc<Mutex<Option<OnUpgrade>>>,
) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let Some(route) = Route::parse(&path) else {
        crate::metrics::http_request("unknown", 404);
        return HttpError::new(StatusCode::NOT_FOUND, heartlink_protocol::ErrorCode::NotFound, "heartlink speaks WebSocket at /ws")
            .into_response();
    };
    let response = match (route, &site) {
        (Route::WebSocket, _) => upgrade(&mut request, site.origins(), &pending_upgrade),
        (_, Site::WebSocketOnly(_)) => HttpError::not_found().into_response(),
        (_, Site::Refused(_, cap)) => {
            HttpError::new(StatusCode::SERVICE_UNAVAILABLE, heartlink_protocol::ErrorCode::RateLimited, cap.message())
                .into_response()
        }
        (Route::Health, Site::Full(shared)) => match *request.method() {
            Method::GET | Method::HEAD => health::check(shared).await,
            _ => HttpError::method_not_allowed().into_response(),
        },
        (Route::Metrics, Site::Full(_)) => match *request.method() {
            Method::GET | Method::HEAD => metrics(),
            _ => HttpError::method_not_allowed().into_response(),
        },
        (Route::Uploads, Site::Full(shared)) => crate::media::http::uploads(request, shared).await,
        (Route::Upload(id), Site::Full(shared)) => crate::media::http::upload(request, id, shared).await,
        (Route::Media(id), Site::Full(shared)) => crate::media::http::download(request, id, shared).await,
    };
    let status = response.status().as_u16();
    crate::metrics::http_request(route.label(), status);
    if status >= 400 && status != 404 {
        tracing::debug!(%peer, route = route.label(), status, "HTTP request refused");
    }
    response
}

/// `/ws`: the 101 that hands the connection to the WebSocket session.
fn upgrade(
    request: &mut Request<Incoming>,
    origins: &crate::config::AllowedOrigins,
    pending_upgrade: &Mutex<Option<OnUpgrade>>,
) -> Response<Body> {
    let accept_key = match handshake::check_upgrade(request, origins) {
        Ok(key) => key,
        Err(refusal) => {
            let mut response = HttpError::new(refusal.status, heartlink_protocol::ErrorCode::BadRequest, refusal.reason);
            if refusal.status == StatusCode::FORBIDDEN {
                response.code = heartlink_protocol::ErrorCode::Forbidden;
            }
            let mut response = response.into_response();
            if refusal.status == StatusCode::UPGRADE_REQUIRED {
                response.headers_mut().insert(header::UPGRADE, HeaderValue::from_static("websocket"));
                response.headers_mut().insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            return response;
        }
    };
    let Ok(accept) = HeaderValue::from_str(&accept_key) else {
        return HttpError::bad_request("bad Sec-WebSocket-Key").into_response();
    };
    *pending_upgrade.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(hyper::upgrade::on(request));
    let mut response = reply::status(StatusCode::SWITCHING_PROTOCOLS);
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    response
}

/// `/metrics`: Prometheus text format 0.0.4.
fn metrics() -> Response<Body> {
    match crate::metrics::render() {
        Some(text) => {
            let mut response = Response::new(reply::full(text));
            let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
            response.headers_mut().insert(header::CONTENT_TYPE, content_type);
            response
        }
        None => HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            heartlink_protocol::ErrorCode::Internal,
            "metrics are recorded elsewhere in this process",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_routes_and_nothing_else() {
        assert_eq!(Route::parse("/ws"), Some(Route::WebSocket));
        assert_eq!(Route::parse("/media/uploads"), Some(Route::Uploads));
        assert_eq!(Route::parse("/media/uploads/abc"), Some(Route::Upload("abc")));
        assert_eq!(Route::parse("/media/abc"), Some(Route::Media("abc")));
        assert_eq!(Route::parse("/media/a/b"), None);
        assert_eq!(Route::parse("/ws/"), None);
        assert_eq!(Route::parse("/chat"), None);
    }
}
