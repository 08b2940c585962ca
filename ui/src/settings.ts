// The Settings window, a preferences window with three tabs: General,
// Models, About. Each field is applied and saved on its own as it changes;
// a change the app refuses (a taken hotkey, a value out of range) is shown
// beside its field, and that field goes back to the saved value.
import { getVersion } from "@tauri-apps/api/app";
import { check, type Update } from "@tauri-apps/plugin-updater";
import { api, errorField, events, message, type HotkeyState, type ModelStatus, type Settings, type TldrStatus } from "./ipc";
import { ModelsPane } from "./models";
import { DEBUG_KEY, showTimings } from "./popup";
import { Welcome } from "./welcome";

const isMac = () => typeof navigator !== "undefined" && /Mac/.test(navigator.platform);

export type Tab = "general" | "models" | "about";
const TABS: Tab[] = ["general", "models", "about"];

/// The modifiers a global hotkey may rest on. Shift alone is not one: it is
/// how capitals are typed.
const MODIFIERS: Record<string, "Ctrl" | "Alt" | "Shift" | "Super"> = {
  ctrl: "Ctrl", control: "Ctrl", "⌃": "Ctrl",
  alt: "Alt", option: "Alt", "⌥": "Alt",
  shift: "Shift", "⇧": "Shift",
  super: "Super", cmd: "Super", command: "Super", meta: "Super", "⌘": "Super",
  commandorcontrol: "Ctrl", cmdorctrl: "Ctrl",
};
const ORDER = ["Ctrl", "Alt", "Shift", "Super"] as const;

/// A hotkey as typed or shown ("ctrl+alt+k", "⌃⌥K") in the syntax the app
/// saves ("Ctrl+Alt+K"); an error when it has no modifier other than Shift.
export function parseHotkey(text: string): { hotkey: string } | { error: string } {
  const t = text.trim();
  if (!t) return { error: "Press the keys of the hotkey, e.g. ⌃⌥Space or Ctrl+Alt+Space." };
  // Symbols run together (⌃⌥K); words are joined by "+".
  const parts = t.includes("+") ? t.split("+").map((p) => p.trim()) : [...t.matchAll(/[⌃⌥⇧⌘]|[^⌃⌥⇧⌘]+/g)].map((m) => m[0].trim());
  const mods = new Set<string>();
  let key = "";
  for (const p of parts.filter(Boolean)) {
    const m = MODIFIERS[p.toLowerCase()];
    if (m) mods.add(m);
    else if (key) return { error: `${text} has two keys; a hotkey is modifiers and one key.` };
    else key = p.length === 1 ? p.toUpperCase() : p[0].toUpperCase() + p.slice(1);
  }
  if (!key) return { error: `${text} has no key: add one to the modifiers.` };
  if (![...mods].some((m) => m !== "Shift"))
    return { error: `${formatHotkey([...mods, key].join("+"))} would take that key from typing: add ${isMac() ? "⌃, ⌥ or ⌘" : "Ctrl, Alt or Super"}.` };
  return { hotkey: [...ORDER.filter((m) => mods.has(m)), key].join("+") };
}

/// How a hotkey reads on this platform: ⌃⌥K on a Mac (Apple's order of
/// modifiers), Ctrl+Alt+K elsewhere.
export function formatHotkey(hotkey: string): string {
  if (!isMac()) return hotkey;
  const sym: Record<string, string> = { Ctrl: "⌃", Alt: "⌥", Shift: "⇧", Super: "⌘" };
  const parts = hotkey.split("+").map((p) => p.trim());
  const mods = parts.map((p) => MODIFIERS[p.toLowerCase()]).filter(Boolean);
  const key = parts.filter((p) => !MODIFIERS[p.toLowerCase()]).join("+");
  return ORDER.filter((m) => mods.includes(m)).map((m) => sym[m]).join("") + key;
}

/// A pressed chord in the saved syntax, or null for keys that only type
/// (no modifier but Shift) or a modifier on its own.
export function chordOf(e: KeyboardEvent): string | null {
  if (["Control", "Alt", "Shift", "Meta", "AltGraph"].includes(e.key)) return null;
  if (!e.ctrlKey && !e.altKey && !e.metaKey) return null;
  const mods = [e.ctrlKey && "Ctrl", e.altKey && "Alt", e.shiftKey && "Shift", e.metaKey && "Super"].filter(Boolean);
  const key = e.code.startsWith("Key") ? e.code.slice(3) : e.code.startsWith("Digit") ? e.code.slice(5) : e.code;
  return [...mods, key].join("+");
}

