// The Ask popup: one input, a list of candidates, a status line and a
// quiet footer. The keyboard does everything. The window's height follows
// its content.
import { api, events, message, type Candidate, type HistoryEntry, type ModelStatus, type Suggestion } from "./ipc";
import { Welcome } from "./welcome";

// Read when used, not at load, so tests can pretend to be a Mac.
const isMac = () => typeof navigator !== "undefined" && /Mac/.test(navigator.platform);

/// What the app answers for a command of several lines; the popup says it
/// without asking. Nothing was copied, so the clipboard clause is not said.
export const MULTILINE_REFUSAL =
  "a command of several lines is not pasted, because a shell without bracketed paste would run each line; press Enter to copy it instead";

const listening = new WeakMap<HTMLElement, AbortController>();

/// How long a confirm's warning shows before a press counts as the confirm.
export const CONFIRM_DELAY_MS = 600;

export class Popup {
  private input: HTMLInputElement;
  private list: HTMLOListElement;
  private status: HTMLElement;
  private footer: HTMLElement;
  private area: HTMLElement;
  private welcome: Welcome;
  private missing = false;
  private fallback: string | null = null;
  private height = 0;
  private frame = 0;
  private candidates: Candidate[] = [];
  private history: HistoryEntry[] = [];
  private mode: "results" | "history" = "results";
  private selected = 0;
  private requestId = 0;
  private asked = "";
  private confirming: number | null = null;
  private confirmFor: "copy" | "paste" = "copy";
  private editing: number | null = null;
  private confirmAt = 0;

  constructor(private root: HTMLElement) {
    root.innerHTML = `
      <div class="popup">
        <input id="query" type="text" autocomplete="off" spellcheck="false"
               placeholder="Say what you want to do…" aria-label="What do you want to do?" />
        <div id="status" class="status" role="status" aria-live="polite"></div>
        <div id="results" class="results-area">
          <ol id="candidates" class="candidates" role="listbox" aria-label="Suggested commands"></ol>
        </div>
        <div id="footer" class="footer"></div>
      </div>`;
    this.input = root.querySelector("#query")!;
    this.list = root.querySelector("#candidates")!;
    this.status = root.querySelector("#status")!;
    this.footer = root.querySelector("#footer")!;
    this.area = root.querySelector("#results")!;
    this.welcome = new Welcome(() => void api.openSettings("models"));
    this.area.prepend(this.welcome.el);
    // Any change of content may change the height the window needs.
    new MutationObserver(() => this.fitHeight()).observe(root, {
      childList: true,
      subtree: true,
      characterData: true,
      attributes: true,
    });
    // A new window size rewraps the text (a scroll bar comes or goes), which
    // no mutation reports: measure again once the window has its size.
    window.addEventListener("resize", () => this.fitHeight());
    // Keys work wherever the focus is (after a click, a Tab, an edit), not
    // only in the input; the command editor handles its own.
    // One popup per root: a new one replaces the old one's listener.
    listening.get(root)?.abort();
    const stop = new AbortController();
    listening.set(root, stop);
    (root.ownerDocument ?? document).addEventListener(
      "keydown",
      (e) => {
        if (!this.root.isConnected || (e.target as HTMLElement | null)?.classList?.contains("edit")) return;
        this.onKey(e);
      },
      { signal: stop.signal },
    );
    this.input.addEventListener("input", () => {
      if (this.mode === "history") void this.showHistory();
    });
  }

  async start(): Promise<void> {
    await events.suggestion((s) => this.onSuggestion(s));
    await events.modelStatus((s) => this.onModelStatus(s));
    await events.popupShown(() => this.focus());
    await events.download((d) => this.welcome.onDownload(d));
    this.onModelStatus(await api.getStatus());
    const notices = await api.takeNotices();
    if (notices.length) this.setStatus(notices.join(" "), "notice");
    this.focus();
    this.fitHeight();
  }

  focus(): void {
    this.input.focus();
    this.input.select();
  }

  onModelStatus(s: ModelStatus): void {
    const welcomed = this.welcome.visible;
    this.welcome.onStatus(s);
    this.list.hidden = this.welcome.visible;
    this.missing = s.state === "missing";
    this.fallback = s.state === "ready" ? (s.fallback ?? null) : null;
    // The card shows the loading of a model it fetched; the status line stays quiet.
    if (s.state === "loading" && !this.welcome.visible)
      this.setStatus(`Loading ${s.name}… ${Math.round(s.progress * 100)}%`, "loading");
    else if (s.state === "error") this.setStatus(`${s.name} could not be loaded: ${s.message}`, "error");
    else if (!this.status.textContent || ["loading", "error", "nomodel", "fallback"].includes(this.status.dataset.kind ?? ""))
      this.setStatus("", ""); // and a CPU fallback, if any, shows
    if (s.state === "ready" && welcomed) this.focus();
  }

