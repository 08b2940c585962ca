//! The models on this machine: GGUF files in the Hugging Face cache and in
//! Cmdbar's own folder, plus files imported from anywhere on disk. An
//! import is a reference kept in `imports.json`, never a copy.
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cache::HubCache;
use crate::catalog::{self, CatalogEntry, FitHint, Memory};
use crate::{names, ModelsError, Result};

/// How deep sub-folders of a snapshot are searched for models.
const MAX_DEPTH: usize = 8;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    Hub {
        repo: String,
        file: String,
    },
    /// Cmdbar's own models folder (`models_dir()`).
    Folder,
    Imported,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
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
    /// Memory needed while loaded, against this machine's.
    pub fit: Option<FitHint>,
}

/// A catalog model and where it is installed, if it is.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CatalogItem {
    #[serde(flatten)]
    pub entry: CatalogEntry,
    pub installed: Option<PathBuf>,
    pub fit: Option<FitHint>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Imports {
    version: u32,
    paths: Vec<PathBuf>,
}

pub struct Library {
    pub cache: HubCache,
    imports: PathBuf,
    /// Messages for the user, such as a damaged imports list set aside.
    notices: std::sync::Mutex<Vec<String>>,
}

impl Library {
    /// `imports` is the file that lists imported paths (in the app's
    /// config directory).
    pub fn new(cache: HubCache, imports: PathBuf) -> Self {
        Self { cache, imports, notices: Default::default() }
    }

    /// The Hugging Face cache from the environment, and the imports list
    /// beside Cmdbar's own models: the app and the CLI share it.
    pub fn from_env() -> Self {
        Self::new(HubCache::from_env(), crate::models_dir().join("imports.json"))
    }

    /// Cmdbar's own models folder, where the imports list also lives.
    fn folder(&self) -> &Path {
        self.imports.parent().unwrap_or(Path::new("."))
    }

    pub fn list(&self) -> Vec<LocalModel> {
        let mem = Memory::of_this_machine();
        self.entries().into_iter().map(|(path, source)| describe(path, source, mem)).collect()
    }

    /// What `list` lists, without reading the files.
    fn entries(&self) -> Vec<(PathBuf, Source)> {
        let mut out = vec![];
        for (repo, file, path) in self.hub_files() {
            out.push((path, Source::Hub { repo, file }));
        }
        for path in self.folder_files() {
            out.push((path, Source::Folder));
        }
        for p in self.read_imports().paths {
            out.push((p, Source::Imported));
        }
        out
    }

