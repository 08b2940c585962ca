import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { mockBackend, tick, type Call, type Replies } from "./ipc-mock";
import { emit } from "@tauri-apps/api/event";
import { Popup } from "../src/popup";
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
afterEach(() => clearMocks());

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
    await emit("suggestion", {
      type: "candidate",
      id,
      candidate: { ...cand(`echo ${hostile}`), explanation: hostile, risk_reason: hostile, portability: hostile },
    });
    await emit("suggestion", {
      type: "done", id, notices: [hostile], hidden: 0,
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
      type: "done", id, hidden: 0, notices: [],
      timings: { prompt_tokens: 10, cached_tokens: 0, generated_tokens: 20, prefill_ms: 100, first_token_ms: 200, total_ms: 1200 },
    });
    await tick();
    const badges = [...document.querySelectorAll<HTMLElement>(".badge")];
    expect(badges.map((b) => b.textContent)).toEqual(["safe", "critical"]);
    expect(badges[1].title).toBe("deletes everything under /");
    expect(document.querySelector("#footer")!.textContent).toContain("20 tokens");
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

  it("a command that needs a confirm is copied only on the second Enter", async () => {
    await popup();
    const id = await ask("wipe");
    await emit("suggestion", { type: "candidate", id, candidate: cand("rm -rf /", "critical", "confirm") });
    await tick();
    key("Enter");
    await tick();
    expect(calls.some((c) => c.cmd === "copy")).toBe(false);
    expect(document.querySelector(".confirm")!.textContent).toContain("deletes everything under /");
    key("Enter");
    await tick();
    expect(calls.find((c) => c.cmd === "copy")!.args.confirmed).toBe(true);
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
