// The Ask popup: one input (an ARIA combobox), a list of candidates (its
// listbox), a status line, an action bar with the keys that work now, and a
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

/// The debug setting (Settings › About): the footer adds tokens per second.
export const DEBUG_KEY = "cmdbar.debug";
export const showTimings = () => {
  try {
    return localStorage.getItem(DEBUG_KEY) === "1";
  } catch {
    return false;
  }
};

/// A key chord as the platform writes it: ⇧⌘↵ on a Mac, Ctrl+Shift+Enter elsewhere.
export function keys(chord: { mod?: boolean; shift?: boolean; key: "Enter" | "Tab" | "Esc" | string }): string {
  if (isMac()) {
    const k = { Enter: "↵", Tab: "⇥", Esc: "esc" }[chord.key] ?? chord.key;
    return `${chord.shift ? "⇧" : ""}${chord.mod ? "⌘" : ""}${k}`;
  }
  return [chord.mod && "Ctrl", chord.shift && "Shift", chord.key].filter(Boolean).join("+");
}

/// The stand-ins a model leaves for the user to fill in: `<file>`,
/// `/path/to/dir`, `your_branch`. Ranges into `command`, in order.
export function placeholders(command: string): { start: number; end: number }[] {
  const re = /<[A-Za-z][\w .-]*>|(?:\/|\b)path\/to\/[^\s'"`;|&)]*|\byour[_-][A-Za-z][\w-]*/g;
  return [...command.matchAll(re)].map((m) => ({ start: m.index!, end: m.index! + m[0].length }));
}

const listening = new WeakMap<HTMLElement, AbortController>();

/// How long "Copied ✓" shows before the popup goes.
export const COPIED_MS = 400;

export class Popup {
  private input: HTMLInputElement;
  private list: HTMLOListElement;
  private status: HTMLElement;
  private footer: HTMLElement;
  private actions: HTMLElement;
  private announcer: HTMLElement;
  private selectedActions: HTMLElement;
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
  private busy = false;
  private confirming: number | null = null;
  private confirmFor: "copy" | "paste" = "copy";
  private editing: number | null = null;
  private hiding: ReturnType<typeof setTimeout> | undefined;

  constructor(private root: HTMLElement) {
    root.innerHTML = `
      <main class="popup">
        <h1 class="sr-only">Cmdbar</h1>
        <input id="query" type="text" autocomplete="off" spellcheck="false" role="combobox"
               aria-autocomplete="none" aria-expanded="false" aria-controls="candidates"
               placeholder="Say what you want to do…" aria-label="What do you want to do?" />
        <div id="status" class="status" role="status" aria-live="polite"></div>
        <div id="results" class="results-area">
          <ol id="candidates" class="candidates" role="listbox" aria-label="Suggested commands"></ol>
          <div id="selected-actions" class="selected-actions"></div>
        </div>
        <div id="announce" class="sr-only" aria-live="polite" aria-atomic="true"></div>
        <div class="bar">
          <div id="actions" class="actions" aria-label="Keys"></div>
          <div id="footer" class="footer"></div>
        </div>
      </main>`;
    this.input = root.querySelector("#query")!;
    this.list = root.querySelector("#candidates")!;
    this.status = root.querySelector("#status")!;
    this.footer = root.querySelector("#footer")!;
    this.actions = root.querySelector("#actions")!;
    this.announcer = root.querySelector("#announce")!;
    this.area = root.querySelector("#results")!;
    this.selectedActions = root.querySelector("#selected-actions")!;
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
      else this.hints();
    });
    this.hints();
  }

  async start(): Promise<void> {
    await events.suggestion((s) => this.onSuggestion(s));
    await events.modelStatus((s) => this.onModelStatus(s));
    // Shown again before a copy's hide: it stays.
    await events.popupShown(() => {
      clearTimeout(this.hiding);
      this.focus();
    });
    await events.download((d) => this.welcome.onDownload(d));
    this.onModelStatus(await api.getStatus());
    const notices = await api.takeNotices();
    if (notices.length) this.setStatus(notices.join(" "), "notice");
    this.focus();
    this.fitHeight();
  }

  /// A hide after a copy; one that fails has nothing left to tell.
  private hide(): void {
    if (!this.root.isConnected) return;
    try {
      api.hidePopup().catch(() => {});
    } catch {
      // no app to ask (the page outside the app)
    }
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
      this.busy = true;
      this.setStatus("Thinking…", "busy");
    } catch (e) {
      this.setStatus(message(e), "error");
    }
  }

  onSuggestion(s: Suggestion): void {
    if (s.id !== this.requestId) return; // from a request that was replaced
    switch (s.type) {
      case "candidate":
        this.append(s.candidate);
        break;
      case "done": {
        this.busy = false;
        this.reorder(s.candidates);
        const t = s.timings;
        const n = this.candidates.length;
        const parts = [n === 1 ? "1 suggestion" : `${n} suggestions`];
        if (s.hidden) parts.push(`${s.hidden} hidden by the safety level`);
        parts.push(`${(t.total_ms / 1000).toFixed(1)} s`);
        if (showTimings()) {
          const tps = t.total_ms > t.first_token_ms ? (t.generated_tokens * 1000) / (t.total_ms - t.first_token_ms) : 0;
          parts.push(`${t.generated_tokens} tokens`, `${tps.toFixed(1)} tok/s`);
          // The share of drafted tokens the model took (Settings › Draft from the request).
          if (t.drafted_tokens) parts.push(`${Math.round((100 * t.accepted_tokens) / t.drafted_tokens)}% of ${t.drafted_tokens} drafted taken`);
        }
        this.footer.textContent = parts.join(" · ");
        this.setStatus(s.notices.join(" "), s.notices.length ? "notice" : "");
        break;
      }
      case "error":
        this.busy = false;
        this.setStatus(s.message, "error");
        break;
      case "cancelled":
        this.busy = false;
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
        const i = this.editing ?? this.confirming!;
        this.editing = this.confirming = null;
        this.refresh(i);
        this.input.focus();
      } else if (this.mode === "history") {
        this.mode = "results";
        this.render();
      } else {
        // Nobody is left to read the answer: stop it, then go.
        if (this.busy) void api.cancel().catch(() => {});
        this.busy = false;
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
      else if (chosen && mod && e.shiftKey) void this.confirmSelected();
      else if (chosen && mod) void this.pasteSelected();
      else if (chosen) void this.copySelected();
      else void this.send();
    } else if (mod && e.key.toLowerCase() === "c" && this.candidates.length && this.input.selectionStart === this.input.selectionEnd) {
      // With text selected in the input, ⌘C copies that text as usual.
      e.preventDefault();
      void this.copySelected();
    } else if ((e.key === "Tab" || (mod && e.key.toLowerCase() === "e")) && this.candidates.length && this.mode === "results") {
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
    const before = this.selected;
    this.selected = (i + n) % n;
    if (this.mode === "history") {
      this.render();
      return;
    }
    const confirming = this.confirming;
    this.confirming = null;
    for (const j of new Set([before, this.selected, confirming ?? before])) this.refresh(j);
    this.activeDescendant();
    this.hints();
  }

  /// The selected command as it stands (edited or not).
  private current(): string | null {
    const c = this.candidates[this.selected];
    if (!c) return null;
    const editor = this.list.querySelector<HTMLInputElement>(".edit");
    return this.editing === this.selected && editor ? editor.value : c.command;
  }

  /// Whether the selected command may go now. One that needs a confirm
  /// shows its warning instead; only the confirm chord (⇧⌘↵) or the
  /// warning's button confirms it, never a second plain Enter.
  private mayGo(purpose: "copy" | "paste", confirm: boolean): { confirmed: boolean } | null {
    const c = this.candidates[this.selected];
    if (!c) return null;
    if (c.action !== "confirm") return { confirmed: false };
    if (confirm && this.confirming === this.selected) return { confirmed: true };
    if (this.confirming !== this.selected || this.confirmFor !== purpose) {
      this.confirming = this.selected;
      this.confirmFor = purpose;
      this.refresh(this.selected);
      this.hints();
    }
    return null;
  }

  async copySelected(confirm = false): Promise<void> {
    const command = this.current();
    const go = command === null ? null : this.mayGo("copy", confirm);
    if (!go || command === null) return;
    try {
      await api.copy(command, go.confirmed, this.asked || null);
      this.finish();
      this.setStatus("Copied to the clipboard ✓", "copied");
      // Done: the popup goes once the confirmation could be seen, as the
      // user goes to paste.
      clearTimeout(this.hiding);
      this.hiding = setTimeout(() => this.hide(), COPIED_MS);
    } catch (e) {
      this.setStatus(message(e), "error");
    }
  }

  /// ⇧⌘↵ (Ctrl+Shift+Enter): the confirm of a command that needs one, for
  /// what the warning was shown for (copy or paste).
  async confirmSelected(): Promise<void> {
    const c = this.candidates[this.selected];
    if (!c) return;
    if (this.confirming === this.selected && this.confirmFor === "paste") return this.pasteSelected(true);
    return this.copySelected(true);
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
  async pasteSelected(confirm = false): Promise<void> {
    const command = this.current();
    if (command === null) return;
    if (/[\r\n]/.test(command)) {
      this.setStatus(MULTILINE_REFUSAL, "error");
      return;
    }
    const go = this.mayGo("paste", confirm);
    if (!go) return;
    try {
      await api.pasteToTerminal(command, go.confirmed, this.asked || null);
      this.finish();
      this.setStatus("Pasted into the terminal ✓", "copied");
    } catch (e) {
      this.setStatus(message(e), "error");
    }
  }

  private finish(): void {
    const i = this.editing ?? this.confirming;
    this.confirming = this.editing = null;
    if (i !== null) this.refresh(i);
    this.hints();
  }

  private edit(): void {
    const before = this.confirming;
    this.editing = this.selected;
    this.confirming = null;
    if (before !== null && before !== this.selected) this.refresh(before);
    this.refresh(this.selected);
    const editor = this.list.querySelector<HTMLInputElement>(".edit");
    if (!editor) return;
    editor.focus();
    // The first stand-in to fill in is selected, ready to be typed over.
    const p = placeholders(editor.value)[0];
    if (p) editor.setSelectionRange(p.start, p.end);
  }

  /// Tab in the editor: the next stand-in after the selection (Shift+Tab:
  /// the one before). False when there is none to go to.
  private nextPlaceholder(editor: HTMLInputElement, back: boolean): boolean {
    const ps = placeholders(editor.value);
    const [from, to] = [editor.selectionStart ?? 0, editor.selectionEnd ?? 0];
    const p = back ? ps.filter((x) => x.end <= from && x.start < from).at(-1) : ps.find((x) => x.start >= to && x.end > to);
    if (!p) return false;
    editor.setSelectionRange(p.start, p.end);
    return true;
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

  /// Says a new suggestion and its risk to a screen reader (politely).
  private announce(c: Candidate, i: number): void {
    const risk = c.risk === "safe" ? "safe" : `${c.risk} risk: it ${c.risk_reason}`;
    this.announcer.textContent = `Suggestion ${i + 1}: ${c.command}. ${risk}.`;
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

  /// The keys that do something now, in the platform's symbols.
  private hints(): void {
    const hint = (chord: string, label: string) => {
      const s = el("span", "hint");
      s.append(el("kbd", "", chord), document.createTextNode(` ${label}`));
      return s;
    };
    const out: HTMLElement[] = [];
    const chosen = this.mode === "results" && this.candidates.length > 0 && this.input.value.trim() === this.asked;
    if (this.mode === "history") {
      if (this.history.length) out.push(hint(keys({ key: "Enter" }), "Ask again"));
      out.push(hint(keys({ key: "Esc" }), "Back"));
    } else if (chosen) {
      const c = this.candidates[this.selected];
      if (c?.action === "confirm") out.push(hint(keys({ mod: true, shift: true, key: "Enter" }), "Copy anyway"));
      else out.push(hint(keys({ key: "Enter" }), "Copy"));
      if (isMac()) out.push(hint(keys({ mod: true, key: "Enter" }), "Paste into Terminal"));
      out.push(hint(keys({ key: "Tab" }), "Edit"), hint(keys({ mod: true, key: "R" }), "History"));
    } else {
      out.push(hint(keys({ key: "Enter" }), "Ask"), hint(keys({ mod: true, key: "R" }), "History"));
      out.push(hint(keys({ mod: true, key: "," }), "Settings"));
    }
    this.actions.replaceChildren(...out);
    this.renderSelected();
  }

  private activeDescendant(): void {
    const n = this.mode === "history" ? this.history.length : this.candidates.length;
    this.input.setAttribute("aria-expanded", String(n > 0 && !this.list.hidden));
    if (n) this.input.setAttribute("aria-activedescendant", `${this.mode === "history" ? "hist" : "cand"}-${this.selected}`);
    else this.input.removeAttribute("aria-activedescendant");
  }

  /// A streamed candidate is appended: the rows already there, an edit in
  /// progress among them, are left alone.
  private append(c: Candidate): void {
    if (this.mode !== "results") this.mode = "results";
    // A row shown while its explanation was being written, now whole: the
    // same element, redrawn (an edit in progress in it stays).
    const at = this.candidates.findIndex((x) => x.command === c.command);
    if (at >= 0) {
      this.candidates[at] = c;
      const li = this.list.children[at];
      if (li instanceof HTMLElement && this.editing !== at) this.redraw(li, at);
      return;
    }
    const i = this.candidates.push(c) - 1;
    this.list.append(this.item(i));
    this.activeDescendant();
    this.hints();
    this.announce(c, i);
  }

  /// The rows in their final order, once agreement among the completions
  /// is counted (one streamed row may give its place to a better one). Rows
  /// the user is acting on (an edit, a confirm) are left as they are; the
  /// selection stays on the command it was on.
  private reorder(rows: Candidate[]): void {
    if (!rows.length || this.mode !== "results" || this.editing !== null || this.confirming !== null) return;
    if (JSON.stringify(rows) === JSON.stringify(this.candidates)) return;
    const chosen = this.candidates[this.selected]?.command;
    // A row that stays keeps its element, moved and redrawn in place: a
    // reference to it (a screen reader's, a test's) stays good.
    const kept = new Map<string, HTMLElement>();
    this.candidates.forEach((c, i) => {
      const li = this.list.children[i];
      if (li instanceof HTMLElement) kept.set(c.command, li);
    });
    this.candidates = rows;
    this.selected = Math.max(0, rows.findIndex((c) => c.command === chosen));
    const items = rows.map((c, i) => {
      const fresh = this.item(i);
      const li = kept.get(c.command);
      if (!li) return fresh;
      this.redraw(li, i, fresh);
      return li;
    });
    this.list.replaceChildren(...items);
    this.activeDescendant();
    this.hints();
  }

  /// Row `i` drawn anew into its element `li`, which stays the same element.
  private redraw(li: HTMLElement, i: number, fresh: HTMLElement = this.item(i)): void {
    li.replaceChildren(...fresh.childNodes);
    for (const a of Array.from(li.attributes)) if (!fresh.hasAttribute(a.name)) li.removeAttribute(a.name);
    for (const a of Array.from(fresh.attributes)) li.setAttribute(a.name, a.value);
  }

  /// Redraws one row, keeping an edit in progress in it.
  private refresh(i: number): void {
    const old = this.list.children[i];
    if (!old || this.mode !== "results") return;
    const editor = old.querySelector<HTMLInputElement>(".edit");
    const draft = editor
      ? { value: editor.value, from: editor.selectionStart, to: editor.selectionEnd, focused: document.activeElement === editor }
      : null;
    const row = this.item(i);
    old.replaceWith(row);
    const again = row.querySelector<HTMLInputElement>(".edit");
    if (draft && again) {
      again.value = draft.value;
      if (draft.focused) {
        again.focus();
        if (draft.from !== null) again.setSelectionRange(draft.from, draft.to ?? draft.from);
      }
    }
    this.hints();
  }

  render(): void {
    this.list.replaceChildren();
    if (this.mode === "history") {
      this.history.forEach((h, i) => {
        const li = el("li", "history-item" + (i === this.selected ? " selected" : ""));
        li.id = `hist-${i}`;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", String(i === this.selected));
        li.append(el("span", "query", h.query));
        if (h.command) li.append(el("code", "command", h.command));
        this.list.append(li);
      });
    } else {
      this.candidates.forEach((_, i) => this.list.append(this.item(i)));
    }
    this.activeDescendant();
    this.hints();
  }

  /// The controls for the selected command, outside the listbox (an option
  /// holds no controls): the confirm's warning and button, the safer
  /// command's Copy, and on a Mac Paste into Terminal.
  private renderSelected(): void {
    const i = this.selected;
    const c = this.mode === "results" ? this.candidates[i] : undefined;
    const out: HTMLElement[] = [];
    if (c && this.confirming === i) {
      const paste = this.confirmFor === "paste";
      const chord = keys({ mod: true, shift: true, key: "Enter" });
      const box = el("div", "confirm");
      box.setAttribute("role", "alert");
      box.append(
        el("span", "", `⚠ This command ${c.risk_reason}. To ${paste ? "paste" : "copy"} it anyway press ${chord}, or Esc to cancel. `),
      );
      const go = el("button", "confirm-go", paste ? "Paste anyway" : "Copy anyway");
      go.type = "button";
      go.id = "confirm-go";
      go.addEventListener("click", () => void (paste ? this.pasteSelected(true) : this.copySelected(true)));
      box.append(go);
      out.push(box);
    }
    if (c && (c.safer || isMac())) {
      const row = el("div", "selected-buttons");
      if (c.safer) {
        const safer = c.safer;
        const copy = el("button", "copy-safer", "Copy the safer command");
        copy.type = "button";
        copy.title = safer;
        copy.addEventListener("click", () => void this.copySafer(safer));
        row.append(copy);
      }
      if (isMac()) {
        const paste = el("button", "paste", "Paste into Terminal");
        paste.type = "button";
        paste.title = "Paste into Terminal (⌘↵)";
        paste.addEventListener("click", () => void this.pasteSelected());
        row.append(paste);
      }
      out.push(row);
    }
    this.selectedActions.replaceChildren(...out);
  }

  private item(i: number): HTMLLIElement {
    const c = this.candidates[i];
    const li = el("li", "candidate" + (i === this.selected ? " selected" : ""));
    li.id = `cand-${i}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", String(i === this.selected));
    li.dataset.risk = c.risk;
    const head = el("div", "head");
    if (this.editing === i) {
      const editor = document.createElement("input");
      editor.className = "edit";
      editor.value = c.command;
      editor.spellcheck = false;
      editor.setAttribute("aria-label", "Edit the command");
      editor.addEventListener("keydown", (e) => {
        if (e.isComposing || e.keyCode === 229) return;
        const mod = isMac() ? e.metaKey : e.ctrlKey;
        if (e.key === "Enter") {
          e.preventDefault();
          if (mod && e.shiftKey) void this.confirmSelected();
          else if (mod) void this.pasteSelected();
          else void this.copySelected();
        } else if (e.key === "Escape") {
          e.preventDefault();
          this.editing = null;
          this.refresh(i);
          this.input.focus();
        } else if (e.key === "Tab" && this.nextPlaceholder(editor, e.shiftKey)) {
          e.preventDefault();
        }
      });
      head.append(editor);
    } else {
      head.append(commandCode(c.command));
    }
    const badge = el("span", `badge risk-${c.risk}`, c.risk);
    badge.title = c.risk_reason;
    head.append(badge);
    li.append(head);
    if (c.explanation) li.append(el("div", "explanation", c.explanation));
    else if (c.pending) li.append(el("div", "explanation pending", "…"));
    // What makes it high or critical is said, not only on hover, with the
    // safer first step beside it (never instead of it).
    if (c.risk === "high" || c.risk === "critical") {
      li.append(el("div", `risk-reason risk-${c.risk}`, `⚠ This command ${c.risk_reason}.`));
      if (c.safer) {
        const row = el("div", "safer");
        row.append(el("span", "safer-label", "Safer first: "), el("code", "safer-command", c.safer));
        li.append(row);
      }
    }
    if (c.portability) li.append(el("div", "portability", `May not run here: ${c.portability}`));
    li.addEventListener("click", () => {
      // Where the row is now: the final order moves rows, keeping their
      // elements and so this handler.
      const at = Array.prototype.indexOf.call(this.list.children, li);
      if (at < 0 || this.editing === at) return; // gone, or a click into the editor
      if (this.selected !== at) this.select(at);
      void this.copySelected();
    });
    return li;
  }
}

/// The command as code, its stand-ins marked.
function commandCode(command: string): HTMLElement {
  const code = el("code", "command");
  let at = 0;
  for (const p of placeholders(command)) {
    if (p.start > at) code.append(document.createTextNode(command.slice(at, p.start)));
    const mark = el("mark", "placeholder", command.slice(p.start, p.end));
    mark.title = "To fill in: Tab edits the command with this selected";
    code.append(mark);
    at = p.end;
  }
  if (at < command.length || !command) code.append(document.createTextNode(command.slice(at)));
  return code;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
