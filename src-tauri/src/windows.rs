//! The popup and settings windows: shown, hidden and placed. Closing a
//! window hides it; the app lives in the tray until Quit.
use tauri::{AppHandle, Emitter, Manager, Runtime, WebviewWindow, Window, WindowEvent};
use tauri_plugin_positioner::{Position, WindowExt};

pub const POPUP: &str = "popup";
pub const SETTINGS: &str = "settings";

pub fn on_window_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    match event {
        WindowEvent::CloseRequested { api, .. } => {
            api.prevent_close();
            let _ = window.hide();
        }
        // A popup that loses focus goes away, as Spotlight's does.
        WindowEvent::Focused(false) if window.label() == POPUP && std::env::var_os("CMDBAR_KEEP_POPUP").is_none() => {
            let _ = window.hide();
        }
        _ => {}
    }
}

fn popup<R: Runtime>(app: &AppHandle<R>) -> Option<WebviewWindow<R>> {
    app.get_webview_window(POPUP)
}

pub fn show_popup<R: Runtime>(app: &AppHandle<R>) {
    let Some(w) = popup(app) else { return };
    // Under the tray icon when its place is known, else top centre.
    if w.move_window(Position::TrayBottomCenter).is_err() {
        let _ = w.move_window(Position::TopCenter);
    }
    let _ = w.show();
    let _ = w.set_focus();
    let _ = app.emit_to(POPUP, "popup-shown", ());
}

pub fn hide_popup<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = popup(app) {
        let _ = w.hide();
    }
}

pub fn toggle_popup<R: Runtime>(app: &AppHandle<R>) {
    match popup(app).map(|w| w.is_visible().unwrap_or(false)) {
        Some(true) => hide_popup(app),
        Some(false) => show_popup(app),
        None => {}
    }
}

pub fn open_settings<R: Runtime>(app: &AppHandle<R>, tab: Option<&str>) {
    hide_popup(app);
    if let Some(w) = app.get_webview_window(SETTINGS) {
        let _ = w.show();
        let _ = w.set_focus();
        let _ = app.emit_to(SETTINGS, "settings-tab", tab.unwrap_or("general"));
    }
}

pub fn set_autostart<R: Runtime>(app: &AppHandle<R>, on: bool) {
    use tauri_plugin_autostart::ManagerExt;
    let a = app.autolaunch();
    let r = if on { a.enable() } else { a.disable() };
    if let Err(e) = r {
        tracing::warn!("launch at login: {e}");
    }
}
