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

use crate::commands::limits::{self, check};
use crate::state::{lock, AppState};

/// Downloads in flight, by id, for pause and cancel.
#[derive(Default)]
pub struct Downloads {
    next: Mutex<u32>,
    running: Mutex<HashMap<u32, (String, String, Arc<Control>)>>,
}

/// One message on the `download` event.
#[derive(Debug, Clone, Serialize)]
pub struct DownloadEvent {
    pub id: u32,
    pub repo: String,
    pub file: String,
    /// running, paused, done, cancelled or error
    pub state: &'static str,
    pub downloaded: u64,
    pub total: u64,
    pub bytes_per_sec: f64,
    pub eta_secs: Option<f64>,
    pub message: Option<String>,
    pub path: Option<PathBuf>,
}

/// The installed models, and notices such as a damaged imports list that
/// was set aside.
#[derive(Debug, Serialize)]
pub struct Listing {
    pub models: Vec<LocalModel>,
    pub notices: Vec<String>,
}

#[tauri::command]
pub fn models_list() -> Listing {
    let lib = Library::from_env();
    let models = lib.list();
    Listing { models, notices: lib.take_notices() }
}

/// The recommended models, each with its install path and fit.
#[tauri::command]
pub fn models_catalog() -> Vec<CatalogItem> {
    Library::from_env().catalog(Memory::of_this_machine())
}

/// Shows an installed model in the file manager. Only library paths: a
/// page can't make the app open arbitrary folders.
#[tauri::command]
pub fn models_reveal(path: PathBuf) -> Result<(), String> {
    check("path", &path.to_string_lossy(), limits::PATH)?;
    if !Library::from_env().list().iter().any(|m| m.path == path) {
        return Err(format!("{} is not one of the installed models", path.display()));
    }
    tauri_plugin_opener::reveal_item_in_dir(&path).map_err(|e| format!("could not open the file manager: {e}"))
}

#[tauri::command]
pub async fn models_search(query: String) -> Result<Vec<RepoSummary>, String> {
    check("search", &query, limits::NAME)?;
    if query.trim().is_empty() {
        return Err("type a model name or ORG/REPO to search".into());
    }
    Hub::from_env().search(query.trim(), 20).await.map_err(|e| e.to_string())
}

#[tauri::command]
pub async fn models_files(repo: String) -> Result<Vec<RepoFile>, String> {
    check("repo", &repo, limits::NAME)?;
    let repo = cmdbar_models::repo_name(&repo).map_err(|e| e.to_string())?;
    Hub::from_env().repo_files(&repo).await.map(|(_, files)| files).map_err(|e| e.to_string())
}

/// Starts (or resumes) a download and returns its id; progress follows as
/// `download` events.
#[tauri::command]
pub fn models_download<R: Runtime>(
    app: AppHandle<R>,
    downloads: State<'_, Downloads>,
    repo: String,
    file: String,
) -> Result<u32, String> {
    check("repo", &repo, limits::NAME)?;
    check("file name", &file, limits::NAME)?;
    if !file.to_ascii_lowercase().ends_with(".gguf") {
        return Err(format!("{file} is not a GGUF file"));
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
                    let _ = app.emit("download", event("running", Some(p), None, None));
                })
                .await
            }
            Err(e) => Err(e),
        };
        let done = match result {
            Ok(path) => {
                crate::state::adopt_if_missing(&app, &path);
                event("done", None, None, Some(path))
            }
            Err(ModelsError::Paused) => event("paused", None, None, None),
            Err(ModelsError::Cancelled) => event("cancelled", None, None, None),
            Err(e) => event("error", None, Some(e.to_string()), None),
        };
        lock(&app.state::<Downloads>().running).remove(&id);
        let _ = app.emit("download", done);
    });
    Ok(id)
}

fn control(downloads: &Downloads, id: u32) -> Result<Arc<Control>, String> {
    lock(&downloads.running).get(&id).map(|(_, _, c)| c.clone()).ok_or_else(|| format!("no download {id} is running"))
}

/// Pauses a download; its `.part` stays, and downloading again resumes it.
#[tauri::command]
pub fn models_pause(downloads: State<'_, Downloads>, id: u32) -> Result<(), String> {
    control(&downloads, id).map(|c| c.pause())
}

/// Cancels a download and removes its partial file.
#[tauri::command]
pub fn models_cancel(downloads: State<'_, Downloads>, id: u32) -> Result<(), String> {
    control(&downloads, id).map(|c| c.cancel())
}

#[tauri::command]
pub fn models_import(path: String) -> Result<LocalModel, String> {
    check("path", &path, limits::PATH)?;
    if path.trim().is_empty() {
        return Err("give the path of a .gguf file".into());
    }
    Library::from_env().import(std::path::Path::new(path.trim())).map_err(|e| e.to_string())
}

#[tauri::command]
pub fn models_delete(state: State<'_, AppState>, path: PathBuf) -> Result<(), String> {
    check("path", &path.to_string_lossy(), limits::PATH)?;
    if lock(&state.settings).active_model.as_ref() == Some(&path) {
        return Err("this is the active model; choose another one first".into());
    }
    Library::from_env().delete(&path).map_err(|e| e.to_string())
}

/// Makes `path` the active model and loads it; the status events report
/// progress, and a model that fails to load leaves the previous one active.
#[tauri::command]
pub fn models_use<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, path: PathBuf) -> Result<(), String> {
    check("path", &path.to_string_lossy(), limits::PATH)?;
    if !path.is_file() {
        return Err(format!("{} does not exist", path.display()));
    }
    let mut s = lock(&state.settings).clone();
    let previous = s.active_model.replace(path);
    s.save(&state.paths.settings).map_err(|e| format!("could not save settings: {e}"))?;
    *lock(&state.settings) = s;
    crate::state::load_model_or_revert(app, Some(previous));
    Ok(())
}
