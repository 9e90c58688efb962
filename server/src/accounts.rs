//! Registration, login, token resume and logout: argon2id password hashes,
//! random tokens kept only as SHA-256 hashes, and the failed-login throttle
//! (whose counts are shared live state, see `live.rs`).

use crate::clock::now_ms;
use crate::config::{Config, Registration};
use crate::hashing::{HashError, Hasher};
use crate::live::{Admission, LiveError, LiveState, LoginScope};
use crate::store::{NewUser, Store, StoreError, TokenHash, UserRecord};
use heartlink_protocol::{ErrorCode, Password, Secret, ServerMsg, Username};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Why an authentication request was refused; each maps to one `error` reply.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong password, unknown or malformed username: deliberately one case.
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failed logins for this username.
    #[error("too many failed logins for this username; try again later")]
    Throttled(Duration),
    /// Registration: the name exists (case-insensitively).
    #[error("that username is taken")]
    UsernameTaken,
    /// Registration is switched off on this server.
    #[error("registration is closed on this server")]
    RegistrationClosed,
    /// `resume` with an unknown, revoked or expired token.
    #[error("token is invalid, expired or revoked")]
    BadToken,
    /// The store failed (internal: logged, the client gets `internal`).
    #[error("the account store failed")]
    Store(#[from] StoreError),
    /// Password hashing failed (internal).
    #[error("password hashing failed")]
    Hashing(#[from] HashError),
    /// The login throttle's shared counts were unavailable (internal).
    #[error("the login throttle failed")]
    Live(#[from] LiveError),
    /// No randomness for a token (internal).
    #[error("no randomness for a token")]
    Randomness(#[source] getrandom::Error),
    /// The hashing threads could not start (internal).
    #[error("the password hashing threads could not start")]
    Start(#[source] std::io::Error),
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
            Self::Throttled(wait) => {
                return ServerMsg::rate_limited(self.to_string(), crate::rate_limit::retry_after_ms(*wait));
            }
            Self::UsernameTaken => ErrorCode::UsernameTaken,
            Self::RegistrationClosed => ErrorCode::RegistrationClosed,
            Self::BadToken => ErrorCode::Unauthorized,
            Self::Store(_) | Self::Hashing(_) | Self::Live(_) | Self::Randomness(_) | Self::Start(_) => {
                return ServerMsg::error(ErrorCode::Internal, "internal error");
            }
        };
        ServerMsg::error(code, self.to_string())
    }
}

/// A successful authentication.
#[derive(Debug)]
pub struct Authenticated {
    pub account: UserRecord,
    /// The token to hand back in `connection_established`.
    pub token: String,
    /// Its SHA-256, to revoke it on `logout`.
    pub token_hash: TokenHash,
}

/// The account service shared by all sessions.
#[derive(Debug)]
pub struct Accounts {
    store: Arc<dyn Store>,
    /// Holds the failed-login counts.
    live: Arc<dyn LiveState>,
    registration: Registration,
    token_ttl_ms: u64,
    /// argon2id on a few dedicated threads: bounds the CPU and memory
    /// hashing can take (see hashing.rs).
    hasher: Hasher,
    /// Verified when the username is unknown, so that case costs the same time.
    dummy_hash: String,
}

impl Accounts {
    /// Builds the service (computes the dummy hash once).
    pub fn new(store: Arc<dyn Store>, live: Arc<dyn LiveState>, config: &Config) -> Result<Self, AuthError> {
        Ok(Self {
            store,
            live,
            registration: config.registration,
            token_ttl_ms: u64::try_from(config.token_ttl.as_millis()).unwrap_or(u64::MAX),
            hasher: Hasher::start(config.hash_concurrency).map_err(AuthError::Start)?,
            dummy_hash: crate::hashing::hash_with(&mut Vec::new(), b"heartlink-dummy-password", b"heartlink-dummy-salt")?,
        })
    }

    /// `register`: creates the account and logs it in.
    pub async fn register(&self, username: &Username, password: &Password) -> Result<Authenticated, AuthError> {
        if self.registration == Registration::Closed {
            return Err(AuthError::RegistrationClosed);
        }
        let canonical = username.canonical();
        if self.store.user_by_name(&canonical).await?.is_some() {
            return Err(AuthError::UsernameTaken);
        }
        let secret = password.as_str().as_bytes().to_vec();
        let password_hash = self.hasher.hash(secret).await?;
        let new = NewUser { username: username.to_string(), canonical, password_hash, created_at: now_ms() };
        let account = self.store.create_user(new).await?.ok_or(AuthError::UsernameTaken)?;
        self.issue_token(account).await
    }

    /// `login` from `source`: checks the throttles first, then the password.
    pub async fn login(&self, username: &str, password: &Secret, source: IpAddr) -> Result<Authenticated, AuthError> {
        let canonical = username.to_ascii_lowercase();
        let source_key = format!("{source}/{canonical}");
        self.admit(LoginScope::PerSource, &source_key).await?;
        self.admit(LoginScope::PerUser, &canonical).await?;
        let account = match Username::try_from(username) {
            Ok(name) => self.store.user_by_name(&name.canonical()).await?,
            Err(_) => None,
        };
        let stored = account.as_ref().map_or_else(|| self.dummy_hash.clone(), |a| a.password_hash.clone());
        let secret = password.expose().as_bytes().to_vec();
        let fits = heartlink_protocol::limits::PASSWORD_BYTES.contains(&secret.len());
        let matches = fits && self.hasher.verify(secret, stored).await?;
        match account {
            Some(account) if matches => {
                self.live.login_succeeded(LoginScope::PerSource, &source_key).await?;
                self.issue_token(account).await
            }
            _ => {
                self.live.login_failed(LoginScope::PerSource, &source_key).await?;
                self.live.login_failed(LoginScope::PerUser, &canonical).await?;
                Err(AuthError::BadCredentials)
            }
        }
    }

    async fn admit(&self, scope: LoginScope, key: &str) -> Result<(), AuthError> {
        match self.live.admit_login(scope, key).await? {
            Admission::Allowed => Ok(()),
            Admission::RetryAfter(wait) => Err(AuthError::Throttled(wait)),
        }
    }

    /// `resume`: the account a live token belongs to.
    pub async fn resume(&self, token: &Secret) -> Result<Authenticated, AuthError> {
        let token_hash = hash_token(token.expose());
        let user_id =
            self.store.use_token(&token_hash, now_ms(), self.token_ttl_ms).await?.ok_or(AuthError::BadToken)?;
        let account = self.store.user(user_id).await?.ok_or(AuthError::BadToken)?;
        Ok(Authenticated { account, token: token.expose().to_owned(), token_hash })
    }

    /// `logout`: revokes the token, durably (a crash must not revive it).
    pub async fn logout(&self, token_hash: &TokenHash) -> Result<(), AuthError> {
        Ok(self.store.revoke_token(token_hash).await?)
    }

    /// A new token for `account`, durable before the client hears of it.
    async fn issue_token(&self, account: UserRecord) -> Result<Authenticated, AuthError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(AuthError::Randomness)?;
        let token = hex::encode(bytes);
        let token_hash = hash_token(&token);
        self.store.insert_token(&token_hash, account.id, now_ms()).await?;
        Ok(Authenticated { account, token, token_hash })
    }
}

fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accounts(dir: &std::path::Path) -> Accounts {
        let config = Config::new(dir.to_path_buf());
        let store = Arc::new(crate::store::SledStore::open(dir).unwrap());
        Accounts::new(store, Arc::new(crate::live::local::LocalLive::new(&config)), &config).unwrap()
    }

    #[tokio::test]
    async fn register_login_resume_logout() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = accounts(dir.path());
        let name = Username::try_from("Alice").unwrap();
        let password = Password::try_from("correct horse").unwrap();
        let registered = accounts.register(&name, &password).await.unwrap();
        assert_eq!(registered.token.len(), 64);
        assert!(matches!(accounts.register(&name, &password).await, Err(AuthError::UsernameTaken)));

        let logged_in = accounts.login("alice", &Secret::new("correct horse"), HOME).await.unwrap();
        assert_eq!(logged_in.account.id, registered.account.id);
        assert!(matches!(accounts.login("alice", &Secret::new("wrong"), HOME).await, Err(AuthError::BadCredentials)));
        assert!(matches!(accounts.login("nobody", &Secret::new("x"), HOME).await, Err(AuthError::BadCredentials)));

        let resumed = accounts.resume(&Secret::new(logged_in.token.clone())).await.unwrap();
        assert_eq!(resumed.account.id, registered.account.id);
        accounts.logout(&resumed.token_hash).await.unwrap();
        assert!(matches!(accounts.resume(&Secret::new(logged_in.token)).await, Err(AuthError::BadToken)));
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
    const ELSEWHERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

    #[tokio::test]
    async fn throttled_before_hashing_per_source_then_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = accounts(dir.path());
        accounts.register(&Username::try_from("bob").unwrap(), &Password::try_from("right password").unwrap()).await.unwrap();
        for _ in 0..5 {
            let attempt = accounts.login("bob", &Secret::new("nope"), HOME).await;
            assert!(matches!(attempt, Err(AuthError::BadCredentials)));
        }
        let started = std::time::Instant::now();
        let attempt = accounts.login("Bob", &Secret::new("right password"), HOME).await;
        assert!(matches!(attempt, Err(AuthError::Throttled(_))), "even the right password waits at this source");
        assert!(started.elapsed() < Duration::from_millis(5), "the throttle answers without hashing");
        let elsewhere = accounts.login("bob", &Secret::new("right password"), ELSEWHERE).await;
        assert!(elsewhere.is_ok(), "the real user still logs in from elsewhere");

        // Guessing spread over many sources hits the per-user bound.
        for source in 10..20u8 {
            for _ in 0..5 {
                let from = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, source));
                let _ = accounts.login("bob", &Secret::new("nope"), from).await;
            }
        }
        let attempt = accounts.login("bob", &Secret::new("right password"), ELSEWHERE).await;
        assert!(matches!(attempt, Err(AuthError::Throttled(_))));
    }
}
