//! IPC commands: each checks its arguments, calls the core and returns a
//! message the UI can show as it is. Nothing here blocks on the model.
use cmdbar_safety::Action;
use cmdbar_settings::{Entry, Server, Settings};
use cmdbar_suggest::{Options, SuggestError};
use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime, State};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::error::{IpcError, IpcResult};
use crate::state::{context, lock, AppState, ModelStatus};

/// The names of the commands the app serves (src/ipc_commands.rs).
pub const COMMANDS: &[&str] = ipc_commands!(command_names);

/// Serves every command of the list in src/ipc_commands.rs.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    macro_rules! serve {
        ($($module:ident::$name:ident),* $(,)?) => {
            tauri::generate_handler![$(crate::$module::$name),*]
        };
    }
    ipc_commands!(serve)
}

/// One message on the `suggestion` event, tagged with the request's id so
/// the UI can drop what a newer request made stale.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Suggestion {
    Candidate {
        id: u32,
        candidate: cmdbar_suggest::Candidate,
    },
    /// `candidates`: the rows in their final order (agreement among the
    /// completions is counted only once all are in; the streamed ones came
    /// in arrival order, and one may have given its row to a better one).
    /// `hidden`: how many the safety level hid.
    Done {
        id: u32,
        candidates: Vec<cmdbar_suggest::Candidate>,
        hidden: usize,
        notices: Vec<String>,
        timings: cmdbar_engine::Timings,
    },
    Error {
        id: u32,
        message: String,
    },
    Cancelled {
        id: u32,
    },
}

/// What the settings ask of a request.
fn options(settings: &Settings) -> Options {
    Options {
        candidates: settings.candidates,
        temperature: settings.temperature,
        safety: settings.safety,
        speculate: settings.drafts,
        ..Default::default()
    }
}

/// Starts a request and returns at once; candidates follow as events. A
/// request already running is cancelled by the engine.
#[tauri::command]
pub fn ask<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>, query: String, id: u32) -> IpcResult<()> {
    crate::limits::check("request", &query, crate::limits::QUERY)?;
    cmdbar_suggest::check_query(&query)?;
    let Some(info) = lock(&state.model).clone() else {
        return Err(IpcError::not_ready(match &*lock(&state.status) {
            ModelStatus::Loading { name, .. } => format!("{name} is still loading; try again in a moment"),
            ModelStatus::Error { name, message } => format!("{name} could not be loaded: {message}"),
            ModelStatus::Missing { model, .. } => {
                format!("Cmdbar needs a model to answer: download {} first", model.name)
            }
            ModelStatus::Ready { .. } => "no model is loaded".into(),
        }));
    };
    let settings = lock(&state.settings).clone();
    let opts = options(&settings);
    let examples = lock(&state.examples).clone();
    let prepared = cmdbar_suggest::prepare_with(&context(&settings), &query, &opts, &info, examples.as_deref())?;
    if settings.history_enabled {
        let mut h = lock(&state.history);
        h.push(&query, settings.history_limit);
        if let Err(e) = h.save(&state.paths.history) {
            tracing::warn!("saving history: {e}");
        }
    }
    // The popup's newest request: Esc and cancel stop it, and only it (a
    // CLI request on the socket may be the engine's newest).
    let stop = std::sync::Arc::new(cmdbar_suggest::Stop::default());
    *lock(&state.popup_request) = stop.clone();
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let emit = |s: Suggestion| {
            let _ = app.emit("suggestion", s);
        };
        let result = cmdbar_suggest::suggest_with(&state.backend, prepared, &stop, |c| {
            emit(Suggestion::Candidate { id, candidate: c.clone() })
        });
        emit(match result {
            Ok(s) => Suggestion::Done {
                id,
                candidates: s.candidates,
                hidden: s.hidden,
                notices: s.notices,
                timings: s.timings,
            },
            Err(SuggestError::Cancelled) => Suggestion::Cancelled { id },
            Err(SuggestError::Engine(e @ cmdbar_engine::EngineError::Crashed(_))) => {
                // The engine caught the panic and dropped the model; the app
                // stays up and loads it again.
                crate::state::load_model(app.clone());
                Suggestion::Error { id, message: format!("{e}; loading the model again") }
            }
            Err(e) => Suggestion::Error { id, message: e.to_string() },
        });
    });
    Ok(())
}

