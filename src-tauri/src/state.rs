//! What the app holds: the engine, the model's status, settings, history.
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use cmdbar_engine::{Backend, Engine, EngineConfig, Event, ModelInfo, Prompt, Request};
use cmdbar_remote::{Remote, RemoteConfig};
use cmdbar_settings::secrets::Secrets;
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

#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum ModelStatus {
    /// `progress`: the share of the weights read, 0 to 1.
    Loading {
        name: String,
        progress: f32,
    },
    Ready {
        name: String,
        /// The file loaded: the settings' model, or the default one.
        path: PathBuf,
        device: String,
        load_ms: u64,
        /// Why it runs on the CPU although a GPU was wanted, if it does.
        fallback: Option<String>,
    },
    Error {
        name: String,
        message: String,
    },
    /// No model anywhere on this machine: the UI offers `model`, the
    /// catalog's default, for download.
    Missing {
        name: String,
        model: Offer,
    },
}

/// A catalog model offered for download, with its fit on this machine.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct Offer {
    pub id: String,
    pub name: String,
    pub repo: String,
    pub file: String,
    pub size: u64,
    pub fit: Option<cmdbar_models::FitHint>,
}

impl Offer {
    pub fn default_model() -> Self {
        let e = cmdbar_models::catalog::default_entry();
        let fit = cmdbar_models::Memory::of_this_machine()
            .map(|m| cmdbar_models::catalog::judge(cmdbar_models::catalog::ram_needed(e.size, Some(e.kv)), m));
        Self { id: e.id.clone(), name: e.name.clone(), repo: e.repo.clone(), file: e.file.clone(), size: e.size, fit }
    }
}

impl ModelStatus {
    fn missing() -> Self {
        let model = Offer::default_model();
        Self::Missing { name: model.name.clone(), model }
    }
}

/// Where requests go: the local engine, or a server while Settings name
/// one. The one place that decides; everything else asks `&dyn Backend` of
/// this. One long-lived object, so `cmdbar_suggest::Stop` keys every
/// request, either side, to the same backend.
pub struct Switch {
    pub local: Engine,
    server: Mutex<Option<Arc<Remote>>>,
}

impl Switch {
    fn new(local: Engine) -> Self {
        Self { local, server: Mutex::new(None) }
    }

    fn current(&self) -> Option<Arc<Remote>> {
        lock(&self.server).clone()
    }

    /// Sends requests to `server`, or with None to the local engine; the
    /// request running on the other side is cancelled.
    fn set(&self, server: Option<Arc<Remote>>) {
        let old = std::mem::replace(&mut *lock(&self.server), server);
        match old {
            Some(old) => old.cancel(),
            None => self.local.cancel(),
        }
    }

    pub fn is_server(&self) -> bool {
        lock(&self.server).is_some()
    }
}

impl Backend for Switch {
    fn generate(&self, request: Request) -> std::sync::mpsc::Receiver<Event> {
        match self.current() {
            Some(r) => r.generate(request),
            None => self.local.generate(request),
        }
    }

    fn warm(&self, prompt: Prompt) -> std::sync::mpsc::Receiver<cmdbar_engine::Result<usize>> {
        match self.current() {
            Some(r) => r.warm(prompt),
            None => self.local.warm(prompt),
        }
    }

    fn cancel(&self) {
        match self.current() {
            Some(r) => r.cancel(),
            None => self.local.cancel(),
        }
    }
}

pub struct AppState {
    pub backend: Switch,
    /// The server's API key: the OS keychain, or a store in memory in tests.
    pub secrets: Box<dyn Secrets>,
    pub paths: Paths,
    pub settings: Mutex<Settings>,
    pub history: Mutex<History>,
    pub status: Mutex<ModelStatus>,
    pub model: Mutex<Option<ModelInfo>>,
    /// Messages for the user from start-up (a settings file set aside).
    pub notices: Mutex<Vec<String>>,
    /// The hotkey that is registered now, if any.
    pub hotkey: Mutex<Option<String>>,
    /// Why the saved hotkey could not be registered, until one is.
    pub hotkey_problem: Mutex<Option<String>>,
    /// Worked examples for the prompt, once the tldr pages are loaded.
    pub examples: Mutex<Option<std::sync::Arc<cmdbar_suggest::examples::Examples>>>,
    /// Stops the popup's latest request (Esc, cancel) without touching a
    /// newer one from the CLI's socket.
    pub popup_request: Mutex<std::sync::Arc<cmdbar_suggest::Stop>>,
}

impl AppState {
    pub fn new(paths: Paths) -> Self {
        Self::with_secrets(paths, Box::new(cmdbar_settings::secrets::Keychain))
    }

    pub fn with_secrets(paths: Paths, secrets: Box<dyn Secrets>) -> Self {
        let mut notices = vec![];
        let s = Settings::load(&paths.settings);
        notices.extend(s.notice);
        let h = History::load(&paths.history);
        notices.extend(h.notice);
        let status = match (&s.value.server, model_path(&s.value)) {
            (Some(server), _) => ModelStatus::Loading { name: server.model.clone(), progress: 0.0 },
            (None, Some(p)) => ModelStatus::Loading { name: file_name(&p), progress: 0.0 },
            (None, None) => ModelStatus::missing(),
        };
        Self {
            backend: Switch::new(Engine::spawn(EngineConfig::default())),
            secrets,
            paths,
            settings: Mutex::new(s.value),
            history: Mutex::new(h.value),
            status: Mutex::new(status),
            model: Mutex::new(None),
            notices: Mutex::new(notices),
            hotkey: Mutex::new(None),
            hotkey_problem: Mutex::new(None),
            examples: Mutex::new(None),
            popup_request: Mutex::default(),
        }
    }
}

