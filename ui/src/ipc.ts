// Typed wrappers around the app's IPC commands and events.
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

export type Risk = "safe" | "moderate" | "high" | "critical";
export type Action = "show" | "confirm" | "hide";

export interface Candidate {
  command: string;
  explanation: string;
  risk: Risk;
  risk_reason: string;
  /** A safer first step (a dry run, a preview) for a high or critical one. */
  safer?: string;
  action: Action;
  portability?: string;
  score: number;
}

export interface Timings {
  prompt_tokens: number;
  cached_tokens: number;
  generated_tokens: number;
  prefill_ms: number;
  first_token_ms: number;
  total_ms: number;
}

export type Suggestion =
  | { type: "candidate"; id: number; candidate: Candidate }
  | { type: "done"; id: number; hidden: number; notices: string[]; timings: Timings }
  | { type: "error"; id: number; message: string }
  | { type: "cancelled"; id: number };

/// `fallback`: set when a GPU was wanted and the model runs on the CPU; it
/// says why. `missing`: no model on this machine; `model` is the catalog's
/// default, to offer on first run.
export type ModelStatus =
  | { state: "loading"; name: string; progress: number }
  | { state: "ready"; name: string; device: string; load_ms: number; fallback: string | null }
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

/// `problem` is set while the saved hotkey could not be registered.
export interface HotkeyState {
  hotkey: string;
  active: boolean;
  problem: string | null;
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

export interface DownloadEvent {
  id: number;
  repo: string;
  file: string;
  state: "running" | "paused" | "done" | "cancelled" | "error";
  downloaded: number;
  total: number;
  bytes_per_sec: number;
  eta_secs: number | null;
  message: string | null;
  path: string | null;
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

/// An IPC error arrives as the string the command returned.
export function message(e: unknown): string {
  return typeof e === "string" ? e : e instanceof Error ? e.message : JSON.stringify(e);
}

/// The tldr pages behind the prompt's worked examples.
export interface TldrStatus {
  examples: number;
  source: string | null;
  fetched_at: number | null;
  attribution: string;
}
