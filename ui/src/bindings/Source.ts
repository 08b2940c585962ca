// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
export type Source = { "kind": "hub", repo: string, file: string, } | { "kind": "folder" } | { "kind": "imported" };
