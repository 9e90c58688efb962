//! Why an authentication request was refused, and the `error` each earns.

use crate::hashing::HashError;
use crate::live::LiveError;
use crate::store::StoreError;
use heartlink_protocol::{ErrorCode, ServerMsg};
use std::time::Duration;

/// How long a client is told to wait when the hashing queue is full.
const BUSY_RETRY: Duration = Duration::from_secs(1);
/// The longest pause before a refusal for an address's budget (see [`AuthError::pause`]).
const MAX_PAUSE: Duration = Duration::from_secs(1);

/// Why an authentication request was refused; each maps to one `error` reply.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong password, unknown or malformed username: deliberately one case.
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failed logins for this username.
    #[error("too many failed logins for this username; try again later")]
    Throttled(Duration),
    /// This address used up its password checks (logins and registrations).
    #[error("too many login attempts from this address; try again later")]
    AddressThrottled(Duration),
    /// This address used up its registrations.
    #[error("too many registrations from this address; try again later")]
    RegistrationsThrottled(Duration),
    /// Every hashing thread is busy and the queue (or this address's line) is full.
    #[error("the server is busy checking passwords; try again in a moment")]
    Busy,
    /// Registration: the name exists (case-insensitively).
    #[error("that username is taken")]
    UsernameTaken,
    /// Registration: the name looks like an existing one (`aIice` beside `alice`).
    #[error("that username looks too much like an existing one; pick another")]
    UsernameLooksLike,
    /// Registration is switched off on this server.
    #[error("registration is closed on this server")]
    RegistrationClosed,
    /// `resume` with an unknown, revoked or expired token.
    #[error("token is invalid, expired or revoked")]
    BadToken,
    /// The operator banned the account (`heartlink-server admin ban-user`).
    #[error("{}", crate::admin::ban_message(.0))]
    Banned(String),
    /// The store failed (internal: logged with its causes, the client gets `internal`).
    #[error("the account store failed")]
    Store(#[from] StoreError),
    /// Password hashing failed (internal).
    #[error("password hashing failed")]
    Hashing(#[source] HashError),
    /// The failed-login counts (shared live state) were unavailable (internal).
    #[error("the login throttle failed")]
    Live(#[from] LiveError),
    /// No randomness for a token (internal).
    #[error("no randomness for a token")]
    Randomness(#[source] getrandom::Error),
    /// The hashing threads could not start (internal).
    #[error("the password hashing threads could not start")]
    Start(#[source] std::io::Error),
}

impl From<HashError> for AuthError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy => Self::Busy,
            other => Self::Hashing(other),
        }
    }
}

impl AuthError {
    /// Whether this is the server's fault rather than the client's (logged
    /// with its causes; the client learns only that it was internal).
    pub fn is_internal(&self) -> bool {
        matches!(self, Self::Store(_) | Self::Hashing(_) | Self::Live(_) | Self::Randomness(_) | Self::Start(_))
    }

    /// The `error` message the client gets.
    pub fn reply(&self) -> ServerMsg {
        let code = match self {
            Self::BadCredentials => ErrorCode::BadCredentials,
            Self::Throttled(wait) | Self::AddressThrottled(wait) | Self::RegistrationsThrottled(wait) => {
                return ServerMsg::rate_limited(self.to_string(), crate::rate_limit::retry_after_ms(*wait));
            }
            Self::Busy => return ServerMsg::rate_limited(self.to_string(), crate::rate_limit::retry_after_ms(BUSY_RETRY)),
            Self::UsernameTaken | Self::UsernameLooksLike => ErrorCode::UsernameTaken,
            Self::RegistrationClosed => ErrorCode::RegistrationClosed,
            Self::BadToken => ErrorCode::Unauthorized,
            Self::Banned(_) => ErrorCode::Banned,
            Self::Store(_) | Self::Hashing(_) | Self::Live(_) | Self::Randomness(_) | Self::Start(_) => {
                return ServerMsg::error(ErrorCode::Internal, "internal error");
            }
        };
        ServerMsg::error(code, self.to_string())
    }

    /// How long to hold the reply back. A refusal for the address's budget
    /// waits up to a second (never longer than its `retry_after_ms`): a
    /// client that ignores `retry_after_ms` and retries at once then costs
    /// the server one cheap reply a second per connection, not a busy loop.
    pub fn pause(&self) -> Option<Duration> {
        match self {
            Self::AddressThrottled(wait) | Self::RegistrationsThrottled(wait) => Some((*wait).min(MAX_PAUSE)),
            Self::Busy => Some(BUSY_RETRY.min(MAX_PAUSE)),
            _ => None,
        }
    }
}
