//! Worked examples for the prompt, from the tldr-pages (CC BY 4.0, "the
//! tldr-pages team and contributors"). Upstream's release archive is
//! downloaded on first use or on request (`Store::update`), reduced to its
//! examples, cached, and searched with BM25 (`Index`). Everything works
//! without it: no cache means no examples, never an error for a request.
mod archive;
mod index;
pub mod page;

pub use index::{on_path, Hit, Index};
pub use page::{Example, Platform};

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Upstream's English archive, as its releases publish it.
pub const DEFAULT_URL: &str = "https://github.com/tldr-pages/tldr/releases/latest/download/tldr-pages.en.zip";

/// What the licence asks to be shown where the examples are used.
pub const ATTRIBUTION: &str =
    "Examples from tldr-pages (https://tldr.sh), by the tldr-pages team and contributors, CC BY 4.0.";

const FILE: &str = "examples.json";
const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum TldrError {
    #[error("can't reach {url}: {detail}")]
    Network { url: String, detail: String },
    #[error("{url} answered HTTP {status}")]
    Http { url: String, status: u16 },
    #[error("{url} is larger than {} MB, so it is not the tldr archive", archive::MAX_ARCHIVE >> 20)]
    TooLarge { url: String },
    #[error("the download is not the tldr archive: {0}")]
    NotAnArchive(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path} is damaged ({detail}); `cmdbar tldr update` fetches it again")]
    Corrupt { path: PathBuf, detail: String },
}

pub type Result<T> = std::result::Result<T, TldrError>;

/// The cached examples and where they came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Data {
    pub version: u32,
    pub source: String,
    /// The server's validators, sent back so an update of unchanged pages
    /// downloads nothing.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Seconds since the Unix epoch.
    pub fetched_at: u64,
    pub examples: Vec<Example>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    /// New pages, with this many examples.
    Fetched { examples: usize },
    /// The server said nothing changed (304).
    Unchanged,
}

/// The cache folder: `examples.json`, written whole or not at all.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$CMDBAR_TLDR_DIR`, else `tldr/` in the user's cache folder
    /// (`~/.cache/cmdbar`, `~/Library/Caches/cmdbar`).
    pub fn from_env() -> Self {
        match std::env::var_os("CMDBAR_TLDR_DIR") {
            Some(d) => Self::new(d),
            None => Self::new(dirs::cache_dir().unwrap_or_else(|| ".".into()).join("cmdbar").join("tldr")),
        }
    }

    /// The archive's address: `$CMDBAR_TLDR_URL` (a mirror, or a local
    /// file), else upstream's.
    pub fn url_from_env() -> String {
        std::env::var("CMDBAR_TLDR_URL").ok().filter(|u| !u.trim().is_empty()).unwrap_or_else(|| DEFAULT_URL.into())
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The cached examples; None before the first download.
    pub fn load(&self) -> Result<Option<Data>> {
        let path = self.path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(TldrError::Io { path, source }),
        };
        let data: Data = serde_json::from_slice(&bytes)
            .map_err(|e| TldrError::Corrupt { path: path.clone(), detail: e.to_string() })?;
        if data.version != VERSION {
            return Err(TldrError::Corrupt {
                path,
                detail: format!("version {} (this Cmdbar reads {VERSION})", data.version),
            });
        }
        Ok(Some(data))
    }

    /// Downloads the archive from `url` (or reads it, when `url` is a
    /// path), and replaces the cache only once the new pages are read. On
    /// any failure the cache stays as it was.
    pub fn update(&self, url: &str) -> Result<Updated> {
        let old = self.load().ok().flatten().filter(|d| d.source == url);
        let fetched = if let Some(path) = local_path(url) {
            let meta = std::fs::metadata(path).map_err(|source| TldrError::Io { path: path.into(), source })?;
            if meta.len() > archive::MAX_ARCHIVE {
                return Err(TldrError::TooLarge { url: url.into() });
            }
            Fetch::Body(std::fs::read(path).map_err(|source| TldrError::Io { path: path.into(), source })?, None, None)
        } else {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|source| TldrError::Io { path: self.dir.clone(), source })?;
            rt.block_on(download(url, old.as_ref()))?
        };
        let (bytes, etag, last_modified) = match fetched {
            Fetch::NotModified => return Ok(Updated::Unchanged),
            Fetch::Body(b, e, l) => (b, e, l),
        };
        let examples = archive::examples(bytes)?;
        let n = examples.len();
        let fetched_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let data = Data { version: VERSION, source: url.into(), etag, last_modified, fetched_at, examples };
        self.write(&data)?;
        Ok(Updated::Fetched { examples: n })
    }

    fn write(&self, data: &Data) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| TldrError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let json = serde_json::to_vec(data).map_err(|e| TldrError::Io { path: self.path(), source: e.into() })?;
        // Beside the file, then renamed over it: a reader sees old or new.
        let tmp = self.dir.join(format!("{FILE}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, json).map_err(io(&tmp))?;
        std::fs::rename(&tmp, self.path()).map_err(io(&self.path()))
    }
}

/// `file:///x.zip` or a plain path: read from disk.
fn local_path(url: &str) -> Option<&str> {
    if let Some(p) = url.strip_prefix("file://") {
        return Some(p);
    }
    (!url.contains("://")).then_some(url)
}

enum Fetch {
    NotModified,
    Body(Vec<u8>, Option<String>, Option<String>),
}

async fn download(url: &str, old: Option<&Data>) -> Result<Fetch> {
    let net = |e: reqwest::Error| TldrError::Network { url: url.into(), detail: e.to_string() };
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(Duration::from_secs(30))
        .user_agent(concat!("cmdbar/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(net)?;
    let mut req = client.get(url);
    if let Some(d) = old {
        if let Some(e) = &d.etag {
            req = req.header(reqwest::header::IF_NONE_MATCH, e);
        }
        if let Some(l) = &d.last_modified {
            req = req.header(reqwest::header::IF_MODIFIED_SINCE, l);
        }
    }
    let mut resp = req.send().await.map_err(net)?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_MODIFIED && old.is_some() {
        return Ok(Fetch::NotModified);
    }
    if !status.is_success() {
        return Err(TldrError::Http { url: url.into(), status: status.as_u16() });
    }
    if resp.content_length().is_some_and(|n| n > archive::MAX_ARCHIVE) {
        return Err(TldrError::TooLarge { url: url.into() });
    }
    let header =
        |h| resp.headers().get(h).and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok()).map(String::from);
    let (etag, last_modified) = (header(reqwest::header::ETAG), header(reqwest::header::LAST_MODIFIED));
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(net)? {
        if body.len() as u64 + chunk.len() as u64 > archive::MAX_ARCHIVE {
            return Err(TldrError::TooLarge { url: url.into() });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetch::Body(body, etag, last_modified))
}
