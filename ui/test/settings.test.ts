import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { SettingsPane } from "../src/settings";
import type { Settings } from "../src/ipc";

const defaults: Settings = {
  version: 1, hotkey: "Ctrl+Shift+Space", shell: "auto", safety: "moderate", candidates: 3, temperature: 0.7,
  launch_at_login: false, history_enabled: true, history_limit: 200, active_model: null,
};
let saved: Settings[];
let refuse: string | null;

beforeEach(() => {
  saved = [];
  refuse = null;
  mockIPC(
    (cmd, args) => {
      if (cmd === "get_settings") return defaults;
      if (cmd === "models_list") return { models: [], notices: [] };
      if (cmd === "models_catalog") return [];
      if (cmd === "get_status") return { state: "ready", name: "qwen", device: "cpu", load_ms: 1500 };
      if (cmd === "take_notices") return ["settings.json could not be used; defaults are in use"];
      if (cmd === "set_settings") {
        if (refuse) throw refuse;
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
afterEach(() => clearMocks());

const tick = () => new Promise((r) => setTimeout(r, 0));
const field = <T extends HTMLElement = HTMLInputElement>(n: string) => document.querySelector<T>(`[name="${n}"]`)!;

describe("settings", () => {
  it("shows the saved settings, the model and start-up notices", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    expect(field("hotkey").value).toBe("Ctrl+Shift+Space");
    expect(document.querySelector("#model-status")!.textContent).toContain("ready on cpu");
    expect(document.querySelector("#notices")!.textContent).toContain("defaults are in use");
  });

  it("applies a change at once", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    const safety = field<HTMLSelectElement>("safety");
    safety.value = "strict";
    safety.dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(saved.at(-1)!.safety).toBe("strict");
    expect(document.querySelector("#saved")!.textContent).toBe("Saved");
  });

  it("a refused change shows the reason and the field goes back", async () => {
    await new SettingsPane(document.getElementById("app")!).start();
    refuse = "Ctrl+Alt+T is taken by another app or cannot be used";
    field("hotkey").value = "Ctrl+Alt+T";
    field("hotkey").dispatchEvent(new Event("change", { bubbles: true }));
    await tick();
    expect(document.querySelector("#error")!.textContent).toContain("is taken");
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
});
