//! The HTTP side of the one port (PROTOCOL.md, "HTTP on the same
//! listener"): `/healthz` (503 with a reason when the disk fails it),
//! `/metrics` in Prometheus text format counting what users did, unknown
//! paths 404 with a JSON body, and all of it over TLS too.

use heartlink_tests::media_client::random_bytes;
use heartlink_tests::tls_files::TlsFiles;
use heartlink_tests::{MediaClient, TestServer, WsClient};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The value of an unlabelled (or exactly labelled) sample in Prometheus text.
fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in:\n{metrics}"))
}

#[tokio::test]
async fn healthz_and_metrics_tell_what_the_server_did() {
    let server = TestServer::start(&[]);
    let http = MediaClient::new(&server.addr);
    let health = http.send(http.plain(Method::GET, "/healthz")).await;
    assert_eq!(health.status(), StatusCode::OK);
    let body: Value = health.json().await.expect("JSON");
    assert_eq!((&body["status"], &body["store"], &body["media"]), (&"ok".into(), &"ok".into(), &"ok".into()));

    let (mut alice, established) = WsClient::register(&server.url, "alice").await;
    let token = established["token"].as_str().expect("token").to_owned();
    let room_id = alice.create_room("counted").await["id"].clone();
    alice.join(&room_id).await;
    for n in 0..3 {
        alice.post(&room_id, &format!("m{n}"), "hello").await;
    }
    http.upload(&token, &random_bytes(5000, 1), "x.bin", 5000).await;

    let response = http.send(http.plain(Method::GET, "/metrics")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let metrics = response.text().await.expect("text");
    assert_eq!(sample(&metrics, "heartlink_connections"), 1.0, "alice's one WebSocket");
    assert_eq!(sample(&metrics, "heartlink_messages_total"), 3.0);
    assert!(metrics.contains("# TYPE heartlink_ack_seconds histogram"), "{metrics}");
    assert_eq!(sample(&metrics, "heartlink_ack_seconds_count"), 3.0);
    assert_eq!(sample(&metrics, "heartlink_ack_seconds_bucket{le=\"+Inf\"}"), 3.0);
    assert_eq!(sample(&metrics, "heartlink_media_bytes_total{direction=\"upload\"}"), 5000.0);
    assert!(metrics.contains("heartlink_http_requests_total{route=\"healthz\",status=\"200\"} 1"), "{metrics}");

    drop(alice);
    let closed = || async {
        let text = http.send(http.plain(Method::GET, "/metrics")).await.text().await.expect("text");
        sample(&text, "heartlink_connections") == 0.0
    };
    heartlink_tests::media_client::eventually("the closed connection is no longer counted", closed).await;
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_refusals() {
    let server = TestServer::start(&[]);
    let http = MediaClient::new(&server.addr);
    for path in ["/", "/chat", "/ws/", "/media", "/media/a/b", "/healthz/x"] {
        let response = http.send(http.plain(Method::GET, path)).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["code"], "not_found", "{path}");
    }
    let plain_ws = http.send(http.plain(Method::GET, "/ws")).await;
    assert_eq!(plain_ws.status(), StatusCode::UPGRADE_REQUIRED, "a GET /ws without the upgrade says what is missing");
    assert_eq!(http.send(http.plain(Method::POST, "/healthz")).await.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(http.send(http.plain(Method::DELETE, "/metrics")).await.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn healthz_is_503_with_the_reason_when_the_media_directory_fails() {
    let server = TestServer::start(&[]);
    let http = MediaClient::new(&server.addr);
    let uploads = server.data_dir().join("media/uploads");
    std::fs::remove_dir_all(&uploads).expect("remove the uploads dir");
    std::fs::write(&uploads, b"not a directory").expect("put a file in its place");
    // A result younger than a second may be reused; the next one is fresh.
    let failing = || async {
        let response = http.send(http.plain(Method::GET, "/healthz")).await;
        response.status() == StatusCode::SERVICE_UNAVAILABLE
    };
    heartlink_tests::media_client::eventually("healthz notices the broken media directory", failing).await;
    let body: Value = http.send(http.plain(Method::GET, "/healthz")).await.json().await.expect("JSON");
    assert_eq!(body["status"], "unavailable");
    assert!(body["reason"].as_str().is_some_and(|reason| reason.contains("media directory")), "{body}");
}

#[tokio::test]
async fn https_serves_the_same_endpoints_beside_wss() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tls = TlsFiles::localhost(dir.path());
    let flags = tls.server_flags();
    let server = TestServer::start(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(server.url.starts_with("wss://"));
    let port = server.addr.rsplit(':').next().expect("port");
    let mut roots = rustls::RootCertStore::empty();
    use rustls_pki_types::pem::PemObject;
    roots.add(rustls_pki_types::CertificateDer::from_pem_slice(tls.cert_pem.as_bytes()).expect("PEM")).expect("CA");
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let client = reqwest::Client::builder().no_proxy().use_preconfigured_tls(config).build().expect("client");
    let health = client.get(format!("https://localhost:{port}/healthz")).send().await.expect("https request");
    assert_eq!(health.status(), StatusCode::OK);
    let wss = WsClient::connect_tls(&format!("wss://localhost:{port}/ws"), &tls.cert_pem).await;
    drop(wss);
    let plain = MediaClient::new(&server.addr);
    assert!(plain.plain(Method::GET, "/healthz").send().await.is_err(), "no plain HTTP on a TLS port");
}
