// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
/**
 * The tldr pages behind the prompt's examples: how many, from where, and
 * the attribution their licence asks for.
 */
export type TldrStatus = { examples: number, source: string | null, fetched_at: number | null, attribution: string, };
