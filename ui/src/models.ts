// The Models pane: recommended models with a fit hint, installed models
// (use, reveal, delete, import), Hub search, a repo's GGUF files, and
// downloads with progress, pause, resume, cancel.
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { open } from "@tauri-apps/plugin-dialog";
import { api, events, message, type CatalogItem, type DownloadEvent, type FitHint, type LocalModel, type RepoFile } from "./ipc";
import { ServerForm } from "./server";

/// Sizes in GB, as a user compares them with free disk space and memory.
export const gb = (n: number) => `${(n / 1e9).toFixed(n < 1e9 ? 2 : 1)} GB`;
const mbps = (n: number) => `${(n / 1e6).toFixed(1)} MB/s`;

/// GGUF quantization types in words: how many bits a weight, and what that
/// costs in quality. The code itself stays in the tooltip.
export function quantization(q: string | null): string {
  const code = (q ?? "").toUpperCase().match(/^(I?Q\d|F16|BF16|F32)[A-Z0-9_]*/)?.[0] ?? "";
  const bits = code.match(/^I?Q(\d)/)?.[1];
  if (code === "F32") return "32-bit, full quality";
  if (code === "F16" || code === "BF16") return "16-bit, full quality";
  if (!bits) return q ? "unknown quantization" : "unknown quantization";
  const quality: Record<string, string> = {
    "1": "lowest quality", "2": "lowest quality", "3": "low quality", "4": "medium quality",
    "5": "good quality", "6": "very good quality", "8": "near-full quality",
  };
  return `${bits}-bit, ${quality[bits] ?? "unknown quality"}`;
}

export class ModelsPane {
  private downloads = new Map<string, DownloadEvent>();
  private repo = "";
  /// "Use a server", above the local models.
  readonly server: ServerForm;

  constructor(
    private root: HTMLElement,
    private activePath: () => string | null,
  ) {
    root.innerHTML = `
      <h2>Recommended</h2>
      <ul id="catalog" class="installed"></ul>
      <h2>Installed</h2>
      <ul id="installed" class="installed"></ul>
      <div id="drop-zone" class="drop-zone">
        <button type="button" id="import">Import a GGUF file…</button>
        <span class="meta">or drop one here</span>
        <span id="import-error" class="field-error" role="alert"></span>
      </div>
      <h2>Get a model</h2>
      <div class="row">
        <input id="model-search" type="text" placeholder="Search the Hub, or ORG/REPO" spellcheck="false" aria-label="Search the Hub, or ORG/REPO" />
        <button type="button" id="search">Search</button>
      </div>
      <ul id="search-results" class="results"></ul>
      <ul id="repo-files" class="results"></ul>
      <ul id="downloads" class="downloads"></ul>
      <div id="models-error" class="error" role="alert"></div>`;
    this.server = new ServerForm(() => void this.refresh());
    root.prepend(this.server.el);
    root.querySelector("#search")!.addEventListener("click", () => void this.search());
    root.querySelector("#model-search")!.addEventListener("keydown", (e) => {
      if ((e as KeyboardEvent).key === "Enter") {
        e.preventDefault();
        void this.search();
      }
    });
    root.querySelector("#import")!.addEventListener("click", () => void this.pickFile());
  }

  async start(): Promise<void> {
    await this.server.start();
    await events.download((d) => this.onDownload(d));
    // Files dropped onto the window come as paths; only on the Models pane.
    try {
      await getCurrentWebview().onDragDropEvent((e) => {
        const zone = this.root.querySelector("#drop-zone")!;
        const shown = !this.root.closest("[hidden]");
        if (e.payload.type === "enter" || e.payload.type === "over") zone.classList.toggle("dragging", shown);
        else zone.classList.remove("dragging");
        if (e.payload.type === "drop" && shown) void this.importPaths(e.payload.paths);
      });
    } catch {
      // No webview to listen on (a test's page): no drops either.
    }
    await this.refresh();
  }

  private error(text: string): void {
    this.root.querySelector("#models-error")!.textContent = text;
  }

  async refresh(): Promise<void> {
    const [listing, catalog] = await Promise.all([api.modelsList(), api.modelsCatalog()]);
    const ul = this.root.querySelector("#installed")!;
    ul.replaceChildren();
    if (!listing.models.length) ul.append(li("empty", "No models yet: get a recommended one, search the Hub, or import a GGUF file."));
    for (const m of listing.models) ul.append(this.installedItem(m));
    if (listing.notices.length) this.error(listing.notices.join(" "));
    const cat = this.root.querySelector("#catalog")!;
    cat.replaceChildren(...catalog.map((c) => this.catalogItem(c)));
  }

