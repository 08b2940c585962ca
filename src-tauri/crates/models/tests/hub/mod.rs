//! A local server that speaks the Hub's file protocol over real HTTP and
//! serves a real GGUF file (the Gemma 3 270M test model), with faults to
//! inject: dropped connections, 5xx/429, an ignored `Range`, a wrong
//! checksum, slowness. It also plays a hostile mirror: path tricks in
//! `X-Repo-Commit` and in listings, wrong sizes, any bytes under any name,
//! a redirect to another host, a slow drip, a listing of any size.
#![allow(dead_code)]
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const REPO: &str = "test-org/gemma-3-270m-GGUF";
pub const FILE: &str = "gemma-3-270m-q4_k_m.gguf";
/// A second, smaller file in the same repo (the model's first 16 MiB), for
/// downloads that run side by side.
pub const FILE2: &str = "gemma-3-270m-head.bin";
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

pub struct Model {
    pub bytes: Vec<u8>,
    pub sha256: String,
}

/// The real file, read once per test binary.
pub fn model() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..");
        let out = std::process::Command::new(root.join("scripts/fetch-test-models"))
            .args(["--print-path", "gemma-270m"])
            .output()
            .unwrap();
        let path = String::from_utf8(out.stdout).unwrap().trim().to_string();
        let bytes =
            std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/fetch-test-models gemma-270m"));
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Model { bytes, sha256 }
    })
}

pub fn second() -> &'static Model {
    static M: OnceLock<Model> = OnceLock::new();
    M.get_or_init(|| {
        let bytes = model().bytes[..16 << 20].to_vec();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Model { bytes, sha256 }
    })
}

#[derive(Default)]
pub struct Faults {
    /// Absolute offsets at which a body is cut off, once each.
    pub drop_at: VecDeque<u64>,
    /// Statuses answered to the next GETs of the file, in order.
    pub statuses: VecDeque<u16>,
    pub ignore_range: bool,
    pub wrong_sha: bool,
    /// A pause after each 64 KiB of body.
    pub slow: Option<Duration>,
    /// 401 for everything: an expired token.
    pub unauthorized: bool,
    /// `X-Repo-Commit` as sent: None, the real commit; Some(None), no
    /// header; Some(Some(v)), `v` (`../../x`, an absolute path…).
    pub commit: Option<Option<String>>,
    /// `X-Linked-Size` claimed instead of the real size.
    pub claimed_size: Option<u64>,
    /// Any repo and any file name (and revision) resolve to the model: a
    /// mirror that serves its bytes under whatever name is asked for.
    pub any_name: bool,
    /// The body of the repo's listing (`/api/models/REPO`), instead of the real one.
    pub listing: Option<String>,
    /// `Retry-After` (seconds) sent with `statuses`.
    pub retry_after: u64,
    /// After `.0` bytes of a body, one byte every `.1`.
    pub drip: Option<(u64, Duration)>,
    /// The base URL `resolve` redirects the bytes to (another server),
    /// instead of this one's `/cdn/`.
    pub cdn: Option<String>,
}

#[derive(Default)]
pub struct Log {
    /// (method, path, range start) of every request; the bytes come from
    /// `/cdn/…`, where `resolve` redirects.
    pub requests: Vec<(String, String, Option<u64>)>,
    /// (path, Authorization header) of every request.
    pub authorization: Vec<(String, Option<String>)>,
}

pub struct Server {
    pub url: String,
    pub faults: Arc<Mutex<Faults>>,
    pub log: Arc<Mutex<Log>>,
}

impl Server {
    pub async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let faults = Arc::new(Mutex::new(Faults::default()));
        let log = Arc::new(Mutex::new(Log::default()));
        let (f, l) = (faults.clone(), log.clone());
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else { return };
                tokio::spawn(serve(sock, f.clone(), l.clone()));
            }
        });
        Server { url, faults, log }
    }

    pub fn gets_with_range(&self) -> Vec<Option<u64>> {
        let log = self.log.lock().unwrap();
        log.requests.iter().filter(|r| r.0 == "GET" && r.1.starts_with("/cdn/")).map(|r| r.2).collect()
    }
}

