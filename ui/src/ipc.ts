// Typed wrappers around the app's IPC commands and events.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

// The types of the IPC edge, every one generated from the app's Rust types
// (ts-rs, src-tauri/src/bindings.rs; a Rust test fails when they differ).
import type { CatalogItem } from "./bindings/CatalogItem";
import type { DownloadEvent } from "./bindings/DownloadEvent";
import type { HistoryEntry } from "./bindings/HistoryEntry";
import type { HotkeyState } from "./bindings/HotkeyState";
import type { IpcError } from "./bindings/IpcError";
import type { Listing } from "./bindings/Listing";
import type { LocalModel } from "./bindings/LocalModel";
import type { ModelStatus } from "./bindings/ModelStatus";
import type { RepoFile } from "./bindings/RepoFile";
import type { RepoSummary } from "./bindings/RepoSummary";
import type { Server } from "./bindings/Server";
import type { ServerState } from "./bindings/ServerState";
import type { Settings } from "./bindings/Settings";
import type { Suggestion } from "./bindings/Suggestion";
import type { TldrStatus } from "./bindings/TldrStatus";
export type { Action } from "./bindings/Action";
export type { Candidate } from "./bindings/Candidate";
export type { ErrorKind } from "./bindings/ErrorKind";
export type { Fit } from "./bindings/Fit";
export type { FitHint } from "./bindings/FitHint";
export type { Level } from "./bindings/Level";
/// A catalog model offered for download (the default, on a first run).
export type { Offer } from "./bindings/Offer";
export type { Risk } from "./bindings/Risk";
export type { ShellChoice } from "./bindings/ShellChoice";
export type { Source } from "./bindings/Source";
export type { Timings } from "./bindings/Timings";
export type { DownloadState } from "./bindings/DownloadState";
export type {
  CatalogItem,
  DownloadEvent,
  HistoryEntry,
  HotkeyState,
  IpcError,
  Listing,
  LocalModel,
  ModelStatus,
  RepoFile,
  RepoSummary,
  Server,
  ServerState,
  Settings,
  Suggestion,
  TldrStatus,
};

export const api = {
  ask: (query: string, id: number) => invoke<void>("ask", { query, id }),
  cancel: () => invoke<void>("cancel"),
  copy: (command: string, confirmed: boolean, query: string | null) =>
    invoke<void>("copy", { command, confirmed, query }),
  pasteToTerminal: (command: string, confirmed: boolean, query: string | null = null) =>
    invoke<void>("paste_to_terminal", { command, confirmed, query }),
  getSettings: () => invoke<Settings>("get_settings"),
  setSettings: (settings: Settings) => invoke<Settings>("set_settings", { settings }),
  getServer: () => invoke<ServerState>("get_server"),
  /// `key`: null keeps the stored key, "" removes it; it goes to the
  /// keychain and never comes back.
  setServer: (server: Server | null, key: string | null) => invoke<ServerState>("set_server", { server, key }),
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

