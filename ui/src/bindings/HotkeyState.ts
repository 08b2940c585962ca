// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
/**
 * What Settings and the tray show about the hotkey.
 */
export type HotkeyState = { 
/**
 * The saved hotkey.
 */
hotkey: string, active: boolean, 
/**
 * Why the saved hotkey is not active; it stays until one works.
 */
problem: string | null, };