type Field = "hotkey" | "shell" | "safety" | "candidates" | "temperature" | "drafts" | "launch_at_login" | "history_enabled";

export class SettingsPane {
  private settings!: Settings;
  private models!: ModelsPane;
  private welcome: Welcome;
  private loaded: string | null = null;

  constructor(private root: HTMLElement) {
    const err = (f: string) => `<span id="${f}-error" class="field-error" role="alert"></span><span id="${f}-saved" class="field-saved" role="status"></span>`;
    root.innerHTML = `
      <main class="prefs">
        <h1 class="sr-only">Cmdbar Settings</h1>
        <div class="tabs" role="tablist" aria-label="Settings">
          <button type="button" role="tab" id="tab-general" aria-controls="panel-general">General</button>
          <button type="button" role="tab" id="tab-models" aria-controls="panel-models">Models</button>
          <button type="button" role="tab" id="tab-about" aria-controls="panel-about">About</button>
        </div>
        <div id="notices" class="notices" role="status"></div>
        <section class="settings" role="tabpanel" id="panel-general" aria-labelledby="tab-general">
          <div id="hotkey-problem" class="hotkey-problem" role="alert" hidden></div>
          <label for="hotkey">Hotkey</label>
          <div class="field">
            <input name="hotkey" id="hotkey" type="text" spellcheck="false" aria-describedby="hotkey-help hotkey-error" />
            ${err("hotkey")}
          </div>
          <small id="hotkey-help">Press the keys: ${isMac() ? "⌃, ⌥ or ⌘" : "Ctrl, Alt or Super"} with a key (Shift alone is for typing).</small>
          <label for="shell">Shell</label>
          <div class="field">
            <select name="shell" id="shell" aria-describedby="shell-error">
              <option value="auto">Detect ($SHELL)</option><option value="zsh">zsh</option>
              <option value="bash">bash</option><option value="fish">fish</option>
            </select>
            ${err("shell")}
          </div>
          <label for="safety">Safety level</label>
          <div class="field">
            <select name="safety" id="safety" aria-describedby="safety-error">
              <option value="strict">Strict: hide high and critical, confirm moderate</option>
              <option value="moderate">Moderate: confirm high and critical</option>
              <option value="permissive">Permissive: confirm only critical</option>
            </select>
            ${err("safety")}
          </div>
          <label for="candidates">Suggestions per request</label>
          <div class="field">
            <input name="candidates" id="candidates" type="number" min="1" max="5" step="1" aria-describedby="candidates-error" />
            ${err("candidates")}
          </div>
          <label for="temperature">Variety (temperature)</label>
          <div class="field">
            <input name="temperature" id="temperature" type="number" min="0" max="1.5" step="0.1" aria-describedby="temperature-error" />
            ${err("temperature")}
          </div>
          <div class="field check">
            <label class="check"><input name="drafts" id="drafts" type="checkbox" aria-describedby="drafts-help" /> Draft from the request</label>
            ${err("drafts")}
          </div>
          <small id="drafts-help">Guesses the next words from your request and checks them in one step: the same commands, sooner. It stops by itself when the guesses miss.</small>
          <div class="field check">
            <label class="check"><input name="launch_at_login" id="launch_at_login" type="checkbox" /> Launch at login</label>
            ${err("launch_at_login")}
          </div>
          <div class="field check">
            <label class="check"><input name="history_enabled" id="history_enabled" type="checkbox" /> Keep a history of requests</label>
            ${err("history_enabled")}
          </div>
          <div class="field">
            <button type="button" id="clear-history">Clear history</button>
            ${err("clear-history")}
          </div>
          <label for="use-server">Model</label>
          <div class="field">
            <button type="button" id="use-server" aria-describedby="use-server-now">Use a server…</button>
            <span id="use-server-now" class="meta"></span>
          </div>
        </section>
        <section class="settings model" role="tabpanel" id="panel-models" aria-labelledby="tab-models" hidden>
          <div id="model-status" role="status"></div>
          <div id="models-pane"></div>
        </section>
        <section class="settings" role="tabpanel" id="panel-about" aria-labelledby="tab-about" hidden>
          <h2>Cmdbar <span id="version"></span></h2>
          <p>Shell commands from plain words, by a model on your own machine. Cmdbar suggests commands; it never runs them.</p>
          <h3>Licences</h3>
          <p>Cmdbar is free software under the MIT or Apache-2.0 licence, at your choice. It is built with Tauri and
            Candle (MIT or Apache-2.0). Each model comes under its own licence, shown on its Hub page.</p>
          <h3>Examples</h3>
          <p id="attribution"></p>
          <p id="tldr-status">Loading…</p>
          <div class="field">
            <button type="button" id="tldr-update">Update examples</button>
          </div>
          <h3>Updates</h3>
          <div class="field">
            <button type="button" id="check-updates">Check for updates</button>
            <button type="button" id="install-update" hidden>Install</button>
            <span id="update-status" role="status"></span>
          </div>
          <h3>Troubleshooting</h3>
          <div class="field">
            <button type="button" id="reveal-logs">Reveal logs</button>
            ${err("reveal-logs")}
          </div>
          <label class="check"><input id="debug" type="checkbox" /> Show generation speed in the popup (for debugging)</label>
        </section>
      </main>`;
    for (const f of ["hotkey", "shell", "safety", "candidates", "temperature", "drafts", "launch_at_login", "history_enabled"] as Field[])
      this.field(f).addEventListener("change", () => void this.save(f));
    const hk = this.field("hotkey");
    hk.addEventListener("keydown", (e) => this.recordHotkey(e));
    root.querySelector("#clear-history")!.addEventListener("click", () => void this.clearHistory());
    // The server form lives in the Models tab, with the local models.
    root.querySelector("#use-server")!.addEventListener("click", () => {
      this.show("models");
      this.models?.server.focus();
    });
    root.querySelector("#tldr-update")!.addEventListener("click", () => void this.updateExamples());
    root.querySelector("#reveal-logs")!.addEventListener("click", () => void this.revealLogs());
    root.querySelector("#check-updates")!.addEventListener("click", () => void this.checkUpdates());
    const debug = root.querySelector<HTMLInputElement>("#debug")!;
    debug.checked = showTimings();
    debug.addEventListener("change", () => {
      if (debug.checked) localStorage.setItem(DEBUG_KEY, "1");
      else localStorage.removeItem(DEBUG_KEY);
    });
    for (const t of TABS) {
      const b = this.tab(t);
      b.addEventListener("click", () => this.show(t));
      b.addEventListener("keydown", (e) => this.tabKey(e, t));
    }
    this.show("general");
    // The first-run card goes above everything: without a model nothing else matters.
    this.welcome = new Welcome(() => this.show("models"));
    root.querySelector("#notices")!.after(this.welcome.el);
  }

