// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
export type HistoryEntry = { query: string, 
/**
 * The command the user copied, if any.
 */
command: string | null, 
/**
 * Seconds since the Unix epoch.
 */
at: number, };
