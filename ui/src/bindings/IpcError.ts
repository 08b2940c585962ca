// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { ErrorKind } from "./ErrorKind";

export type IpcError = { kind: ErrorKind, message: string, 
/**
 * The argument or setting it concerns, as the UI names it (`hotkey`,
 * `candidates`, `path`).
 */
field?: string, };