#[tauri::command]
pub fn cancel(state: State<'_, AppState>) {
    lock(&state.popup_request).stop(&state.backend);
}

/// Copies a command. The risk is judged again here rather than trusted
/// from the UI: a command that needs a confirm is refused without one.
#[tauri::command]
pub fn copy<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    command: String,
    confirmed: bool,
    query: Option<String>,
) -> IpcResult<()> {
    if command.trim().is_empty() {
        return Err(IpcError::invalid("command", "there is no command to copy"));
    }
    crate::limits::check("command", &command, crate::limits::COMMAND)?;
    if let Some(q) = &query {
        crate::limits::check("request", q, crate::limits::QUERY)?;
    }
    let settings = lock(&state.settings).clone();
    let level = settings.safety;
    // Judged as the popup judged it: in the user's shell, and no lower
    // than the request asked for.
    let ctx = context(&settings);
    let a = cmdbar_suggest::Judge::new(ctx.os, ctx.shell, query.as_deref()).assess(&command);
    match level.action(a.risk) {
        Action::Hide => {
            return Err(IpcError::refused(format!(
                "the {} safety level does not allow this command: {}",
                level.as_str(),
                a.reason
            )))
        }
        Action::Confirm if !confirmed => {
            return Err(IpcError::refused(format!("this command {}; confirm to copy it", a.reason)));
        }
        _ => {}
    }
    app.clipboard().write_text(command.clone()).map_err(|e| IpcError::io(format!("could not copy: {e}")))?;
    if let Some(q) = query {
        let mut h = lock(&state.history);
        h.chose(&q, &command);
        let _ = h.save(&state.paths.history);
    }
    Ok(())
}

/// Pastes into the frontmost Terminal or iTerm window without pressing
/// Return. Needs the Accessibility permission for System Events.
#[tauri::command]
pub fn paste_to_terminal<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    command: String,
    confirmed: bool,
    query: Option<String>,
) -> IpcResult<()> {
    copy(app.clone(), state, command.clone(), confirmed, query)?;
    pasteable(&command)?;
    paste(&app)
}

/// A pasted newline is a Return: a shell without bracketed paste (macOS's
/// /bin/bash 3.2) would run each line as it arrives, before the user has
/// read it. So only one-line commands are pasted.
pub fn pasteable(command: &str) -> IpcResult<()> {
    if command.contains(['\n', '\r']) {
        return Err(IpcError::refused(
            "a command of several lines is not pasted, because a shell without bracketed paste would run each \
             line; it is on the clipboard",
        ));
    }
    Ok(())
}

