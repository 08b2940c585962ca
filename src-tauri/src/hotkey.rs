//! The global hotkey: toggles the popup. Changing it registers the new one
//! before dropping the old, so a taken key leaves the old one working.
use std::str::FromStr;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_global_shortcut::{GlobalShortcutExt, Shortcut, ShortcutEvent, ShortcutState};

use crate::state::{lock, AppState};

pub fn on_shortcut<R: Runtime>(app: &AppHandle<R>, _shortcut: &Shortcut, event: ShortcutEvent) {
    if event.state() == ShortcutState::Pressed {
        crate::windows::toggle_popup(app);
    }
}

pub fn parse(text: &str) -> Result<Shortcut, String> {
    Shortcut::from_str(text.trim())
        .map_err(|e| format!("\"{text}\" is not a hotkey ({e}); write it like Ctrl+Shift+Space"))
}

/// What Settings and the tray show about the hotkey.
#[derive(Debug, Clone, Serialize, PartialEq, ts_rs::TS)]
pub struct HotkeyState {
    /// The saved hotkey.
    pub hotkey: String,
    pub active: bool,
    /// Why the saved hotkey is not active; it stays until one works.
    pub problem: Option<String>,
}

pub fn state<R: Runtime>(app: &AppHandle<R>) -> HotkeyState {
    let state = app.state::<AppState>();
    let problem = lock(&state.hotkey_problem).clone();
    let registered = lock(&state.hotkey).clone();
    let active = problem.is_none() && registered.is_some();
    // While a change is being saved the registered one is the newer.
    let hotkey = registered.filter(|_| active).unwrap_or_else(|| lock(&state.settings).hotkey.clone());
    HotkeyState { hotkey, active, problem }
}

fn report<R: Runtime>(app: &AppHandle<R>, problem: Option<String>) {
    *lock(&app.state::<AppState>().hotkey_problem) = problem;
    let _ = app.emit("hotkey-state", state(app));
}

/// At start: the saved hotkey. If it can't be had, the reason stays in
/// Settings and the tray until the user picks one that works; the app runs
/// on from the tray.
pub fn register_from_settings<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let text = lock(&state.settings).hotkey.clone();
    report(app, change(app, &text).err());
}

/// Registers `text` and then releases the previous hotkey. On success any
/// earlier problem is cleared.
pub fn change<R: Runtime>(app: &AppHandle<R>, text: &str) -> Result<(), String> {
    let new = parse(text)?;
    let gs = app.global_shortcut();
    let state = app.state::<AppState>();
    let mut current = lock(&state.hotkey);
    let old = current.as_deref().map(parse).transpose()?;
    if old.as_ref().is_some_and(|o| o.id() == new.id()) {
        return Ok(());
    }
    gs.register(new).map_err(|e| format!("{text} is taken by another app or cannot be used ({e})"))?;
    if let Some(old) = old {
        if let Err(e) = gs.unregister(old) {
            tracing::warn!("releasing the old hotkey: {e}");
        }
    }
    *current = Some(text.trim().to_string());
    drop(current);
    if lock(&state.hotkey_problem).is_some() {
        report(app, None);
    }
    Ok(())
}