  private catalogItem(c: CatalogItem): HTMLElement {
    const item = li("model catalog-item");
    item.dataset.id = c.id;
    item.append(
      span("name", c.name + (c.default ? " (default)" : "")),
      quant(c.quantization, c.size),
      fitBadge(c.fit),
    );
    if (c.installed && c.installed === this.activePath()) item.append(span("active", "Active"));
    else if (c.installed) {
      const path = c.installed;
      item.append(button("Use", () => this.use(path)));
    } else item.append(button("Download", () => this.download(c.repo, c.file)));
    item.append(span("note", c.note));
    return item;
  }

  private installedItem(m: LocalModel): HTMLElement {
    const item = li("model");
    const active = m.path === this.activePath();
    const from = m.source.kind === "hub" ? m.source.repo : m.source.kind === "folder" ? "Cmdbar folder" : "imported";
    item.append(
      span("name", m.name),
      span("meta", `${m.architecture ?? "unusable"} · ${gb(m.size)} · ${from}`),
    );
    if (m.fit) item.append(fitBadge(m.fit));
    if (m.problem) item.append(span("problem", m.problem));
    if (active) item.append(span("active", "Active"));
    else if (!m.problem) item.append(button("Use", () => this.use(m.path)));
    item.append(button("Show in folder", () => this.run(() => api.modelsReveal(m.path))));
    if (!active)
      item.append(
        button("Delete", async () => {
          if (!(await confirmDelete(m.name))) return;
          await this.run(() => api.modelsDelete(m.path));
          await this.refresh();
        }),
      );
    return item;
  }

  private async run<T>(f: () => Promise<T>): Promise<T | undefined> {
    this.error("");
    try {
      return await f();
    } catch (e) {
      this.error(message(e));
      return undefined;
    }
  }

  async use(path: string): Promise<void> {
    // The server would go on answering: say so rather than seem to switch.
    if (this.server.inUse()) return this.error("Requests go to the server: Stop using it (above) to use a model on this machine.");
    await this.run(() => api.modelsUse(path));
    await this.refresh();
  }

  /// The system's file picker, for GGUF files.
  private async pickFile(): Promise<void> {
    this.importError("");
    try {
      const path = await open({ multiple: false, directory: false, title: "Import a model", filters: [{ name: "GGUF model", extensions: ["gguf"] }] });
      if (typeof path === "string") await this.importPaths([path]);
    } catch (e) {
      this.importError(message(e));
    }
  }

  private importError(text: string): void {
    this.root.querySelector("#import-error")!.textContent = text;
  }

  /// Imports each path; what can't be imported says why beside the button.
  async importPaths(paths: string[]): Promise<void> {
    this.importError("");
    const problems: string[] = [];
    const models = paths.filter((p) => p.toLowerCase().endsWith(".gguf"));
    if (models.length < paths.length) problems.push(`only .gguf files can be imported (${paths.filter((p) => !models.includes(p)).map((p) => p.split(/[\\/]/).pop()).join(", ")})`);
    for (const p of models) {
      try {
        await api.modelsImport(p);
      } catch (e) {
        problems.push(message(e));
      }
    }
    this.importError(problems.join("; "));
    if (models.length) await this.refresh();
  }

