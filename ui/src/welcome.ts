// The first-run card: no model on this machine, so offer the catalog's
// default with one Download button, its progress, pause and resume. When
// the download is done the app makes it active and loads it by itself;
// the card then follows `model-status` until the model is ready.
import { api, message, type Offer, type DownloadEvent, type ModelStatus } from "./ipc";

export type WelcomeState = "idle" | "running" | "paused" | "error" | "loading";

export const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;

export function timeLeft(secs: number): string {
  if (secs < 60) return `${Math.ceil(secs)} s`;
  const m = Math.round(secs / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export class Welcome {
  readonly el: HTMLElement;
  private model: Offer | null = null;
  private state: WelcomeState = "idle";
  private id: number | null = null;
  private last: DownloadEvent | null = null;
  private error = "";
  private loading = 0;

  /// The caller places `el`.
  constructor(private chooseOther: () => void) {
    this.el = document.createElement("div");
    this.el.id = "welcome";
    this.el.className = "welcome";
    this.el.hidden = true;
    this.el.innerHTML = `
      <p class="welcome-text"></p>
      <p class="welcome-fit"></p>
      <progress id="welcome-progress" max="1" value="0"></progress>
      <div class="welcome-meta" role="status"></div>
      <div class="welcome-error" role="alert"></div>
      <div class="welcome-actions">
        <button type="button" id="welcome-download">Download</button>
        <button type="button" id="welcome-pause">Pause</button>
        <button type="button" id="welcome-other" class="link">choose another</button>
      </div>`;
    this.q("#welcome-download").addEventListener("click", () => void this.download());
    this.q("#welcome-pause").addEventListener("click", () => void this.pause());
    this.q("#welcome-other").addEventListener("click", () => this.chooseOther());
  }

  get visible(): boolean {
    return !this.el.hidden;
  }

  private q<T extends HTMLElement = HTMLElement>(s: string): T {
    return this.el.querySelector<T>(s)!;
  }

  /// Shows the card while there is no model, and while the model fetched
  /// from it loads; any other status takes it away.
  onStatus(s: ModelStatus): void {
    if (s.state === "missing") {
      this.model = s.model;
      if (this.state === "loading") this.state = "idle";
      this.el.hidden = false;
    } else if (s.state === "loading" && this.visible) {
      this.state = "loading";
      this.loading = s.progress;
    } else {
      this.el.hidden = true;
      this.state = "idle";
      this.last = null;
      this.error = "";
    }
    this.render();
  }

  onDownload(d: DownloadEvent): void {
    if (!this.model || d.repo !== this.model.repo || d.file !== this.model.file) return;
    this.id = d.id;
    if (d.state === "running") {
      if (this.state !== "loading") this.state = "running";
      this.last = d;
    } else if (d.state === "paused") this.state = "paused";
    else if (d.state === "cancelled") {
      this.state = "idle";
      this.last = null;
    } else if (d.state === "error") {
      this.state = "error";
      this.error = d.message ?? "the download failed";
    } else {
      // Done: the app loads it next, and says so with `model-status`.
      this.state = "loading";
      this.loading = 0;
    }
    this.render();
  }

  /// Download, Retry and Resume: asking again resumes from the partial file.
  async download(): Promise<void> {
    if (!this.model) return;
    this.state = "running";
    this.error = "";
    this.render();
    try {
      this.id = await api.modelsDownload(this.model.repo, this.model.file);
    } catch (e) {
      this.state = "error";
      this.error = message(e);
      this.render();
    }
  }

  private async pause(): Promise<void> {
    if (this.id === null) return;
    try {
      await api.modelsPause(this.id);
    } catch (e) {
      // The download may have just ended; its event tells the state.
      this.error = message(e);
      this.render();
    }
  }

  private render(): void {
    this.el.dataset.state = this.state;
    const m = this.model;
    if (!m) return;
    this.q(".welcome-text").textContent = `Cmdbar needs a model to answer: ${m.name}, ${gb(m.size)}`;
    const fit = this.q(".welcome-fit");
    fit.textContent = m.fit?.text ?? "";
    fit.className = `welcome-fit${m.fit ? ` fit-${m.fit.fit}` : ""}`;
    fit.hidden = !m.fit;

    const d = this.last;
    const share = this.state === "loading" ? this.loading : d && d.total ? d.downloaded / d.total : 0;
    const pct = Math.floor(share * 100);
    const bar = this.q<HTMLProgressElement>("#welcome-progress");
    bar.hidden = this.state === "idle" || (this.state === "error" && !d);
    bar.value = share;
    let meta = "";
    if (this.state === "loading") meta = `Loading… ${pct}%`;
    else if (this.state === "running" && !d) meta = "Starting the download…";
    else if (this.state === "running" && d) {
      meta = `${pct}% · ${(d.bytes_per_sec / 1e6).toFixed(1)} MB/s`;
      if (d.eta_secs != null) meta += ` · ${timeLeft(d.eta_secs)} left`;
    } else if (this.state === "paused") meta = `${pct}% · paused`;
    this.q(".welcome-meta").textContent = meta;
    this.q(".welcome-error").textContent = this.state === "error" || this.state === "running" ? this.error : "";

    // One button starts, resumes and retries: each asks for the download again.
    const dl = this.q<HTMLButtonElement>("#welcome-download");
    dl.hidden = this.state === "running" || this.state === "loading";
    dl.textContent = { idle: "Download", paused: "Resume", error: "Retry", running: "", loading: "" }[this.state];
    this.q("#welcome-pause").hidden = this.state !== "running";
    this.q("#welcome-other").hidden = this.state === "loading";
  }
}
