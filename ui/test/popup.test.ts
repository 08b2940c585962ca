import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { mockBackend, tick, type Call, type Replies } from "./ipc-mock";
import { emit } from "@tauri-apps/api/event";
import { COPIED_MS, DEBUG_KEY, Popup, placeholders } from "../src/popup";
import type { Candidate } from "../src/ipc";

let calls: Call[];
let replies: Replies;

const cand = (command: string, risk: Candidate["risk"] = "safe", action: Candidate["action"] = "show"): Candidate => ({
  command,
  explanation: `explains ${command}`,
  risk,
  risk_reason: risk === "safe" ? "reads only; changes nothing" : "deletes everything under /",
  action,
  score: -0.1,
  votes: 1,
});

beforeEach(() => {
  replies = {
    get_status: () => ({ state: "ready", name: "qwen", device: "cpu", load_ms: 1000 }),
    take_notices: () => [],
    history: () => [{ query: "list files", command: "ls", at: 0 }],
  };
  calls = mockBackend(replies);
  document.body.innerHTML = '<div id="app"></div>';
});
afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
});

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms + 20));

async function popup(): Promise<Popup> {
  const p = new Popup(document.getElementById("app")!);
  await p.start();
  return p;
}
const input = () => document.querySelector<HTMLInputElement>("#query")!;
const key = (k: string, opts: KeyboardEventInit = {}) =>
  input().dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...opts }));
const items = () => [...document.querySelectorAll(".candidate")];
const status = () => document.querySelector("#status")!.textContent;
/// Moves the clock on by `ms`, as a user's pause would.
function later(ms: number) {
  const now = Date.now();
  vi.spyOn(Date, "now").mockReturnValue(now + ms);
}

async function ask(q: string) {
  input().value = q;
  key("Enter");
  await tick();
  return calls.filter((c) => c.cmd === "ask").at(-1)!.args.id as number;
}

