//! The Cmdbar app: a tray icon, a global hotkey, a popup and a settings
//! window around the core crates. Inference runs on the engine's own
//! thread; requests are driven from worker threads and reach the UI as
//! Tauri events, so the UI thread never waits on the model.
pub mod commands;
pub mod hotkey;
pub mod models;
pub mod state;
pub mod tray;
pub mod windows;

use tauri::Manager;

pub use state::AppState;

/// The app with every plugin and command.
pub fn builder() -> tauri::Builder<tauri::Wry> {
    tauri::Builder::default()
        .plugin(tauri_plugin_global_shortcut::Builder::new().with_handler(hotkey::on_shortcut).build())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_positioner::init())
        .plugin(tauri_plugin_autostart::init(tauri_plugin_autostart::MacosLauncher::LaunchAgent, None))
        .manage(models::Downloads::default())
        .invoke_handler(commands::handler())
        .on_window_event(windows::on_window_event)
}

pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CMDBAR_LOG").unwrap_or_else(|_| "info".into()))
        .init();
    builder()
        .setup(|app| {
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            #[cfg(target_os = "macos")]
            windows::init_popup_panel(app.handle())?;
            let state = AppState::new(state::Paths::detect());
            app.manage(state);
            tray::create(app.handle())?;
            hotkey::register_from_settings(app.handle());
            state::load_model(app.handle().clone());
            state::load_examples(app.handle().clone());
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running the Cmdbar app");
}
