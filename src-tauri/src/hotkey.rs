//! The global hotkey: toggles the popup. Changing it registers the new one
//! before dropping the old, so a taken key leaves the old one working.
use std::str::FromStr;

use tauri::{AppHandle, Manager, Runtime};
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

/// At start: the saved hotkey. If it can't be had, the reason is kept as a
/// notice for Settings; the app runs on from the tray.
pub fn register_from_settings<R: Runtime>(app: &AppHandle<R>) {
    let state = app.state::<AppState>();
    let text = lock(&state.settings).hotkey.clone();
    if let Err(e) = change(app, &text) {
        lock(&state.notices).push(format!("The hotkey is not active: {e}"));
    }
}

/// Registers `text` and then releases the previous hotkey.
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
    Ok(())
}