    fn folder_files(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(self.folder())
            .into_iter()
            .flatten()
            .flatten()
            .map(|f| f.path())
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) && p.is_file())
            .collect();
        out.sort();
        out
    }

    /// The catalog, each entry with its install path (the Hub cache, or a
    /// file of the same name and size in Cmdbar's folder) and its fit.
    pub fn catalog(&self, mem: Option<Memory>) -> Vec<CatalogItem> {
        let folder = self.folder_files();
        catalog::catalog()
            .iter()
            .map(|e| {
                let installed = self.installed_in(e, &folder);
                let fit = mem.map(|m| catalog::judge(catalog::ram_needed(e.size, Some(e.kv)), m));
                CatalogItem { entry: e.clone(), installed, fit }
            })
            .collect()
    }

    /// Where a catalog model is installed, if anywhere.
    pub fn installed(&self, e: &CatalogEntry) -> Option<PathBuf> {
        self.installed_in(e, &self.folder_files())
    }

    /// The Hub cache first (the snapshot `refs/main` names, else any
    /// snapshot whose entry is the catalog's blob, so a download from a
    /// mirror with other commit ids counts), then a file of the same name
    /// and size in Cmdbar's folder.
    fn installed_in(&self, e: &CatalogEntry, folder: &[PathBuf]) -> Option<PathBuf> {
        self.cache.find(&e.repo, &e.file).or_else(|| self.cache.find_blob(&e.repo, &e.file, &e.sha256)).or_else(|| {
            folder.iter().find(|p| p.ends_with(&e.file) && p.metadata().is_ok_and(|m| m.len() == e.size)).cloned()
        })
    }

    /// A path, a catalog id, or a file name of an installed model.
    pub fn resolve(&self, what: &str) -> Result<PathBuf> {
        let p = Path::new(what);
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        if let Some(e) = catalog::by_id(what) {
            let item = self.catalog(None).into_iter().find(|i| i.entry.id == e.id);
            return item.and_then(|i| i.installed).ok_or_else(|| ModelsError::NotInstalled(what.to_string()));
        }
        self.list()
            .into_iter()
            .find(|m| m.name == what)
            .map(|m| m.path)
            .ok_or_else(|| ModelsError::NotInstalled(what.to_string()))
    }

    /// (repo, file inside the snapshot, path) of every GGUF entry of every
    /// snapshot, sub-folders included (a repo may keep each quantization
    /// in a folder of its own). Folders that are links are not followed.
    fn hub_files(&self) -> Vec<(String, String, PathBuf)> {
        fn walk(dir: &Path, rel: &str, depth: usize, out: &mut Vec<(String, PathBuf)>) {
            for f in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                let rel = if rel.is_empty() { name } else { format!("{rel}/{name}") };
                let p = f.path();
                if f.file_type().is_ok_and(|t| t.is_dir()) {
                    if depth < MAX_DEPTH {
                        walk(&p, &rel, depth + 1, out);
                    }
                } else if p.extension().is_some_and(|e| e.eq_ignore_ascii_case("gguf")) && p.is_file() {
                    out.push((rel, p));
                }
            }
        }
        let mut out = vec![];
        let Ok(repos) = std::fs::read_dir(&self.cache.root) else { return out };
        for repo in repos.flatten() {
            let dir = repo.file_name().to_string_lossy().into_owned();
            let Some(name) = crate::cache::folder_repo(&dir) else { continue };
            for snap in std::fs::read_dir(repo.path().join("snapshots")).into_iter().flatten().flatten() {
                if !snap.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let mut files = vec![];
                walk(&snap.path(), "", 1, &mut files);
                out.extend(files.into_iter().map(|(file, p)| (name.clone(), file, p)));
            }
        }
        out.sort();
        out
    }

    /// Adds a GGUF file by reference, after checking that Cmdbar can run it.
    pub fn import(&self, path: &Path) -> Result<LocalModel> {
        let path = std::fs::canonicalize(path).map_err(ModelsError::io(path))?;
        let m = describe(path.clone(), Source::Imported, None);
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

    /// Only what `list` returns can be deleted, whatever the spelling of
    /// its path. Hub files: the snapshot entry (never what it links to)
    /// and, when nothing else links to it, the blob, only if that lies in
    /// the repo's own `blobs/`. Folder files: the entry. Imports: only the
    /// reference; the user's file stays.
    pub fn delete(&self, path: &Path) -> Result<()> {
        let Some((entry, source)) = self.entries().into_iter().find(|(p, _)| same_entry(p, path)) else {
            return Err(ModelsError::NotInLibrary(path.to_path_buf()));
        };
        match source {
            Source::Imported => {
                let mut imports = self.read_imports();
                imports.paths.retain(|p| p != &entry);
                self.write_imports(&imports)
            }
            Source::Folder => std::fs::remove_file(&entry).map_err(ModelsError::io(&entry)),
            Source::Hub { repo, .. } => {
                let repo_dir = self.cache.repo_dir(&repo);
                if !names::inside(&repo_dir.join("snapshots"), &entry) {
                    return Err(ModelsError::NotInLibrary(path.to_path_buf()));
                }
                let target = std::fs::canonicalize(&entry).ok();
                std::fs::remove_file(&entry).map_err(ModelsError::io(&entry))?;
                let blobs = std::fs::canonicalize(repo_dir.join("blobs")).ok();
                let Some((blob, blobs)) = target.zip(blobs) else { return Ok(()) };
                // A link to anything outside the repo's blobs is not ours.
                if blob.parent() != Some(blobs.as_path()) {
                    tracing::warn!(
                        "{} linked to {}, outside {}; left alone",
                        entry.display(),
                        blob.display(),
                        blobs.display()
                    );
                    return Ok(());
                }
                let still_used =
                    self.hub_files().iter().any(|(_, _, p)| std::fs::canonicalize(p).is_ok_and(|b| b == blob));
                if !still_used {
                    std::fs::remove_file(&blob).map_err(ModelsError::io(&blob))?;
                }
                Ok(())
            }
        }
    }

    /// A malformed list is set aside (`imports.json.bad-<time>`, logged) by
    /// the same store as the settings, so no import is silently lost.
    fn read_imports(&self) -> Imports {
        let loaded = cmdbar_settings::load_json(&self.imports, |i: &Imports| {
            if i.version == 1 {
                Ok(())
            } else {
                Err(format!("imports version {} is not 1", i.version))
            }
        });
        if let Some(n) = loaded.notice {
            self.notices.lock().unwrap_or_else(|e| e.into_inner()).push(n);
        }
        loaded.value
    }

    /// Notices gathered since the last call, for the user to see.
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *self.notices.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn write_imports(&self, i: &Imports) -> Result<()> {
        cmdbar_settings::save_json(&self.imports, &Imports { version: 1, paths: i.paths.clone() })
            .map_err(ModelsError::io(&self.imports))
    }
}