async fn serve(mut sock: TcpStream, faults: Arc<Mutex<Faults>>, log: Arc<Mutex<Log>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head = String::from_utf8_lossy(&buf).to_string();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let (method, path) = (first.next().unwrap_or("").to_string(), first.next().unwrap_or("").to_string());
    let header_lines: Vec<&str> = lines.collect();
    let range: Option<u64> = header_lines
        .iter()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("range: bytes=").map(str::to_string))
        .and_then(|r| r.trim_end_matches('-').parse().ok());
    let auth = header_lines.iter().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("authorization").then(|| v.trim().to_string())
    });
    {
        let mut l = log.lock().unwrap();
        l.requests.push((method.clone(), path.clone(), range));
        l.authorization.push((path.clone(), auth));
    }

    let mut m = model();
    let (unauthorized, wrong_sha, any_name, listing) = {
        let f = faults.lock().unwrap();
        (f.unauthorized, f.wrong_sha, f.any_name, f.listing.clone())
    };
    if unauthorized {
        return respond(&mut sock, "401 Unauthorized", &[], b"").await;
    }
    let sha = if wrong_sha { "f".repeat(64) } else { m.sha256.clone() };
    if let Some(rest) = path.strip_prefix("/api/models") {
        let (route, query) = rest.split_once('?').unwrap_or((rest, ""));
        let body = if route.is_empty() {
            let wanted = query.split('&').find_map(|kv| kv.strip_prefix("search=")).unwrap_or("");
            let hit = !wanted.is_empty() && REPO.to_lowercase().contains(&wanted.to_lowercase());
            let list: Vec<_> =
                hit.then(|| format!(r#"{{"id": "{REPO}", "downloads": 1234, "likes": 5}}"#)).into_iter().collect();
            format!("[{}]", list.join(","))
        } else if route == format!("/{REPO}") && listing.is_some() {
            listing.unwrap_or_default()
        } else if route == format!("/{REPO}") {
            format!(
                r#"{{"id": "{REPO}", "sha": "{COMMIT}", "siblings": [
                    {{"rfilename": "README.md", "size": 120}},
                    {{"rfilename": "{FILE}", "size": {n}, "lfs": {{"sha256": "{sha}", "size": {n}}}}}
                ]}}"#,
                n = m.bytes.len()
            )
        } else {
            return respond(&mut sock, "404 Not Found", &[("X-Error-Code", "RepoNotFound".into())], b"").await;
        };
        return respond(&mut sock, "200 OK", &[("Content-Type", "application/json".into())], body.as_bytes()).await;
    }
    // /{org}/{name}/resolve/{revision}/{file…}, escapes decoded.
    let parts: Vec<&str> = path.splitn(5, '/').collect();
    if let [_, org, name, "resolve", rest] = parts[..] {
        let (_revision, file) = rest.split_once('/').unwrap_or((rest, ""));
        let file = decode(file);
        if !any_name && format!("{org}/{name}") != REPO {
            return respond(&mut sock, "404 Not Found", &[("X-Error-Code", "RepoNotFound".into())], b"").await;
        }
        if file == FILE2 {
            m = second();
        } else if file != FILE && !any_name {
            return respond(&mut sock, "404 Not Found", &[("X-Error-Code", "EntryNotFound".into())], b"").await;
        }
        let sha = if wrong_sha { "f".repeat(64) } else { m.sha256.clone() };
        let (commit, claimed, cdn) = {
            let f = faults.lock().unwrap();
            (f.commit.clone(), f.claimed_size, f.cdn.clone())
        };
        // As the Hub does: a redirect to the content store, with the file's
        // identity on the redirect itself.
        let mut headers = vec![
            ("X-Linked-Etag", format!("\"{sha}\"")),
            ("X-Linked-Size", claimed.unwrap_or(m.bytes.len() as u64).to_string()),
            ("Location", format!("{}/cdn/{}", cdn.unwrap_or_default(), m.sha256)),
        ];
        match commit {
            None => headers.push(("X-Repo-Commit", COMMIT.to_string())),
            Some(Some(c)) => headers.push(("X-Repo-Commit", c)),
            Some(None) => {}
        }
        return respond(&mut sock, "302 Found", &headers, b"").await;
    }
    if path.starts_with(&format!("/{REPO}/")) || !path.starts_with("/cdn/") {
        return respond(&mut sock, "404 Not Found", &[("X-Error-Code", "RepoNotFound".into())], b"").await;
    }
    // The content store, by sha256.
    if path.ends_with(&second().sha256) {
        m = second();
    }
    let (status, ignore_range, slow, drop_at, retry_after, drip) = {
        let mut f = faults.lock().unwrap();
        let start = if f.ignore_range { 0 } else { range.unwrap_or(0) };
        let drop_at = f.drop_at.iter().position(|&d| d > start).map(|i| f.drop_at.remove(i).unwrap());
        (f.statuses.pop_front(), f.ignore_range, f.slow, drop_at, f.retry_after, f.drip)
    };
    if let Some(s) = status {
        let line = match s {
            429 => "429 Too Many Requests",
            503 => "503 Service Unavailable",
            _ => "500 Internal Server Error",
        };
        return respond(&mut sock, line, &[("Retry-After", retry_after.to_string())], b"").await;
    }
    let total = m.bytes.len() as u64;
    let start = if ignore_range { 0 } else { range.unwrap_or(0).min(total) };
    let (line, mut headers) = match (range, ignore_range) {
        (Some(_), false) => {
            ("206 Partial Content", vec![("Content-Range", format!("bytes {start}-{}/{total}", total - 1))])
        }
        _ => ("200 OK", vec![]),
    };
    headers.push(("Content-Length", (total - start).to_string()));
    let mut out = format!("HTTP/1.1 {line}\r\nConnection: close\r\n");
    for (k, v) in &headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    if sock.write_all(out.as_bytes()).await.is_err() || method == "HEAD" {
        return;
    }
    let end = drop_at.unwrap_or(total).min(total);
    let mut pos = start;
    while pos < end {
        if let Some((_, every)) = drip.filter(|(after, _)| pos >= *after) {
            if sock.write_all(&m.bytes[pos as usize..pos as usize + 1]).await.is_err() {
                return;
            }
            pos += 1;
            tokio::time::sleep(every).await;
            continue;
        }
        let mut n = (end - pos).min(64 * 1024);
        if let Some((after, _)) = drip.filter(|(after, _)| pos < *after) {
            n = n.min(after - pos);
        }
        if sock.write_all(&m.bytes[pos as usize..(pos + n) as usize]).await.is_err() {
            return;
        }
        pos += n;
        if let Some(d) = slow {
            tokio::time::sleep(d).await;
        }
    }
    let _ = sock.shutdown().await;
}

async fn respond(sock: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let _ = sock.write_all(out.as_bytes()).await;
    let _ = sock.write_all(body).await;
    let _ = sock.shutdown().await;
}

/// `%XX` escapes decoded, as a server reads a path.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A repo listing (`/api/models/REPO`) of these (name, size, sha256) files.
pub fn listing(files: &[(String, u64, String)]) -> String {
    let siblings: Vec<String> = files
        .iter()
        .map(|(f, n, sha)| {
            let f = serde_json::to_string(f).unwrap();
            format!(r#"{{"rfilename": {f}, "size": {n}, "lfs": {{"sha256": "{sha}", "size": {n}}}}}"#)
        })
        .collect();
    format!(r#"{{"id": "{REPO}", "sha": "{COMMIT}", "siblings": [{}]}}"#, siblings.join(","))
}
