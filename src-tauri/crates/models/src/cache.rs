//! The Hugging Face cache layout, shared with other tools so a model is
//! stored once: `models--org--name/{blobs/<sha256>, snapshots/<commit>/<file>
//! → ../../blobs/<sha256>, refs/main}`.
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct HubCache {
    pub root: PathBuf,
}

impl HubCache {
    /// `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
    pub fn from_env() -> Self {
        let root = std::env::var_os("HF_HUB_CACHE").map(PathBuf::from).unwrap_or_else(|| {
            std::env::var_os("HF_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("huggingface")))
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/huggingface")))
                .unwrap_or_else(|| PathBuf::from(".cache/huggingface"))
                .join("hub")
        });
        Self { root }
    }

    pub fn repo_dir(&self, repo: &str) -> PathBuf {
        self.root.join(format!("models--{}", repo.replace('/', "--")))
    }

    pub fn blob(&self, repo: &str, sha256: &str) -> PathBuf {
        self.repo_dir(repo).join("blobs").join(sha256)
    }

    /// Where a download in progress lives; it survives a crash.
    pub fn part(&self, repo: &str, sha256: &str) -> PathBuf {
        self.repo_dir(repo).join("blobs").join(format!("{sha256}.part"))
    }

    pub fn snapshot(&self, repo: &str, commit: &str, file: &str) -> PathBuf {
        self.repo_dir(repo).join("snapshots").join(commit).join(file)
    }

    /// The file in the snapshot of `refs/main`, if it is there.
    pub fn find(&self, repo: &str, file: &str) -> Option<PathBuf> {
        let commit = std::fs::read_to_string(self.repo_dir(repo).join("refs/main")).ok()?;
        let p = self.snapshot(repo, commit.trim(), file);
        p.is_file().then_some(p)
    }

    /// The file in any snapshot whose entry resolves to the blob `sha256`:
    /// the bytes are known even when `refs/main` names another commit.
    pub fn find_blob(&self, repo: &str, file: &str, sha256: &str) -> Option<PathBuf> {
        let blob = std::fs::canonicalize(self.blob(repo, sha256)).ok()?;
        let mut snaps: Vec<PathBuf> = std::fs::read_dir(self.repo_dir(repo).join("snapshots"))
            .ok()?
            .flatten()
            .map(|d| d.path().join(file))
            .collect();
        snaps.sort();
        snaps.into_iter().find(|p| std::fs::canonicalize(p).is_ok_and(|b| b == blob))
    }

    /// Links the snapshot entry to the blob and records the commit.
    pub fn link(&self, repo: &str, commit: &str, file: &str, sha256: &str) -> std::io::Result<PathBuf> {
        let snap = self.snapshot(repo, commit, file);
        std::fs::create_dir_all(snap.parent().unwrap_or(Path::new(".")))?;
        let depth = file.matches('/').count() + 2;
        let target = PathBuf::from("../".repeat(depth)).join("blobs").join(sha256);
        let _ = std::fs::remove_file(&snap);
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &snap)?;
        #[cfg(not(unix))]
        std::fs::copy(self.blob(repo, sha256), &snap).map(|_| ())?;
        let refs = self.repo_dir(repo).join("refs");
        std::fs::create_dir_all(&refs)?;
        std::fs::write(refs.join("main"), commit)?;
        Ok(snap)
    }
}