/// Whether `a` and `b` name the same directory entry: the same path, or
/// the same name in the same folder once the folders' links are resolved.
/// The entry itself is not resolved, so a snapshot link is itself, not
/// the blob (or the outside file) it points to.
fn same_entry(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    let folder = |p: &Path| {
        let parent = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        Some((std::fs::canonicalize(parent).ok()?, p.file_name()?.to_os_string()))
    };
    matches!((folder(a), folder(b)), (Some(x), Some(y)) if x == y)
}

/// A GGUF header read for a listing, an import or `use`, outside the
/// engine thread: a panic in the parser (a bad file) becomes an error for
/// that file, not the end of the program.
pub fn read_header(path: &Path) -> std::result::Result<cmdbar_gguf::GgufFile, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cmdbar_gguf::GgufFile::open(path))) {
        Ok(Ok(g)) => Ok(g),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("{} can't be read: the model reader crashed on it", path.display())),
    }
}

fn describe(path: PathBuf, source: Source, mem: Option<Memory>) -> LocalModel {
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let (architecture, problem, needed) = match read_header(&path) {
        Ok(g) => (Some(g.architecture.name().to_string()), None, Some(catalog::ram_needed_for(&g))),
        Err(e) => (None, Some(e), None),
    };
    let fit = mem.zip(needed).map(|(m, n)| catalog::judge(n, m));
    LocalModel { path, name, size, architecture, problem, source, fit }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// Lays out a catalog entry in the Hub cache as a download does: the
    /// blob named by its sha256 and a snapshot entry linking to it.
    fn install(cache: &HubCache, e: &CatalogEntry, commit: &str, refs_main: Option<&str>) -> PathBuf {
        let blob = cache.blob(&e.repo, &e.sha256);
        std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
        std::fs::write(&blob, b"weights").unwrap();
        let snap = cache.link(&e.repo, commit, &e.file, &e.sha256, "main").unwrap();
        match refs_main {
            Some(r) => std::fs::write(cache.repo_dir(&e.repo).join("refs/main"), r).unwrap(),
            None => std::fs::remove_file(cache.repo_dir(&e.repo).join("refs/main")).unwrap(),
        }
        snap
    }

    #[test]
    fn the_default_model_is_found_in_the_hub_cache_whatever_refs_main_says() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HubCache { root: dir.path().join("hub") };
        let lib = Library::new(cache.clone(), dir.path().join("cmdbar/imports.json"));
        let d = catalog::default_entry();
        assert_eq!(lib.installed(d), None, "nothing installed yet");

        // A mirror's commit id, with refs/main naming another commit: the
        // entry still resolves to the catalog's blob, so it counts.
        let snap = install(&cache, d, "1111111111111111111111111111111111111111", Some("2222"));
        assert_eq!(lib.installed(d), Some(snap.clone()));
        std::fs::remove_file(cache.repo_dir(&d.repo).join("refs/main")).unwrap();
        assert_eq!(lib.installed(d), Some(snap.clone()), "no refs/main at all");

        // A snapshot entry that is some other blob is not the catalog file.
        std::fs::remove_file(&snap).unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &snap).unwrap();
        std::fs::write(dir.path().join("elsewhere"), b"other").unwrap();
        assert_eq!(lib.installed(d), None);
    }

    #[test]
    fn the_default_model_is_found_where_refs_main_points() {
        let dir = tempfile::tempdir().unwrap();
        let cache = HubCache { root: dir.path().join("hub") };
        let lib = Library::new(cache.clone(), dir.path().join("cmdbar/imports.json"));
        let d = catalog::default_entry();
        let commit = "abcdefabcdefabcdefabcdefabcdefabcdefabcd";
        let snap = install(&cache, d, commit, Some(commit));
        assert_eq!(lib.installed(d), Some(snap));
        assert_eq!(lib.catalog(None).iter().find(|i| i.entry.default).unwrap().installed, lib.installed(d));
    }
}
