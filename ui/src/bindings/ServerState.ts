// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { Server } from "./Server";

/**
 * The server in use, if any, and whether an API key is stored for it;
 * the key itself never comes back to the UI.
 */
export type ServerState = { server: Server | null, has_key: boolean, };
