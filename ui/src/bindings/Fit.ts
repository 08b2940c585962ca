// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
export type Fit = "fits" | "tight" | "too_big";