/// Loads the tldr examples on a thread of their own; on first use (no
/// cache yet) downloads the pages first ($CMDBAR_TLDR_URL or upstream's).
/// Until then, or if that fails, requests go without examples.
pub fn load_examples<R: Runtime>(app: AppHandle<R>) {
    std::thread::spawn(move || {
        let store = cmdbar_tldr::Store::from_env();
        if matches!(store.load(), Ok(None)) {
            let url = cmdbar_tldr::Store::url_from_env();
            match store.update(&url) {
                Ok(u) => tracing::info!("tldr pages: {u:?}"),
                Err(e) => tracing::warn!("tldr pages not fetched, requests go without examples: {e}"),
            }
        }
        let ctx = cmdbar_suggest::Context::detect();
        if let Some(ex) = cmdbar_suggest::examples::Examples::load(&ctx) {
            *lock(&app.state::<AppState>().examples) = Some(std::sync::Arc::new(ex));
        }
    });
}

/// The OS, the shell (as chosen in Settings) and the folder a request is
/// for.
pub fn context(s: &Settings) -> cmdbar_suggest::Context {
    use cmdbar_settings::ShellChoice;
    use cmdbar_suggest::Shell;
    let mut ctx = cmdbar_suggest::Context::detect();
    ctx.shell = match s.shell {
        ShellChoice::Auto => ctx.shell,
        ShellChoice::Zsh => Shell::Zsh,
        ShellChoice::Bash => Shell::Bash,
        ShellChoice::Fish => Shell::Fish,
    };
    ctx
}

/// Locks, recovering from a panic in another holder: the data are plain
/// values that stay valid.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn file_name(p: &std::path::Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string())
}

/// The settings' model, else `$CMDBAR_MODEL`, else the default model
/// wherever it is installed; None when there is none.
pub fn model_path(s: &Settings) -> Option<PathBuf> {
    s.active_model.clone().or_else(cmdbar_models::default_model_path)
}

pub fn set_status<R: Runtime>(app: &AppHandle<R>, status: ModelStatus) {
    let state = app.state::<AppState>();
    *lock(&state.status) = status.clone();
    let _ = app.emit("model-status", status);
}

/// On a first run (no model anywhere), a model that has just been
/// downloaded becomes the active one and loads, with no further click.
pub fn adopt_if_missing<R: Runtime>(app: &AppHandle<R>, path: &std::path::Path) {
    let state = app.state::<AppState>();
    if !matches!(*lock(&state.status), ModelStatus::Missing { .. }) {
        return;
    }
    {
        let mut s = lock(&state.settings);
        s.active_model = Some(path.to_path_buf());
        if let Err(e) = s.save(&state.paths.settings) {
            tracing::warn!("saving the new active model: {e}");
        }
    }
    load_model(app.clone());
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
    let server = lock(&state.settings).server.clone();
    if let Some(server) = server {
        return use_server(&app, &server);
    }
    if state.backend.is_server() {
        // Back from a server: its info must not pass for a local model.
        state.backend.set(None);
        *lock(&state.model) = None;
    }
    let Some(path) = model_path(&lock(&state.settings)) else {
        set_status(&app, ModelStatus::missing());
        return;
    };
    let name = file_name(&path);
    set_status(&app, ModelStatus::Loading { name: name.clone(), progress: 0.0 });
    let (a, n) = (app.clone(), name.clone());
    let rx = state.backend.local.load_with_progress(&path, move |f| {
        set_status(&a, ModelStatus::Loading { name: n.clone(), progress: f });
    });
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let status = match rx.recv() {
            Ok(Ok(info)) => {
                let s = ModelStatus::Ready {
                    name: info.name.clone(),
                    path: path.clone(),
                    device: info.device.into(),
                    load_ms: info.load_ms,
                    fallback: info.fallback.clone(),
                };
                *lock(&state.model) = Some(info);
                // The fixed prompt start is computed now, not on the first
                // question; a question asked meanwhile waits its turn.
                let ctx = context(&lock(&state.settings));
                drop(cmdbar_suggest::warm_up(&state.backend.local, &ctx));
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

/// Sends requests to `server` (no local model is loaded): ready at once,
/// since nothing is sent until the first request, whose failure (refused,
/// 401, …) reaches the popup as the engine's typed error.
fn use_server<R: Runtime>(app: &AppHandle<R>, server: &cmdbar_settings::Server) {
    let state = app.state::<AppState>();
    let name = server.model.clone();
    let status = match connect(server, &*state.secrets) {
        Ok(remote) => {
            let info = remote.info().clone();
            state.backend.set(Some(Arc::new(remote)));
            *lock(&state.model) = Some(info.clone());
            ModelStatus::Ready {
                name: info.name,
                path: info.path,
                device: info.device.into(),
                load_ms: 0,
                fallback: None,
            }
        }
        Err(message) => {
            // Nothing answers until the address is fixed: not the old
            // server, and not a local model the user chose not to use.
            state.backend.set(None);
            *lock(&state.model) = None;
            ModelStatus::Error { name, message }
        }
    };
    set_status(app, status);
}

/// The server's backend, with its key from the keychain.
pub fn connect(server: &cmdbar_settings::Server, secrets: &dyn Secrets) -> Result<Remote, String> {
    let key = cmdbar_settings::secrets::api_key(server, secrets).map_err(|e| e.to_string())?;
    let config = RemoteConfig { api_key: key, ..RemoteConfig::new(server.base_url.trim(), server.model.trim()) };
    Remote::new(config).map_err(|e| e.to_string())
}