describe("popup", () => {
  it("shows model output as text: markup in a command, explanation or notice never becomes HTML", async () => {
    const hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    (window as unknown as { __pwned?: number }).__pwned = undefined;
    await popup();
    const id = await ask("anything");
    const candidate = { ...cand(`echo ${hostile}`), explanation: hostile, risk_reason: hostile, portability: hostile };
    await emit("suggestion", { type: "candidate", id, candidate });
    // The final rows carry the same text: drawn again, still as text.
    await emit("suggestion", {
      type: "done", id, candidates: [{ ...candidate, votes: 2 }], notices: [hostile], hidden: 0,
      timings: { prompt_tokens: 1, cached_tokens: 0, generated_tokens: 1, prefill_ms: 1, first_token_ms: 1, total_ms: 2 },
    });
    await tick();
    expect(document.querySelectorAll("#app img, #app script")).toHaveLength(0);
    expect(items()[0].textContent).toContain(`echo ${hostile}`);
    expect(document.body.textContent).toContain(hostile);
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("sends the query on Enter and streams candidates with risk badges", async () => {
    await popup();
    const id = await ask("free disk space");
    expect(calls.find((c) => c.cmd === "ask")!.args.query).toBe("free disk space");
    await emit("suggestion", { type: "candidate", id, candidate: cand("df -h") });
    await tick();
    expect(items()).toHaveLength(1);
    await emit("suggestion", { type: "candidate", id, candidate: cand("rm -rf /", "critical", "confirm") });
    await emit("suggestion", {
      type: "done", id, candidates: [cand("df -h"), cand("rm -rf /", "critical", "confirm")], hidden: 0, notices: [],
      timings: { prompt_tokens: 10, cached_tokens: 0, generated_tokens: 20, prefill_ms: 100, first_token_ms: 200, total_ms: 1200 },
    });
    await tick();
    const badges = [...document.querySelectorAll<HTMLElement>(".badge")];
    expect(badges.map((b) => b.textContent)).toEqual(["safe", "critical"]);
    expect(badges[1].title).toBe("deletes everything under /");
    // The footer speaks to the user; tokens per second are for debugging.
    expect(document.querySelector("#footer")!.textContent).toBe("2 suggestions · 1.2 s");
  });

  it("tokens per second show in the footer only with the debug setting", async () => {
    localStorage.setItem(DEBUG_KEY, "1");
    try {
      await popup();
      const id = await ask("free disk space");
      await emit("suggestion", { type: "candidate", id, candidate: cand("df -h") });
      await emit("suggestion", {
        type: "done", id, candidates: [cand("df -h")], hidden: 1, notices: [],
        timings: { prompt_tokens: 10, cached_tokens: 0, generated_tokens: 20, prefill_ms: 100, first_token_ms: 200, total_ms: 1200 },
      });
      await tick();
      expect(document.querySelector("#footer")!.textContent).toBe(
        "1 suggestion · 1 hidden by the safety level · 1.2 s · 20 tokens · 20.0 tok/s",
      );
    } finally {
      localStorage.removeItem(DEBUG_KEY);
    }
  });

  it("with the debug setting the footer says how many drafted tokens the model took", async () => {
    localStorage.setItem(DEBUG_KEY, "1");
    try {
      await popup();
      const id = await ask("free disk space");
      await emit("suggestion", {
        type: "done", id, candidates: [cand("df -h")], hidden: 0, notices: [],
        timings: { prompt_tokens: 10, cached_tokens: 0, generated_tokens: 20, prefill_ms: 100, first_token_ms: 200, total_ms: 1200, drafted_tokens: 12, accepted_tokens: 9 },
      });
      await tick();
      expect(document.querySelector("#footer")!.textContent).toBe(
        "1 suggestion · 1.2 s · 20 tokens · 20.0 tok/s · 75% of 12 drafted taken",
      );
    } finally {
      localStorage.removeItem(DEBUG_KEY);
    }
  });

  it("streamed candidates are appended: the rows already there stay the same elements", async () => {
    await popup();
    const id = await ask("list files");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await tick();
    const first = items()[0];
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls -la") });
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls -1") });
    await tick();
    expect(items()).toHaveLength(3);
    expect(items()[0]).toBe(first);
  });

  it("a row shown before its explanation is written gets it in place, as the same element", async () => {
    await popup();
    const id = await ask("list files");
    await emit("suggestion", { type: "candidate", id, candidate: { ...cand("ls"), explanation: "", pending: true } });
    await tick();
    const first = items()[0];
    expect(first.querySelector(".explanation.pending")?.textContent).toBe("…");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await tick();
    expect(items()).toHaveLength(1);
    expect(items()[0]).toBe(first);
    expect(first.querySelector(".explanation")?.textContent).toBe("explains ls");
    expect(first.querySelector(".pending")).toBeNull();
  });

  it("a click on a row the final order moved copies that row's command", async () => {
    await popup();
    const timings = { prompt_tokens: 1, cached_tokens: 0, generated_tokens: 1, prefill_ms: 1, first_token_ms: 1, total_ms: 1 };
    const id = await ask("list files");
    for (const c of ["ls", "du -sh ."]) await emit("suggestion", { type: "candidate", id, candidate: cand(c) });
    await emit("suggestion", { type: "done", id, candidates: [cand("du -sh ."), cand("ls")], hidden: 0, notices: [], timings });
    await tick();
    expect(items()[0].querySelector(".command")!.textContent).toBe("du -sh .");
    (items()[0] as HTMLElement).click();
    await tick();
    expect(calls.find((c) => c.cmd === "copy")!.args.command).toBe("du -sh .");
  });

  it("done puts the rows in their final order; the selection stays on its command, an edit stays", async () => {
    await popup();
    const timings = { prompt_tokens: 1, cached_tokens: 0, generated_tokens: 1, prefill_ms: 1, first_token_ms: 1, total_ms: 1 };
    let id = await ask("list files");
    for (const c of ["ls", "ls -la", "ls -1"]) await emit("suggestion", { type: "candidate", id, candidate: cand(c) });
    await tick();
    key("ArrowDown");
    const [lsRow, laRow] = items();
    const final = [{ ...cand("ls -la"), votes: 3 }, cand("find . -maxdepth 1"), cand("ls")];
    await emit("suggestion", { type: "done", id, candidates: final, hidden: 0, notices: [], timings });
    await tick();
    expect(items().map((li) => li.querySelector(".command")!.textContent)).toEqual(["ls -la", "find . -maxdepth 1", "ls"]);
    // Rows that stay are the same elements, moved: references to them hold.
    expect(items()[0]).toBe(laRow);
    expect(items()[2]).toBe(lsRow);
    expect(items()[2].id).toBe("cand-2");
    expect(items()[0].classList.contains("selected")).toBe(true);
    expect(input().getAttribute("aria-activedescendant")).toBe("cand-0");
    // An edit in progress: its rows stay as the user sees them.
    id = await ask("list files again");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await tick();
    key("Tab");
    await emit("suggestion", { type: "done", id, candidates: [cand("pwd")], hidden: 0, notices: [], timings });
    await tick();
    expect(items()).toHaveLength(1);
    expect(document.querySelector<HTMLInputElement>(".edit")!.value).toBe("ls");
  });

  it("is a complete ARIA combobox: the input points at the selected option", async () => {
    await popup();
    const q = input();
    expect(q.getAttribute("role")).toBe("combobox");
    expect(q.getAttribute("aria-controls")).toBe("candidates");
    expect(q.getAttribute("aria-expanded")).toBe("false");
    expect(q.hasAttribute("aria-activedescendant")).toBe(false);
    const id = await ask("list files");
    for (const c of ["ls", "ls -la"]) await emit("suggestion", { type: "candidate", id, candidate: cand(c) });
    await tick();
    expect(q.getAttribute("aria-expanded")).toBe("true");
    const active = () => document.getElementById(q.getAttribute("aria-activedescendant") ?? "");
    expect(active()).toBe(items()[0]);
    expect(active()!.getAttribute("role")).toBe("option");
    key("ArrowDown");
    expect(active()).toBe(items()[1]);
    expect(active()!.getAttribute("aria-selected")).toBe("true");
    expect(items()[0].getAttribute("aria-selected")).toBe("false");
  });

  it("a polite live region says each suggestion and its risk", async () => {
    await popup();
    const region = document.querySelector("#announce")!;
    expect(region.getAttribute("aria-live")).toBe("polite");
    const id = await ask("wipe");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await tick();
    expect(region.textContent).toBe("Suggestion 1: ls. safe.");
    await emit("suggestion", { type: "candidate", id, candidate: cand("rm -rf /", "critical", "confirm") });
    await tick();
    expect(region.textContent).toBe("Suggestion 2: rm -rf /. critical risk: it deletes everything under /.");
  });

  it("Esc while a request runs cancels it, then hides", async () => {
    await popup();
    const id = await ask("list files");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await tick();
    key("Escape");
    await tick();
    const order = calls.map((c) => c.cmd).filter((c) => c === "cancel" || c === "hide_popup");
    expect(order).toEqual(["cancel", "hide_popup"]);
  });

  it("the action bar shows the keys that work now, in the platform's words", async () => {
    const hints = () => [...document.querySelectorAll("#actions .hint")].map((h) => h.textContent);
    await popup();
    expect(hints()).toEqual(["Enter Ask", "Ctrl+R History", "Ctrl+, Settings"]);
    let id = await ask("list");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await emit("suggestion", { type: "candidate", id, candidate: cand("rm -rf /", "critical", "confirm") });
    await tick();
    // No paste off a Mac: the app can't.
    expect(hints()).toEqual(["Enter Copy", "Tab Edit", "Ctrl+R History"]);
    key("ArrowDown");
    expect(hints()[0]).toBe("Ctrl+Shift+Enter Copy anyway");
    mac();
    await popup();
    id = await ask("list");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await tick();
    expect(hints()).toEqual(["↵ Copy", "⌘↵ Paste into Terminal", "⇥ Edit", "⌘R History"]);
    expect([...document.querySelectorAll("#actions kbd")].map((k) => k.textContent)).toEqual(["↵", "⌘↵", "⇥", "⌘R"]);
  });

  it("marks the stand-ins in a command, and Tab in the editor goes from one to the next", async () => {
    expect(placeholders("cp <file> /path/to/backup && git push origin your_branch").map((p) => p.start)).toEqual([3, 10, 45]);
    expect(placeholders("ls -la ~/src")).toEqual([]);
    await popup();
    const id = await ask("copy");
    await emit("suggestion", { type: "candidate", id, candidate: cand("cp <file> /path/to/backup") });
    await tick();
    expect([...items()[0].querySelectorAll("mark.placeholder")].map((m) => m.textContent)).toEqual(["<file>", "/path/to/backup"]);
    expect(items()[0].querySelector("code")!.textContent).toBe("cp <file> /path/to/backup");
    key("Tab");
    const editor = document.querySelector<HTMLInputElement>(".edit")!;
    const chosen = () => editor.value.slice(editor.selectionStart!, editor.selectionEnd!);
    expect(chosen()).toBe("<file>");
    const tab = (shiftKey = false) =>
      editor.dispatchEvent(new KeyboardEvent("keydown", { key: "Tab", shiftKey, bubbles: true, cancelable: true }));
    expect(tab()).toBe(false); // taken: the focus stays
    expect(chosen()).toBe("/path/to/backup");
    expect(tab(true)).toBe(false);
    expect(chosen()).toBe("<file>");
  });

  it("ignores events from a request that was replaced", async () => {
    await popup();
    const first = await ask("one");
    const second = await ask("two");
    await emit("suggestion", { type: "candidate", id: first, candidate: cand("echo stale") });
    await emit("suggestion", { type: "candidate", id: second, candidate: cand("echo fresh") });
    await tick();
    expect(items().map((i) => i.querySelector("code")!.textContent)).toEqual(["echo fresh"]);
  });

  it("Enter copies, says so for a moment, then the popup goes", async () => {
    await popup();
    const id = await ask("list");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await tick();
    key("Enter");
    await tick();
    expect(status()).toBe("Copied to the clipboard ✓");
    expect(calls.some((c) => c.cmd === "hide_popup")).toBe(false);
    await wait(COPIED_MS);
    expect(calls.some((c) => c.cmd === "hide_popup")).toBe(true);
    // Shown again (the hotkey) before that: it stays.
    calls.length = 0;
    key("Enter");
    await tick();
    await emit("popup-shown", null);
    await wait(COPIED_MS);
    expect(calls.some((c) => c.cmd === "copy")).toBe(true);
    expect(calls.some((c) => c.cmd === "hide_popup")).toBe(false);
  });

  it("arrows choose and Enter copies the chosen command", async () => {
    await popup();
    const id = await ask("list");
    for (const c of ["ls", "ls -la"]) await emit("suggestion", { type: "candidate", id, candidate: cand(c) });
    await tick();
    key("ArrowDown");
    key("Enter");
    await tick();
    expect(calls.find((c) => c.cmd === "copy")!.args).toEqual({ command: "ls -la", confirmed: false, query: "list" });
    expect(status()).toContain("Copied");
  });

  it("a command that needs a confirm is copied only with the distinct confirm, never a second Enter", async () => {
    await popup();
    const id = await ask("wipe");
    await emit("suggestion", { type: "candidate", id, candidate: cand("rm -rf /", "critical", "confirm") });
    await tick();
    key("Enter");
    await tick();
    expect(calls.some((c) => c.cmd === "copy")).toBe(false);
    const warning = document.querySelector(".confirm")!;
    expect(warning.textContent).toContain("deletes everything under /");
    expect(warning.textContent).toContain("Ctrl+Shift+Enter");
    // Said at once to a screen reader.
    expect(warning.getAttribute("role")).toBe("alert");
    // A second Enter, however late, is not a confirm.
    key("Enter");
    later(5000);
    key("Enter");
    await tick();
    expect(calls.some((c) => c.cmd === "copy")).toBe(false);
    key("Enter", { ctrlKey: true, shiftKey: true });
    await tick();
    expect(calls.find((c) => c.cmd === "copy")!.args).toEqual({ command: "rm -rf /", confirmed: true, query: "wipe" });
    // Copied: the popup goes.
    await wait(COPIED_MS);
    expect(calls.some((c) => c.cmd === "hide_popup")).toBe(true);
  });

  it("the confirm chord alone first shows the warning; its button confirms too", async () => {
    await popup();
    const id = await ask("wipe");
    await emit("suggestion", { type: "candidate", id, candidate: cand("rm -rf /", "critical", "confirm") });
    await tick();
    key("Enter", { ctrlKey: true, shiftKey: true });
    await tick();
    expect(calls.some((c) => c.cmd === "copy")).toBe(false);
    document.querySelector<HTMLButtonElement>("#confirm-go")!.click();
    await tick();
    expect(calls.find((c) => c.cmd === "copy")!.args.confirmed).toBe(true);
  });

  it("keys work after a click moved the focus, and an IME's Enter sends nothing", async () => {
    await popup();
    const id = await ask("list files");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls -la") });
    await tick();
    (document.activeElement as HTMLElement | null)?.blur();
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowDown", bubbles: true, cancelable: true }));
    expect(document.querySelector(".candidate.selected code")!.textContent).toBe("ls -la");
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
    await tick();
    expect(calls.some((c) => c.cmd === "hide_popup")).toBe(true);
    const asks = calls.filter((c) => c.cmd === "ask").length;
    input().value = "にほんご";
    key("Enter", { isComposing: true });
    // WebKit's keydown for the Enter that ends a composition: keyCode 229.
    key("Enter", { keyCode: 229 });
    await tick();
    expect(calls.filter((c) => c.cmd === "ask").length).toBe(asks);
  });

  it("after an edit is copied (the editor that had the focus is gone), Esc and the arrows still work", async () => {
    await popup();
    const id = await ask("list");
    for (const c of ["ls", "ls -la"]) await emit("suggestion", { type: "candidate", id, candidate: cand(c) });
    await tick();
    key("Tab");
    const editor = document.querySelector<HTMLInputElement>(".edit")!;
    editor.value = "ls -1";
    editor.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    await tick();
    expect(calls.find((c) => c.cmd === "copy")!.args.command).toBe("ls -1");
    expect(document.querySelector(".edit")).toBeNull();
    expect(document.activeElement).not.toBe(input());
    const press = (k: string) =>
      (document.activeElement ?? document.body).dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
    press("ArrowDown");
    expect(document.querySelector(".candidate.selected code")!.textContent).toBe("ls -la");
    press("Escape");
    await tick();
    expect(calls.some((c) => c.cmd === "hide_popup")).toBe(true);
  });

  it("a streamed candidate does not wipe an edit in progress", async () => {
    await popup();
    const id = await ask("list files");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await tick();
    key("Tab");
    const editor = () => document.querySelector<HTMLInputElement>(".edit")!;
    editor().value = "ls -1 --color=never";
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls -la") });
    await tick();
    expect(editor().value).toBe("ls -1 --color=never");
    expect(document.activeElement).toBe(editor());
    expect(items()).toHaveLength(2);
  });

  it("Tab edits the command before it is copied", async () => {
    await popup();
    const id = await ask("list");
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls") });
    await tick();
    key("Tab");
    const editor = document.querySelector<HTMLInputElement>(".edit")!;
    expect(document.activeElement).toBe(editor);
    editor.value = "ls -1";
    editor.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
    await tick();
    expect(calls.find((c) => c.cmd === "copy")!.args.command).toBe("ls -1");
  });

  it("an empty query gets a hint and no request; a refused one shows why", async () => {
    await popup();
    input().value = "   ";
    key("Enter");
    await tick();
    expect(calls.some((c) => c.cmd === "ask")).toBe(false);
    expect(status()).toContain("Type what you want to do");
    replies.ask = () => {
      throw "qwen is still loading; try again in a moment";
    };
    await ask("list files");
    expect(status()).toBe("qwen is still loading; try again in a moment");
  });

  it("shows model loading and load errors in the status line", async () => {
    await popup();
    await emit("model-status", { state: "loading", name: "qwen", progress: 0.42 });
    expect(status()).toBe("Loading qwen… 42%");
    await emit("model-status", { state: "error", name: "qwen", message: "not a GGUF file" });
    expect(status()).toContain("not a GGUF file");
    await emit("model-status", { state: "ready", name: "qwen", device: "cpu", load_ms: 5 });
    expect(status()).toBe("");
  });

  it("Esc hides the popup; ArrowUp in an empty input recalls the last query", async () => {
    await popup();
    key("ArrowUp");
    await tick();
    expect(input().value).toBe("list files");
    key("Escape");
    await tick();
    expect(calls.some((c) => c.cmd === "hide_popup")).toBe(true);
  });

  it("Ctrl+R searches the history and Enter asks again", async () => {
    replies.history = (args) =>
      [
        { query: "list files", command: "ls", at: 0 },
        { query: "free disk space", command: null, at: 1 },
      ].filter((h) => h.query.includes(String(args.filter)));
    await popup();
    input().value = "disk";
    key("r", { ctrlKey: true });
    await tick();
    expect([...document.querySelectorAll(".history-item .query")].map((e) => e.textContent)).toEqual(["free disk space"]);
    key("Enter");
    await tick();
    expect(calls.filter((c) => c.cmd === "ask").at(-1)!.args.query).toBe("free disk space");
  });

  it("a generation error is shown", async () => {
    await popup();
    const id = await ask("x y");
    await emit("suggestion", { type: "error", id, message: "the model gave no usable command; try rephrasing the request" });
    await tick();
    expect(status()).toContain("rephrasing");
  });
});

const coder = {
  id: "qwen2.5-coder-1.5b", name: "Qwen2.5-Coder 1.5B", repo: "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
  file: "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", size: 1_117_320_768,
  fit: { fit: "fits", needed: 1.6e9, text: "fits: needs about 1.6 GB of 16.0 GB" },
};
const missing = { state: "missing", name: coder.name, model: coder };
const dl = (state: string, downloaded = 0, total = 0, extra: Record<string, unknown> = {}) => ({
  id: 7, repo: coder.repo, file: coder.file, state, downloaded, total, bytes_per_sec: 2e6, eta_secs: 75,
  message: null, path: null, ...extra,
});
const welcome = () => document.querySelector<HTMLElement>("#welcome")!;
const button = (id: string) => document.querySelector<HTMLButtonElement>(id)!;
const shown = (id: string) => !document.querySelector<HTMLElement>(id)!.hidden;
const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
const mac = () => vi.spyOn(navigator, "platform", "get").mockReturnValue("MacIntel");

describe("welcome card (no model yet)", () => {
  beforeEach(() => {
    replies.get_status = () => missing;
    replies.models_download = () => 7;
  });

  it("offers the default model with its size and fit, instead of the results", async () => {
    await popup();
    expect(shown("#welcome")).toBe(true);
    expect(welcome().dataset.state).toBe("idle");
    expect(welcome().textContent).toContain("Cmdbar needs a model to answer: Qwen2.5-Coder 1.5B, 1.1 GB");
    expect(welcome().textContent).toContain("fits: needs about 1.6 GB of 16.0 GB");
    expect(button("#welcome-download").textContent).toBe("Download");
    expect(shown("#welcome-pause")).toBe(false);
    expect(shown("#welcome-progress")).toBe(false);
    expect(shown("#candidates")).toBe(false);
    button("#welcome-other").click();
    await tick();
    expect(calls.find((c) => c.cmd === "open_settings")!.args).toEqual({ tab: "models" });
  });

  it("Enter with no model points at the card and asks nothing; the input keeps the focus", async () => {
    await popup();
    expect(document.activeElement).toBe(input());
    input().value = "list files";
    key("Enter");
    await tick();
    expect(calls.some((c) => c.cmd === "ask")).toBe(false);
    expect(status()).toContain("download one below");
  });

  it("downloads with progress, speed and time left; pauses, resumes, retries; then loads and goes away", async () => {
    await popup();
    button("#welcome-download").click();
    await tick();
    expect(calls.find((c) => c.cmd === "models_download")!.args).toEqual({ repo: coder.repo, file: coder.file });
    expect(welcome().dataset.state).toBe("running");
    await emit("download", dl("running", 50, 200));
    expect(document.querySelector<HTMLProgressElement>("#welcome-progress")!.value).toBe(0.25);
    expect(welcome().textContent).toContain("25% · 2.0 MB/s · 1 min left");
    expect(shown("#welcome-download")).toBe(false);
    button("#welcome-pause").click();
    await tick();
    expect(calls.find((c) => c.cmd === "models_pause")!.args).toEqual({ id: 7 });
    // Terminal events carry no byte counts; the last ones stay.
    await emit("download", dl("paused"));
    expect(welcome().dataset.state).toBe("paused");
    expect(welcome().textContent).toContain("25% · paused");
    expect(shown("#welcome-pause")).toBe(false);
    expect(button("#welcome-download").textContent).toBe("Resume");
    button("#welcome-download").click();
    await tick();
    expect(calls.filter((c) => c.cmd === "models_download")).toHaveLength(2);
    await emit("download", dl("error", 0, 0, { message: "the connection was reset" }));
    expect(welcome().dataset.state).toBe("error");
    expect(welcome().textContent).toContain("the connection was reset");
    expect(button("#welcome-download").textContent).toBe("Retry");
    button("#welcome-download").click();
    await tick();
    expect(calls.filter((c) => c.cmd === "models_download")).toHaveLength(3);
    // A download of another file is not this card's.
    await emit("download", { ...dl("error", 0, 0, { message: "other" }), file: "other.gguf" });
    expect(welcome().dataset.state).toBe("running");
    await emit("download", dl("running", 200, 200));
    await emit("download", dl("done", 0, 0, { path: "/m/coder.gguf" }));
    expect(welcome().dataset.state).toBe("loading");
    input().blur();
    await emit("model-status", { state: "loading", name: coder.name, progress: 0.5 });
    expect(welcome().textContent).toContain("Loading… 50%");
    expect(status()).toBe("");
    await emit("model-status", { state: "ready", name: coder.name, device: "metal", load_ms: 900, fallback: null });
    expect(shown("#welcome")).toBe(false);
    expect(shown("#candidates")).toBe(true);
    expect(document.activeElement).toBe(input());
    await ask("list files");
    expect(calls.some((c) => c.cmd === "ask")).toBe(true);
  });

  it("a download that can't start shows why, with Retry", async () => {
    replies.models_download = () => {
      throw "the Hub could not be reached: offline";
    };
    await popup();
    button("#welcome-download").click();
    await tick();
    await tick();
    expect(welcome().dataset.state).toBe("error");
    expect(welcome().textContent).toContain("offline");
    expect(button("#welcome-download").textContent).toBe("Retry");
  });
});

describe("paste into Terminal", () => {
  async function one(command: string, risk: Candidate["risk"] = "safe", action: Candidate["action"] = "show") {
    await popup();
    const id = await ask("q");
    await emit("suggestion", { type: "candidate", id, candidate: cand(command, risk, action) });
    await tick();
  }
  const pastes = () => calls.filter((c) => c.cmd === "paste_to_terminal");

  it("⌘↵ on a Mac pastes the selected command; Enter still copies", async () => {
    mac();
    await one("df -h");
    key("Enter", { metaKey: true });
    await tick();
    expect(pastes().map((c) => c.args)).toEqual([{ command: "df -h", confirmed: false, query: "q" }]);
    expect(calls.some((c) => c.cmd === "copy")).toBe(false);
    expect(status()).toContain("Pasted");
  });

  it("Ctrl+Enter elsewhere, and the app's refusal shows in the status line", async () => {
    replies.paste_to_terminal = () => {
      throw "pasting into a terminal is only available on macOS; the command is on the clipboard";
    };
    await one("df -h");
    key("Enter", { ctrlKey: true });
    await tick();
    await tick();
    expect(pastes()).toHaveLength(1);
    expect(status()).toBe("pasting into a terminal is only available on macOS; the command is on the clipboard");
    expect(document.querySelector("#status")!.getAttribute("data-kind")).toBe("error");
  });

  it("a high-risk command is pasted only after the confirm, and then as confirmed", async () => {
    mac();
    await one("rm -rf /", "critical", "confirm");
    key("Enter", { metaKey: true });
    await tick();
    expect(pastes()).toHaveLength(0);
    expect(document.querySelector(".confirm")!.textContent).toContain("To paste it anyway press ⇧⌘↵");
    later(5000);
    key("Enter", { metaKey: true });
    await tick();
    expect(pastes()).toHaveLength(0);
    key("Enter", { metaKey: true, shiftKey: true });
    await tick();
    expect(pastes().map((c) => c.args)).toEqual([{ command: "rm -rf /", confirmed: true, query: "q" }]);
  });

  it("a high or critical command says why in words, with its safer first step beside it", async () => {
    await popup();
    const id = await ask("q");
    const c = { ...cand("rm -rf build", "high", "confirm"), risk_reason: "deletes files and folders recursively", safer: "rm -rI build" };
    await emit("suggestion", { type: "candidate", id, candidate: c });
    await emit("suggestion", { type: "candidate", id, candidate: cand("ls build") });
    await tick();
    const rows = document.querySelectorAll(".candidate");
    expect(rows[0].querySelector(".risk-reason")!.textContent).toBe("⚠ This command deletes files and folders recursively.");
    expect(rows[0].querySelector(".safer-command")!.textContent).toBe("rm -rI build");
    expect(rows[0].querySelector("code.command")!.textContent).toBe("rm -rf build"); // beside, not instead
    expect(rows[1].querySelector(".risk-reason, .safer")).toBeNull();
    // The button is the selected command's, outside the listbox: an option holds no controls.
    expect(document.querySelector("#candidates button")).toBeNull();
    document.querySelector<HTMLButtonElement>("#selected-actions .copy-safer")!.click();
    await tick();
    const copies = calls.filter((x) => x.cmd === "copy").map((x) => x.args);
    expect(copies).toEqual([{ command: "rm -rI build", confirmed: false, query: "q" }]);
    expect(status()).toBe("Copied the safer command ✓");
  });

  it("a command of several lines is not pasted, and says why", async () => {
    mac();
    await one("cd /tmp\nrm -rf build");
    key("Enter", { metaKey: true });
    await tick();
    expect(pastes()).toHaveLength(0);
    expect(calls.some((c) => c.cmd === "copy")).toBe(false);
    expect(status()).toContain("a command of several lines is not pasted");
  });

  it("the selected command has a Paste into Terminal button on a Mac only", async () => {
    await one("df -h");
    expect(document.querySelector(".paste")).toBeNull();
    mac();
    await one("du -sh");
    expect(document.querySelector("#candidates .paste")).toBeNull();
    const paste = document.querySelector<HTMLButtonElement>("#selected-actions .paste")!;
    expect(paste.textContent).toBe("Paste into Terminal");
    paste.click();
    await tick();
    expect(pastes().map((c) => c.args.command)).toEqual(["du -sh"]);
    expect(calls.some((c) => c.cmd === "copy")).toBe(false);
  });
});

describe("popup", () => {
  it("a model on the CPU instead of the GPU says why, quietly", async () => {
    replies.get_status = () => ({ state: "ready", name: "qwen", device: "cpu", load_ms: 9, fallback: "Metal is not available on this Mac" });
    await popup();
    expect(status()).toBe("Running on the CPU: Metal is not available on this Mac");
    expect(document.querySelector("#status")!.getAttribute("data-kind")).toBe("fallback");
    await emit("model-status", { state: "ready", name: "qwen", device: "metal", load_ms: 9, fallback: null });
    expect(status()).toBe("");
  });

  it("asks for the window height the content needs, once a frame and only when it changed", async () => {
    await popup();
    const area = document.querySelector<HTMLElement>("#results")!;
    // jsdom has no layout: the results area is 60 px a candidate.
    Object.defineProperty(area, "scrollHeight", { configurable: true, get: () => 60 * items().length });
    await frame();
    const resizes = () => calls.filter((c) => c.cmd === "popup_resize").map((c) => c.args.height);
    const before = resizes().length;
    const id = await ask("list");
    for (const c of ["ls", "ls -la", "ls -1"]) await emit("suggestion", { type: "candidate", id, candidate: cand(c) });
    await frame();
    expect(resizes().slice(before)).toEqual([180]);
    key("ArrowDown"); // the rows are redrawn, at the same height
    await tick();
    await frame();
    expect(resizes().slice(before)).toEqual([180]);
    // At its new size the window rewraps a line: measured again, as no
    // mutation says so.
    Object.defineProperty(area, "scrollHeight", { configurable: true, get: () => 60 * items().length + 4 });
    window.dispatchEvent(new Event("resize"));
    await frame();
    expect(resizes().slice(before)).toEqual([180, 184]);
  });
});
