// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
/**
 * A repo from a search.
 */
export type RepoSummary = { id: string, downloads: number, likes: number, };