  async send(): Promise<void> {
    const query = this.input.value.trim();
    this.mode = "results";
    if (this.missing) {
      this.setStatus("There is no model yet: download one below first.", "nomodel");
      return;
    }
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
        // Stopped by Esc or a hide: the candidates so far stay.
        if (this.status.dataset.kind === "busy") this.setStatus(this.candidates.length ? "" : "Stopped.", "");
        break;
    }
  }

  private onKey(e: KeyboardEvent): void {
    // A key that composes text (Japanese, Chinese input) is the IME's.
    if (e.isComposing || e.keyCode === 229) return;
    const mod = isMac() ? e.metaKey : e.ctrlKey;
    // Typing with the focus elsewhere goes to the input.
    if (document.activeElement !== this.input && e.key.length === 1 && !mod && !e.altKey) this.input.focus();
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
      const chosen = this.candidates.length && this.input.value.trim() === this.asked;
      if (this.mode === "history") this.pickHistory();
      else if (chosen && mod) void this.pasteSelected();
      else if (chosen) void this.copySelected();
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

  /// The selected command as it stands (edited or not), and whether it may
  /// go now: one that needs a confirm first shows the confirm instead.
  private chosen(purpose: "copy" | "paste"): { command: string; confirmed: boolean } | null {
    const c = this.candidates[this.selected];
    if (!c) return null;
    const editor = this.list.querySelector<HTMLInputElement>(".edit");
    const command = this.editing === this.selected && editor ? editor.value : c.command;
    const confirmed = this.confirming === this.selected;
    if (c.action === "confirm" && !confirmed) {
      this.confirming = this.selected;
      this.confirmFor = purpose;
      this.confirmAt = Date.now();
      this.render();
      return null;
    }
    // A double-tap is not a confirm: the second press must come after the
    // warning could be read.
    if (c.action === "confirm" && Date.now() - this.confirmAt < CONFIRM_DELAY_MS) return null;
    return { command, confirmed };
  }

  async copySelected(): Promise<void> {
    const chosen = this.chosen("copy");
    if (!chosen) return;
    const { command, confirmed } = chosen;
    try {
      await api.copy(command, confirmed, this.asked || null);
      this.confirming = this.editing = null;
      this.render();
      this.setStatus("Copied to the clipboard ✓", "copied");
      // Done: the popup goes, as the user goes to paste.
      void api.hidePopup();
    } catch (e) {
      this.setStatus(message(e), "error");
    }
  }

  /// The safer alternative goes to the clipboard through the same checks.
  async copySafer(command: string): Promise<void> {
    try {
      await api.copy(command, false, this.asked || null);
      this.setStatus("Copied the safer command ✓", "copied");
    } catch (e) {
      this.setStatus(message(e), "error");
    }
  }

  /// ⌘↵: copies the command and pastes it into the frontmost terminal (the
  /// app does both, on macOS only). A command of several lines is refused
  /// here, as the app would refuse it.
  async pasteSelected(): Promise<void> {
    const c = this.candidates[this.selected];
    if (!c) return;
    const editor = this.list.querySelector<HTMLInputElement>(".edit");
    const command = this.editing === this.selected && editor ? editor.value : c.command;
    if (/[\r\n]/.test(command)) {
      this.setStatus(MULTILINE_REFUSAL, "error");
      return;
    }
    const chosen = this.chosen("paste");
    if (!chosen) return;
    try {
      await api.pasteToTerminal(chosen.command, chosen.confirmed, this.asked || null);
      this.confirming = this.editing = null;
      this.render();
      this.setStatus("Pasted into the terminal ✓", "copied");
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
    // With nothing else to say, a model that fell back to the CPU says why.
    if (!text && this.fallback) [text, kind] = [`Running on the CPU: ${this.fallback}`, "fallback"];
    this.status.textContent = text;
    this.status.dataset.kind = kind;
  }

  /// Asks the app for the height the content needs, once a frame at most and
  /// only when it changed. The results area may be clipped by the window,
  /// so its full scroll height is counted.
  private fitHeight(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const popup = this.root.querySelector(".popup");
      if (!popup) return;
      const { clientHeight, scrollHeight } = this.area;
      const h = Math.ceil(popup.getBoundingClientRect().height - clientHeight + Math.max(clientHeight, scrollHeight));
      if (h <= 0 || h === this.height) return;
      this.height = h;
      api.popupResize(h).catch(() => {});
    });
  }

  render(): void {
    // An edit in progress survives a re-render (a streamed candidate).
    const editor = this.list.querySelector<HTMLInputElement>(".edit");
    const draft = editor ? { value: editor.value, at: editor.selectionStart, focused: document.activeElement === editor } : null;
    this.renderList();
    const again = this.list.querySelector<HTMLInputElement>(".edit");
    if (draft && again) {
      again.value = draft.value;
      if (draft.focused) {
        again.focus();
        if (draft.at !== null) again.setSelectionRange(draft.at, draft.at);
      }
    }
  }

  private renderList(): void {
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
            if (isMac() ? e.metaKey : e.ctrlKey) void this.pasteSelected();
            else void this.copySelected();
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
      // What makes it high or critical is said, not only on hover, with the
      // safer first step beside it (never instead of it).
      if (c.risk === "high" || c.risk === "critical") {
        li.append(el("div", `risk-reason risk-${c.risk}`, `⚠ This command ${c.risk_reason}.`));
        if (c.safer) {
          const row = el("div", "safer");
          row.append(el("span", "safer-label", "Safer first: "), el("code", "safer-command", c.safer));
          const copy = el("button", "copy-safer", "Copy");
          copy.type = "button";
          copy.title = "Copy the safer command instead";
          copy.addEventListener("click", (e) => {
            e.stopPropagation(); // not the row's click, which copies the command
            void this.copySafer(c.safer!);
          });
          row.append(copy);
          li.append(row);
        }
      }
      if (c.portability) li.append(el("div", "portability", `May not run here: ${c.portability}`));
      if (this.confirming === i) {
        const again = this.confirmFor === "paste" ? `${isMac() ? "⌘↵" : "Ctrl+Enter"} again to paste` : "Enter again to copy";
        li.append(el("div", "confirm", `⚠ This command ${c.risk_reason}. Press ${again} it anyway, or Esc to cancel.`));
      }
      if (i === this.selected && isMac()) {
        const paste = el("button", "paste", "Paste into Terminal");
        paste.type = "button";
        paste.title = "Paste into Terminal (⌘↵)";
        paste.addEventListener("click", (e) => {
          e.stopPropagation(); // not the row's click, which copies
          void this.pasteSelected();
        });
        head.append(paste);
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
