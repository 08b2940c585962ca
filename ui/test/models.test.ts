import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockWindows } from "@tauri-apps/api/mocks";
import { mockBackend, tick, type Call, type Replies } from "./ipc-mock";
import { emit } from "@tauri-apps/api/event";
import { ModelsPane, quantization } from "../src/models";

let calls: Call[];
let replies: Replies;
const gemma = {
  path: "/hub/models--org--gemma/snapshots/c/gemma.gguf", name: "gemma.gguf", size: 253_113_024,
  architecture: "gemma3", problem: null, source: { kind: "hub", repo: "org/gemma", file: "gemma.gguf" },
  fit: { fit: "fits", needed: 600e6, text: "fits: needs about 0.6 GB of 25.0 GB" },
};
const catalogItem = (id: string, installed: string | null, fit: string, dflt = false) => ({
  id, name: `Qwen ${id}`, repo: `Qwen/${id}-GGUF`, file: `${id}.gguf`, quantization: "Q4_K_M", size: 1_117_320_768,
  sha256: "cc".repeat(32), default: dflt, note: `note for ${id}`, installed,
  fit: { fit, needed: 1.6e9, text: `${fit}: needs about 1.6 GB` },
});

beforeEach(() => {
  replies = {
    models_list: () => ({ models: [gemma], notices: [] }),
    models_catalog: () => [
      catalogItem("coder-1.5b", "/m/coder-1.5b.gguf", "fits", true),
      catalogItem("coder-3b", null, "tight"),
      catalogItem("coder-7b", null, "too_big"),
    ],
    models_search: () => [{ id: "org/gemma", downloads: 1234, likes: 1 }],
    models_files: () => [{ file: "gemma-q4_k_m.gguf", size: 253_113_024, sha256: "ab", quantization: "Q4_K_M" }],
    models_download: () => 1,
    get_server: () => ({ server: null, has_key: false }),
  };
  calls = mockBackend(replies);
  document.body.innerHTML = '<div id="pane"></div>';
});
afterEach(() => clearMocks());

const q = <T extends Element = HTMLElement>(s: string) => document.querySelector<T>(s)!;
const buttons = (scope: string) => [...document.querySelectorAll<HTMLButtonElement>(`${scope} button`)];

async function pane(active: string | null = null) {
  const p = new ModelsPane(q("#pane"), () => active);
  await p.start();
  return p;
}

