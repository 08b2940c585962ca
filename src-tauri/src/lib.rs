//! The Cmdbar app: a tray icon, a global hotkey, a popup and a settings
//! window around the core crates. Inference runs on the engine's own
//! thread; requests are driven from worker threads and reach the UI as
//! Tauri events, so the UI thread never waits on the model.
// First: the command list's macros (ipc_commands!), for the modules below.
#[macro_use]
mod ipc_commands;
mod bindings;
pub mod commands;
pub mod error;
pub mod hotkey;
pub mod limits;
pub mod models;
#[cfg(unix)]
pub mod socket;
pub mod state;
pub mod tray;
pub mod windows;

use tauri::Manager;

pub use state::AppState;

/// The app with every plugin and command.
pub fn builder() -> tauri::Builder<tauri::Wry> {
    tauri::Builder::default()
        // First, so a second launch goes no further than handing over.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| windows::show_popup(app)))
        .plugin(logger())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_global_shortcut::Builder::new().with_handler(hotkey::on_shortcut).build())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_positioner::init())
        .plugin(tauri_plugin_autostart::init(tauri_plugin_autostart::MacosLauncher::LaunchAgent, None))
        .manage(models::Downloads::default())
        .invoke_handler(commands::handler())
        .on_window_event(windows::on_window_event)
}

/// Logs to stderr and to the platform's log folder (~/Library/Logs/<id> on
/// macOS); `CMDBAR_LOG` sets the level (info by default). The core crates'
/// `tracing` events arrive here through its `log` feature.
fn logger<R: tauri::Runtime>() -> tauri::plugin::TauriPlugin<R> {
    use tauri_plugin_log::{Target, TargetKind};
    let level = std::env::var("CMDBAR_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(log::LevelFilter::Info);
    tauri_plugin_log::Builder::new()
        .clear_targets()
        .targets([Target::new(TargetKind::Stderr), Target::new(TargetKind::LogDir { file_name: None })])
        .level(level)
        .max_file_size(2_000_000)
        .rotation_strategy(tauri_plugin_log::RotationStrategy::KeepOne)
        .build()
}

pub fn run() {
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
            #[cfg(unix)]
            socket::start(app.handle().clone());
            // The updater only where the release build configured it: its
            // public key and the release's latest.json (release.yml).
            if app.config().plugins.0.contains_key("updater") {
                app.handle().plugin(tauri_plugin_updater::Builder::new().build())?;
            }
            Ok(())
        })
        .run(tauri::generate_context!())
        .expect("error while running the Cmdbar app");
}
