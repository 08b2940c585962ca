// Generated from the Rust types by ts-rs (src-tauri/src/bindings.rs); do not edit.
import type { DownloadState } from "./DownloadState";

/**
 * One message on the `download` event.
 */
export type DownloadEvent = { id: number, repo: string, file: string, state: DownloadState, downloaded: number, total: number, bytes_per_sec: number, eta_secs: number | null, message: string | null, path: string | null, };
