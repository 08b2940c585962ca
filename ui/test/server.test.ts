import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { mockBackend, tick, type Call, type Replies } from "./ipc-mock";
import { ModelsPane } from "../src/models";
import { SettingsPane } from "../src/settings";

let calls: Call[];
let replies: Replies;
const gpu = { base_url: "http://gpu.lan:11434", model: "qwen2.5-coder:7b" };
const settings = {
  version: 1, hotkey: "Ctrl+Shift+Space", shell: "auto", safety: "moderate", candidates: 3, temperature: 0.7,
  launch_at_login: false, history_enabled: true, history_limit: 200, active_model: "/m/local.gguf", server: null,
};

beforeEach(() => {
  replies = {
    models_list: () => ({ models: [], notices: [] }),
    models_catalog: () => [],
    get_server: () => ({ server: null, has_key: false }),
    set_server: (a) => ({ server: a.server, has_key: typeof a.key === "string" && a.key !== "" }),
    get_settings: () => settings,
    get_status: () => ({ state: "ready", name: "local", path: "/m/local.gguf", device: "cpu", load_ms: 900, fallback: null }),
    hotkey_state: () => ({ hotkey: "Ctrl+Shift+Space", active: true, problem: null }),
    tldr_status: () => ({ examples: 0, source: null, fetched_at: null, attribution: "" }),
    take_notices: () => [],
  };
  calls = mockBackend(replies);
  document.body.innerHTML = '<div id="pane"></div>';
});
afterEach(() => clearMocks());

const q = <T extends HTMLElement = HTMLInputElement>(s: string) => document.querySelector<T>(s)!;
const setServerCalls = () => calls.filter((c) => c.cmd === "set_server").map((c) => c.args);
async function pane() {
  const p = new ModelsPane(q("#pane"), () => null);
  await p.start();
  return p;
}
/// Submits as Enter in a field does.
const submit = async () => {
  q<HTMLFormElement>(".server-form").requestSubmit();
  await tick();
  await tick();
};

describe("use a server", () => {
  it("every field has a label, the key is a password field, and the state is said", async () => {
    await pane();
    for (const id of ["server-url", "server-model", "server-key"]) {
      const label = document.querySelector(`label[for="${id}"]`);
      expect(label?.textContent?.trim(), id).toBeTruthy();
    }
    expect(q("#server-key").type).toBe("password");
    expect(q("#server-now").getAttribute("role")).toBe("status");
    expect(q("#server-now").textContent).toContain("the model on this machine");
    expect(q("#server-key-note").textContent).toBe("No key is stored.");
    expect(q<HTMLButtonElement>("#server-stop").disabled).toBe(true);
  });

  it("Use sends the address, model and key; the key is never shown again, only that one is stored", async () => {
    await pane();
    q("#server-url").value = " http://gpu.lan:11434 ";
    q("#server-model").value = "qwen2.5-coder:7b";
    q("#server-key").value = "sk-very-secret";
    await submit();
    expect(setServerCalls()).toEqual([{ server: gpu, key: "sk-very-secret" }]);
    expect(q("#server-key").value).toBe("");
    expect(document.body.innerHTML).not.toContain("sk-very-secret");
    expect(q("#server-key-note").textContent).toContain("A key is stored");
    expect(q("#server-now").textContent).toBe("Requests go to qwen2.5-coder:7b at http://gpu.lan:11434.");
    expect(q<HTMLButtonElement>("#server-stop").disabled).toBe(false);
  });

  it("an empty key keeps the stored one; the remove box removes it", async () => {
    replies.get_server = () => ({ server: gpu, has_key: true });
    await pane();
    expect(q("#server-url").value).toBe(gpu.base_url);
    expect(q("#server-key").value).toBe("");
    expect(q("#server-key-remove-label").hidden).toBe(false);
    await submit();
    expect(setServerCalls().at(-1)).toEqual({ server: gpu, key: null });
    replies.set_server = (a) => ({ server: a.server, has_key: a.key === null });
    q("#server-key-remove").checked = true;
    await submit();
    expect(setServerCalls().at(-1)).toEqual({ server: gpu, key: "" });
  });

  it("while a server is in use, choosing a local model says to stop using it first", async () => {
    replies.get_server = () => ({ server: gpu, has_key: false });
    replies.models_catalog = () => [{
      id: "c", name: "Qwen c", repo: "Qwen/c", file: "c.gguf", quantization: "Q4_K_M", size: 1e9, sha256: "", default: true,
      note: "", installed: "/m/c.gguf", fit: null,
    }];
    await pane();
    document.querySelector<HTMLButtonElement>("#catalog button")!.click();
    await tick();
    expect(calls.some((c) => c.cmd === "models_use")).toBe(false);
    expect(q("#models-error").textContent).toContain("Stop using it");
  });

  it("Stop using goes back to the local model", async () => {
    replies.get_server = () => ({ server: gpu, has_key: false });
    await pane();
    q<HTMLButtonElement>("#server-stop").click();
    await tick();
    await tick();
    expect(setServerCalls()).toEqual([{ server: null, key: null }]);
    expect(q("#server-now").textContent).toContain("the model on this machine");
    expect(q("#server-url").value).toBe("");
  });

  it("a refused address is shown beside it, and focus goes there", async () => {
    replies.set_server = () => {
      throw { kind: "invalid", field: "base_url", message: "the server address must start with http:// or https://" };
    };
    await pane();
    q("#server-url").value = "gpu.lan";
    q("#server-model").value = "m";
    await submit();
    expect(q("#server-url-error").textContent).toContain("must start with http://");
    expect(q("#server-url").getAttribute("aria-invalid")).toBe("true");
    expect(document.activeElement).toBe(q("#server-url"));
    expect(q("#server-model-error").textContent).toBe("");
    expect(q("#server-now").textContent).toContain("the model on this machine");
    // The next try clears it.
    replies.set_server = (a) => ({ server: a.server, has_key: false });
    q("#server-url").value = gpu.base_url;
    await submit();
    expect(q("#server-url-error").textContent).toBe("");
    expect(q("#server-url").getAttribute("aria-invalid")).toBe("false");
  });

  it("an error without a field shows under the buttons", async () => {
    replies.set_server = () => {
      throw { kind: "io", message: "could not save settings: disk full" };
    };
    await pane();
    q("#server-url").value = gpu.base_url;
    q("#server-model").value = gpu.model;
    await submit();
    expect(q("#server-error").textContent).toBe("could not save settings: disk full");
  });

  it("Settings offers it too: the button opens the Models tab at the address; a server's status says so", async () => {
    document.body.innerHTML = '<div id="app"></div>';
    await new SettingsPane(q("#app")).start();
    expect(q("#use-server-now").textContent).toBe("local, on this machine");
    q<HTMLButtonElement>("#use-server").click();
    expect(q("#panel-models").hidden).toBe(false);
    expect(document.activeElement).toBe(q("#server-url"));
    await emit("model-status", { state: "ready", name: "qwen2.5-coder:7b", path: gpu.base_url, device: "server", load_ms: 0, fallback: null });
    await tick();
    expect(q("#model-status").textContent).toBe("qwen2.5-coder:7b: ready on the server at http://gpu.lan:11434");
    expect(q("#use-server-now").textContent).toBe("qwen2.5-coder:7b on the server at http://gpu.lan:11434");
  });
});
