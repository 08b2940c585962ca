//! The tray icon (a template image on macOS) and its menu.
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Listener, Manager, Runtime};

use crate::state::ModelStatus;

const TRAY: &str = "cmdbar";
const STATUS: &str = "status";
const HOTKEY: &str = "hotkey";

pub fn create<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, STATUS, "Model: loading…", false, None::<&str>)?;
    // Shown only while the hotkey is not active; it opens Settings.
    let hotkey = MenuItem::with_id(app, HOTKEY, "Hotkey not active: choose one…", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &MenuItem::with_id(app, "ask", "Ask…", true, None::<&str>)?,
            &MenuItem::with_id(app, "settings", "Settings…", true, None::<&str>)?,
            &MenuItem::with_id(app, "models", "Models…", true, None::<&str>)?,
            &PredefinedMenuItem::separator(app)?,
            &status,
            &hotkey,
            &PredefinedMenuItem::separator(app)?,
            &MenuItem::with_id(app, "quit", "Quit Cmdbar", true, None::<&str>)?,
        ],
    )?;
    app.manage(StatusItem(status));
    app.manage(HotkeyItem(hotkey));
    // A template image that macOS tints; elsewhere the coloured icon, which
    // shows on light and dark panels alike.
    #[cfg(target_os = "macos")]
    let icon = tauri::image::Image::from_bytes(include_bytes!("../../icons/tray.png"))?;
    #[cfg(not(target_os = "macos"))]
    let icon = tauri::image::Image::from_bytes(include_bytes!("../../icons/32x32.png"))?;
    TrayIconBuilder::with_id(TRAY)
        .icon(icon)
        .icon_as_template(true)
        .tooltip("Cmdbar")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "ask" => crate::windows::show_popup(app),
            "settings" => crate::windows::open_settings(app, None),
            "models" => crate::windows::open_settings(app, Some("models")),
            HOTKEY => crate::windows::open_settings(app, Some("general")),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| tauri_plugin_positioner::on_tray_event(tray.app_handle(), &event))
        .build(app)?;
    // The tray follows the same events as the windows, so the state and
    // the hotkey modules need not know it exists.
    let refresh_status = |app: &AppHandle<R>| {
        let status = crate::state::lock(&app.state::<crate::state::AppState>().status).clone();
        show_status(app, &status);
    };
    refresh_status(app);
    show_hotkey(app, &crate::hotkey::state(app));
    let h = app.clone();
    app.listen_any("model-status", move |_| refresh_status(&h));
    let h = app.clone();
    app.listen_any("hotkey-state", move |_| show_hotkey(&h, &crate::hotkey::state(&h)));
    Ok(())
}

struct HotkeyItem<R: Runtime>(MenuItem<R>);

/// The hotkey line reads as a warning while the hotkey is not active, and
/// is empty and disabled otherwise.
fn show_hotkey<R: Runtime>(app: &AppHandle<R>, s: &crate::hotkey::HotkeyState) {
    if let Some(item) = app.try_state::<HotkeyItem<R>>() {
        let text = if s.active {
            format!("Hotkey: {}", s.hotkey)
        } else {
            format!("⚠ Hotkey {} not active: choose another…", s.hotkey)
        };
        let _ = item.0.set_text(text);
        let _ = item.0.set_enabled(!s.active);
    }
}

struct StatusItem<R: Runtime>(MenuItem<R>);

fn show_status<R: Runtime>(app: &AppHandle<R>, status: &ModelStatus) {
    let text = match status {
        ModelStatus::Loading { name, progress } => format!("{name}: loading… {:.0}%", progress * 100.0),
        ModelStatus::Ready { name, fallback: Some(why), .. } => format!("{name}: ready on the CPU ({why})"),
        ModelStatus::Ready { name, device, .. } => format!("{name}: ready ({device})"),
        ModelStatus::Error { name, .. } => format!("{name}: failed to load"),
        ModelStatus::Missing { .. } => "No model yet: download one…".into(),
    };
    if let Some(item) = app.try_state::<StatusItem<R>>() {
        let _ = item.0.set_text(text);
    }
}
