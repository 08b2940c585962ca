import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { SettingsPane, formatHotkey, parseHotkey } from "../src/settings";
import { emit } from "@tauri-apps/api/event";
import type { HotkeyState, ModelStatus, Settings } from "../src/ipc";

const defaults: Settings = {
  version: 1, hotkey: "Ctrl+Shift+Space", shell: "auto", safety: "moderate", candidates: 3, temperature: 0.7,
  launch_at_login: false, history_enabled: true, history_limit: 200, drafts: true, active_model: null, server: null,
};
let saved: Settings[];
let refuse: string | null;
let status: ModelStatus;
let hotkey: HotkeyState;
let calls: { cmd: string; args: unknown }[];

beforeEach(() => {
  saved = [];
  refuse = null;
  status = { state: "ready", name: "qwen", path: "/models/qwen.gguf", device: "cpu", load_ms: 1500, fallback: null };
  hotkey = { hotkey: "Ctrl+Shift+Space", active: true, problem: null };
  calls = [];
  mockIPC(
    (cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "get_settings") return defaults;
      if (cmd === "hotkey_state") return hotkey;
      if (cmd === "get_server") return { server: null, has_key: false };
      if (cmd === "models_download") return 3;
      if (cmd === "models_list") return { models: [], notices: [] };
      if (cmd === "models_catalog") return [];
      if (cmd === "get_status") return status;
      if (cmd === "tldr_status" || cmd === "tldr_update")
        return { examples: cmd === "tldr_update" ? 30479 : 0, source: cmd === "tldr_update" ? "https://mirror/tldr-pages.en.zip" : null, fetched_at: 1764547200, attribution: "Examples from tldr-pages (https://tldr.sh), by the tldr-pages team and contributors, CC BY 4.0." };
      if (cmd === "take_notices") return ["settings.json could not be used; defaults are in use"];
      if (cmd === "set_settings") {
        // The app's typed error, naming the setting it concerns.
        if (refuse) throw { kind: "invalid", message: refuse, field: refuse.startsWith("candidates") ? "candidates" : "hotkey" };
        const s = (args as { settings: Settings }).settings;
        saved.push(s);
        return s;
      }
      return null;
    },
    { shouldMockEvents: true },
  );
  document.body.innerHTML = '<div id="app"></div>';
});
afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
});
const mac = () => vi.spyOn(navigator, "platform", "get").mockReturnValue("MacIntel");

const tick = () => new Promise((r) => setTimeout(r, 0));
const field = <T extends HTMLElement = HTMLInputElement>(n: string) => document.querySelector<T>(`[name="${n}"]`)!;

