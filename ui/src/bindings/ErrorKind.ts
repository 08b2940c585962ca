// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
export type ErrorKind = "invalid" | "refused" | "not_ready" | "not_found" | "unsupported" | "io" | "network" | "internal";