#[cfg(target_os = "macos")]
fn paste<R: Runtime>(app: &AppHandle<R>) -> IpcResult<()> {
    crate::windows::hide_popup(app);
    // The command is already on the clipboard; AppleScript only switches
    // app and sends ⌘V, so no command text is ever quoted into a script.
    let script = r#"
        if application "iTerm" is running then
            tell application "iTerm" to activate
        else
            tell application "Terminal" to activate
        end if
        delay 0.1
        tell application "System Events" to keystroke "v" using command down"#;
    let out = std::process::Command::new("osascript")
        .args(["-e", script])
        .output()
        .map_err(|e| IpcError::io(format!("could not run osascript: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(IpcError::refused(format!(
            "could not paste ({}); allow Cmdbar under System Settings › Privacy & Security › Accessibility",
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

#[cfg(not(target_os = "macos"))]
fn paste<R: Runtime>(_app: &AppHandle<R>) -> IpcResult<()> {
    Err(IpcError::unsupported("pasting into a terminal is only available on macOS; the command is on the clipboard"))
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    lock(&state.settings).clone()
}

/// Checks, applies and saves new settings. The hotkey changes at once; if
/// the new one is taken, nothing is changed and the error says so.
#[tauri::command]
pub fn set_settings<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    settings: Settings,
) -> IpcResult<Settings> {
    settings.validate()?;
    let old = lock(&state.settings).clone();
    let mut settings = settings;
    if settings.server != old.server {
        // Checked and keyed as set_server does: an old address's key goes.
        let server = settings.server.take();
        settings.server = old.server.clone();
        let key = kept_key(&state, server.as_ref())?;
        apply_server(&state, &mut settings, server, key)?;
    }
    if settings.hotkey != old.hotkey {
        crate::hotkey::change(&app, &settings.hotkey).map_err(|e| IpcError::invalid("hotkey", e))?;
    }
    if settings.launch_at_login != old.launch_at_login {
        crate::windows::set_autostart(&app, settings.launch_at_login);
    }
    if !settings.history_enabled && old.history_enabled {
        let mut h = lock(&state.history);
        h.clear();
        let _ = h.save(&state.paths.history);
    }
    settings.save(&state.paths.settings).map_err(|e| IpcError::io(format!("could not save settings: {e}")))?;
    *lock(&state.settings) = settings.clone();
    if settings.server != old.server {
        crate::state::load_model(app);
    } else if settings.active_model != old.active_model {
        crate::state::load_model_or_revert(app, Some(old.active_model));
    }
    Ok(settings)
}

/// The server in use, if any, and whether an API key is stored for it;
/// the key itself never comes back to the UI.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ServerState {
    pub server: Option<Server>,
    pub has_key: bool,
}

fn server_state(state: &AppState) -> IpcResult<ServerState> {
    let server = lock(&state.settings).server.clone();
    let has_key = match &server {
        Some(s) => cmdbar_settings::secrets::api_key(s, &*state.secrets)
            .map_err(|e| IpcError::from(cmdbar_settings::secrets::ServerError::from(e)))?
            .is_some(),
        None => false,
    };
    Ok(ServerState { server, has_key })
}

#[tauri::command]
pub fn get_server(state: State<'_, AppState>) -> IpcResult<ServerState> {
    server_state(&state)
}

/// Uses an OpenAI-compatible server instead of the local model (None: back
/// to the local model). `key`: None keeps the key stored for this address,
/// "" removes it, anything else replaces it; it goes to the keychain only.
/// A bad address is refused with nothing saved.
#[tauri::command]
pub fn set_server<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    server: Option<Server>,
    key: Option<String>,
) -> IpcResult<ServerState> {
    if let Some(k) = &key {
        crate::limits::check("key", k, crate::limits::NAME)?;
    }
    let key = match key {
        Some(k) => Some(k),
        None => kept_key(&state, server.as_ref())?,
    };
    let mut settings = lock(&state.settings).clone();
    apply_server(&state, &mut settings, server, key)?;
    settings.save(&state.paths.settings).map_err(|e| IpcError::io(format!("could not save settings: {e}")))?;
    *lock(&state.settings) = settings;
    // Always: a new key for the same server needs a new connection too.
    crate::state::load_model(app);
    server_state(&state)
}

/// The key already stored for `server`'s address, if any.
fn kept_key(state: &AppState, server: Option<&Server>) -> IpcResult<Option<String>> {
    let Some(s) = server else { return Ok(None) };
    cmdbar_settings::secrets::api_key(s, &*state.secrets)
        .map_err(|e| IpcError::from(cmdbar_settings::secrets::ServerError::from(e)))
}

/// Checks `server` (its shape, then the address as the remote crate reads
/// it) and sets it on `settings`, its key in the keychain.
fn apply_server(
    state: &AppState,
    settings: &mut Settings,
    server: Option<Server>,
    key: Option<String>,
) -> IpcResult<()> {
    if let Some(s) = &server {
        crate::limits::check("base_url", &s.base_url, crate::limits::PATH)?;
        crate::limits::check("model", &s.model, crate::limits::NAME)?;
        s.validate()?;
        cmdbar_remote::endpoint(s.base_url.trim()).map_err(|e| IpcError::invalid("base_url", e.to_string()))?;
    }
    settings.set_server(server, key.as_deref(), &*state.secrets)?;
    Ok(())
}

#[tauri::command]
pub fn get_status(state: State<'_, AppState>) -> ModelStatus {
    lock(&state.status).clone()
}

#[tauri::command]
pub fn take_notices(state: State<'_, AppState>) -> Vec<String> {
    std::mem::take(&mut *lock(&state.notices))
}

#[tauri::command]
pub fn history(state: State<'_, AppState>, filter: String) -> IpcResult<Vec<Entry>> {
    crate::limits::check("filter", &filter, crate::limits::NAME)?;
    Ok(lock(&state.history).search(&filter, 50))
}

#[tauri::command]
pub fn clear_history(state: State<'_, AppState>) -> IpcResult<()> {
    let mut h = lock(&state.history);
    h.clear();
    h.save(&state.paths.history).map_err(|e| IpcError::io(format!("could not save history: {e}")))
}

#[tauri::command]
pub fn hotkey_state<R: Runtime>(app: AppHandle<R>) -> crate::hotkey::HotkeyState {
    crate::hotkey::state(&app)
}

/// The popup's height follows its content; the window code bounds it.
#[tauri::command]
pub fn popup_resize<R: Runtime>(app: AppHandle<R>, height: f64) -> IpcResult<()> {
    if !height.is_finite() || height <= 0.0 {
        return Err(IpcError::invalid("height", format!("{height} is not a window height")));
    }
    crate::windows::fit_popup(&app, height);
    Ok(())
}

/// The tldr pages behind the prompt's examples: how many, from where, and
/// the attribution their licence asks for.
#[derive(serde::Serialize, ts_rs::TS)]
pub struct TldrStatus {
    examples: usize,
    source: Option<String>,
    fetched_at: Option<u64>,
    attribution: &'static str,
}

#[tauri::command]
pub fn tldr_status() -> IpcResult<TldrStatus> {
    let data = cmdbar_tldr::Store::from_env().load().map_err(|e| IpcError::io(e.to_string()))?;
    Ok(TldrStatus {
        examples: data.as_ref().map_or(0, |d| d.examples.len()),
        source: data.as_ref().map(|d| d.source.clone()),
        fetched_at: data.map(|d| d.fetched_at),
        attribution: cmdbar_tldr::ATTRIBUTION,
    })
}

/// Downloads the pages again (from $CMDBAR_TLDR_URL or upstream's) and
/// puts the new examples to use; the old ones stay on any failure.
#[tauri::command]
pub async fn tldr_update<R: Runtime>(app: AppHandle<R>) -> IpcResult<TldrStatus> {
    let url = cmdbar_tldr::Store::url_from_env();
    let store = cmdbar_tldr::Store::from_env();
    tauri::async_runtime::spawn_blocking(move || store.update(&url))
        .await
        .map_err(|e| IpcError::internal(e.to_string()))?
        .map_err(|e| IpcError::new(crate::error::ErrorKind::Network, e.to_string()))?;
    let ctx = cmdbar_suggest::Context::detect();
    if let Some(ex) = cmdbar_suggest::examples::Examples::load(&ctx) {
        *lock(&app.state::<AppState>().examples) = Some(std::sync::Arc::new(ex));
    }
    tldr_status()
}

/// Hides the popup and stops its request: nobody is left to read the
/// answer, and the CPU should not stay busy on it.
#[tauri::command]
pub fn hide_popup<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) {
    lock(&state.popup_request).stop(&state.backend);
    crate::windows::hide_popup(&app);
}

#[tauri::command]
pub fn open_settings<R: Runtime>(app: AppHandle<R>, tab: Option<String>) -> IpcResult<()> {
    if let Some(t) = &tab {
        crate::limits::check("tab", t, crate::limits::NAME)?;
    }
    crate::windows::open_settings(&app, tab.as_deref());
    Ok(())
}

/// Opens the folder the app logs to (tauri-plugin-log's, the platform's
/// log folder) in the file manager.
#[tauri::command]
pub fn reveal_logs<R: Runtime>(app: AppHandle<R>) -> IpcResult<()> {
    let dir = app.path().app_log_dir().map_err(|e| IpcError::not_found(format!("no log folder: {e}")))?;
    std::fs::create_dir_all(&dir).map_err(|e| IpcError::io(format!("could not make {}: {e}", dir.display())))?;
    tauri_plugin_opener::open_path(&dir, None::<&str>)
        .map_err(|e| IpcError::io(format!("could not open the file manager: {e}")))
}

#[cfg(test)]
pub(crate) mod tests;
