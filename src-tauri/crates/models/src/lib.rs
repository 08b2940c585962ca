//! Getting models onto the machine: files from the Hugging Face Hub (or a
//! mirror named by `HF_ENDPOINT`) are streamed to a `.part` file beside
//! their blob in the Hub's cache layout, resumed with `Range` after a pause,
//! an error or a crash, checked by sha256 and only then moved into place.
pub mod cache;
pub mod catalog;
pub mod download;
pub mod hub;
pub mod library;
pub mod names;

pub use cache::HubCache;
pub use catalog::{catalog, CatalogEntry, Fit, FitHint, Memory};
pub use download::{download, Control, Progress};
pub use hub::{repo_name, Hub, RemoteFile, RepoFile, RepoSummary};
pub use library::{read_header, CatalogItem, Library, LocalModel, Source};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error("{repo} was not found on {endpoint} (check the name, or HF_TOKEN for a gated model)")]
    RepoNotFound { repo: String, endpoint: String },
    #[error("{file} was not found in {repo}")]
    FileNotFound { repo: String, file: String },
    #[error("the Hub refused access to {repo} ({status}); set HF_TOKEN to a valid token")]
    Unauthorized { repo: String, status: u16 },
    #[error("{url} answered {status}")]
    Http { url: String, status: u16 },
    #[error("network error: {0}")]
    Network(String),
    #[error("not enough disk space in {dir}: {needed} bytes needed, {available} available")]
    DiskFull { dir: PathBuf, needed: u64, available: u64 },
    #[error("{file}: checksum mismatch (expected sha256 {expected}, got {actual}); the download was deleted")]
    Checksum { file: String, expected: String, actual: String },
    #[error("{file} on this server is not the file the catalog names (sha256 {offered}, expected {expected}); nothing was downloaded")]
    NotTheCatalogFile { file: String, expected: String, offered: String },
    #[error("the disk filled up in {dir} after {downloaded} bytes; free some space and download again to resume")]
    DiskFilled { dir: PathBuf, downloaded: u64 },
    #[error("{file}: the server sent {got} bytes, {expected} were expected")]
    Size { file: String, expected: u64, got: u64 },
    #[error("{what} {name:?} is refused: {reason}")]
    BadName { what: String, name: String, reason: String },
    #[error("'{0}' is not a Hub repo; write ORG/NAME or the repo's URL")]
    BadRepo(String),
    #[error("{path} can't be used: {reason}")]
    NotAModel { path: PathBuf, reason: String },
    #[error("{0} is not one of the installed models")]
    NotInLibrary(PathBuf),
    #[error("{0} is not installed: download it first (cmdbar models pull {0})")]
    NotInstalled(String),
    #[error("cancelled")]
    Cancelled,
    #[error("paused")]
    Paused,
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl ModelsError {
    fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| ModelsError::Io { path, source }
    }
}

pub type Result<T> = std::result::Result<T, ModelsError>;

/// File name of the default model, Qwen2.5-Coder-1.5B-Instruct Q4_K_M.
pub const DEFAULT_MODEL_FILE: &str = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf";

/// Where Cmdbar keeps its own models and the imports list:
/// `$XDG_CACHE_HOME/cmdbar/models`, else `~/.cache/cmdbar/models`, as
/// `scripts/fetch-test-models` writes them.
pub fn models_dir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("."));
    cache.join("cmdbar/models")
}

/// The model to load when none is chosen: `$CMDBAR_MODEL`, else the
/// catalog's default model wherever it is installed (the Hugging Face
/// cache, from any mirror, or Cmdbar's own folder). None when it is
/// nowhere: the app then offers to download it.
pub fn default_model_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CMDBAR_MODEL") {
        return Some(p.into());
    }
    let d = catalog::default_entry();
    Library::from_env().installed(d)
}
