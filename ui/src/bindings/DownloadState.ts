// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
/**
 * Where a download is.
 */
export type DownloadState = "running" | "paused" | "done" | "cancelled" | "error";
