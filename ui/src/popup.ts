// The Ask popup: one input, a list of candidates, a status line and a
// quiet footer. The keyboard does everything.
import { api, events, message, type Candidate, type HistoryEntry, type ModelStatus, type Suggestion } from "./ipc";

const IS_MAC = typeof navigator !== "undefined" && /Mac/.test(navigator.platform);

export class Popup {
  private input: HTMLInputElement;
  private list: HTMLOListElement;
  private status: HTMLElement;
  private footer: HTMLElement;
  private candidates: Candidate[] = [];
  private history: HistoryEntry[] = [];
  private mode: "results" | "history" = "results";
  private selected = 0;
  private requestId = 0;
  private asked = "";
  private confirming: number | null = null;
  private editing: number | null = null;

  constructor(private root: HTMLElement) {
    root.innerHTML = `
      <div class="popup">
        <input id="query" type="text" autocomplete="off" spellcheck="false"
               placeholder="Say what you want to do…" aria-label="What do you want to do?" />
        <div id="status" class="status" role="status" aria-live="polite"></div>
        <ol id="candidates" class="candidates" role="listbox" aria-label="Suggested commands"></ol>
        <div id="footer" class="footer"></div>
      </div>`;
    this.input = root.querySelector("#query")!;
    this.list = root.querySelector("#candidates")!;
    this.status = root.querySelector("#status")!;
    this.footer = root.querySelector("#footer")!;
    this.input.addEventListener("keydown", (e) => this.onKey(e));
    this.input.addEventListener("input", () => {
      if (this.mode === "history") void this.showHistory();
    });
  }

  async start(): Promise<void> {
    await events.suggestion((s) => this.onSuggestion(s));
    await events.modelStatus((s) => this.onModelStatus(s));
    await events.popupShown(() => this.focus());
    this.onModelStatus(await api.getStatus());
    const notices = await api.takeNotices();
    if (notices.length) this.setStatus(notices.join(" "), "notice");
    this.focus();
  }

  focus(): void {
    this.input.focus();
    this.input.select();
  }

  onModelStatus(s: ModelStatus): void {
    if (s.state === "loading") this.setStatus(`Loading ${s.name}… ${Math.round(s.progress * 100)}%`, "loading");
    else if (s.state === "error") this.setStatus(`${s.name} could not be loaded: ${s.message}`, "error");
    else if (this.status.dataset.kind === "loading" || this.status.dataset.kind === "error") this.setStatus("", "");
  }

  async send(): Promise<void> {
    const query = this.input.value.trim();
    this.mode = "results";
    if (!query) {
      this.setStatus('Type what you want to do, e.g. "find files over 100 MB changed this week".', "error");
      return;
    }
    const id = ++this.requestId;
    this.asked = query;
    this.candidates = [];
    this.selected = 0;
    this.confirming = this.editing = null;
    this.render();
    this.footer.textContent = "";
    try {
      await api.ask(query, id);
      this.setStatus("Thinking…", "busy");
    } catch (e) {
      this.setStatus(message(e), "error");
    }
  }

  onSuggestion(s: Suggestion): void {
    if (s.id !== this.requestId) return; // from a request that was replaced
    switch (s.type) {
      case "candidate":
        this.candidates.push(s.candidate);
        this.render();
        break;
      case "done": {
        const t = s.timings;
        const tps = t.total_ms > t.first_token_ms ? (t.generated_tokens * 1000) / (t.total_ms - t.first_token_ms) : 0;
        this.footer.textContent = `${t.generated_tokens} tokens · ${tps.toFixed(1)} tok/s · ${(t.total_ms / 1000).toFixed(1)} s`;
        this.setStatus(s.notices.join(" "), s.notices.length ? "notice" : "");
        break;
      }
      case "error":
        this.setStatus(s.message, "error");
        break;
      case "cancelled":
        break;
    }
  }

