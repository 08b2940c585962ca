// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
/**
 * A GGUF file of a repo, as the model-info API lists it.
 */
export type RepoFile = { file: string, size: number, sha256: string, 
/**
 * From the file name, e.g. `Q4_K_M`; None when it names none.
 */
quantization: string | null, };
