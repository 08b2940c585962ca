// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { FitHint } from "./FitHint";

/**
 * A catalog model offered for download, with its fit on this machine.
 */
export type Offer = { id: string, name: string, repo: string, file: string, size: number, fit: FitHint | null, };
