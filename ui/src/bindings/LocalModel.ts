// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { FitHint } from "./FitHint";
import type { Source } from "./Source";

export type LocalModel = { path: string, name: string, size: number, 
/**
 * From the GGUF header; None when the file can't be read as a model
 * Cmdbar runs, with the reason in `problem`.
 */
architecture: string | null, problem: string | null, source: Source, 
/**
 * Memory needed while loaded, against this machine's.
 */
fit: FitHint | null, };
