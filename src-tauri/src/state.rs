//! What the app holds: the engine, the model's status, settings, history.
use std::path::PathBuf;
use std::sync::Mutex;

use cmdbar_engine::{DevicePreference, Engine, EngineConfig, ModelInfo};
use cmdbar_settings::{History, Settings};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

#[derive(Debug, Clone)]
pub struct Paths {
    pub settings: PathBuf,
    pub history: PathBuf,
}

impl Paths {
    /// The folder the CLI shares (`cmdbar_settings::config_dir`).
    pub fn detect() -> Self {
        Self::in_dir(cmdbar_settings::config_dir())
    }

    pub fn in_dir(dir: PathBuf) -> Self {
        Self { settings: dir.join("settings.json"), history: dir.join("history.json") }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum ModelStatus {
    /// `progress`: the share of the weights read, 0 to 1.
    Loading {
        name: String,
        progress: f32,
    },
    Ready {
        name: String,
        device: String,
        load_ms: u64,
    },
    Error {
        name: String,
        message: String,
    },
}

pub struct AppState {
    pub engine: Engine,
    pub paths: Paths,
    pub settings: Mutex<Settings>,
    pub history: Mutex<History>,
    pub status: Mutex<ModelStatus>,
    pub model: Mutex<Option<ModelInfo>>,
    /// Messages for the user from start-up (a settings file set aside).
    pub notices: Mutex<Vec<String>>,
    /// The hotkey that is registered now, if any.
    pub hotkey: Mutex<Option<String>>,
}

impl AppState {
    pub fn new(paths: Paths) -> Self {
        let mut notices = vec![];
        let s = Settings::load(&paths.settings);
        notices.extend(s.notice);
        let h = History::load(&paths.history);
        notices.extend(h.notice);
        let model = model_path(&s.value);
        Self {
            engine: Engine::spawn(EngineConfig { device: DevicePreference::Auto, max_context: 4096 }),
            paths,
            settings: Mutex::new(s.value),
            history: Mutex::new(h.value),
            status: Mutex::new(ModelStatus::Loading { name: file_name(&model), progress: 0.0 }),
            model: Mutex::new(None),
            notices: Mutex::new(notices),
            hotkey: Mutex::new(None),
        }
    }
}

/// Locks, recovering from a panic in another holder: the data are plain
/// values that stay valid.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}

/// The settings' model, else `$CMDBAR_MODEL`, else the default model.
pub fn model_path(s: &Settings) -> PathBuf {
    s.active_model.clone().unwrap_or_else(cmdbar_models::default_model_path)
}

pub fn set_status<R: Runtime>(app: &AppHandle<R>, status: ModelStatus) {
    let state = app.state::<AppState>();
    *lock(&state.status) = status.clone();
    crate::tray::show_status(app, &status);
    let _ = app.emit("model-status", status);
}

/// Loads the model on the engine thread and reports the outcome as a
/// `model-status` event; the caller never waits.
pub fn load_model<R: Runtime>(app: AppHandle<R>) {
    load_model_or_revert(app, None)
}

/// As `load_model`; if the load fails while another model is loaded, that
/// one stays in use, so the settings go back to `previous` (the engine
/// keeps the old weights on a failed load).
pub fn load_model_or_revert<R: Runtime>(app: AppHandle<R>, previous: Option<Option<PathBuf>>) {
    let state = app.state::<AppState>();
    let path = model_path(&lock(&state.settings));
    let name = file_name(&path);
    set_status(&app, ModelStatus::Loading { name: name.clone(), progress: 0.0 });
    let (a, n) = (app.clone(), name.clone());
    let rx = state.engine.load_with_progress(&path, move |f| {
        set_status(&a, ModelStatus::Loading { name: n.clone(), progress: f });
    });
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let status = match rx.recv() {
            Ok(Ok(info)) => {
                let s =
                    ModelStatus::Ready { name: info.name.clone(), device: info.device.into(), load_ms: info.load_ms };
                *lock(&state.model) = Some(info);
                s
            }
            Ok(Err(e)) => {
                let mut message = e.to_string();
                let old = lock(&state.model).clone();
                if let (Some(old), Some(prev)) = (old, previous) {
                    let mut s = lock(&state.settings);
                    s.active_model = prev;
                    let _ = s.save(&state.paths.settings);
                    message.push_str(&format!("; still using {}", old.name));
                }
                ModelStatus::Error { name, message }
            }
            Err(_) => ModelStatus::Error { name, message: "the engine stopped".into() },
        };
        set_status(&app, status);
    });
}
