// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
/**
 * How cautious the user wants to be: what is shown, what needs a second,
 * explicit confirm before it is copied, and what is hidden.
 */
export type Level = "strict" | "moderate" | "permissive";
