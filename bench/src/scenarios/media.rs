//! B8 attachments: a large file uploaded with tus and downloaded over
//! loopback, beside this machine's own limits measured in the same run on
//! the same disk: `dd … conv=fsync` for writes (every upload byte is
//! fsync'd before it is acknowledged), `python3 -m http.server` serving the
//! same file for downloads. The server's peak RSS during a transfer of the
//! large file and of one a tenth its size shows whether memory grows with
//! file size (it should not: bytes are streamed).

use super::{Bed, Figures, Size};
use crate::proc_stat::rss_kib;
use crate::servers::{Peer, free_port};
use crate::toolbox::{Toolbox, say};
use anyhow::{Context, Result, bail, ensure};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub const UPLOAD: &str = "b8_upload_mib_s";
pub const DISK: &str = "b8_disk_fsync_mib_s";
pub const UPLOAD_RATIO: &str = "b8_upload_vs_disk";
pub const DOWNLOAD: &str = "b8_download_mib_s";
pub const STATIC: &str = "b8_static_mib_s";
pub const DOWNLOAD_RATIO: &str = "b8_download_vs_static";
pub const FILE_MIB: &str = "b8_file_mib";
pub const RSS_SMALL: &str = "b8_rss_growth_small_kib";
pub const RSS_LARGE: &str = "b8_rss_growth_large_kib";

const MIB: usize = 1024 * 1024;

/// One run per repetition: fresh server, the machine's limits, then the transfers.
pub async fn run(peer: Peer, tools: &Toolbox, size: Size) -> Result<Vec<Figures>> {
    let large_mib = size.pick(20, 100);
    let mut runs = Vec::new();
    for _ in 0..size.runs {
        let bed = Bed::start(peer, tools, 1).await?;
        let token = bed.target.tokens.first().context("no pool user")?.clone();
        let base = format!("http://{}", bed.target.addr);
        let dir = bed.server.dir.path().to_path_buf();
        let http = client()?;
        let disk = dd_fsync_rate(&dir, large_mib)?;
        let small = payload(&dir.join("small.bin"), large_mib * MIB / 10, 1)?;
        let large = payload(&dir.join("large.bin"), large_mib * MIB, 2)?;

        let baseline = rss_kib(bed.server.pid)?;
        let (_, small_peak) = with_peak_rss(bed.server.pid, upload(&http, &base, &token, &small)).await?;
        let ((large_media, upload_secs), large_peak) = with_peak_rss(bed.server.pid, upload(&http, &base, &token, &large)).await?;
        let upload_rate = large_mib as f64 / upload_secs;
        let ((downloaded, download_secs), download_peak) =
            with_peak_rss(bed.server.pid, fetch(&http, &format!("{base}/media/{large_media}"), Some(&token))).await?;
        ensure!(downloaded == (large_mib * MIB) as u64, "downloaded {downloaded} bytes of {}", large_mib * MIB);
        let static_rate = static_server_rate(tools, &http, &dir, large_mib).await?;
        let download_rate = large_mib as f64 / download_secs;
        let growth = |peak: u64| peak.saturating_sub(baseline) as f64;
        say(format!(
            "B8 {}: {large_mib} MiB up {upload_rate:.0} MiB/s (disk fsync {disk:.0}), down {download_rate:.0} MiB/s \
             (http.server {static_rate:.0}); RSS growth {:.0} KiB for {} MiB, {:.0} KiB for {large_mib} MiB",
            peer.name(),
            growth(small_peak),
            large_mib / 10,
            growth(large_peak.max(download_peak)),
        ));
        runs.push(vec![
            (FILE_MIB, large_mib as f64),
            (UPLOAD, upload_rate),
            (DISK, disk),
            (UPLOAD_RATIO, upload_rate / disk),
            (DOWNLOAD, download_rate),
            (STATIC, static_rate),
            (DOWNLOAD_RATIO, download_rate / static_rate),
            (RSS_SMALL, growth(small_peak)),
            (RSS_LARGE, growth(large_peak.max(download_peak))),
        ]);
        bed.finish().await?;
    }
    Ok(runs)
}

/// A plain-HTTP client (reqwest is built without a default TLS provider,
/// so it is handed an unused rustls configuration).
fn client() -> Result<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    Ok(reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(300)).use_preconfigured_tls(tls).build()?)
}

