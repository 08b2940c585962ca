//! `cmdbar models`: get and list models over the `cmdbar-models` core.
use std::io::IsTerminal;
use std::path::PathBuf;

use clap::Subcommand;
use cmdbar_models::{catalog, download, repo_name, Control, Hub, HubCache, Library, Memory, Source};

#[derive(clap::Args)]
pub struct ModelsArgs {
    /// Print JSON instead of text (every subcommand).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Download a GGUF file from the Hub (or $HF_ENDPOINT) into the Hugging
    /// Face cache ($HF_HOME). Re-running after an interruption resumes.
    Pull {
        /// ORG/REPO, a Hub URL of the repo, or a catalog id (`cmdbar models catalog`)
        repo: String,
        /// The GGUF file in the repo (a catalog id names its own)
        #[arg(long)]
        file: Option<String>,
        #[arg(long, default_value = "main")]
        revision: String,
    },
    /// List the installed models: the Hugging Face cache, Cmdbar's folder and imports.
    List,
    /// The recommended models, whether each is installed and fits this machine.
    Catalog,
    /// Make a model the active one, for the app and the CLI: a path, a
    /// catalog id or an installed file's name.
    Use { model: String },
    /// Add a GGUF file from anywhere on disk, by reference (no copy).
    Import { path: PathBuf },
    /// Remove a model: a Hub file and its blob, or an import's reference.
    Rm { path: PathBuf },
    /// Search the Hub for GGUF repos, most downloaded first.
    Search {
        query: String,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// List a repo's GGUF files with size, quantization and sha256.
    Files {
        /// ORG/REPO, or a Hub URL of the repo
        repo: String,
    },
}

fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

pub fn run(args: ModelsArgs) -> anyhow::Result<()> {
    let json = args.json;
    match args.command {
        ModelsCommand::Pull { repo, file, revision } => {
            let (repo, file) = match (catalog::by_id(&repo), file) {
                (_, Some(file)) => (repo_name(&repo)?, file),
                (Some(e), None) => (e.repo.clone(), e.file.clone()),
                (None, None) => {
                    anyhow::bail!("name the file with --file, or pull a catalog id (cmdbar models catalog)")
                }
            };
            let path = pull(&repo, &file, &revision)?;
            if json {
                print_json(&serde_json::json!({ "path": path }))
            } else {
                println!("{}", path.display());
                Ok(())
            }
        }
        ModelsCommand::List => list(json),
        ModelsCommand::Catalog => {
            let items = Library::from_env().catalog(Memory::of_this_machine());
            if json {
                return print_json(&items);
            }
            for i in items {
                let e = &i.entry;
                let mark = if e.default { " (default)" } else { "" };
                let fit = i.fit.map(|f| f.text).unwrap_or_default();
                let at = i.installed.map(|p| p.display().to_string()).unwrap_or_else(|| "not installed".into());
                println!("{}{mark}\t{}\t{:.2} GB\t{fit}\t{at}", e.id, e.quantization, e.size as f64 / 1e9);
            }
            Ok(())
        }
        ModelsCommand::Use { model } => {
            let path = use_model(&model, json)?;
            if json {
                print_json(&serde_json::json!({ "active_model": path }))?;
            }
            Ok(())
        }
        ModelsCommand::Import { path } => {
            let m = Library::from_env().import(&path)?;
            if json {
                return print_json(&m);
            }
            println!("{}", m.path.display());
            Ok(())
        }
        ModelsCommand::Rm { path } => {
            Library::from_env().delete(&path)?;
            if json {
                print_json(&serde_json::json!({ "removed": path }))?;
            }
            Ok(())
        }
        ModelsCommand::Search { query, limit } => {
            let hits = runtime()?.block_on(Hub::from_env().search(&query, limit))?;
            if json {
                return print_json(&hits);
            }
            for r in hits {
                println!("{}\t{} downloads", r.id, r.downloads);
            }
            Ok(())
        }
        ModelsCommand::Files { repo } => {
            let (commit, files) = runtime()?.block_on(Hub::from_env().repo_files(&repo_name(&repo)?))?;
            if json {
                return print_json(&serde_json::json!({ "commit": commit, "files": files }));
            }
            eprintln!("commit {commit}");
            for f in files {
                let q = f.quantization.as_deref().unwrap_or("?");
                println!("{}\t{q}\t{:.1} MB\t{}", f.file, f.size as f64 / 1e6, f.sha256);
            }
            Ok(())
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

fn pull(repo: &str, file: &str, revision: &str) -> anyhow::Result<PathBuf> {
    let rt = runtime()?;
    let hub = Hub::from_env();
    let cache = HubCache::from_env();
    let tty = std::io::stderr().is_terminal();
    let path: PathBuf = rt.block_on(async {
        let f = hub.file_info(repo, revision, file).await?;
        eprintln!("{repo}/{file}: {:.1} MB, sha256 {}", f.size as f64 / 1e6, &f.sha256[..12]);
        let mut last_line = 0u64;
        download(&hub, &cache, &f, &Control::new(), |p| {
            let pct = p.downloaded as f64 * 100.0 / p.total.max(1) as f64;
            let eta = p.eta_secs.map(|s| format!("{s:.0} s left")).unwrap_or_default();
            let line = format!("{pct:5.1}%  {:.1} MB/s  {eta}", p.bytes_per_sec / 1e6);
            if tty {
                eprint!("\r{line:<40}");
            } else if p.downloaded >= last_line + p.total / 10 || p.downloaded == p.total {
                last_line = p.downloaded;
                eprintln!("{line}");
            }
        })
        .await
    })?;
    if tty {
        eprintln!();
    }
    Ok(path)
}

fn list(json: bool) -> anyhow::Result<()> {
    let active = crate::load::model_path(&None);
    let lib = Library::from_env();
    let models = lib.list();
    let notices = lib.take_notices();
    if json {
        return print_json(&serde_json::json!({ "models": models, "notices": notices, "active_model": active }));
    }
    for n in notices {
        eprintln!("{n}");
    }
    for m in models {
        let from = match &m.source {
            Source::Hub { repo, .. } => repo.as_str(),
            Source::Folder => "cmdbar",
            Source::Imported => "imported",
        };
        let arch = m.architecture.as_deref().unwrap_or("unusable");
        let mark = if active.as_ref() == Some(&m.path) { "*" } else { " " };
        let fit = m.fit.map(|f| f.text).unwrap_or_default();
        println!("{mark} {from}\t{}\t{arch}\t{:.1} MB\t{fit}\t{}", m.name, m.size as f64 / 1e6, m.path.display());
    }
    Ok(())
}

/// Checks that the model loads as far as its header, then records it in the
/// settings the app reads; the app loads it on its next start or switch.
fn use_model(what: &str, json: bool) -> anyhow::Result<PathBuf> {
    let path = std::fs::canonicalize(Library::from_env().resolve(what)?)?;
    cmdbar_models::read_header(&path).map_err(anyhow::Error::msg)?;
    let file = cmdbar_settings::settings_path();
    let loaded = cmdbar_settings::Settings::load(&file);
    if let Some(n) = loaded.notice {
        eprintln!("{n}");
    }
    let mut s = loaded.value;
    s.active_model = Some(path.clone());
    s.save(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if !json {
        println!("{}", path.display());
    }
    Ok(path)
}
