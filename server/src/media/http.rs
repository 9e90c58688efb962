//! The `/media` endpoints' common ground: methods to handlers, the Bearer
//! token, per-user request limits, and the tus headers every tus answer
//! carries (errors included).

use super::Media;
use crate::http::reply::Body;
use crate::http::HttpError;
use crate::shared::Shared;
use heartlink_protocol::{ErrorCode, MediaId, Secret, User};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use std::sync::Arc;

/// The tus version spoken (core + creation, termination, checksum).
pub const TUS_VERSION: &str = "1.0.0";
/// The longest token accepted before any lookup (ours are 64 hex characters).
const MAX_TOKEN_CHARS: usize = 256;

/// `/media/uploads`: tus discovery (OPTIONS) and creation (POST).
pub async fn uploads(request: Request<Incoming>, shared: &Arc<Shared>) -> Response<Body> {
    let answer = match *request.method() {
        Method::OPTIONS => Ok(super::tus::options(&shared.media)),
        Method::POST => match caller(&request, shared, true).await {
            Ok(user) => super::tus::create(&request, &user, &shared.media).await,
            Err(err) => Err(err),
        },
        _ => Err(HttpError::method_not_allowed()),
    };
    with_tus_headers(answer)
}

/// `/media/uploads/<id>`: tus HEAD, PATCH, DELETE (and OPTIONS).
pub async fn upload(request: Request<Incoming>, id: &str, shared: &Arc<Shared>) -> Response<Body> {
    if request.method() == Method::OPTIONS {
        return with_tus_headers(Ok(super::tus::options(&shared.media)));
    }
    let answer = async {
        let method = request.method().clone();
        if !matches!(method, Method::HEAD | Method::PATCH | Method::DELETE) {
            return Err(HttpError::method_not_allowed());
        }
        let user = caller(&request, shared, true).await?;
        let id = parse_id(id)?;
        match method {
            Method::HEAD => super::tus::head(id, &user, &shared.media).await,
            Method::DELETE => super::tus::delete(id, &user, &shared.media).await,
            _ => super::patch::patch(request, id, &user, &shared.media, &shared.shutdown).await,
        }
    };
    with_tus_headers(answer.await)
}

/// `/media/<id>`: the download (GET, HEAD).
pub async fn download(request: Request<Incoming>, id: &str, shared: &Arc<Shared>) -> Response<Body> {
    let answer = async {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return Err(HttpError::method_not_allowed());
        }
        let user = caller(&request, shared, false).await?;
        super::download::download(&request, parse_id(id)?, &user, shared).await
    };
    answer.await.unwrap_or_else(HttpError::into_response)
}

fn parse_id(id: &str) -> Result<MediaId, HttpError> {
    // Our ids are lowercase hyphenated UUIDs; anything else names nothing.
    id.parse::<MediaId>().ok().filter(|parsed| parsed.to_string() == id).ok_or_else(HttpError::not_found)
}

/// The authenticated user of a request, within their request rate. tus
/// requests must also speak tus 1.0.0.
async fn caller(request: &Request<Incoming>, shared: &Shared, tus: bool) -> Result<User, HttpError> {
    if tus && request.headers().get("tus-resumable").is_none_or(|version| version.as_bytes() != TUS_VERSION.as_bytes()) {
        return Err(HttpError::new(StatusCode::PRECONDITION_FAILED, ErrorCode::BadRequest, "this server speaks tus 1.0.0 (Tus-Resumable)"));
    }
    let user = bearer_user(request.headers(), shared).await?;
    match shared.live.admit(crate::live::Rate::MediaRequests, user.id).await {
        Ok(crate::live::Admission::Allowed) => Ok(user),
        Ok(crate::live::Admission::RetryAfter(wait)) => Err(rate_limited("too many media requests; slow down", wait)),
        Err(err) => Err(HttpError::internal(&crate::report::Chain(&err))),
    }
}

/// The user whose token the `Authorization: Bearer` header carries.
async fn bearer_user(headers: &HeaderMap, shared: &Shared) -> Result<User, HttpError> {
    let value = headers.get(header::AUTHORIZATION).and_then(|value| value.to_str().ok()).unwrap_or("");
    let (scheme, token) = value.split_once(' ').unwrap_or(("", ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.len() > MAX_TOKEN_CHARS {
        return Err(HttpError::unauthorized("send Authorization: Bearer <token from connection_established>"));
    }
    match shared.accounts.resume(&Secret::new(token)).await {
        Ok(auth) => Ok(crate::wire::account(&auth.account)),
        Err(err) if err.is_internal() => Err(HttpError::internal(&crate::report::Chain(&err))),
        Err(err) => Err(HttpError::unauthorized(err.to_string())),
    }
}

/// A 429 with `Retry-After` (whole seconds, rounded up).
pub(super) fn rate_limited(message: &str, wait: std::time::Duration) -> HttpError {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HttpError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, format!("{message} (retry in {seconds} s)"))
}

/// Every tus answer, errors included, says which protocol it speaks.
fn with_tus_headers(answer: Result<Response<Body>, HttpError>) -> Response<Body> {
    let mut response = answer.unwrap_or_else(HttpError::into_response);
    let headers = response.headers_mut();
    headers.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    if response.status() == StatusCode::PRECONDITION_FAILED {
        response.headers_mut().insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    }
    response
}

impl Media {
    /// The upload `id` if `user` owns it; 404 otherwise (someone else's
    /// upload is not revealed).
    pub(super) async fn owned_upload(&self, id: MediaId, user: &User) -> Result<super::catalog::UploadRecord, HttpError> {
        let found = self.blocking(move |media| Ok(media.catalog().upload(id)?)).await.map_err(|err| HttpError::internal(&err))?;
        found.filter(|record| record.owner == user.id).ok_or_else(HttpError::not_found)
    }
}
