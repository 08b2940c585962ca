//! The Hugging Face cache layout, shared with other tools so a model is
//! stored once: `models--org--name/{blobs/<sha256>, snapshots/<commit>/<file>
//! → ../../blobs/<sha256>, refs/<revision>}`. Every name is checked
//! (`names`) before it becomes part of a path, and every joined path is
//! checked to lie inside its folder.
use std::path::{Path, PathBuf};

use crate::{names, ModelsError, Result};

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

    /// The repo's folder. `repo` must have passed `names::repo` (as
    /// `repo_name` and `download` check): its `/` becomes `--`, so the
    /// result is one folder under the root.
    pub fn repo_dir(&self, repo: &str) -> PathBuf {
        self.root.join(repo_folder(repo))
    }

    pub fn blob(&self, repo: &str, sha256: &str) -> PathBuf {
        self.repo_dir(repo).join("blobs").join(sha256)
    }

    /// Where a download in progress lives; it survives a crash.
    pub fn part(&self, repo: &str, sha256: &str) -> PathBuf {
        self.repo_dir(repo).join("blobs").join(format!("{sha256}.part"))
    }

    /// `snapshots/<commit>/<file>`, once the commit and the file name are
    /// checked and the joined path is inside `snapshots/<commit>`.
    pub fn snapshot(&self, repo: &str, commit: &str, file: &str) -> Result<PathBuf> {
        names::repo(repo)?;
        names::commit("the commit id", commit)?;
        names::relative("the file name", file)?;
        let dir = self.repo_dir(repo).join("snapshots").join(commit);
        names::join_inside(&dir, file).map_err(ModelsError::io(&dir))
    }

    /// The file in the snapshot of `refs/main`, if it is there.
    pub fn find(&self, repo: &str, file: &str) -> Option<PathBuf> {
        let commit = std::fs::read_to_string(self.repo_dir(repo).join("refs/main")).ok()?;
        let p = self.snapshot(repo, commit.trim(), file).ok()?;
        p.is_file().then_some(p)
    }

    /// The file in any snapshot whose entry resolves to the blob `sha256`:
    /// the bytes are known even when `refs/main` names another commit.
    pub fn find_blob(&self, repo: &str, file: &str, sha256: &str) -> Option<PathBuf> {
        names::sha256("the blob", sha256).ok()?;
        let blob = std::fs::canonicalize(self.blob(repo, sha256)).ok()?;
        let mut snaps: Vec<PathBuf> = std::fs::read_dir(self.repo_dir(repo).join("snapshots"))
            .ok()?
            .flatten()
            .filter_map(|d| self.snapshot(repo, &d.file_name().to_string_lossy(), file).ok())
            .collect();
        snaps.sort();
        snaps.into_iter().find(|p| std::fs::canonicalize(p).is_ok_and(|b| b == blob))
    }

    /// Links the snapshot entry to the blob and records the commit under
    /// `refs/<revision>` (none when the revision is the commit itself, as
    /// huggingface_hub does).
    pub fn link(&self, repo: &str, commit: &str, file: &str, sha256: &str, revision: &str) -> Result<PathBuf> {
        names::sha256("the blob", sha256)?;
        names::relative("the revision", revision)?;
        let repo_dir = self.repo_dir(repo);
        let io = |p: &Path| ModelsError::io(p.to_path_buf());
        let snap = self.snapshot(repo, commit, file)?;
        let commit_dir = repo_dir.join("snapshots").join(commit);
        std::fs::create_dir_all(snap.parent().unwrap_or(&commit_dir)).map_err(io(&snap))?;
        // Again now that the folders exist: none of them may lead elsewhere.
        let snap = names::join_inside(&commit_dir, file).map_err(io(&commit_dir))?;
        let depth = file.matches('/').count() + 2;
        let target = PathBuf::from("../".repeat(depth)).join("blobs").join(sha256);
        // Only a file or a link is replaced, never a folder.
        if std::fs::symlink_metadata(&snap).is_ok_and(|m| !m.is_dir()) {
            std::fs::remove_file(&snap).map_err(io(&snap))?;
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(&target, &snap).map_err(io(&snap))?;
        #[cfg(not(unix))]
        std::fs::copy(self.blob(repo, sha256), &snap).map(|_| ()).map_err(io(&snap))?;
        if revision != commit {
            let refs = repo_dir.join("refs");
            let r = names::join_inside(&refs, revision).map_err(io(&refs))?;
            std::fs::create_dir_all(r.parent().unwrap_or(&refs)).map_err(io(&r))?;
            let r = names::join_inside(&refs, revision).map_err(io(&refs))?;
            match std::fs::symlink_metadata(&r) {
                Ok(m) if m.is_dir() => {
                    return Err(ModelsError::BadName {
                        what: "the revision".into(),
                        name: revision.into(),
                        reason: "it names a folder of refs".into(),
                    })
                }
                // Written through, a link would write wherever it points.
                Ok(m) if m.file_type().is_symlink() => std::fs::remove_file(&r).map_err(io(&r))?,
                _ => {}
            }
            std::fs::write(&r, commit).map_err(io(&r))?;
        }
        Ok(snap)
    }
}

/// The cache's folder name for `repo`: `models--org--name`.
pub fn repo_folder(repo: &str) -> String {
    format!("models--{}", repo.replace(['/', '\\'], "--"))
}

/// The repo a cache folder is for; None for a folder that is not a model's.
pub fn folder_repo(folder: &str) -> Option<String> {
    folder.strip_prefix("models--").map(|n| n.replacen("--", "/", 1))
}

#[cfg(test)]
mod folder_tests {
    #[test]
    fn a_repo_and_its_folder_name_go_both_ways() {
        assert_eq!(
            super::repo_folder("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF"),
            "models--Qwen--Qwen2.5-Coder-1.5B-Instruct-GGUF"
        );
        assert_eq!(
            super::folder_repo("models--Qwen--Qwen2.5-Coder-1.5B-Instruct-GGUF").as_deref(),
            Some("Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF")
        );
        assert_eq!(super::folder_repo("datasets--x--y"), None);
    }
}
