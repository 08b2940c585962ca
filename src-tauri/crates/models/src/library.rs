//! The models on this machine: GGUF files in the Hugging Face cache, plus
//! files imported from anywhere on disk. An import is a reference kept in
//! `imports.json`, never a copy.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{HubCache, ModelsError, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    Hub { repo: String, file: String },
    Imported,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LocalModel {
    pub path: PathBuf,
    pub name: String,
    pub size: u64,
    /// From the GGUF header; None when the file can't be read as a model
    /// Cmdbar runs, with the reason in `problem`.
    pub architecture: Option<String>,
    pub problem: Option<String>,
    pub source: Source,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Imports {
    version: u32,
    paths: Vec<PathBuf>,
}

pub struct Library {
    pub cache: HubCache,
    imports: PathBuf,
}

impl Library {
    /// `imports` is the file that lists imported paths (in the app's
    /// config directory).
    pub fn new(cache: HubCache, imports: PathBuf) -> Self {
        Self { cache, imports }
    }

    /// The Hugging Face cache from the environment, and the imports list
    /// beside Cmdbar's own models: the app and the CLI share it.
    pub fn from_env() -> Self {
        Self::new(HubCache::from_env(), crate::models_dir().join("imports.json"))
    }

    pub fn list(&self) -> Vec<LocalModel> {
        let mut out = vec![];
        for (repo, file, path) in self.hub_files() {
            out.push(describe(path, Source::Hub { repo, file }));
        }
        for p in self.read_imports().paths {
            out.push(describe(p, Source::Imported));
        }
        out
    }

    fn hub_files(&self) -> Vec<(String, String, PathBuf)> {
        let mut out = vec![];
        let Ok(repos) = std::fs::read_dir(&self.cache.root) else { return out };
        for repo in repos.flatten() {
            let dir = repo.file_name().to_string_lossy().into_owned();
            let Some(name) = dir.strip_prefix("models--") else { continue };
            let name = name.replacen("--", "/", 1);
            for snap in std::fs::read_dir(repo.path().join("snapshots")).into_iter().flatten().flatten() {
                for f in std::fs::read_dir(snap.path()).into_iter().flatten().flatten() {
                    let p = f.path();
                    if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) && p.is_file() {
                        out.push((name.clone(), f.file_name().to_string_lossy().into_owned(), p));
                    }
                }
            }
        }
        out.sort();
        out
    }

    /// Adds a GGUF file by reference, after checking that Cmdbar can run it.
    pub fn import(&self, path: &Path) -> Result<LocalModel> {
        let path = std::fs::canonicalize(path).map_err(ModelsError::io(path))?;
        let m = describe(path.clone(), Source::Imported);
        if let Some(problem) = &m.problem {
            return Err(ModelsError::NotAModel { path, reason: problem.clone() });
        }
        let mut imports = self.read_imports();
        if !imports.paths.contains(&path) {
            imports.paths.push(path);
            self.write_imports(&imports)?;
        }
        Ok(m)
    }

    /// Hub files: the snapshot entry and, when nothing else links to it, the
    /// blob. Imports: only the reference; the user's file stays.
    pub fn delete(&self, path: &Path) -> Result<()> {
        let mut imports = self.read_imports();
        if let Some(i) = imports.paths.iter().position(|p| p == path) {
            imports.paths.remove(i);
            return self.write_imports(&imports);
        }
        if !path.starts_with(&self.cache.root) {
            return Err(ModelsError::NotInLibrary(path.to_path_buf()));
        }
        let blob = std::fs::canonicalize(path).map_err(ModelsError::io(path))?;
        std::fs::remove_file(path).map_err(ModelsError::io(path))?;
        let still_used = self.hub_files().iter().any(|(_, _, p)| std::fs::canonicalize(p).is_ok_and(|b| b == blob));
        if !still_used {
            std::fs::remove_file(&blob).map_err(ModelsError::io(&blob))?;
        }
        Ok(())
    }

    /// A malformed list is set aside (`imports.json.bad-<time>`, logged) by
    /// the same store as the settings, so no import is silently lost.
    fn read_imports(&self) -> Imports {
        cmdbar_settings::load_json(&self.imports, |i: &Imports| {
            if i.version == 1 {
                Ok(())
            } else {
                Err(format!("imports version {} is not 1", i.version))
            }
        })
        .value
    }

    fn write_imports(&self, i: &Imports) -> Result<()> {
        cmdbar_settings::save_json(&self.imports, &Imports { version: 1, paths: i.paths.clone() })
            .map_err(ModelsError::io(&self.imports))
    }
}

fn describe(path: PathBuf, source: Source) -> LocalModel {
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (architecture, problem) = match cmdbar_engine::gguf::GgufFile::open(&path) {
        Ok(g) => (Some(g.architecture.name().to_string()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    LocalModel { path, name, size, architecture, problem, source }
}