  async start(): Promise<void> {
    this.settings = await api.getSettings();
    this.fill();
    this.models = new ModelsPane(this.root.querySelector("#models-pane")!, () => this.active());
    await this.models.start();
    await events.download((d) => this.welcome.onDownload(d));
    this.showModel(await api.getStatus());
    await events.modelStatus((s) => this.showModel(s));
    await events.hotkeyState((h) => this.showHotkey(h));
    await this.fetchHotkey();
    await events.settingsTab((tab) => this.show(TABS.includes(tab as Tab) ? (tab as Tab) : "general"));
    void this.showExamples(api.tldrStatus());
    getVersion().then(
      (v) => (this.root.querySelector("#version")!.textContent = v),
      () => {},
    );
    const notices = await api.takeNotices();
    this.root.querySelector("#notices")!.textContent = notices.join(" ");
  }

  /// The model in use: the one chosen, or with none chosen the default one
  /// the app found and loaded.
  active(): string | null {
    // With a server in use, no local model is active.
    if (this.settings?.server) return null;
    return this.settings?.active_model ?? this.loaded;
  }

  private tab(t: Tab): HTMLButtonElement {
    return this.root.querySelector(`#tab-${t}`)!;
  }

  /// Shows one tab's panel; the tabs follow the ARIA tabs pattern.
  show(t: Tab): void {
    for (const x of TABS) {
      const on = x === t;
      this.tab(x).setAttribute("aria-selected", String(on));
      this.tab(x).tabIndex = on ? 0 : -1;
      this.root.querySelector<HTMLElement>(`#panel-${x}`)!.hidden = !on;
    }
  }