/// The disk's fsync'd sequential write rate (MiB/s) in `dir`, as `dd` sees it.
fn dd_fsync_rate(dir: &Path, mib: usize) -> Result<f64> {
    let target = dir.join("dd.bin");
    let started = Instant::now();
    let status = std::process::Command::new("dd")
        .arg("if=/dev/zero")
        .arg(format!("of={}", target.display()))
        .args(["bs=1M", &format!("count={mib}"), "conv=fsync", "status=none"])
        .status()
        .context("running dd")?;
    let seconds = started.elapsed().as_secs_f64();
    ensure!(status.success(), "dd failed: {status}");
    std::fs::remove_file(&target)?;
    Ok(mib as f64 / seconds)
}

/// A file of `bytes` pseudo-random bytes (written, not held, a MiB at a time).
fn payload(path: &Path, bytes: usize, seed: u64) -> Result<std::path::PathBuf> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut block = vec![0u8; MIB];
    let mut left = bytes;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let take = left.min(MIB);
        file.write_all(&block[..take])?;
        left -= take;
    }
    file.flush()?;
    Ok(path.to_path_buf())
}

/// Runs `work` while sampling the server's RSS; returns its result and the peak (KiB).
async fn with_peak_rss<T>(pid: u32, work: impl std::future::Future<Output = Result<T>>) -> Result<(T, u64)> {
    let peak = Arc::new(AtomicU64::new(rss_kib(pid)?));
    let sampler = {
        let peak = Arc::clone(&peak);
        tokio::spawn(async move {
            loop {
                if let Ok(rss) = rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let outcome = work.await;
    sampler.abort();
    let rss = rss_kib(pid)?;
    Ok((outcome?, peak.load(Ordering::Relaxed).max(rss)))
}

/// Uploads `path` with tus: creation, then one PATCH streaming the whole
/// file from disk (as tuspy does by default); returns the media id and the
/// seconds from creation to the PATCH's answer, which comes once every byte
/// is fsync'd and the upload is complete.
async fn upload(http: &reqwest::Client, base: &str, token: &str, path: &Path) -> Result<(String, f64)> {
    let file = tokio::fs::File::open(path).await?;
    let length = file.metadata().await?.len();
    let started = Instant::now();
    let created = http
        .post(format!("{base}/media/uploads"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", length.to_string())
        .send()
        .await?;
    ensure!(created.status().as_u16() == 201, "creation answered {}", created.status());
    let location = created.headers().get("location").and_then(|v| v.to_str().ok()).context("no Location")?.to_owned();
    let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024));
    let patched = http
        .patch(format!("{base}{location}"))
        .bearer_auth(token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/offset+octet-stream")
        .header("Content-Length", length.to_string())
        .body(body)
        .send()
        .await?;
    ensure!(patched.status().as_u16() == 204, "the PATCH answered {}", patched.status());
    let offset: u64 = patched.headers().get("upload-offset").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).context("no Upload-Offset")?;
    ensure!(offset == length, "the PATCH ended at {offset} of {length}");
    let media = location.rsplit('/').next().context("no id in Location")?.to_owned();
    Ok((media, started.elapsed().as_secs_f64()))
}

/// GETs `url`, discarding the body; returns the bytes and seconds.
async fn fetch(http: &reqwest::Client, url: &str, token: Option<&str>) -> Result<(u64, f64)> {
    let started = Instant::now();
    let mut request = http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await?;
    ensure!(response.status().is_success(), "GET {url} answered {}", response.status());
    let mut bytes = 0u64;
    while let Some(chunk) = response.chunk().await? {
        bytes += chunk.len() as u64;
    }
    Ok((bytes, started.elapsed().as_secs_f64()))
}

/// `python3 -m http.server` (on the server's CPU) serving the same file: MiB/s.
async fn static_server_rate(tools: &Toolbox, http: &reqwest::Client, dir: &Path, mib: usize) -> Result<f64> {
    let port = free_port()?;
    let mut server = tokio::process::Command::new("taskset")
        .arg("-c")
        .arg(tools.server_cpu.to_string())
        .args(["python3", "-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting python3 -m http.server")?;
    let url = format!("http://127.0.0.1:{port}/large.bin");
    let mut ready = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !ready {
        bail!("python3 -m http.server did not listen within 5 s");
    }
    let (bytes, seconds) = fetch(http, &url, None).await?;
    let _ = server.kill().await;
    ensure!(bytes == (mib * MIB) as u64, "http.server sent {bytes} bytes");
    Ok(mib as f64 / seconds)
}