describe("models pane", () => {
  it("lists installed models with architecture, size and source; the active one can't be deleted", async () => {
    await pane(gemma.path);
    expect(q("#installed .meta").textContent).toBe("gemma3 · 0.25 GB · org/gemma");
    expect(q("#installed .active").textContent).toBe("Active");
    expect(q("#installed .fit").textContent).toBe("Fits");
    expect(buttons("#installed").map((b) => b.textContent)).toEqual(["Show in folder"]);
  });

  it("recommends catalog models with a fit hint; installed ones can be used, others downloaded", async () => {
    await pane("/m/coder-1.5b.gguf");
    const items = [...document.querySelectorAll<HTMLElement>("#catalog li")];
    expect(items.map((i) => i.querySelector(".fit")!.textContent)).toEqual(["Fits", "Tight", "Too big"]);
    expect(items[2].querySelector<HTMLElement>(".fit")!.title).toBe("too_big: needs about 1.6 GB");
    expect(items[0].querySelector(".name")!.textContent).toBe("Qwen coder-1.5b (default)");
    expect(items[0].querySelector(".active")!.textContent).toBe("Active");
    expect(items[1].querySelector(".note")!.textContent).toBe("note for coder-3b");
    items[1].querySelector("button")!.click();
    await tick();
    expect(calls.find((c) => c.cmd === "models_download")!.args).toEqual({ repo: "Qwen/coder-3b-GGUF", file: "coder-3b.gguf" });
  });

  it("reveals a model in the file manager, and says when it can't", async () => {
    await pane();
    replies.models_reveal = () => {
      throw "could not open the file manager: no D-Bus";
    };
    buttons("#installed").find((b) => b.textContent === "Show in folder")!.click();
    await tick();
    await tick();
    expect(calls.find((c) => c.cmd === "models_reveal")!.args.path).toBe(gemma.path);
    expect(q("#models-error").textContent).toContain("no D-Bus");
  });

  it("a damaged imports list set aside is shown, not only logged", async () => {
    replies.models_list = () => ({ models: [], notices: ["imports.json could not be read; it was kept as imports.json.bad-1"] });
    await pane();
    expect(q("#models-error").textContent).toContain("imports.json.bad-1");
  });

  it("search, pick a repo, download a file", async () => {
    await pane();
    q<HTMLInputElement>("#model-search").value = "gemma";
    q<HTMLButtonElement>("#search").click();
    await tick();
    expect(calls.find((c) => c.cmd === "models_search")!.args.query).toBe("gemma");
    q<HTMLElement>("#search-results li").click();
    await tick();
    // Sizes in GB; the quantization in words, its code in the tooltip.
    expect(q("#repo-files .meta").textContent).toBe("4-bit, medium quality · 0.25 GB");
    expect(q<HTMLElement>("#repo-files .meta").title).toBe("Q4_K_M");
    buttons("#repo-files")[0].click();
    await tick();
    expect(calls.find((c) => c.cmd === "models_download")!.args).toEqual({ repo: "org/gemma", file: "gemma-q4_k_m.gguf" });
  });

  it("ORG/REPO goes straight to the repo's files", async () => {
    await pane();
    q<HTMLInputElement>("#model-search").value = "https://huggingface.co/org/gemma";
    q<HTMLButtonElement>("#search").click();
    await tick();
    expect(calls.some((c) => c.cmd === "models_search")).toBe(false);
    expect(calls.find((c) => c.cmd === "models_files")!.args.repo).toBe("org/gemma");
  });

  it("shows progress with speed and time left, then pause, resume and use", async () => {
    await pane();
    const ev = { id: 1, repo: "org/gemma", file: "g.gguf", message: null, path: null };
    await emit("download", { ...ev, state: "running", downloaded: 50, total: 200, bytes_per_sec: 2e6, eta_secs: 75 });
    expect(q<HTMLProgressElement>("#downloads progress").value).toBe(50);
    expect(q("#downloads .meta").textContent).toBe("25% · 2.0 MB/s · 75 s left");
    buttons("#downloads").find((b) => b.textContent === "Pause")!.click();
    await tick();
    expect(calls.find((c) => c.cmd === "models_pause")!.args.id).toBe(1);
    await emit("download", { ...ev, state: "paused", downloaded: 0, total: 0, bytes_per_sec: 0, eta_secs: null });
    expect(q("#downloads .meta").textContent).toBe("25% · paused");
    buttons("#downloads").find((b) => b.textContent === "Resume")!.click();
    await tick();
    expect(calls.filter((c) => c.cmd === "models_download")).toHaveLength(1);
    await emit("download", { ...ev, state: "done", downloaded: 0, total: 0, bytes_per_sec: 0, eta_secs: null, path: "/m/g.gguf" });
    expect(q("#downloads .meta").textContent).toBe("25% · done, verified");
    buttons("#downloads").find((b) => b.textContent === "Use")!.click();
    await tick();
    expect(calls.find((c) => c.cmd === "models_use")!.args.path).toBe("/m/g.gguf");
  });

  it("a failed download and a refused import show their messages", async () => {
    await pane();
    await emit("download", {
      id: 2, repo: "org/x", file: "x.gguf", state: "error", downloaded: 0, total: 0, bytes_per_sec: 0, eta_secs: null,
      message: "x.gguf: checksum mismatch; the download was deleted", path: null,
    });
    expect(q("#downloads .problem").textContent).toContain("checksum mismatch");
    replies.models_import = () => {
      throw "/tmp/page.gguf can't be used: not a GGUF file";
    };
    replies["plugin:dialog|open"] = () => "/tmp/page.gguf";
    q<HTMLButtonElement>("#import").click();
    for (let i = 0; i < 4; i++) await tick();
    expect(calls.find((c) => c.cmd === "plugin:dialog|open")!.args.options).toMatchObject({
      multiple: false, directory: false, filters: [{ name: "GGUF model", extensions: ["gguf"] }],
    });
    expect(calls.find((c) => c.cmd === "models_import")!.args.path).toBe("/tmp/page.gguf");
    // Beside the button it came from.
    expect(q("#import-error").textContent).toContain("not a GGUF file");
  });

  it("describes quantization in words", () => {
    expect(quantization("Q4_K_M (mostly Q5_0)")).toBe("4-bit, medium quality");
    expect(quantization("Q8_0")).toBe("8-bit, near-full quality");
    expect(quantization("IQ3_XXS")).toBe("3-bit, low quality");
    expect(quantization("BF16")).toBe("16-bit, full quality");
    expect(quantization(null)).toBe("unknown quantization");
  });

  it("a GGUF file dropped onto the pane is imported; another file is refused with a reason", async () => {
    mockWindows("settings");
    replies.models_import = () => gemma;
    await pane();
    await emit("tauri://drag-enter", { paths: ["/d/model.gguf"], position: { x: 1, y: 1 } });
    expect(q("#drop-zone").classList.contains("dragging")).toBe(true);
    await emit("tauri://drag-drop", { paths: ["/d/model.gguf", "/d/notes.txt"], position: { x: 1, y: 1 } });
    for (let i = 0; i < 4; i++) await tick();
    expect(q("#drop-zone").classList.contains("dragging")).toBe(false);
    expect(calls.filter((c) => c.cmd === "models_import").map((c) => c.args.path)).toEqual(["/d/model.gguf"]);
    expect(q("#import-error").textContent).toBe("only .gguf files can be imported (notes.txt)");
  });

  it("delete asks in the page, not with window.confirm: Cancel and Esc keep the file, Delete removes it", async () => {
    await pane();
    // The macOS webview answers confirm() with false and shows nothing.
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(false);
    const del = () => buttons("#installed").find((b) => b.textContent === "Delete")!;
    const dialog = () => document.querySelector<HTMLElement>('[role="alertdialog"]');
    const press = (k: string, opts: KeyboardEventInit = {}) =>
      document.activeElement!.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...opts }));

    del().click();
    await tick();
    expect(dialog()!.textContent).toContain("Delete gemma.gguf? This removes the file from disk.");
    expect(document.activeElement).toBe(q("#confirm-cancel"));
    press("Tab");
    expect(document.activeElement).toBe(q("#confirm-delete"));
    press("Tab", { shiftKey: true });
    expect(document.activeElement).toBe(q("#confirm-cancel"));
    q<HTMLButtonElement>("#confirm-cancel").click();
    await tick();
    expect(dialog()).toBeNull();

    del().click();
    await tick();
    press("Escape");
    await tick();
    expect(dialog()).toBeNull();
    expect(calls.some((c) => c.cmd === "models_delete")).toBe(false);

    del().click();
    await tick();
    press("Tab");
    press("Enter");
    await tick();
    await tick();
    expect(dialog()).toBeNull();
    expect(calls.find((c) => c.cmd === "models_delete")!.args.path).toBe(gemma.path);
    expect(confirm).not.toHaveBeenCalled();
  });
});
