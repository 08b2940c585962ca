// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { FitHint } from "./FitHint";
import type { KvShape } from "./KvShape";

/**
 * A catalog model and where it is installed, if it is.
 */
export type CatalogItem = { installed: string | null, fit: FitHint | null, id: string, name: string, repo: string, file: string, quantization: string, size: number, 
/**
 * The file's LFS sha256 as published on the Hub; a mirror that offers
 * other bytes under this name is refused.
 */
sha256: string, 
/**
 * The attention shape, so the memory estimate needs no download.
 */
kv: KvShape, default: boolean, note: string, };
