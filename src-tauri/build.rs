// Listing the commands makes them deny-by-default: each window gets only
// those its capability names (capabilities/*.json).
const COMMANDS: &[&str] = &[
    "ask",
    "cancel",
    "copy",
    "paste_to_terminal",
    "get_settings",
    "set_settings",
    "get_status",
    "hotkey_state",
    "popup_resize",
    "take_notices",
    "history",
    "clear_history",
    "hide_popup",
    "open_settings",
    "reveal_logs",
    "models_list",
    "models_catalog",
    "models_reveal",
    "models_search",
    "models_files",
    "models_download",
    "models_pause",
    "models_cancel",
    "models_import",
    "models_delete",
    "models_use",
    "tldr_status",
    "tldr_update",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step");
}
