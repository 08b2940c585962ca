//! IPC for the Models pane: the library, Hub search, downloads with
//! progress events, and choosing the active model.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cmdbar_models::{
    download, CatalogItem, Control, Hub, HubCache, Library, LocalModel, Memory, ModelsError, RepoFile, RepoSummary,
};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};

use crate::limits::{self, check};
use crate::error::{IpcError, IpcResult};
use crate::state::{lock, AppState};

/// Each running download's repo, file and control, by id.
type Running = HashMap<u32, (String, String, Arc<Control>)>;

/// Downloads in flight, by id, for pause and cancel.
#[derive(Default)]
pub struct Downloads {
    next: Mutex<u32>,
    running: Mutex<Running>,
}

/// Where a download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum DownloadState {
    Running,
    Paused,
    /// Downloaded and verified; `path` is set.
    Done,
    Cancelled,
    /// `message` says why.
    Error,
}

/// One message on the `download` event.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct DownloadEvent {
    pub id: u32,
    pub repo: String,
    pub file: String,
    pub state: DownloadState,
    pub downloaded: u64,
    pub total: u64,
    pub bytes_per_sec: f64,
    pub eta_secs: Option<f64>,
    pub message: Option<String>,
    #[ts(as = "Option<String>")]
    pub path: Option<PathBuf>,
}

/// The installed models, and notices such as a damaged imports list that
/// was set aside.
#[derive(Debug, Serialize, ts_rs::TS)]
pub struct Listing {
    pub models: Vec<LocalModel>,
    pub notices: Vec<String>,
}

#[tauri::command]
pub fn models_list() -> Listing {
    list_in(&Library::from_env())
}

/// The listing reads every model's header on this (the main) thread: a
/// panic there would take the app down, and with it every later opening
/// of Settings, so it is caught and reported.
fn list_in(lib: &Library) -> Listing {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lib.list())) {
        Ok(models) => Listing { models, notices: lib.take_notices() },
        Err(_) => {
            let mut notices = lib.take_notices();
            notices.push("a model file could not be read and the list stopped; see the log".into());
            Listing { models: vec![], notices }
        }
    }
}

/// The recommended models, each with its install path and fit.
#[tauri::command]
pub fn models_catalog() -> Vec<CatalogItem> {
    Library::from_env().catalog(Memory::of_this_machine())
}

/// Shows an installed model in the file manager. Only library paths: a
/// page can't make the app open arbitrary folders.
#[tauri::command]
pub fn models_reveal(path: PathBuf) -> IpcResult<()> {
    check("path", &path.to_string_lossy(), limits::PATH)?;
    if !Library::from_env().list().iter().any(|m| m.path == path) {
        return Err(IpcError::from(ModelsError::NotInLibrary(path)).on("path"));
    }
    tauri_plugin_opener::reveal_item_in_dir(&path)
        .map_err(|e| IpcError::io(format!("could not open the file manager: {e}")))
}

#[tauri::command]
pub async fn models_search(query: String) -> IpcResult<Vec<RepoSummary>> {
    check("search", &query, limits::NAME)?;
    if query.trim().is_empty() {
        return Err(IpcError::invalid("query", "type a model name or ORG/REPO to search"));
    }
    Ok(Hub::from_env().search(query.trim(), 20).await?)
}

#[tauri::command]
pub async fn models_files(repo: String) -> IpcResult<Vec<RepoFile>> {
    check("repo", &repo, limits::NAME)?;
    let repo = cmdbar_models::repo_name(&repo).map_err(|e| IpcError::from(e).on("repo"))?;
    Ok(Hub::from_env().repo_files(&repo).await.map(|(_, files)| files)?)
}

