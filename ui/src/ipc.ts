// Typed wrappers around the app's IPC commands and events.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

// The types of the IPC edge that the app generates from its Rust types
// (ts-rs, src-tauri/src/bindings.rs; a Rust test fails when they differ).
import type { IpcError } from "./bindings/IpcError";
export type { Action } from "./bindings/Action";
export type { Candidate } from "./bindings/Candidate";
export type { DownloadEvent } from "./bindings/DownloadEvent";
export type { DownloadState } from "./bindings/DownloadState";
export type { ErrorKind } from "./bindings/ErrorKind";
export type { HotkeyState } from "./bindings/HotkeyState";
export type { Risk } from "./bindings/Risk";
export type { Suggestion } from "./bindings/Suggestion";
export type { Timings } from "./bindings/Timings";
export type { TldrStatus } from "./bindings/TldrStatus";
export type { IpcError };
import type { DownloadEvent } from "./bindings/DownloadEvent";
import type { HotkeyState } from "./bindings/HotkeyState";
import type { Suggestion } from "./bindings/Suggestion";
import type { TldrStatus } from "./bindings/TldrStatus";

/// `fallback`: set when a GPU was wanted and the model runs on the CPU; it
/// says why. `missing`: no model on this machine; `model` is the catalog's
/// default, to offer on first run.
export type ModelStatus =
  | { state: "loading"; name: string; progress: number }
  | { state: "ready"; name: string; path?: string; device: string; load_ms: number; fallback: string | null }
  | { state: "error"; name: string; message: string }
  | { state: "missing"; name: string; model: DefaultModel };

export interface DefaultModel {
  id: string;
  name: string;
  repo: string;
  file: string;
  size: number;
  fit: FitHint | null;
}

export interface Settings {
  version: number;
  hotkey: string;
  shell: "auto" | "zsh" | "bash" | "fish";
  safety: "strict" | "moderate" | "permissive";
  candidates: number;
  temperature: number;
  launch_at_login: boolean;
  history_enabled: boolean;
  history_limit: number;
  active_model: string | null;
}

export interface HistoryEntry {
  query: string;
  command: string | null;
  at: number;
}

export interface LocalModel {
  path: string;
  name: string;
  size: number;
  architecture: string | null;
  problem: string | null;
  source: { kind: "hub"; repo: string; file: string } | { kind: "folder" } | { kind: "imported" };
  fit: FitHint | null;
}

export interface FitHint {
  fit: "fits" | "tight" | "too_big";
  needed: number;
  text: string;
}

export interface Listing {
  models: LocalModel[];
  notices: string[];
}

export interface CatalogItem {
  id: string;
  name: string;
  repo: string;
  file: string;
  quantization: string;
  size: number;
  sha256: string;
  default: boolean;
  note: string;
  installed: string | null;
  fit: FitHint | null;
}

export interface RepoSummary {
  id: string;
  downloads: number;
  likes: number;
}

export interface RepoFile {
  file: string;
  size: number;
  sha256: string;
  quantization: string | null;
}

export const api = {
  ask: (query: string, id: number) => invoke<void>("ask", { query, id }),
  cancel: () => invoke<void>("cancel"),
  copy: (command: string, confirmed: boolean, query: string | null) =>
    invoke<void>("copy", { command, confirmed, query }),
  pasteToTerminal: (command: string, confirmed: boolean, query: string | null = null) =>
    invoke<void>("paste_to_terminal", { command, confirmed, query }),
  getSettings: () => invoke<Settings>("get_settings"),
  setSettings: (settings: Settings) => invoke<Settings>("set_settings", { settings }),
  getStatus: () => invoke<ModelStatus>("get_status"),
  takeNotices: () => invoke<string[]>("take_notices"),
  history: (filter: string) => invoke<HistoryEntry[]>("history", { filter }),
  clearHistory: () => invoke<void>("clear_history"),
  tldrStatus: () => invoke<TldrStatus>("tldr_status"),
  tldrUpdate: () => invoke<TldrStatus>("tldr_update"),
  hidePopup: () => invoke<void>("hide_popup"),
  /// Logical pixels; the app clamps it to the screen.
  popupResize: (height: number) => invoke<void>("popup_resize", { height }),
  hotkeyState: () => invoke<HotkeyState>("hotkey_state"),
  revealLogs: () => invoke<void>("reveal_logs"),
  openSettings: (tab?: string) => invoke<void>("open_settings", { tab: tab ?? null }),
  modelsList: () => invoke<Listing>("models_list"),
  modelsCatalog: () => invoke<CatalogItem[]>("models_catalog"),
  modelsReveal: (path: string) => invoke<void>("models_reveal", { path }),
  modelsSearch: (query: string) => invoke<RepoSummary[]>("models_search", { query }),
  modelsFiles: (repo: string) => invoke<RepoFile[]>("models_files", { repo }),
  modelsDownload: (repo: string, file: string) => invoke<number>("models_download", { repo, file }),
  modelsPause: (id: number) => invoke<void>("models_pause", { id }),
  modelsCancel: (id: number) => invoke<void>("models_cancel", { id }),
  modelsImport: (path: string) => invoke<LocalModel>("models_import", { path }),
  modelsDelete: (path: string) => invoke<void>("models_delete", { path }),
  modelsUse: (path: string) => invoke<void>("models_use", { path }),
};

export const events = {
  suggestion: (f: (s: Suggestion) => void): Promise<UnlistenFn> => listen<Suggestion>("suggestion", (e) => f(e.payload)),
  modelStatus: (f: (s: ModelStatus) => void): Promise<UnlistenFn> =>
    listen<ModelStatus>("model-status", (e) => f(e.payload)),
  popupShown: (f: () => void): Promise<UnlistenFn> => listen("popup-shown", () => f()),
  download: (f: (d: DownloadEvent) => void): Promise<UnlistenFn> => listen<DownloadEvent>("download", (e) => f(e.payload)),
  hotkeyState: (f: (h: HotkeyState) => void): Promise<UnlistenFn> =>
    listen<HotkeyState>("hotkey-state", (e) => f(e.payload)),
  settingsTab: (f: (tab: string) => void): Promise<UnlistenFn> => listen<string>("settings-tab", (e) => f(e.payload)),
};

/// Whether an IPC rejection is the app's typed error.
export function isIpcError(e: unknown): e is IpcError {
  return typeof e === "object" && e !== null && typeof (e as IpcError).message === "string" && typeof (e as IpcError).kind === "string";
}

/// What to show for a failed call: the app's message, or a plugin's string.
export function message(e: unknown): string {
  if (isIpcError(e)) return e.message;
  return typeof e === "string" ? e : e instanceof Error ? e.message : JSON.stringify(e);
}

/// The argument or setting an error concerns, if the app named one.
export function errorField(e: unknown): string | null {
  return isIpcError(e) ? (e.field ?? null) : null;
}