  async search(): Promise<void> {
    const q = this.root.querySelector<HTMLInputElement>("#model-search")!.value.trim();
    const results = this.root.querySelector("#search-results")!;
    results.replaceChildren();
    this.root.querySelector("#repo-files")!.replaceChildren();
    // ORG/REPO (or a Hub URL) goes straight to the files.
    const repo = q.replace(/^https?:\/\/[^/]+\//, "").split("/").slice(0, 2).join("/");
    if (/^[\w.-]+\/[\w.-]+$/.test(repo) && q.includes("/")) return this.showFiles(repo);
    const hits = await this.run(() => api.modelsSearch(q));
    if (!hits) return;
    if (!hits.length) results.append(li("empty", `Nothing found for “${q}”.`));
    for (const h of hits) {
      const item = li("repo");
      item.append(span("name", h.id), span("meta", `${h.downloads.toLocaleString()} downloads`));
      item.addEventListener("click", () => void this.showFiles(h.id));
      results.append(item);
    }
  }

  async showFiles(repo: string): Promise<void> {
    this.repo = repo;
    const files = await this.run(() => api.modelsFiles(repo));
    const ul = this.root.querySelector("#repo-files")!;
    ul.replaceChildren();
    if (!files) return;
    if (!files.length) ul.append(li("empty", `${repo} has no GGUF files.`));
    for (const f of files) ul.append(this.fileItem(f));
  }

  private fileItem(f: RepoFile): HTMLElement {
    const item = li("file");
    item.dataset.file = f.file;
    item.append(span("name", f.file), quant(f.quantization, f.size));
    item.append(button("Download", () => this.download(this.repo, f.file)));
    return item;
  }

  async download(repo: string, file: string): Promise<void> {
    await this.run(() => api.modelsDownload(repo, file));
  }

  onDownload(d: DownloadEvent): void {
    const key = `${d.repo}/${d.file}`;
    const prev = this.downloads.get(key);
    // Terminal events carry no byte counts; keep the last ones.
    if (prev && d.state !== "running") d = { ...d, downloaded: prev.downloaded, total: prev.total };
    this.downloads.set(key, d);
    this.renderDownloads();
    if (d.state === "done") void this.refresh();
  }

  private renderDownloads(): void {
    const ul = this.root.querySelector("#downloads")!;
    ul.replaceChildren();
    for (const d of this.downloads.values()) {
      const item = li(`download state-${d.state}`);
      item.dataset.file = d.file;
      const bar = document.createElement("progress");
      bar.max = d.total || 1;
      bar.value = d.downloaded;
      const pct = d.total ? Math.floor((d.downloaded * 100) / d.total) : 0;
      const speed = d.state === "running" ? ` · ${mbps(d.bytes_per_sec)}` + (d.eta_secs != null ? ` · ${Math.ceil(d.eta_secs)} s left` : "") : "";
      const state = { running: "", paused: " · paused", done: " · done, verified", cancelled: " · cancelled", error: "" }[d.state];
      item.append(span("name", d.file), bar, span("meta", `${pct}%${speed}${state}`));
      if (d.message) item.append(span("problem", d.message));
      if (d.state === "running") {
        item.append(button("Pause", () => this.run(() => api.modelsPause(d.id))));
        item.append(button("Cancel", () => this.run(() => api.modelsCancel(d.id))));
      } else if (d.state === "paused" || d.state === "error") {
        item.append(button("Resume", () => this.download(d.repo, d.file)));
      } else if (d.state === "done" && d.path) {
        const path = d.path;
        item.append(button("Use", () => this.use(path)));
      }
      ul.append(item);
    }
  }
}

/// Asks in the page: the macOS webview answers window.confirm() with false
/// and shows nothing. Focus stays on the two buttons, Cancel first; Esc
/// cancels and Enter presses the focused button.
export function confirmDelete(name: string): Promise<boolean> {
  const back = document.activeElement as HTMLElement | null;
  const backdrop = document.createElement("div");
  backdrop.className = "dialog-backdrop";
  const box = document.createElement("div");
  box.className = "dialog";
  box.setAttribute("role", "alertdialog");
  box.setAttribute("aria-modal", "true");
  box.setAttribute("aria-labelledby", "confirm-text");
  const text = document.createElement("p");
  text.id = "confirm-text";
  text.textContent = `Delete ${name}? This removes the file from disk.`;
  const row = document.createElement("div");
  row.className = "buttons";
  const del = document.createElement("button");
  del.type = "button";
  del.id = "confirm-delete";
  del.textContent = "Delete";
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.id = "confirm-cancel";
  cancel.textContent = "Cancel";
  row.append(del, cancel);
  box.append(text, row);
  backdrop.append(box);
  document.body.append(backdrop);
  cancel.focus();
  return new Promise((resolve) => {
    // On the document, so the keys work wherever the focus went, and the
    // page behind hears none of them.
    const onKey = (e: KeyboardEvent) => {
      e.stopPropagation();
      if (e.key === "Escape") {
        e.preventDefault();
        close(false);
      } else if (e.key === "Enter") {
        e.preventDefault();
        (document.activeElement === del ? del : cancel).click();
      } else if (e.key === "Tab") {
        e.preventDefault();
        (document.activeElement === del ? cancel : del).focus();
      }
    };
    const onFocus = (e: FocusEvent) => {
      if (!box.contains(e.target as Node)) cancel.focus();
    };
    const close = (yes: boolean) => {
      document.removeEventListener("keydown", onKey, true);
      document.removeEventListener("focusin", onFocus, true);
      backdrop.remove();
      back?.focus();
      resolve(yes);
    };
    document.addEventListener("keydown", onKey, true);
    document.addEventListener("focusin", onFocus, true);
    del.addEventListener("click", () => close(true));
    cancel.addEventListener("click", () => close(false));
    // A click on the backdrop must not take the focus out of the dialog.
    backdrop.addEventListener("mousedown", (e) => {
      if (e.target === backdrop) e.preventDefault();
    });
  });
}

function quant(q: string | null, size: number): HTMLElement {
  const s = span("meta", `${quantization(q)} · ${gb(size)}`);
  if (q) s.title = q;
  return s;
}

function fitBadge(f: FitHint | null): HTMLElement {
  if (!f) return span("fit", "");
  const b = span(`fit fit-${f.fit}`, { fits: "Fits", tight: "Tight", too_big: "Too big" }[f.fit]);
  b.title = f.text;
  return b;
}

function li(cls: string, text?: string): HTMLLIElement {
  const e = document.createElement("li");
  e.className = cls;
  if (text) e.textContent = text;
  return e;
}

function span(cls: string, text: string): HTMLSpanElement {
  const e = document.createElement("span");
  e.className = cls;
  e.textContent = text;
  return e;
}

function button(label: string, f: () => unknown): HTMLButtonElement {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  b.addEventListener("click", () => void f());
  return b;
}