  private tabKey(e: KeyboardEvent, t: Tab): void {
    const i = TABS.indexOf(t);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: TABS.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = TABS[(to + TABS.length) % TABS.length];
    this.show(next);
    this.tab(next).focus();
  }

  private field(name: string): HTMLInputElement {
    return this.root.querySelector(`[name="${name}"]`)!;
  }

  private fill(only?: Field): void {
    const s = this.settings;
    const set: Record<Field, () => void> = {
      hotkey: () => (this.field("hotkey").value = formatHotkey(s.hotkey)),
      shell: () => (this.field("shell").value = s.shell),
      safety: () => (this.field("safety").value = s.safety),
      candidates: () => (this.field("candidates").value = String(s.candidates)),
      temperature: () => (this.field("temperature").value = String(s.temperature)),
      drafts: () => (this.field("drafts").checked = s.drafts),
      launch_at_login: () => (this.field("launch_at_login").checked = s.launch_at_login),
      history_enabled: () => (this.field("history_enabled").checked = s.history_enabled),
    };
    for (const [f, fill] of Object.entries(set)) if (!only || only === f) fill();
  }

  /// The field's value as the settings hold it, or the reason it can't be.
  private value(f: Field): { ok: Partial<Settings> } | { error: string } {
    const el = this.field(f);
    switch (f) {
      case "hotkey": {
        const h = parseHotkey(el.value);
        return "error" in h ? h : { ok: { hotkey: h.hotkey } };
      }
      case "shell":
        return { ok: { shell: el.value as Settings["shell"] } };
      case "safety":
        return { ok: { safety: el.value as Settings["safety"] } };
      case "candidates":
        return { ok: { candidates: Number(el.value) } };
      case "temperature":
        return { ok: { temperature: Number(el.value) } };
      case "drafts":
        return { ok: { drafts: el.checked } };
      case "launch_at_login":
        return { ok: { launch_at_login: el.checked } };
      case "history_enabled":
        return { ok: { history_enabled: el.checked } };
    }
  }

  private say(f: string, error: string, saved = ""): void {
    this.root.querySelector(`#${f}-error`)!.textContent = error;
    this.root.querySelector(`#${f}-saved`)!.textContent = saved;
    this.root.querySelector(`[name="${f}"]`)?.setAttribute("aria-invalid", String(!!error));
  }

  /// Saves one field: the others keep their saved values, whatever they
  /// show, so a refused field does not hold back (or carry along) another.
  async save(f: Field): Promise<void> {
    this.say(f, "");
    const v = this.value(f);
    if ("error" in v) {
      this.say(f, v.error);
      this.fill(f);
      return;
    }
    try {
      const hotkey = this.settings.hotkey;
      // Onto the settings as the app holds them now, not as this window
      // last read them: Models › Use may have chosen another model since,
      // and the old one sent back would switch to it again mid-load.
      const now = await api.getSettings();
      this.settings = await api.setSettings({ ...now, ...v.ok });
      this.fill(f);
      this.say(f, "", "Saved");
      // `hotkey-state` says so too; asking does not rely on its timing.
      if (this.settings.hotkey !== hotkey) await this.fetchHotkey();
    } catch (e) {
      // Beside the field the app names, if it is one here; else this one.
      const named = errorField(e);
      this.say(named && this.root.querySelector(`#${named}-error`) ? named : f, message(e));
      this.fill(f);
    }
  }

  /// A pressed chord with Ctrl, Alt or ⌘ becomes the hotkey; keys that
  /// only type (Shift and a letter: a capital) type as usual.
  recordHotkey(e: KeyboardEvent): void {
    if (e.key === "Tab" || e.isComposing) return;
    const chord = chordOf(e);
    if (!chord) return;
    e.preventDefault();
    this.field("hotkey").value = formatHotkey(chord);
    void this.save("hotkey");
  }

