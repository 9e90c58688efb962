//! The Redis live state against a real redis-server, with the rules of the
//! in-memory one (live/local.rs), and what only a shared one can show: two
//! nodes' views of one user, and a node whose heartbeat stops.

use heartlink_server::Config;
use heartlink_server::address::AddressKey;
use heartlink_server::live::redis::RedisLive;
use heartlink_server::live::{Admission, Closed, LiveState, MatchOutcome, MatchTicket, Quota, Rate};
use heartlink_server::node::{ConnIds, NodeId};
use heartlink_protocol::{PresenceStatus, User, UserId};
use heartlink_tests::redis::RedisServer;

fn config() -> Config {
    Config::new(std::path::PathBuf::from("unused"))
}

fn node(redis: &RedisServer, id: u64, config: &Config) -> RedisLive {
    RedisLive::new(&redis.url, NodeId::from_raw(id), config).unwrap()
}

fn user(name: &str) -> User {
    User { id: UserId::random(), username: name.into() }
}

fn ticket(ids: &ConnIds, user: &User, code: Option<&str>, avoid: &[UserId]) -> MatchTicket {
    MatchTicket { conn: ids.next(), user: user.clone(), code: code.map(str::to_owned), avoid: avoid.to_vec() }
}

#[tokio::test]
async fn presence_counts_connections_over_nodes_with_the_grace_of_the_local_state() {
    let redis = RedisServer::start();
    let (one, two) = (node(&redis, 1, &config()), node(&redis, 2, &config()));
    one.heartbeat().await.unwrap();
    two.heartbeat().await.unwrap();
    let (alice, bob) = (UserId::random(), UserId::random());
    assert_eq!(one.connection_opened(alice).await.unwrap(), Some(PresenceStatus::Online));
    assert_eq!(two.connection_opened(alice).await.unwrap(), None, "a second connection, on another node, is not a new arrival");
    assert_eq!(two.online(&[alice, bob]).await.unwrap(), [true, false]);
    assert_eq!(two.set_away(alice, true).await.unwrap(), None, "her connection on node one is active");
    assert_eq!(one.set_away(alice, true).await.unwrap(), Some(PresenceStatus::Away));
    assert_eq!(one.statuses(&[alice]).await.unwrap(), [PresenceStatus::Away]);
    assert_eq!(one.connection_closed(alice, true).await.unwrap(), Closed::Stays(None));
    let Closed::Last { leaving } = two.connection_closed(alice, true).await.unwrap() else { panic!("her last connection") };
    assert_eq!(one.online(&[alice]).await.unwrap(), [true], "shown during the grace period");
    // Back within the grace, on node one: nothing to announce, the old grace no longer counts.
    assert_eq!(one.connection_opened(alice).await.unwrap(), Some(PresenceStatus::Online), "back from away");
    assert!(!two.offline_due(alice, leaving).await.unwrap());
    let Closed::Last { leaving } = one.connection_closed(alice, false).await.unwrap() else { panic!("her last connection") };
    assert!(two.offline_due(alice, leaving).await.unwrap());
    assert_eq!(one.statuses(&[alice, bob]).await.unwrap(), [PresenceStatus::Offline; 2]);
}

