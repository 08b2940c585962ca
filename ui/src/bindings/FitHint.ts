// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { Fit } from "./Fit";

export type FitHint = { fit: Fit, 
/**
 * Estimated bytes of memory while loaded.
 */
needed: number, text: string, };
