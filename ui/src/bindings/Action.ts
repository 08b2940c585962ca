// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
/**
 * `confirm`: the user must confirm before it is copied.
 */
export type Action = "show" | "confirm" | "hide";
