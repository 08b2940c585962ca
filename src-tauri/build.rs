// The app's commands, from the one list the app serves (src/ipc_commands.rs).
// Listing them makes them deny-by-default: each window gets only those its
// capability names (capabilities/*.json).
include!("src/ipc_commands.rs");

const COMMANDS: &[&str] = ipc_commands!(command_names);

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build step");
}