  private async showExamples(status: Promise<TldrStatus>): Promise<void> {
    const line = this.root.querySelector<HTMLElement>("#tldr-status")!;
    try {
      const t = await status;
      this.root.querySelector("#attribution")!.textContent = t.attribution;
      line.textContent = t.examples
        ? `${t.examples.toLocaleString()} worked examples from ${t.source}, fetched ${new Date((t.fetched_at ?? 0) * 1000).toLocaleDateString()}.`
        : "No examples yet: requests go without them until the pages are downloaded.";
    } catch (e) {
      line.textContent = message(e);
    }
  }

  private async updateExamples(): Promise<void> {
    this.root.querySelector("#tldr-status")!.textContent = "Downloading the tldr pages…";
    await this.showExamples(api.tldrUpdate());
  }

  private async clearHistory(): Promise<void> {
    try {
      await api.clearHistory();
      this.say("clear-history", "", "History cleared");
    } catch (e) {
      this.say("clear-history", message(e));
    }
  }

  /// Asks the release's latest.json (tauri-plugin-updater, registered only
  /// in a release build that has the signing key's public half).
  async checkUpdates(): Promise<void> {
    const line = this.root.querySelector<HTMLElement>("#update-status")!;
    const install = this.root.querySelector<HTMLButtonElement>("#install-update")!;
    install.hidden = true;
    line.textContent = "Checking…";
    let update: Update | null;
    try {
      update = await check();
    } catch (e) {
      // Tauri's answer for a plugin that was not registered.
      line.textContent = /plugin updater not found/i.test(message(e))
        ? "This build does not update itself: new versions are on the releases page."
        : `Could not check: ${message(e)}`;
      return;
    }
    if (!update) {
      line.textContent = "Cmdbar is up to date.";
      return;
    }
    const found = update;
    line.textContent = `Cmdbar ${found.version} is available.`;
    install.hidden = false;
    install.onclick = async () => {
      install.hidden = true;
      line.textContent = `Downloading Cmdbar ${found.version}…`;
      try {
        await found.downloadAndInstall();
        line.textContent = `Cmdbar ${found.version} is installed: quit Cmdbar and open it again to use it.`;
      } catch (e) {
        line.textContent = `Could not install: ${message(e)}`;
      }
    };
  }

  private async revealLogs(): Promise<void> {
    try {
      await api.revealLogs();
      this.say("reveal-logs", "");
    } catch (e) {
      this.say("reveal-logs", message(e));
    }
  }

  private async fetchHotkey(): Promise<void> {
    try {
      this.showHotkey(await api.hotkeyState());
    } catch {
      // An app without the command has no problem to tell.
    }
  }

  /// Stays while the saved hotkey is not registered, whatever else is saved.
  private showHotkey(h: HotkeyState): void {
    const el = this.root.querySelector<HTMLElement>("#hotkey-problem")!;
    el.hidden = !h.problem;
    el.textContent = h.problem ? `The hotkey ${formatHotkey(h.hotkey)} is not active: ${h.problem}. Choose another below.` : "";
  }

  private showModel(s: ModelStatus): void {
    this.welcome.onStatus(s);
    if (s.state === "ready") this.loaded = s.path;
    else if (s.state !== "loading") this.loaded = null;
    // A switch of model shows up here: reread the settings for the active one.
    if (s.state !== "loading" && this.models)
      void api.getSettings().then((v) => {
        this.settings = v;
        return this.models.refresh();
      });
    const el = this.root.querySelector("#model-status")!;
    const onServer = s.state === "ready" && s.device === "server";
    this.root.querySelector("#use-server-now")!.textContent =
      s.state === "ready" ? (onServer ? `${s.name} on the server at ${s.path}` : `${s.name}, on this machine`) : "";
    el.textContent =
      s.state === "ready"
        ? onServer
          ? `${s.name}: ready on the server at ${s.path}`
          : `${s.name}: ready on ${s.device} (loaded in ${(s.load_ms / 1000).toFixed(1)} s)`
        : s.state === "loading"
          ? `${s.name}: loading… ${Math.round(s.progress * 100)}%`
          : s.state === "missing"
            ? "No model yet: download the one above, or choose another below."
            : `${s.name}: could not be loaded: ${s.message}`;
    if (s.state === "ready" && s.fallback) {
      const why = document.createElement("span");
      why.className = "model-fallback";
      why.textContent = `Running on the CPU: ${s.fallback}`;
      el.append(why);
    }
  }
}
