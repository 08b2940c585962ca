// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
/**
 * What sizes a model's KV cache; `context` is the model's own.
 */
export type KvShape = { layers: number, kv_heads: number, head_dim: number, context: number, };
