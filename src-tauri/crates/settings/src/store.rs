use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{de::DeserializeOwned, Serialize};

/// What was read, and a notice for the user when the file was bad.
#[derive(Debug)]
pub struct Loaded<T> {
    pub value: T,
    pub notice: Option<String>,
    /// Where a bad file was moved to.
    pub backup: Option<PathBuf>,
}

/// Reads JSON from `path`. Missing: the default, quietly. Unreadable,
/// malformed or failing `check`: moved aside, the default, and a notice.
pub fn load_json<T: DeserializeOwned + Default>(path: &Path, check: impl Fn(&T) -> Result<(), String>) -> Loaded<T> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Loaded { value: T::default(), notice: None, backup: None }
        }
        Err(e) => return bad(path, &e.to_string()),
    };
    let problem = match serde_json::from_slice::<T>(&bytes) {
        Ok(v) => match check(&v) {
            Ok(()) => return Loaded { value: v, notice: None, backup: None },
            Err(e) => e,
        },
        Err(e) => e.to_string(),
    };
    bad(path, &problem)
}

fn bad<T: Default>(path: &Path, problem: &str) -> Loaded<T> {
    let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let backup = path.with_file_name(format!("{name}.bad-{stamp}"));
    let name = path.display();
    let (notice, backup) = match std::fs::rename(path, &backup) {
        Ok(()) => (
            format!(
                "{name} could not be used ({problem}); it was saved as {} and defaults are in use",
                backup.display()
            ),
            Some(backup),
        ),
        Err(e) => (format!("{name} could not be used ({problem}) nor moved aside ({e}); defaults are in use"), None),
    };
    tracing::warn!("{notice}");
    Loaded { value: T::default(), notice: Some(notice), backup }
}

/// Writes to a temporary file beside `path` and renames it over, so a crash
/// never leaves half a file.
pub fn save_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    // A temporary file of its own in the same folder (the app and the CLI
    // may write at once), flushed to disk, then renamed over the old file:
    // a crash at any point leaves the old version or the new one.
    let mut f = tempfile::Builder::new().prefix(".settings-").suffix(".tmp").tempfile_in(dir)?;
    f.write_all(&serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?)?;
    f.as_file().sync_all()?;
    f.persist(path).map_err(|e| e.error)?;
    // The rename itself is durable once the folder is synced.
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    sweep_stale_temp_files(dir, STALE_AFTER);
    Ok(())
}

/// A writer killed between creating its temporary file and the rename
/// leaves the file behind; one this old belongs to no live write.
pub(crate) const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

pub(crate) fn sweep_stale_temp_files(dir: &Path, older_than: std::time::Duration) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let stale = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().unwrap_or_default() > older_than);
        if name.starts_with(".settings-") && name.ends_with(".tmp") && stale {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
