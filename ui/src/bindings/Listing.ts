// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { LocalModel } from "./LocalModel";

/**
 * The installed models, and notices such as a damaged imports list that
 * was set aside.
 */
export type Listing = { models: Array<LocalModel>, notices: Array<string>, };
