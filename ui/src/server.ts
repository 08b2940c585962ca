// "Use a server": an OpenAI-compatible server (Ollama, llama.cpp's server,
// vLLM) answers instead of a model on this machine. The API key goes to the
// OS keychain through the app and is never shown again; the form only says
// whether one is stored.
import { api, errorField, message, type ServerState } from "./ipc";

/// The app's error fields and the inputs they belong to.
const FIELDS: Record<string, string> = { base_url: "server-url", model: "server-model", key: "server-key" };

export class ServerForm {
  readonly el: HTMLFormElement;
  private state: ServerState = { server: null, has_key: false };

  /// `changed`: called after the app switched, so the caller can refresh.
  constructor(private changed: (s: ServerState) => void = () => {}) {
    this.el = document.createElement("form");
    this.el.className = "server-form";
    this.el.setAttribute("aria-labelledby", "server-title");
    this.el.noValidate = true;
    this.el.innerHTML = `
      <h2 id="server-title">Use a server</h2>
      <p class="meta" id="server-help">An OpenAI-compatible server (Ollama, llama.cpp's server, vLLM) answers instead of a
        model on this machine; suggestions and safety checks work the same.</p>
      <p id="server-now" role="status"></p>
      <label for="server-url">Address</label>
      <div class="field">
        <input id="server-url" name="server-url" type="url" placeholder="http://localhost:11434" spellcheck="false"
          autocomplete="off" aria-describedby="server-help server-url-error" />
        <span id="server-url-error" class="field-error" role="alert"></span>
      </div>
      <label for="server-model">Model name</label>
      <div class="field">
        <input id="server-model" name="server-model" type="text" placeholder="qwen2.5-coder:7b" spellcheck="false"
          autocomplete="off" aria-describedby="server-model-error" />
        <span id="server-model-error" class="field-error" role="alert"></span>
      </div>
      <label for="server-key">API key (optional)</label>
      <div class="field">
        <input id="server-key" name="server-key" type="password" autocomplete="off" spellcheck="false"
          aria-describedby="server-key-note server-key-error" />
        <small id="server-key-note"></small>
        <label class="check" id="server-key-remove-label" hidden><input id="server-key-remove" type="checkbox" /> Remove the stored key</label>
        <span id="server-key-error" class="field-error" role="alert"></span>
      </div>
      <div class="field">
        <button type="submit" id="server-use">Use</button>
        <button type="button" id="server-stop">Stop using</button>
        <span id="server-error" class="field-error" role="alert"></span>
      </div>`;
    // Enter in any field submits, so the form works from the keyboard alone.
    this.el.addEventListener("submit", (e) => {
      e.preventDefault();
      void this.use();
    });
    this.q("#server-stop").addEventListener("click", () => void this.stop());
  }

  private q<T extends HTMLElement = HTMLInputElement>(s: string): T {
    return this.el.querySelector<T>(s)!;
  }

  async start(): Promise<void> {
    try {
      this.show(await api.getServer());
    } catch (e) {
      this.say("server-error", message(e));
    }
  }

  /// The saved server in the fields; the key field always starts empty.
  private show(s: ServerState): void {
    this.state = s;
    this.q("#server-url").value = s.server?.base_url ?? "";
    this.q("#server-model").value = s.server?.model ?? "";
    this.q("#server-key").value = "";
    this.q("#server-key-remove").checked = false;
    this.q("#server-key-remove-label").hidden = !s.has_key;
    this.q("#server-key-note").textContent = s.has_key
      ? "A key is stored in the keychain; leave this empty to keep it."
      : "No key is stored.";
    this.q("#server-now").textContent = s.server
      ? `Requests go to ${s.server.model} at ${s.server.base_url}.`
      : "Requests go to the model on this machine.";
    this.q<HTMLButtonElement>("#server-stop").disabled = !s.server;
  }

  private say(id: string, error: string): void {
    this.q(`#${id}-error`).textContent = error;
    if (id !== "server") this.q(`#${id}`).setAttribute("aria-invalid", String(!!error));
  }

  private clear(): void {
    for (const id of [...Object.values(FIELDS), "server"]) this.say(id, "");
  }

  /// The app's error beside the field it names, else under the buttons.
  private fail(e: unknown): void {
    const id = FIELDS[errorField(e) ?? ""] ?? "server";
    this.say(id, message(e));
    if (id !== "server") this.q(`#${id}`).focus();
  }

  async use(): Promise<void> {
    this.clear();
    const base_url = this.q("#server-url").value.trim();
    const model = this.q("#server-model").value.trim();
    const typed = this.q("#server-key").value;
    // null keeps the stored key; "" removes it.
    const key = typed ? typed : this.q("#server-key-remove").checked ? "" : null;
    await this.apply(() => api.setServer({ base_url, model }, key));
  }

  async stop(): Promise<void> {
    this.clear();
    await this.apply(() => api.setServer(null, null));
  }

  private async apply(f: () => Promise<ServerState>): Promise<void> {
    try {
      const s = await f();
      this.show(s);
      this.changed(s);
    } catch (e) {
      this.fail(e);
    }
  }

  inUse(): boolean {
    return this.state.server !== null;
  }

  /// Moves focus to the address, for "Use a server…" elsewhere.
  focus(): void {
    this.q("#server-url").focus();
  }
}