describe("settings", () => {
  it("shows the saved settings, the model and start-up notices", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    expect(field("hotkey").value).toBe("Ctrl+Shift+Space");
    expect(document.querySelector("#model-status")!.textContent).toContain("ready on cpu");
    expect(document.querySelector("#notices")!.textContent).toContain("defaults are in use");
  });

  it("shows the tldr examples with their attribution and updates them", async () => {
    const root = document.createElement("div");
    const pane = new SettingsPane(root);
    await pane.start();
    await new Promise((r) => setTimeout(r, 0));
    expect(root.querySelector("#tldr-status")!.textContent).toContain("No examples yet");
    expect(root.querySelector("#attribution")!.textContent).toContain("CC BY 4.0");
    (root.querySelector("#tldr-update") as HTMLButtonElement).click();
    await new Promise((r) => setTimeout(r, 0));
    expect(calls.some((c) => c.cmd === "tldr_update")).toBe(true);
    expect(root.querySelector("#tldr-status")!.textContent).toContain("30,479 worked examples from https://mirror/tldr-pages.en.zip");
  });

  it("applies a change at once", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    const safety = field<HTMLSelectElement>("safety");
    safety.value = "strict";
    safety.dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(saved.at(-1)!.safety).toBe("strict");
    // Said beside the field, not at the bottom of the page.
    expect(document.querySelector("#safety-saved")!.textContent).toBe("Saved");
    expect(document.querySelector("#hotkey-saved")!.textContent).toBe("");
  });

  it("drafting shows as saved and turns off with its box", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    const drafts = field("drafts");
    expect(drafts.checked).toBe(true);
    drafts.checked = false;
    drafts.dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(saved.at(-1)!.drafts).toBe(false);
    expect(saved.at(-1)!.candidates).toBe(3);
    expect(document.querySelector("#drafts-saved")!.textContent).toBe("Saved");
  });

  it("an error shows beside the field the app names", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    refuse = "candidates must be between 1 and 5, not 9";
    field("candidates").value = "9";
    field("candidates").dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(document.querySelector("#candidates-error")!.textContent).toBe("candidates must be between 1 and 5, not 9");
    expect(field("candidates").value).toBe("3");
  });

  it("a change in the Models pane's search or import is no change of settings", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    const search = document.querySelector<HTMLInputElement>("#model-search")!;
    search.value = "gemma";
    search.dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(calls.some((c) => c.cmd === "set_settings")).toBe(false);
    expect(document.body.textContent).not.toContain("Saved");
  });

  it("each field saves only itself: a refused one does not carry along another's unsaved value", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    field("candidates").value = "9"; // typed, not yet committed
    field<HTMLSelectElement>("safety").value = "strict";
    field<HTMLSelectElement>("safety").dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(saved.at(-1)!.candidates).toBe(3);
    expect(saved.at(-1)!.safety).toBe("strict");
  });

  it("a refused change shows the reason and the field goes back", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    refuse = "Ctrl+Alt+T is taken by another app or cannot be used";
    field("hotkey").value = "Ctrl+Alt+T";
    field("hotkey").dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(document.querySelector("#hotkey-error")!.textContent).toContain("is taken");
    expect(field("hotkey").getAttribute("aria-invalid")).toBe("true");
    expect(document.querySelector("#safety-error")!.textContent).toBe("");
    expect(field("hotkey").value).toBe("Ctrl+Shift+Space");
  });

  it("records a pressed key combination as a hotkey", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    field("hotkey").dispatchEvent(
      new KeyboardEvent("keydown", { key: "k", code: "KeyK", ctrlKey: true, altKey: true, bubbles: true, cancelable: true }),
    );
    await tick();
    expect(saved.at(-1)!.hotkey).toBe("Ctrl+Alt+K");
  });

  it("Shift is not a hotkey's modifier: a capital typed is typing, and Shift+C typed is refused beside the field", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    const typed = field("hotkey").dispatchEvent(
      new KeyboardEvent("keydown", { key: "C", code: "KeyC", shiftKey: true, bubbles: true, cancelable: true }),
    );
    await tick();
    expect(typed).toBe(true); // not taken: the letter types
    expect(calls.some((c) => c.cmd === "set_settings")).toBe(false);
    field("hotkey").value = "Shift+C";
    field("hotkey").dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(calls.some((c) => c.cmd === "set_settings")).toBe(false);
    expect(document.querySelector("#hotkey-error")!.textContent).toContain("add Ctrl, Alt or Super");
    expect(field("hotkey").value).toBe("Ctrl+Shift+Space");
  });

  it("shows the hotkey in the platform's symbols and reads them back", async () => {
    expect(parseHotkey("ctrl+alt+k")).toEqual({ hotkey: "Ctrl+Alt+K" });
    expect(parseHotkey("⌃⌥Space")).toEqual({ hotkey: "Ctrl+Alt+Space" });
    expect(parseHotkey("⇧⌘K")).toEqual({ hotkey: "Shift+Super+K" });
    expect(parseHotkey("Shift+K")).toHaveProperty("error");
    expect(parseHotkey("Ctrl+Alt")).toHaveProperty("error");
    expect(formatHotkey("Ctrl+Alt+K")).toBe("Ctrl+Alt+K");
    mac();
    expect(formatHotkey("Ctrl+Alt+K")).toBe("⌃⌥K");
    expect(formatHotkey("Super+Shift+Space")).toBe("⇧⌘Space");
    await new SettingsPane(document.getElementById("app")!).start();
    expect(field("hotkey").value).toBe("⌃⇧Space");
    field("hotkey").dispatchEvent(
      new KeyboardEvent("keydown", { key: "k", code: "KeyK", ctrlKey: true, altKey: true, bubbles: true, cancelable: true }),
    );
    await tick();
    expect(saved.at(-1)!.hotkey).toBe("Ctrl+Alt+K");
    expect(field("hotkey").value).toBe("⌃⌥K");
  });

  it("is a window of three tabs: General, Models, About, by click, arrows and the app's request", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    const tabs = [...document.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
    expect(tabs.map((t) => t.textContent)).toEqual(["General", "Models", "About"]);
    const shown = () => [...document.querySelectorAll<HTMLElement>('[role="tabpanel"]')].filter((p) => !p.hidden).map((p) => p.id);
    expect(shown()).toEqual(["panel-general"]);
    tabs[1].click();
    expect(shown()).toEqual(["panel-models"]);
    expect(tabs[1].getAttribute("aria-selected")).toBe("true");
    tabs[1].dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(shown()).toEqual(["panel-about"]);
    expect(document.activeElement).toBe(tabs[2]);
    await emit("settings-tab", "models");
    expect(shown()).toEqual(["panel-models"]);
  });

  it("About checks for updates, and says when this build does not update itself", async () => {
    let answer: () => unknown = () => {
      throw "plugin updater not found";
    };
    mockIPC(
      (cmd) => {
        calls.push({ cmd, args: {} });
        if (cmd === "plugin:updater|check") return answer();
        if (cmd === "get_settings") return defaults;
        if (cmd === "get_status") return status;
        if (cmd === "hotkey_state") return hotkey;
      if (cmd === "get_server") return { server: null, has_key: false };
        if (cmd === "models_list") return { models: [], notices: [] };
        if (cmd === "models_catalog" || cmd === "take_notices") return [];
        if (cmd === "tldr_status") return { examples: 0, source: null, fetched_at: null, attribution: "" };
        return null;
      },
      { shouldMockEvents: true },
    );
    await new SettingsPane(document.getElementById("app")!).start();
    const line = () => document.querySelector("#update-status")!.textContent;
    const install = document.querySelector<HTMLButtonElement>("#install-update")!;
    const pane = document.querySelector<HTMLButtonElement>("#check-updates")!;
    pane.click();
    await tick();
    await tick();
    expect(line()).toBe("This build does not update itself: new versions are on the releases page.");
    answer = () => null;
    pane.click();
    await tick();
    await tick();
    expect(line()).toBe("Cmdbar is up to date.");
    expect(install.hidden).toBe(true);
    answer = () => ({ rid: 1, currentVersion: "0.1.0", version: "0.2.0", date: null, body: "", rawJson: {} });
    pane.click();
    await tick();
    await tick();
    expect(line()).toBe("Cmdbar 0.2.0 is available.");
    expect(install.hidden).toBe(false);
    answer = () => {
      throw "error sending request: connection timed out";
    };
    pane.click();
    await tick();
    await tick();
    expect(line()).toBe("Could not check: error sending request: connection timed out");
  });

  it("About has a Reveal logs button that asks the app", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    document.querySelector<HTMLButtonElement>("#reveal-logs")!.click();
    await tick();
    expect(calls.some((c) => c.cmd === "reveal_logs")).toBe(true);
  });

  it("the default model the app loaded is the Active one, though no model is chosen", async () => {
    status = { state: "ready", name: "qwen", path: "/hub/qwen.gguf", device: "cpu", load_ms: 1500, fallback: null };
    const listing = {
      models: [{ path: "/hub/qwen.gguf", name: "qwen.gguf", size: 1_117_320_768, architecture: "qwen2", problem: null, source: { kind: "hub", repo: "Qwen/Q", file: "qwen.gguf" }, fit: null }],
      notices: [],
    };
    mockIPC(
      (cmd) => {
        if (cmd === "models_list") return listing;
        if (cmd === "models_catalog") return [];
        if (cmd === "get_settings") return defaults;
        if (cmd === "get_status") return status;
        if (cmd === "hotkey_state") return hotkey;
      if (cmd === "get_server") return { server: null, has_key: false };
        if (cmd === "take_notices") return [];
        if (cmd === "tldr_status") return { examples: 0, source: null, fetched_at: null, attribution: "" };
        return null;
      },
      { shouldMockEvents: true },
    );
    await new SettingsPane(document.getElementById("app")!).start();
    await tick();
    expect(document.querySelector("#installed .active")!.textContent).toBe("Active");
    expect([...document.querySelectorAll("#installed button")].map((b) => b.textContent)).toEqual(["Show in folder"]);
  });

  it("says while the saved hotkey is not active, until one is", async () => {
    hotkey = { hotkey: "Ctrl+Shift+Space", active: false, problem: "another app uses it" };
    await new SettingsPane(document.getElementById("app")!).start();
    const notice = document.querySelector<HTMLElement>("#hotkey-problem")!;
    expect(notice.hidden).toBe(false);
    expect(notice.textContent).toBe("The hotkey Ctrl+Shift+Space is not active: another app uses it. Choose another below.");
    // Another setting saved: the notice stays.
    field<HTMLSelectElement>("safety").value = "strict";
    field<HTMLSelectElement>("safety").dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(notice.hidden).toBe(false);
    await emit("hotkey-state", { hotkey: "Ctrl+Alt+K", active: true, problem: null });
    expect(notice.hidden).toBe(true);
    expect(notice.textContent).toBe("");
  });

  it("a field saved while a newly chosen model loads keeps that model: the old one is not sent back", async () => {
    let app: Settings = { ...defaults, active_model: "/m/old.gguf" };
    const sets: Settings[] = [];
    mockIPC(
      (cmd, args) => {
        if (cmd === "get_settings") return app;
        if (cmd === "set_settings") {
          app = (args as { settings: Settings }).settings;
          sets.push(app);
          return app;
        }
        if (cmd === "get_status") return status;
        if (cmd === "hotkey_state") return hotkey;
      if (cmd === "get_server") return { server: null, has_key: false };
        if (cmd === "models_list") return { models: [], notices: [] };
        if (cmd === "models_catalog" || cmd === "take_notices") return [];
        if (cmd === "tldr_status") return { examples: 0, source: null, fetched_at: null, attribution: "" };
        return null;
      },
      { shouldMockEvents: true },
    );
    await new SettingsPane(document.getElementById("app")!).start();
    await tick();
    // Models › Use: the app makes another model active and starts loading it.
    app = { ...app, active_model: "/m/new.gguf" };
    await emit("model-status", { state: "loading", name: "new", progress: 0.1 });
    field<HTMLSelectElement>("safety").value = "strict";
    field<HTMLSelectElement>("safety").dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    await tick();
    expect(sets.map((s) => [s.safety, s.active_model])).toEqual([["strict", "/m/new.gguf"]]);
  });

  it("a new hotkey saved asks again whether it is active", async () => {
    hotkey = { hotkey: "Ctrl+Shift+Space", active: false, problem: "another app uses it" };
    await new SettingsPane(document.getElementById("app")!).start();
    hotkey = { hotkey: "Ctrl+Alt+K", active: true, problem: null };
    field("hotkey").value = "Ctrl+Alt+K";
    field("hotkey").dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    await tick();
    expect(document.querySelector<HTMLElement>("#hotkey-problem")!.hidden).toBe(true);
  });

  it("a model on the CPU instead of the GPU says why", async () => {
    status = { state: "ready", name: "qwen", path: "/models/qwen.gguf", device: "cpu", load_ms: 1500, fallback: "Metal could not start: no device" };
    await new SettingsPane(document.getElementById("app")!).start();
    expect(document.querySelector("#model-status")!.textContent).toContain("Running on the CPU: Metal could not start: no device");
  });

  it("with no model, the welcome card is at the top and downloads the default", async () => {
    status = {
      state: "missing", name: "Qwen2.5-Coder 1.5B",
      model: { id: "c", name: "Qwen2.5-Coder 1.5B", repo: "Qwen/C-GGUF", file: "c.gguf", size: 1_117_320_768, fit: null },
    };
    await new SettingsPane(document.getElementById("app")!).start();
    const card = document.querySelector<HTMLElement>("#welcome")!;
    expect(card.hidden).toBe(false);
    expect(document.querySelector("#notices")!.nextElementSibling).toBe(card);
    expect(card.textContent).toContain("Cmdbar needs a model to answer: Qwen2.5-Coder 1.5B, 1.1 GB");
    document.querySelector<HTMLButtonElement>("#welcome-other")!.click();
    expect(document.querySelector<HTMLElement>("#panel-models")!.hidden).toBe(false);
    document.querySelector<HTMLButtonElement>("#welcome-download")!.click();
    await tick();
    expect(calls.find((c) => c.cmd === "models_download")!.args).toEqual({ repo: "Qwen/C-GGUF", file: "c.gguf" });
    await emit("model-status", { state: "loading", name: "Qwen2.5-Coder 1.5B", progress: 0.1 });
    expect(card.dataset.state).toBe("loading");
    await emit("model-status", { state: "ready", name: "Qwen2.5-Coder 1.5B", device: "metal", load_ms: 800, fallback: null });
    expect(card.hidden).toBe(true);
  });
});
