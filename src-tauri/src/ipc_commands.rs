// The app's IPC commands, listed once. The app serves them
// (`commands::handler`), and build.rs includes this file to name them to
// tauri-build, which makes each deny-by-default: a window may call only
// those its capability file (capabilities/*.json) allows. A test checks the
// capabilities, the generated permissions and the UI's calls (ui/src/ipc.ts)
// against this list.
//
// `ipc_commands!(m)` calls the macro `m!` with `module::command, …`.
macro_rules! ipc_commands {
    ($m:ident) => {
        $m! {
            commands::ask,
            commands::cancel,
            commands::copy,
            commands::paste_to_terminal,
            commands::get_settings,
            commands::set_settings,
            commands::get_server,
            commands::set_server,
            commands::get_status,
            commands::hotkey_state,
            commands::popup_resize,
            commands::take_notices,
            commands::history,
            commands::clear_history,
            commands::tldr_status,
            commands::tldr_update,
            commands::hide_popup,
            commands::open_settings,
            commands::reveal_logs,
            models::models_list,
            models::models_catalog,
            models::models_reveal,
            models::models_search,
            models::models_files,
            models::models_download,
            models::models_pause,
            models::models_cancel,
            models::models_import,
            models::models_delete,
            models::models_use,
        }
    };
}

// The commands' names, as the UI invokes them: `ipc_commands!(command_names)`.
macro_rules! command_names {
    ($($module:ident::$name:ident),* $(,)?) => {
        &[$(stringify!($name)),*]
    };
}