/// Starts (or resumes) a download and returns its id; progress follows as
/// `download` events.
#[tauri::command]
pub fn models_download<R: Runtime>(
    app: AppHandle<R>,
    downloads: State<'_, Downloads>,
    repo: String,
    file: String,
) -> IpcResult<u32> {
    check("repo", &repo, limits::NAME)?;
    check("file name", &file, limits::NAME)?;
    if !file.to_ascii_lowercase().ends_with(".gguf") {
        return Err(IpcError::invalid("file", format!("{file} is not a GGUF file")));
    }
    let mut running = lock(&downloads.running);
    if let Some((id, ..)) = running.iter().find(|(_, (r, f, _))| *r == repo && *f == file) {
        return Ok(*id);
    }
    let id = {
        let mut n = lock(&downloads.next);
        *n += 1;
        *n
    };
    let control = Arc::new(Control::new());
    running.insert(id, (repo.clone(), file.clone(), control.clone()));
    drop(running);
    tauri::async_runtime::spawn(async move {
        let hub = Hub::from_env();
        let cache = HubCache::from_env();
        let event = |state, p: Option<&cmdbar_models::Progress>, message: Option<String>, path| DownloadEvent {
            id,
            repo: repo.clone(),
            file: file.clone(),
            state,
            downloaded: p.map_or(0, |p| p.downloaded),
            total: p.map_or(0, |p| p.total),
            bytes_per_sec: p.map_or(0.0, |p| p.bytes_per_sec),
            eta_secs: p.and_then(|p| p.eta_secs),
            message,
            path,
        };
        let result = match hub.file_info(&repo, "main", &file).await {
            Ok(f) => {
                download(&hub, &cache, &f, &control, |p| {
                    let _ = app.emit("download", event(DownloadState::Running, Some(p), None, None));
                })
                .await
            }
            Err(e) => Err(e),
        };
        let done = match result {
            Ok(path) => {
                crate::state::adopt_if_missing(&app, &path);
                event(DownloadState::Done, None, None, Some(path))
            }
            Err(ModelsError::Paused) => event(DownloadState::Paused, None, None, None),
            Err(ModelsError::Cancelled) => event(DownloadState::Cancelled, None, None, None),
            Err(e) => event(DownloadState::Error, None, Some(e.to_string()), None),
        };
        lock(&app.state::<Downloads>().running).remove(&id);
        let _ = app.emit("download", done);
    });
    Ok(id)
}

fn control(downloads: &Downloads, id: u32) -> IpcResult<Arc<Control>> {
    lock(&downloads.running)
        .get(&id)
        .map(|(_, _, c)| c.clone())
        .ok_or_else(|| IpcError::not_found(format!("no download {id} is running")).on("id"))
}

/// Pauses a download; its `.part` stays, and downloading again resumes it.
#[tauri::command]
pub fn models_pause(downloads: State<'_, Downloads>, id: u32) -> IpcResult<()> {
    control(&downloads, id).map(|c| c.pause())
}

/// Cancels a download and removes its partial file.
#[tauri::command]
pub fn models_cancel(downloads: State<'_, Downloads>, id: u32) -> IpcResult<()> {
    control(&downloads, id).map(|c| c.cancel())
}

#[tauri::command]
pub fn models_import(path: String) -> IpcResult<LocalModel> {
    check("path", &path, limits::PATH)?;
    if path.trim().is_empty() {
        return Err(IpcError::invalid("path", "give the path of a .gguf file"));
    }
    let lib = Library::from_env();
    let path = std::path::Path::new(path.trim());
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| lib.import(path))) {
        Ok(r) => r.map_err(|e| IpcError::from(e).on("path")),
        Err(_) => {
            Err(IpcError::invalid("path", format!("{} can't be used: the model reader crashed on it", path.display())))
        }
    }
}

/// Whether `a` and `b` are the same file: compared canonically, so
/// another spelling of the active model's path (`dir/../dir/m.gguf`, a
/// link to it) is still the active model.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    a == b || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
}

#[tauri::command]
pub fn models_delete(state: State<'_, AppState>, path: PathBuf) -> IpcResult<()> {
    check("path", &path.to_string_lossy(), limits::PATH)?;
    // The active model is the settings' one, or with none set the default
    // model the app found and loaded.
    let loaded = match &*lock(&state.status) {
        crate::state::ModelStatus::Ready { path, .. } => Some(path.clone()),
        _ => None,
    };
    let chosen = crate::state::model_path(&lock(&state.settings));
    if [chosen, loaded].iter().flatten().any(|active| same_file(active, &path)) {
        return Err(IpcError::refused("this is the active model; choose another one first").on("path"));
    }
    Ok(Library::from_env().delete(&path)?)
}