  private onKey(e: KeyboardEvent): void {
    const mod = IS_MAC ? e.metaKey : e.ctrlKey;
    const items = this.mode === "history" ? this.history.length : this.candidates.length;
    if (e.key === "Escape") {
      e.preventDefault();
      if (this.editing !== null || this.confirming !== null) {
        this.editing = this.confirming = null;
        this.render();
      } else if (this.mode === "history") {
        this.mode = "results";
        this.render();
      } else {
        void api.hidePopup();
      }
    } else if (e.key === "ArrowDown" && items) {
      e.preventDefault();
      this.select(this.selected + 1);
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      if (!this.input.value && !items) void this.recallLast();
      else if (items) this.select(this.selected - 1);
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (this.mode === "history") this.pickHistory();
      else if (this.candidates.length && this.input.value.trim() === this.asked) void this.copySelected();
      else void this.send();
    } else if (mod && e.key.toLowerCase() === "c" && this.candidates.length && this.input.selectionStart === this.input.selectionEnd) {
      // With text selected in the input, ⌘C copies that text as usual.
      e.preventDefault();
      void this.copySelected();
    } else if ((e.key === "Tab" || (mod && e.key.toLowerCase() === "e")) && this.candidates.length) {
      e.preventDefault();
      this.edit();
    } else if (mod && e.key.toLowerCase() === "r") {
      e.preventDefault();
      void this.showHistory();
    } else if (mod && e.key === ",") {
      e.preventDefault();
      void api.openSettings();
    }
  }

  private select(i: number): void {
    const n = this.mode === "history" ? this.history.length : this.candidates.length;
    this.selected = (i + n) % n;
    this.confirming = null;
    this.render();
  }

  async copySelected(): Promise<void> {
    const c = this.candidates[this.selected];
    if (!c) return;
    const editor = this.list.querySelector<HTMLInputElement>(".edit");
    const command = this.editing === this.selected && editor ? editor.value : c.command;
    const confirmed = this.confirming === this.selected;
    if (c.action === "confirm" && !confirmed) {
      this.confirming = this.selected;
      this.render();
      return;
    }
    try {
      await api.copy(command, confirmed, this.asked || null);
      this.confirming = this.editing = null;
      this.render();
      this.setStatus("Copied to the clipboard ✓", "copied");
    } catch (e) {
      this.setStatus(message(e), "error");
    }
  }

  private edit(): void {
    this.editing = this.selected;
    this.render();
    const editor = this.list.querySelector<HTMLInputElement>(".edit");
    editor?.focus();
  }

  private async recallLast(): Promise<void> {
    const h = await api.history("");
    if (h[0]) {
      this.input.value = h[0].query;
      this.input.select();
    }
  }

  private async showHistory(): Promise<void> {
    this.mode = "history";
    this.history = await api.history(this.input.value);
    this.selected = 0;
    this.render();
    if (!this.history.length) this.setStatus("No matching history.", "notice");
  }

  private pickHistory(): void {
    const h = this.history[this.selected];
    if (!h) return;
    this.input.value = h.query;
    void this.send();
  }

  private setStatus(text: string, kind: string): void {
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  render(): void {
    this.list.replaceChildren();
    if (this.mode === "history") {
      this.history.forEach((h, i) => {
        const li = el("li", "history-item" + (i === this.selected ? " selected" : ""));
        li.append(el("span", "query", h.query));
        if (h.command) li.append(el("code", "command", h.command));
        this.list.append(li);
      });
      return;
    }
    this.candidates.forEach((c, i) => {
      const li = el("li", "candidate" + (i === this.selected ? " selected" : ""));
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(i === this.selected));
      li.dataset.risk = c.risk;
      const head = el("div", "head");
      if (this.editing === i) {
        const editor = document.createElement("input");
        editor.className = "edit";
        editor.value = c.command;
        editor.spellcheck = false;
        editor.addEventListener("keydown", (e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            void this.copySelected();
          } else if (e.key === "Escape") {
            e.preventDefault();
            this.editing = null;
            this.render();
            this.input.focus();
          }
        });
        head.append(editor);
      } else {
        head.append(el("code", "command", c.command));
      }
      const badge = el("span", `badge risk-${c.risk}`, c.risk);
      badge.title = c.risk_reason;
      head.append(badge);
      li.append(head);
      if (c.explanation) li.append(el("div", "explanation", c.explanation));
      if (c.portability) li.append(el("div", "portability", `May not run here: ${c.portability}`));
      if (this.confirming === i) {
        li.append(
          el("div", "confirm", `⚠ This command ${c.risk_reason}. Press Enter again to copy it anyway, or Esc to cancel.`),
        );
      }
      li.addEventListener("click", () => {
        this.selected = i;
        void this.copySelected();
      });
      this.list.append(li);
    });
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
