// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
/**
 * An OpenAI-compatible server (Ollama, llama.cpp's server, vLLM).
 */
export type Server = { 
/**
 * e.g. "http://localhost:11434".
 */
base_url: string, 
/**
 * The model's name on the server, e.g. "qwen2.5-coder:7b".
 */
model: string, };
