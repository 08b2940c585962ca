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

export type ModelStatus =
  | { state: "loading"; name: string; progress: number }
  | { state: "ready"; name: string; device: string; load_ms: number }
  | { state: "error"; name: string; message: string };

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

export const api = {
  ask: (query: string, id: number) => invoke<void>("ask", { query, id }),
  cancel: () => invoke<void>("cancel"),
  copy: (command: string, confirmed: boolean, query: string | null) =>
    invoke<void>("copy", { command, confirmed, query }),
  pasteToTerminal: (command: string, confirmed: boolean) =>
    invoke<void>("paste_to_terminal", { command, confirmed }),
  getSettings: () => invoke<Settings>("get_settings"),
  setSettings: (settings: Settings) => invoke<Settings>("set_settings", { settings }),
  getStatus: () => invoke<ModelStatus>("get_status"),
  takeNotices: () => invoke<string[]>("take_notices"),
  history: (filter: string) => invoke<HistoryEntry[]>("history", { filter }),
  clearHistory: () => invoke<void>("clear_history"),
  hidePopup: () => invoke<void>("hide_popup"),
  openSettings: (tab?: string) => invoke<void>("open_settings", { tab: tab ?? null }),
};

export const events = {
  suggestion: (f: (s: Suggestion) => void): Promise<UnlistenFn> => listen<Suggestion>("suggestion", (e) => f(e.payload)),
  modelStatus: (f: (s: ModelStatus) => void): Promise<UnlistenFn> =>
    listen<ModelStatus>("model-status", (e) => f(e.payload)),
  popupShown: (f: () => void): Promise<UnlistenFn> => listen("popup-shown", () => f()),
  settingsTab: (f: (tab: string) => void): Promise<UnlistenFn> => listen<string>("settings-tab", (e) => f(e.payload)),
};

/// An IPC error arrives as the string the command returned.
export function message(e: unknown): string {
  return typeof e === "string" ? e : e instanceof Error ? e.message : JSON.stringify(e);
}