/// Makes `path` the active model and loads it; the status events report
/// progress, and a model that fails to load leaves the previous one active.
#[tauri::command]
pub fn models_use<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, path: PathBuf) -> IpcResult<()> {
    check("path", &path.to_string_lossy(), limits::PATH)?;
    if !path.is_file() {
        return Err(IpcError::not_found(format!("{} does not exist", path.display())).on("path"));
    }
    let mut s = lock(&state.settings).clone();
    let previous = s.active_model.replace(path);
    s.save(&state.paths.settings).map_err(|e| IpcError::io(format!("could not save settings: {e}")))?;
    *lock(&state.settings) = s;
    crate::state::load_model_or_revert(app, Some(previous));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 166-byte GGUF whose `general.alignment` is 0 made Candle divide by
    /// zero: the listing (Settings' Models pane) panicked with it.
    #[test]
    fn a_bad_file_does_not_take_the_model_list_down() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("models");
        std::fs::create_dir_all(&folder).unwrap();
        let fixture =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/bad-gguf/alignment-zero.gguf");
        std::fs::copy(&fixture, folder.join("alignment-zero.gguf")).unwrap();
        let lib = Library::new(HubCache { root: dir.path().join("hub") }, folder.join("imports.json"));
        let listing = list_in(&lib);
        assert_eq!(listing.models.len(), 1, "{listing:?}");
        let problem = listing.models[0].problem.as_deref().unwrap_or("");
        assert!(problem.contains("alignment"), "{problem}");
    }

    /// Another spelling of the active model's path got past the guard.
    #[test]
    fn the_active_model_cannot_be_deleted_under_another_spelling() {
        use tauri::test::{mock_builder, mock_context, noop_assets};
        let dir = tempfile::tempdir().unwrap();
        let app = mock_builder().invoke_handler(crate::commands::handler()).build(mock_context(noop_assets())).unwrap();
        let state = AppState::new(crate::state::Paths::in_dir(dir.path().to_path_buf()));
        let active = dir.path().join("active.gguf");
        std::fs::write(&active, b"weights").unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        lock(&state.settings).active_model = Some(active.clone());
        app.manage(state);
        app.manage(Downloads::default());
        let w = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        for spelling in [active.clone(), dir.path().join("sub/../active.gguf"), dir.path().join("./active.gguf")] {
            let r = crate::commands::tests::call(&w, "models_delete", serde_json::json!({ "path": spelling }));
            let e = r.err().and_then(|v| v["message"].as_str().map(str::to_string)).unwrap_or_default();
            assert!(e.contains("active model"), "{}: {e}", spelling.display());
        }
        assert!(active.exists());
    }

    /// With no model chosen in the settings the app loads the default
    /// one; that one could be deleted from under it.
    #[test]
    fn the_loaded_default_model_cannot_be_deleted() {
        use tauri::test::{mock_builder, mock_context, noop_assets};
        let dir = tempfile::tempdir().unwrap();
        let app = mock_builder().invoke_handler(crate::commands::handler()).build(mock_context(noop_assets())).unwrap();
        let state = AppState::new(crate::state::Paths::in_dir(dir.path().to_path_buf()));
        let default = dir.path().join("default.gguf");
        std::fs::write(&default, b"weights").unwrap();
        lock(&state.settings).active_model = None;
        *lock(&state.status) = crate::state::ModelStatus::Ready {
            name: "default".into(),
            path: default.clone(),
            device: "cpu".into(),
            load_ms: 1,
            fallback: None,
        };
        app.manage(state);
        app.manage(Downloads::default());
        let w = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
        let r = crate::commands::tests::call(&w, "models_delete", serde_json::json!({ "path": default }));
        let e = r.err().and_then(|v| v["message"].as_str().map(str::to_string)).unwrap_or_default();
        assert!(e.contains("active model"), "{e}");
        assert!(default.exists());
    }

    #[test]
    fn the_active_model_is_recognised_under_another_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m.gguf");
        std::fs::write(&m, b"x").unwrap();
        let other = dir.path().join("sub/../m.gguf");
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        assert!(same_file(&m, &other));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&m, dir.path().join("link.gguf")).unwrap();
            assert!(same_file(&m, &dir.path().join("link.gguf")));
        }
        assert!(!same_file(&m, &dir.path().join("n.gguf")));
    }
}
