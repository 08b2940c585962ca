// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { Level } from "./Level";
import type { Server } from "./Server";
import type { ShellChoice } from "./ShellChoice";

export type Settings = { version: number, 
/**
 * In the global-shortcut syntax, e.g. "Alt+Space".
 */
hotkey: string, shell: ShellChoice, safety: Level, candidates: number, temperature: number, launch_at_login: boolean, history_enabled: boolean, history_limit: number, 
/**
 * Draft tokens from the request's own text and check them in the pass
 * that runs the next token: the same commands, sooner. An answer stops
 * drafting by itself when most drafts are refused.
 */
drafts: boolean, 
/**
 * The GGUF file to load; None means the default model.
 */
active_model: string | null, 
/**
 * A server to ask instead of a local model; its API key is in the OS
 * keychain (`secrets`), never in this file. The UI sets it with
 * `set_server`, which stores the key.
 */
server: Server | null, };