#[tokio::test]
async fn the_match_queue_follows_the_local_rules_across_nodes() {
    let redis = RedisServer::start();
    let (one, two) = (node(&redis, 1, &config()), node(&redis, 2, &config()));
    let (ids_one, ids_two) = (ConnIds::new(NodeId::from_raw(1)), ConnIds::new(NodeId::from_raw(2)));
    let (alice, bob, carol, dave) = (user("alice"), user("bob"), user("carol"), user("dave"));
    let alice_waits = ticket(&ids_one, &alice, Some("4242"), &[]);
    assert_eq!(one.request_match(alice_waits.clone()).await.unwrap(), MatchOutcome::Waiting);
    assert_eq!(two.request_match(ticket(&ids_two, &alice, Some("4242"), &[])).await.unwrap(), MatchOutcome::Waiting, "asking twice keeps the place");
    assert_eq!(two.request_match(ticket(&ids_two, &dave, None, &[])).await.unwrap(), MatchOutcome::Waiting, "random never takes a coded wait");
    assert_eq!(two.request_match(ticket(&ids_two, &bob, Some("4242"), &[])).await.unwrap(), MatchOutcome::Matched(alice_waits));
    // bob and alice were just paired: not again for a while. carol blocked alice.
    assert_eq!(one.request_match(ticket(&ids_one, &alice, Some("7"), &[])).await.unwrap(), MatchOutcome::Waiting);
    assert_eq!(two.request_match(ticket(&ids_two, &bob, Some("7"), &[])).await.unwrap(), MatchOutcome::Waiting, "a recent partner");
    let carol_ticket = ticket(&ids_one, &carol, Some("7"), &[alice.id]);
    assert!(matches!(one.request_match(carol_ticket).await.unwrap(), MatchOutcome::Matched(t) if t.user.id == bob.id), "carol skips alice");
    // Cancelling, closing the waiting connection, expiry.
    one.cancel_match(alice.id).await.unwrap();
    let carol_waits = ticket(&ids_one, &carol, None, &[]);
    two.cancel_match(dave.id).await.unwrap();
    assert_eq!(one.request_match(carol_waits.clone()).await.unwrap(), MatchOutcome::Waiting);
    two.forget_connection(ids_two.next()).await.unwrap();
    two.forget_connection(carol_waits.conn).await.unwrap();
    assert_eq!(two.request_match(ticket(&ids_two, &dave, None, &[])).await.unwrap(), MatchOutcome::Waiting, "carol's wait ended");
    let expired = one.expire_matches(std::time::Duration::ZERO).await.unwrap();
    assert_eq!(expired.iter().map(|t| t.user.id).collect::<Vec<_>>(), [dave.id]);
    assert!(one.expire_matches(std::time::Duration::ZERO).await.unwrap().is_empty());
}

#[tokio::test]
async fn rates_logins_and_quotas_are_shared_by_the_nodes() {
    let redis = RedisServer::start();
    let mut config = config();
    config.send_rate = 1;
    config.login_failures_per_minute = 2;
    config.rooms_per_hour = 2;
    let (one, two) = (node(&redis, 1, &config), node(&redis, 2, &config));
    let (alice, bob) = (UserId::random(), UserId::random());
    assert_eq!(one.admit(Rate::Sends, alice).await.unwrap(), Admission::Allowed);
    assert_eq!(two.admit(Rate::Sends, alice).await.unwrap(), Admission::Allowed, "a burst of twice the rate, over both nodes");
    assert!(matches!(one.admit(Rate::Sends, alice).await.unwrap(), Admission::RetryAfter(_)));
    assert!(matches!(two.admit(Rate::Sends, alice).await.unwrap(), Admission::RetryAfter(wait) if wait <= std::time::Duration::from_secs(1)));
    assert_eq!(two.admit(Rate::Sends, bob).await.unwrap(), Admission::Allowed, "another user's budget");

    let home = AddressKey::from(std::net::IpAddr::from([10, 0, 0, 1]));
    let elsewhere = AddressKey::from(std::net::IpAddr::from([10, 0, 0, 2]));
    one.login_failed(home, "bob").await.unwrap();
    two.login_failed(home, "bob").await.unwrap();
    assert!(matches!(one.admit_login(home, "bob").await.unwrap(), Admission::RetryAfter(_)), "failures on both nodes count");
    assert_eq!(two.admit_login(elsewhere, "bob").await.unwrap(), Admission::Allowed, "another address");
    two.login_succeeded(home, "bob").await.unwrap();
    assert_eq!(one.admit_login(home, "bob").await.unwrap(), Admission::Allowed);
    for n in 0..20u8 {
        two.login_failed(AddressKey::from(std::net::IpAddr::from([10, 1, 0, n])), "bob").await.unwrap();
    }
    assert!(matches!(one.admit_login(elsewhere, "bob").await.unwrap(), Admission::RetryAfter(_)), "the per-username bound");

    assert_eq!(one.quota_take(Quota::Rooms, alice).await.unwrap(), Admission::Allowed);
    two.quota_record(Quota::Rooms, alice).await.unwrap();
    assert!(matches!(one.quota_check(Quota::Rooms, alice).await.unwrap(), Admission::RetryAfter(_)));
    assert!(matches!(two.quota_take(Quota::Rooms, alice).await.unwrap(), Admission::RetryAfter(wait) if wait > std::time::Duration::from_secs(3500)));
    assert_eq!(two.quota_check(Quota::PairRooms, alice).await.unwrap(), Admission::Allowed, "another quota");
    assert_eq!(one.quota_check(Quota::Rooms, bob).await.unwrap(), Admission::Allowed, "another user's quota");
}
