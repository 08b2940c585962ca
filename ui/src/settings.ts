// The Settings window. Each change is applied and saved at once; a change
// the app refuses (a taken hotkey, a value out of range) is shown beside
// its field and the field goes back to the saved value.
import { api, events, message, type HotkeyState, type ModelStatus, type Settings, type TldrStatus } from "./ipc";
import { ModelsPane } from "./models";
import { Welcome } from "./welcome";

export class SettingsPane {
  private settings!: Settings;
  private form: HTMLFormElement;
  private error: HTMLElement;
  private saved: HTMLElement;
  private models!: ModelsPane;
  private welcome: Welcome;

  constructor(private root: HTMLElement) {
    root.innerHTML = `
      <form class="settings" id="settings-form" autocomplete="off">
        <h1>Settings</h1>
        <div id="notices" class="notices" role="status"></div>
        <div id="hotkey-problem" class="hotkey-problem" role="alert" hidden></div>
        <label>Hotkey
          <input name="hotkey" id="hotkey" type="text" spellcheck="false" />
          <small>Press the keys, or type them like Ctrl+Shift+Space.</small>
        </label>
        <label>Shell
          <select name="shell" id="shell">
            <option value="auto">Detect ($SHELL)</option><option value="zsh">zsh</option>
            <option value="bash">bash</option><option value="fish">fish</option>
          </select>
        </label>
        <label>Safety level
          <select name="safety" id="safety">
            <option value="strict">Strict: hide high and critical, confirm moderate</option>
            <option value="moderate">Moderate: confirm high and critical</option>
            <option value="permissive">Permissive: confirm only critical</option>
          </select>
        </label>
        <label>Suggestions per request
          <input name="candidates" id="candidates" type="number" min="1" max="5" step="1" />
        </label>
        <label>Variety (temperature)
          <input name="temperature" id="temperature" type="number" min="0" max="1.5" step="0.1" />
        </label>
        <label class="check"><input name="launch_at_login" id="launch_at_login" type="checkbox" /> Launch at login</label>
        <label class="check"><input name="history_enabled" id="history_enabled" type="checkbox" /> Keep a history of requests</label>
        <button type="button" id="clear-history">Clear history</button>
        <section id="models" class="model">
          <h2>Models</h2>
          <div id="model-status"></div>
          <div id="models-pane"></div>
        </section>
        <section id="examples">
          <h2>Examples</h2>
          <p id="tldr-status">Loading…</p>
          <button type="button" id="tldr-update">Update examples</button>
        </section>
        <section id="about">
          <h2>About</h2>
          <p id="attribution"></p>
        </section>
        <div id="error" class="error" role="alert"></div>
        <div id="saved" class="saved" role="status"></div>
      </form>`;
    this.form = root.querySelector("form")!;
    this.error = root.querySelector("#error")!;
    this.saved = root.querySelector("#saved")!;
    this.form.addEventListener("change", (e) => void this.onChange(e.target as HTMLInputElement));
    this.form.addEventListener("submit", (e) => e.preventDefault());
    this.field("hotkey").addEventListener("keydown", (e) => this.recordHotkey(e as KeyboardEvent));
    root.querySelector("#clear-history")!.addEventListener("click", () => void this.clearHistory());
    root.querySelector("#tldr-update")!.addEventListener("click", () => void this.updateExamples());
    // The first-run card goes above everything: without a model nothing else matters.
    this.welcome = new Welcome(() => this.root.querySelector("#models")?.scrollIntoView?.());
    root.querySelector("h1")!.after(this.welcome.el);
  }

  async start(): Promise<void> {
    this.settings = await api.getSettings();
    this.fill();
    this.models = new ModelsPane(this.root.querySelector("#models-pane")!, () => this.settings.active_model);
    await this.models.start();
    await events.download((d) => this.welcome.onDownload(d));
    this.showModel(await api.getStatus());
    await events.modelStatus((s) => this.showModel(s));
    await events.hotkeyState((h) => this.showHotkey(h));
    await this.fetchHotkey();
    await events.settingsTab((tab) => this.root.querySelector(tab === "models" ? "#models" : "h1")?.scrollIntoView());
    void this.showExamples(api.tldrStatus());
    const notices = await api.takeNotices();
    this.root.querySelector("#notices")!.textContent = notices.join(" ");
  }

  private field(name: string): HTMLInputElement {
    return this.form.querySelector(`[name="${name}"]`)!;
  }

  private fill(): void {
    const s = this.settings;
    this.field("hotkey").value = s.hotkey;
    this.field("shell").value = s.shell;
    this.field("safety").value = s.safety;
    this.field("candidates").value = String(s.candidates);
    this.field("temperature").value = String(s.temperature);
    this.field("launch_at_login").checked = s.launch_at_login;
    this.field("history_enabled").checked = s.history_enabled;
  }

  private read(): Settings {
    return {
      ...this.settings,
      hotkey: this.field("hotkey").value.trim(),
      shell: this.field("shell").value as Settings["shell"],
      safety: this.field("safety").value as Settings["safety"],
      candidates: Number(this.field("candidates").value),
      temperature: Number(this.field("temperature").value),
      launch_at_login: this.field("launch_at_login").checked,
      history_enabled: this.field("history_enabled").checked,
    };
  }

  async onChange(_target?: HTMLInputElement): Promise<void> {
    this.error.textContent = "";
    this.saved.textContent = "";
    try {
      const hotkey = this.settings.hotkey;
      this.settings = await api.setSettings(this.read());
      this.saved.textContent = "Saved";
      // `hotkey-state` says so too; asking does not rely on its timing.
      if (this.settings.hotkey !== hotkey) await this.fetchHotkey();
    } catch (e) {
      this.error.textContent = message(e);
      this.fill();
    }
  }

  /// Turns a key press into the shortcut syntax, e.g. "Ctrl+Alt+K".
  recordHotkey(e: KeyboardEvent): void {
    if (e.key === "Tab" || (!e.ctrlKey && !e.altKey && !e.metaKey && !e.shiftKey)) return;
    if (["Control", "Alt", "Shift", "Meta"].includes(e.key)) return;
    e.preventDefault();
    const parts = [e.ctrlKey && "Ctrl", e.altKey && "Alt", e.shiftKey && "Shift", e.metaKey && "Super"].filter(Boolean);
    const key = e.code.startsWith("Key") ? e.code.slice(3) : e.code.startsWith("Digit") ? e.code.slice(5) : e.code;
    this.field("hotkey").value = [...parts, key].join("+");
    void this.onChange();
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
      this.saved.textContent = "History cleared";
    } catch (e) {
      this.error.textContent = message(e);
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
    el.textContent = h.problem ? `The hotkey ${h.hotkey} is not active: ${h.problem}. Choose another below.` : "";
  }

  private showModel(s: ModelStatus): void {
    this.welcome.onStatus(s);
    // A switch of model shows up here: reread the settings for the active one.
    if (s.state !== "loading" && this.models)
      void api.getSettings().then((v) => {
        this.settings = v;
        return this.models.refresh();
      });
    const el = this.root.querySelector("#model-status")!;
    el.textContent =
      s.state === "ready"
        ? `${s.name}: ready on ${s.device} (loaded in ${(s.load_ms / 1000).toFixed(1)} s)`
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
