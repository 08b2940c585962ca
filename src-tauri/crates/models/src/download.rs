//! One file from the Hub into the cache, resumable at every step.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{RANGE, RETRY_AFTER};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::cache::HubCache;
use crate::hub::{Hub, RemoteFile};
use crate::{names, ModelsError, Result};

/// Pause and cancel. A wait for the next chunk or for a retry ends as soon
/// as either is asked for. A paused download keeps its `.part` and is
/// resumed by downloading again; a cancelled one deletes it.
#[derive(Debug, Default)]
pub struct Control {
    paused: AtomicBool,
    cancelled: AtomicBool,
    /// Wakes what waits on the network or a retry's delay.
    wake: tokio::sync::Notify,
    /// Retries after a network error, a 429 or a 5xx, with capped backoff.
    pub max_retries: u32,
    pub base_delay: Duration,
}

impl Control {
    pub fn new() -> Self {
        Self { max_retries: 8, base_delay: Duration::from_millis(500), ..Default::default() }
    }
    pub fn with_retries(max_retries: u32, base_delay: Duration) -> Self {
        Self { max_retries, base_delay, ..Default::default() }
    }
    pub fn pause(&self) {
        self.paused.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }
    pub fn resume(&self) {
        self.paused.store(false, Ordering::SeqCst)
    }
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }
    /// Resolves once the download is paused or cancelled.
    async fn stopped(&self) {
        loop {
            let woken = self.wake.notified();
            tokio::pin!(woken);
            // Registered before the check, so a cancel in between still wakes it.
            woken.as_mut().enable();
            if self.check().is_err() {
                return;
            }
            woken.await;
        }
    }
    fn check(&self) -> Result<()> {
        if self.cancelled.load(Ordering::SeqCst) {
            Err(ModelsError::Cancelled)
        } else if self.paused.load(Ordering::SeqCst) {
            Err(ModelsError::Paused)
        } else {
            Ok(())
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Progress {
    pub downloaded: u64,
    pub total: u64,
    pub bytes_per_sec: f64,
    pub eta_secs: Option<f64>,
}

const PROGRESS_EVERY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(30);

/// Downloads `f` into `cache` and returns its snapshot path. A blob already
/// there is reused; a `.part` is resumed. The bytes are checked against the
/// sha256 before the blob is moved into place. Every name in `f` is checked
/// before it touches the file system.
pub async fn download(
    hub: &Hub,
    cache: &HubCache,
    f: &RemoteFile,
    control: &Control,
    mut on_progress: impl FnMut(&Progress),
) -> Result<PathBuf> {
    names::repo(&f.repo)?;
    names::relative("the file name", &f.file)?;
    names::relative("the revision", &f.revision)?;
    names::commit("the commit id", &f.commit)?;
    names::sha256("the sha256", &f.sha256)?;
    // The snapshot path is checked before a byte is downloaded.
    cache.snapshot(&f.repo, &f.commit, &f.file)?;
    crate::catalog::check_offer(f)?;
    let blob = cache.blob(&f.repo, &f.sha256);
    let dir = blob.parent().unwrap_or(Path::new(".")).to_path_buf();
    tokio::fs::create_dir_all(&dir).await.map_err(ModelsError::io(&dir))?;
    // One writer per blob: a second download of the same file waits, then
    // finds the blob in place.
    let _lock = lock(&dir.join(format!("{}.lock", f.sha256)), control).await?;
    if tokio::fs::metadata(&blob).await.is_ok_and(|m| m.len() == f.size) {
        return link(cache, f);
    }
    let part = cache.part(&f.repo, &f.sha256);
    match fetch(hub, f, &part, &dir, control, &mut on_progress).await {
        Ok(()) => {}
        // However it was noticed (between chunks, waiting for one, or in a
        // retry's delay), a cancel removes the `.part`, under the lock.
        Err(ModelsError::Cancelled) => {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(ModelsError::Cancelled);
        }
        Err(e) => return Err(e),
    }
    let actual = sha256_of(&part).await?;
    if actual != f.sha256 {
        let _ = tokio::fs::remove_file(&part).await;
        return Err(ModelsError::Checksum { file: f.file.clone(), expected: f.sha256.clone(), actual });
    }
    tokio::fs::rename(&part, &blob).await.map_err(ModelsError::io(&blob))?;
    link(cache, f)
}

/// The bytes of `f` into `part`, resumed from what it holds.
async fn fetch(
    hub: &Hub,
    f: &RemoteFile,
    part: &Path,
    dir: &Path,
    control: &Control,
    on_progress: &mut impl FnMut(&Progress),
) -> Result<()> {
    let dir = dir.to_path_buf();
    let part = part.to_path_buf();
    let mut have = tokio::fs::metadata(&part).await.map(|m| m.len()).unwrap_or(0);
    if have > f.size {
        have = 0;
    }
    let available = fs4::available_space(&dir).map_err(ModelsError::io(&dir))?;
    let needed = f.size - have;
    if available < needed {
        return Err(ModelsError::DiskFull { dir, needed, available });
    }

    let mut out = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&part)
        .await
        .map_err(ModelsError::io(&part))?;
    out.set_len(have).await.map_err(ModelsError::io(&part))?;
    let mut pos = have;
    let started = Instant::now();
    let mut last = Instant::now() - PROGRESS_EVERY;
    let mut retries = 0;
    while pos < f.size {
        control.check()?;
        let mut req = hub.auth(hub.client.get(&f.url));
        if pos > 0 {
            req = req.header(RANGE, format!("bytes={pos}-"));
        }
        let result: std::result::Result<(), Retry> = async {
            let mut resp = req.send().await.map_err(|e| Retry::Net(e.to_string()))?;
            match resp.status() {
                StatusCode::PARTIAL_CONTENT => {}
                StatusCode::OK if pos > 0 => {
                    // The server ignored Range: start over rather than append.
                    tracing::warn!("{} ignored the Range request; restarting", f.url);
                    pos = 0;
                    out.set_len(0).await.map_err(|e| Retry::Fatal(ModelsError::io(&part)(e)))?;
                }
                StatusCode::OK => {}
                s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                    let wait = resp.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()?.parse().ok());
                    return Err(Retry::Status(s.as_u16(), wait.map(Duration::from_secs)));
                }
                s => return Err(Retry::Fatal(ModelsError::Http { url: f.url.clone(), status: s.as_u16() })),
            }
            use tokio::io::AsyncSeekExt;
            out.seek(std::io::SeekFrom::Start(pos)).await.map_err(|e| Retry::Fatal(ModelsError::io(&part)(e)))?;
            loop {
                if let Err(e) = control.check() {
                    return Err(Retry::Fatal(e));
                }
                // A slow drip, or a server that stops sending, can't hold a
                // pause or a cancel: it ends the wait.
                let next = tokio::select! {
                    c = resp.chunk() => c,
                    _ = control.stopped() => return Err(Retry::Fatal(control.check().err().unwrap_or(ModelsError::Paused))),
                };
                match next {
                    Ok(Some(bytes)) => {
                        if pos + bytes.len() as u64 > f.size {
                            return Err(Retry::Fatal(ModelsError::Size {
                                file: f.file.clone(),
                                expected: f.size,
                                got: pos + bytes.len() as u64,
                            }));
                        }
                        out.write_all(&bytes).await.map_err(|e| Retry::Fatal(write_error(&part, pos, e)))?;
                        pos += bytes.len() as u64;
                        if last.elapsed() >= PROGRESS_EVERY {
                            last = Instant::now();
                            on_progress(&progress(pos, have, f.size, started));
                        }
                    }
                    Ok(None) => return Ok(()),
                    Err(e) => return Err(Retry::Net(e.to_string())),
                }
            }
        }
        .await;
        out.flush().await.map_err(|e| write_error(&part, pos, e))?;
        match result {
            Ok(()) if pos < f.size => {
                // The body ended early: a dropped connection.
                retries = backoff(retries, control, None, &format!("connection closed at byte {pos}")).await?;
            }
            Ok(()) => {}
            Err(Retry::Fatal(e)) => return Err(e),
            Err(Retry::Net(e)) => retries = backoff(retries, control, None, &e).await?,
            Err(Retry::Status(s, wait)) => retries = backoff(retries, control, wait, &format!("HTTP {s}")).await?,
        }
    }
    out.sync_all().await.map_err(|e| write_error(&part, pos, e))?;
    drop(out);
    on_progress(&progress(pos, have, f.size, started));
    Ok(())
}

