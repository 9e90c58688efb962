//! Registration, login, token resume and logout: argon2id password hashes,
//! random tokens kept only as SHA-256 hashes, and the checks made before a
//! password is hashed: the failed-login counts per username (shared live
//! state) and the per-address budgets (guards.rs).

mod error;
mod guards;
mod write_cost;

use crate::address::AddressKey;
use crate::clock::now_ms;
use crate::config::{Config, Registration};
use crate::hashing::{HashError, Hasher};
use crate::live::{Admission, LiveState};
use crate::store::{NameConflict, NewUser, Store, TokenHash, UserRecord};
pub use error::AuthError;
use guards::AuthGuards;
use heartlink_protocol::limits::PASSWORD_BYTES;
use heartlink_protocol::{Password, Secret, Username};
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;
use write_cost::WriteCost;

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
    /// Holds the failed-login counts per username.
    live: Arc<dyn LiveState>,
    registration: Registration,
    token_ttl_ms: u64,
    /// argon2id on a few dedicated threads: bounds the CPU and memory
    /// hashing can take, fairly between addresses (see hashing.rs).
    hasher: Hasher,
    /// Per-address budgets, checked before hashing.
    guards: AuthGuards,
    /// Verified when the username is unknown, so that case costs the same time.
    dummy_hash: String,
    /// What a new account's writes cost lately, waited out by a refused name.
    write_cost: WriteCost,
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
            guards: AuthGuards::new(config),
            dummy_hash: crate::hashing::hash_with(&mut Vec::new(), b"heartlink-dummy-password", b"heartlink-dummy-salt")?,
            write_cost: WriteCost::default(),
        })
    }

    /// `register` from `source`: creates the account and logs it in.
    ///
    /// The password is hashed before the name is looked up, so a taken name
    /// costs the same hash and the same budget as a new account, and its
    /// reply waits out the writes a new account makes (write_cost.rs):
    /// asking whether a name exists is as slow and as limited as registering.
    pub async fn register(&self, username: &Username, password: &Password, source: IpAddr) -> Result<Authenticated, AuthError> {
        if self.registration == Registration::Closed {
            return Err(AuthError::RegistrationClosed);
        }
        let source = AddressKey::from(source);
        self.guards.admit_registration(source, Instant::now())?;
        let hash = self.hasher.hash(source, password.as_str().as_bytes().to_vec()).await.map_err(|err| {
            if matches!(err, HashError::Busy) {
                self.guards.not_hashed(source, true, Instant::now());
            }
            AuthError::from(err)
        })?;
        let new = NewUser {
            username: username.to_string(),
            canonical: username.canonical(),
            lookalikes: crate::usernames::lookalike_keys(username),
            password_hash: hash,
            created_at: now_ms(),
        };
        // A taken name must not answer sooner than a new account: it
        // waits out what the writes of a new account cost lately.
        let writing = Instant::now();
        let account = match self.store.create_user(new).await? {
            Ok(account) => account,
            Err(conflict) => {
                tokio::time::sleep(self.write_cost.pad_after(writing.elapsed())).await;
                return Err(match conflict {
                    NameConflict::Taken => AuthError::UsernameTaken,
                    NameConflict::LooksLike => AuthError::UsernameLooksLike,
                });
            }
        };
        let authenticated = self.issue_token(account).await?;
        self.write_cost.record(writing.elapsed());
        Ok(authenticated)
    }

    /// `login` from `source`: a username or password that cannot be valid
    /// is wrong at once (no map, no hash); then the throttles and the
    /// address's budget; then the password.
    pub async fn login(&self, username: &str, password: &Secret, source: IpAddr) -> Result<Authenticated, AuthError> {
        let Ok(name) = Username::try_from(username) else {
            return Err(AuthError::BadCredentials);
        };
        let secret = password.expose().as_bytes();
        if !PASSWORD_BYTES.contains(&secret.len()) {
            return Err(AuthError::BadCredentials);
        }
        let canonical = name.canonical();
        let source = AddressKey::from(source);
        if let Admission::RetryAfter(wait) = self.live.admit_login(source, &canonical).await? {
            return Err(AuthError::Throttled(wait));
        }
        self.guards.admit_login(source, Instant::now())?;
        let account = self.store.user_by_name(&canonical).await?;
        let stored = account.as_ref().map_or_else(|| self.dummy_hash.clone(), |a| a.password_hash.clone());
        let matches = self.hasher.verify(source, secret.to_vec(), stored).await.map_err(|err| {
            if matches!(err, HashError::Busy) {
                self.guards.not_hashed(source, false, Instant::now());
            }
            AuthError::from(err)
        })?;
        match account {
            Some(account) if matches => {
                self.live.login_succeeded(source, &canonical).await?;
                // Told only to whoever knows the password: a ban is not a
                // way to learn that a name exists.
                self.refuse_banned(&account).await?;
                self.issue_token(account).await
            }
            _ => {
                self.live.login_failed(source, &canonical).await?;
                Err(AuthError::BadCredentials)
            }
        }
    }

    /// Forgets throttle and budget entries that have aged out (on a timer).
    pub fn sweep(&self, now: Instant) {
        self.guards.sweep(now);
    }

    /// For the shutdown log: hashes computed and dropped unrun, and what the
    /// guards hold (entries, estimated bytes).
    pub fn stats(&self) -> ((u64, u64), (usize, usize)) {
        (self.hasher.counts(), self.guards.size())
    }

    /// `resume`: the account a live token belongs to.
    pub async fn resume(&self, token: &Secret) -> Result<Authenticated, AuthError> {
        let token_hash = hash_token(token.expose());
        let user_id =
            self.store.use_token(&token_hash, now_ms(), self.token_ttl_ms).await?.ok_or(AuthError::BadToken)?;
        let account = self.store.user(user_id).await?.ok_or(AuthError::BadToken)?;
        self.refuse_banned(&account).await?;
        Ok(Authenticated { account, token: token.expose().to_owned(), token_hash })
    }

    /// `Banned` while the operator's ban of `account` stands. A banned
    /// account keeps its tokens: lifting the ban lets its sessions resume.
    async fn refuse_banned(&self, account: &UserRecord) -> Result<(), AuthError> {
        match self.store.user_ban(account.id).await? {
            Some(ban) => Err(AuthError::Banned(ban.reason)),
            None => Ok(()),
        }
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
    use std::time::Duration;

    fn accounts(dir: &std::path::Path) -> Accounts {
        accounts_with(dir, |_| {})
    }

    fn accounts_with(dir: &std::path::Path, change: impl FnOnce(&mut Config)) -> Accounts {
        let mut config = Config::new(dir.to_path_buf());
        change(&mut config);
        let store = Arc::new(crate::store::SledStore::open(dir).unwrap());
        Accounts::new(store, Arc::new(crate::live::local::LocalLive::new(&config)), &config).unwrap()
    }

    #[tokio::test]
    async fn register_login_resume_logout() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = accounts(dir.path());
        let name = Username::try_from("Alice").unwrap();
        let password = Password::try_from("correct horse").unwrap();
        let registered = accounts.register(&name, &password, HOME).await.unwrap();
        assert_eq!(registered.token.len(), 64);
        assert!(matches!(accounts.register(&name, &password, HOME).await, Err(AuthError::UsernameTaken)));

        let logged_in = accounts.login("alice", &Secret::new("correct horse"), HOME).await.unwrap();
        assert_eq!(logged_in.account.id, registered.account.id);
        assert!(matches!(accounts.login("alice", &Secret::new("wrong password"), HOME).await, Err(AuthError::BadCredentials)));
        assert!(matches!(accounts.login("nobody", &Secret::new("some password"), HOME).await, Err(AuthError::BadCredentials)));

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
        accounts.register(&Username::try_from("bob").unwrap(), &Password::try_from("right password").unwrap(), HOME).await.unwrap();
        for _ in 0..5 {
            let attempt = accounts.login("bob", &Secret::new("nope nope"), HOME).await;
            assert!(matches!(attempt, Err(AuthError::BadCredentials)));
        }
        let started = Instant::now();
        let attempt = accounts.login("Bob", &Secret::new("right password"), HOME).await;
        assert!(matches!(attempt, Err(AuthError::Throttled(_))), "even the right password waits at this source");
        assert!(started.elapsed() < Duration::from_millis(5), "the throttle answers without hashing");
        let elsewhere = accounts.login("bob", &Secret::new("right password"), ELSEWHERE).await;
        assert!(elsewhere.is_ok(), "the real user still logs in from elsewhere");

        // Guessing spread over many sources hits the per-user bound.
        for source in 10..20u8 {
            for _ in 0..5 {
                let from = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, source));
                let _ = accounts.login("bob", &Secret::new("nope nope"), from).await;
            }
        }
        let attempt = accounts.login("bob", &Secret::new("right password"), ELSEWHERE).await;
        assert!(matches!(attempt, Err(AuthError::Throttled(_))));
    }

    #[tokio::test]
    async fn a_login_that_cannot_be_valid_is_refused_at_once_and_remembered_nowhere() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = accounts(dir.path());
        let huge = "x".repeat(60_000);
        for (username, password) in [(huge.as_str(), "long enough"), ("bad name!", "long enough"), ("alice", "short")] {
            let started = Instant::now();
            let attempt = accounts.login(username, &Secret::new(password), HOME).await;
            assert!(matches!(attempt, Err(AuthError::BadCredentials)));
            assert!(started.elapsed() < Duration::from_millis(5), "answered without hashing");
        }
        assert_eq!(accounts.stats(), ((0, 0), (0, 0)), "no hash, and no map holds anything");
    }

    #[tokio::test]
    async fn each_address_has_a_budget_of_password_checks_taken_before_hashing() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = accounts_with(dir.path(), |config| config.auth_per_minute = 3);
        for n in 0..3 {
            let attempt = accounts.login(&format!("nobody{n}"), &Secret::new("some password"), HOME).await;
            assert!(matches!(attempt, Err(AuthError::BadCredentials)), "{attempt:?}");
        }
        let started = Instant::now();
        let attempt = accounts.login("nobody9", &Secret::new("some password"), HOME).await;
        assert!(matches!(attempt, Err(AuthError::AddressThrottled(wait)) if wait > Duration::from_secs(19)), "{attempt:?}");
        assert!(started.elapsed() < Duration::from_millis(5), "refused without hashing");
        assert_eq!(accounts.stats().0, (3, 0), "three hashes, not four");
        let attempt = accounts.login("nobody9", &Secret::new("some password"), ELSEWHERE).await;
        assert!(matches!(attempt, Err(AuthError::BadCredentials)), "another address has its own budget");
    }

    #[tokio::test]
    async fn registrations_are_limited_per_address_and_a_taken_name_costs_a_hash() {
        let dir = tempfile::tempdir().unwrap();
        let accounts = accounts_with(dir.path(), |config| config.registrations_per_hour = 2);
        let (name, password) = (Username::try_from("alice").unwrap(), Password::try_from("correct horse").unwrap());
        accounts.register(&name, &password, HOME).await.unwrap();
        let taken = accounts.register(&Username::try_from("ALICE").unwrap(), &password, HOME).await;
        assert!(matches!(taken, Err(AuthError::UsernameTaken)), "{taken:?}");
        assert_eq!(accounts.stats().0, (2, 0), "the taken name was hashed like a new account");
        let third = accounts.register(&Username::try_from("carol").unwrap(), &password, HOME).await;
        assert!(matches!(third, Err(AuthError::RegistrationsThrottled(_))), "{third:?}");
        assert!(accounts.register(&Username::try_from("carol").unwrap(), &password, ELSEWHERE).await.is_ok());
    }
}
