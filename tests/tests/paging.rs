//! `list_rooms` and a room's member list come in pages with opaque cursors,
//! so neither a user in many rooms nor a room with many members makes a
//! reply too large to deliver (docs/PROTOCOL.md, "Replies are bounded").
//!
//! Sizes: `HEARTLINK_PAGING_ROOMS` rooms for one user (default 250; the
//! long run uses 6,000, with the membership cap lifted).

use heartlink_protocol::limits::{JOIN_MEMBERS_MAX, LIST_DEFAULT_LIMIT, REPLY_BYTES};
use heartlink_tests::{PASSWORD, TestServer, WsClient};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

fn rooms_to_create() -> usize {
    std::env::var("HEARTLINK_PAGING_ROOMS").ok().and_then(|n| n.parse().ok()).unwrap_or(250)
}

/// Creates `count` rooms as the user holding `token`, over connections that
/// each stay within the per-connection request limit; returns their ids.
async fn create_rooms(url: &str, token: &str, count: usize) -> Vec<String> {
    let workers = count.div_ceil(90).min(32);
    let per_worker = count.div_ceil(workers);
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (url, token) = (url.to_owned(), token.to_owned());
        let numbers: Vec<usize> = (worker * per_worker..((worker + 1) * per_worker).min(count)).collect();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for batch in numbers.chunks(90) {
                let (mut client, _) = WsClient::resume(&url, &token).await;
                for n in batch {
                    client.send(json!({"type": "create_room", "name": format!("room {n}")})).await;
                }
                for _ in batch {
                    let created = client.recv_type("room_created").await;
                    ids.push(created["room"]["id"].as_str().unwrap().to_owned());
                }
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap());
    }
    ids
}

