// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
export type Action = "show" | "confirm" | "hide";