/// A full disk keeps the `.part` (resumable once space is freed) and says
/// so; other write errors name the file.
fn write_error(part: &Path, downloaded: u64, e: std::io::Error) -> ModelsError {
    if e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28) {
        let dir = part.parent().unwrap_or(Path::new(".")).to_path_buf();
        return ModelsError::DiskFilled { dir, downloaded };
    }
    ModelsError::io(part)(e)
}

enum Retry {
    Net(String),
    Status(u16, Option<Duration>),
    Fatal(ModelsError),
}

async fn backoff(retries: u32, control: &Control, wait: Option<Duration>, why: &str) -> Result<u32> {
    if retries >= control.max_retries {
        return Err(ModelsError::Network(format!("{why}; gave up after {retries} retries")));
    }
    let delay = wait.unwrap_or(control.base_delay * 2u32.saturating_pow(retries)).min(MAX_DELAY);
    tracing::info!("{why}; retrying in {delay:?}");
    // A pause or a cancel ends the wait at once (as Jan's downloader
    // selects on its cancel token).
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = control.stopped() => {}
    }
    control.check()?;
    Ok(retries + 1)
}

fn progress(pos: u64, start: u64, total: u64, started: Instant) -> Progress {
    let secs = started.elapsed().as_secs_f64().max(1e-3);
    let rate = (pos - start.min(pos)) as f64 / secs;
    Progress {
        downloaded: pos,
        total,
        bytes_per_sec: rate,
        eta_secs: (rate > 0.0).then(|| (total - pos) as f64 / rate),
    }
}

fn link(cache: &HubCache, f: &RemoteFile) -> Result<PathBuf> {
    cache.link(&f.repo, &f.commit, &f.file, &f.sha256, &f.revision)
}

async fn sha256_of(path: &Path) -> Result<String> {
    let p = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&p).map_err(ModelsError::io(&p))?;
        let mut h = Sha256::new();
        std::io::copy(&mut file, &mut h).map_err(ModelsError::io(&p))?;
        Ok(hex::encode(h.finalize()))
    })
    .await
    .map_err(|e| ModelsError::Network(e.to_string()))?
}

/// An exclusive lock on `path`, waited for without blocking the runtime.
async fn lock(path: &Path, control: &Control) -> Result<std::fs::File> {
    use fs4::fs_std::FileExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(ModelsError::io(path))?;
    loop {
        match FileExt::try_lock_exclusive(&file) {
            Ok(true) => return Ok(file),
            Ok(false) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(ModelsError::io(path)(e)),
        }
        control.check()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