/// A reply of `kind` to `request`, and its size, which must be within the bound.
async fn page(client: &mut WsClient, request: Value, kind: &str) -> (Value, usize) {
    client.send(request.clone()).await;
    let (reply, size) = client.recv_sized().await;
    assert_eq!(reply["type"], kind, "{request} should be answered with {kind}, got {reply}");
    assert!(size <= REPLY_BYTES, "{kind} of {size} bytes exceeds the bound");
    (reply, size)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_in_many_rooms_lists_them_page_by_page() {
    let count = rooms_to_create();
    let server = TestServer::start(&["--rooms-per-hour", "0", "--memberships-per-user", "0"]);
    let (mut alice, established) = WsClient::register(&server.url, "alice").await;
    let token = established["token"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let created = create_rooms(&server.url, &token, count).await;
    let creating = started.elapsed();

    // An old client's request, without cursor or limit: the first page.
    let (first, _) = page(&mut alice, json!({"type": "list_rooms"}), "rooms").await;
    assert_eq!(first["rooms"].as_array().unwrap().len(), (LIST_DEFAULT_LIMIT as usize).min(count));
    assert_eq!(first["has_more"], count > LIST_DEFAULT_LIMIT as usize);

    let started = Instant::now();
    let (mut listed, mut cursor, mut pages, mut largest) = (Vec::<Value>::new(), None::<Value>, 0, 0);
    loop {
        let mut request = json!({"type": "list_rooms", "limit": 200});
        if let Some(cursor) = &cursor {
            request["cursor"] = cursor.clone();
        }
        let (reply, size) = page(&mut alice, request, "rooms").await;
        (pages, largest) = (pages + 1, largest.max(size));
        listed.extend(reply["rooms"].as_array().unwrap().iter().cloned());
        if reply["has_more"] != true {
            assert!(reply.get("cursor").is_none(), "the last page has no cursor: {reply}");
            break;
        }
        cursor = Some(reply["cursor"].clone());
    }
    let listing = started.elapsed();
    let ids: Vec<&str> = listed.iter().map(|row| row["room"]["id"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = created.iter().map(String::as_str).collect();
    let mut sorted_ids = ids.clone();
    sorted_ids.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted_ids, expected, "every room exactly once");
    let times: Vec<u64> = listed.iter().map(|row| row["room"]["created_at"].as_u64().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] < pair[1]), "oldest first");

    let bad = alice.expect_error(json!({"type": "list_rooms", "cursor": "not-a-cursor"}), "bad_request").await;
    assert!(bad["message"].as_str().unwrap().contains("cursor"), "{bad}");
    eprintln!(
        "figure: {count} rooms of one user (created in {creating:.2?}) listed in {pages} pages of up to 200 in \
         {listing:.2?}, largest reply {largest} bytes; a request without cursor gets the first {LIST_DEFAULT_LIMIT}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_rooms_member_list_and_read_markers_come_in_bounded_pages() {
    let server = TestServer::start(&[]);
    let (mut owner, _) = WsClient::register(&server.url, "owner").await;
    let room = owner.create_room("crowded").await["id"].clone();
    owner.join(&room).await;
    owner.send(json!({"type": "send", "room_id": room, "client_msg_id": "hello", "body": "hello"})).await;
    owner.recv_until("ack").await;

    // More members than one `joined` lists, each from its own address (as
    // many people would be) and each with a read marker.
    let crowd = JOIN_MEMBERS_MAX as usize + 10;
    let started = Instant::now();
    // Registered four at a time (the server hashes two passwords at once),
    // joined one after the other so the join order is known.
    for pair in (0..crowd).collect::<Vec<_>>().chunks(4) {
        let mut registered = Vec::new();
        for n in pair {
            let source = IpAddr::V4(Ipv4Addr::new(127, 0, 1 + (n / 250) as u8, 1 + (n % 250) as u8));
            let url = server.url.clone();
            let n = *n;
            registered.push(tokio::spawn(async move {
                let mut member = WsClient::connect_from(&url, source).await;
                let register = json!({"type": "register", "username": format!("member{n:03}"), "password": PASSWORD});
                member.request(register, "connection_established").await;
                member
            }));
        }
        for member in registered {
            let mut member = member.await.unwrap();
            member.join(&room).await;
            member.send(json!({"type": "read", "room_id": room, "seq": 1})).await;
            member.sync().await;
        }
    }
    let joining = started.elapsed();

    let (mut late, _) = WsClient::register(&server.url, "latecomer").await;
    let (joined, joined_size) = page(&mut late, json!({"type": "join", "room_id": room}), "joined").await;
    let first: Vec<Value> = joined["members"].as_array().unwrap().clone();
    assert_eq!(first.len(), JOIN_MEMBERS_MAX as usize, "joined lists at most {JOIN_MEMBERS_MAX} members");
    assert_eq!(first[0]["user"]["username"], "owner", "oldest membership first");
    assert!(joined["reads"].as_array().unwrap().len() <= JOIN_MEMBERS_MAX as usize);
    let cursor = joined["members_cursor"].clone();
    assert!(cursor.is_string(), "more members follow: {}", joined["members_cursor"]);

    // The rest, two at a time, from the cursor `joined` gave.
    let (mut rest, mut cursor, mut pages) = (Vec::new(), cursor, 0);
    loop {
        let request = json!({"type": "members", "room_id": room, "cursor": cursor, "limit": 7});
        let (reply, _) = page(&mut late, request, "members").await;
        rest.extend(reply["members"].as_array().unwrap().iter().cloned());
        pages += 1;
        if reply["has_more"] == false {
            break;
        }
        cursor = reply["cursor"].clone();
    }
    let names: Vec<String> = first.iter().chain(&rest).map(|m| m["user"]["username"].as_str().unwrap().to_owned()).collect();
    let mut expected = vec!["owner".to_owned()];
    expected.extend((0..crowd).map(|n| format!("member{n:03}")));
    expected.push("latecomer".to_owned());
    assert_eq!(names, expected, "every member once, in join order");

    // The first page again, without a cursor; a bad cursor; no join, no list.
    let (again, _) = page(&mut late, json!({"type": "members", "room_id": room, "limit": 3}), "members").await;
    assert_eq!(again["members"][0]["user"]["username"], "owner");
    late.expect_error(json!({"type": "members", "room_id": room, "cursor": "m1.zz"}), "bad_request").await;
    let (mut outsider, _) = WsClient::register(&server.url, "outsider").await;
    outsider.expect_error(json!({"type": "members", "room_id": room}), "forbidden").await;
    eprintln!(
        "figure: a room of {} members: joined listed {JOIN_MEMBERS_MAX} and a members_cursor ({joined_size} bytes), \
         {pages} members pages of 7 listed the rest in join order; {crowd} members registered and joined in {joining:.2?}",
        crowd + 2
    );
}
