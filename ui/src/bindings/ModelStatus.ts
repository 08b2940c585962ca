// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { Offer } from "./Offer";

export type ModelStatus = { "state": "loading", name: string, progress: number, } | { "state": "ready", name: string, 
/**
 * The file loaded: the settings' model, or the default one.
 */
path: string, device: string, load_ms: number, 
/**
 * Why it runs on the CPU although a GPU was wanted, if it does.
 */
fallback: string | null, } | { "state": "error", name: string, message: string, } | { "state": "missing", name: string, model: Offer, };
