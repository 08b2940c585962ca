//! `cmdbar`: the same core as the app, on the command line.
//!
//! Exit codes: 0 success; 2 bad usage or a bad request (empty, not a task,
//! an unparseable command to explain);
//! 3 the model file is missing, not GGUF, corrupt or unsupported;
//! 4 inference failed; 5 the model gave no usable command; 6 a download
//! failed (not found, refused, network, checksum, disk space).
mod bench;
mod init;
mod models;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use cmdbar_engine::{DevicePreference, Engine, EngineConfig, EngineError, ModelInfo};
use cmdbar_safety::{Action, Level, Risk};
use cmdbar_suggest::{Context, Options, Os, Shell, SuggestError};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "cmdbar",
    version,
    about = "Plain words in, shell commands out, from a model on your machine.",
    after_help = cmdbar_tldr::ATTRIBUTION
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct ModelArgs {
    /// GGUF model file [default: $CMDBAR_MODEL, else Qwen2.5-Coder-1.5B-Instruct Q4_K_M in the model cache]
    #[arg(long, short)]
    model: Option<PathBuf>,
    /// auto, cpu, cuda or metal
    #[arg(long, default_value = "auto")]
    device: DevicePreference,
    /// Context window in tokens, capped at the model's own; bounds memory.
    #[arg(long, default_value_t = 4096)]
    context: usize,
}

/// The machine the command is for: shared by `suggest`, `batch`, `explain`.
#[derive(clap::Args)]
struct TargetArgs {
    /// zsh, bash, fish or sh [default: from $SHELL]
    #[arg(long)]
    shell: Option<Shell>,
    /// Target system: macos or linux [default: this one]
    #[arg(long, value_parser = parse_os)]
    os: Option<Os>,
    /// The directory the command will run in [default: this one]
    #[arg(long)]
    cwd: Option<PathBuf>,
}

impl TargetArgs {
    fn context(&self) -> Context {
        let mut ctx = Context::detect();
        ctx.shell = self.shell.unwrap_or(ctx.shell);
        ctx.os = self.os.unwrap_or(ctx.os);
        ctx.cwd = self.cwd.clone().or_else(|| std::env::current_dir().ok());
        ctx
    }
}

/// How to ask: shared by `suggest` and `batch`.
#[derive(clap::Args)]
struct AskArgs {
    /// How many distinct candidates to ask for.
    #[arg(long, short = 'n', default_value_t = 3)]
    candidates: usize,
    #[command(flatten)]
    target: TargetArgs,
    /// strict, moderate or permissive: what is shown, confirmed or hidden.
    #[arg(long, default_value = "moderate")]
    safety: Level,
    /// Temperature of the candidates after the first (which is greedy).
    #[arg(long, default_value_t = 0.7)]
    temperature: f32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Worked examples from the tldr pages (`cmdbar tldr update`) put into
    /// the prompt, at most; 0 for none.
    #[arg(long, default_value_t = 3)]
    examples: usize,
}

impl AskArgs {
    fn context(&self) -> Context {
        self.target.context()
    }

    fn options(&self, max_tokens: usize) -> Options {
        Options {
            candidates: self.candidates,
            temperature: self.temperature,
            seed: self.seed,
            max_tokens,
            safety: self.safety,
            examples: self.examples,
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Suggest shell commands for a request in plain words.
    Suggest {
        /// What you want to do, in words, quoted or not: `cmdbar suggest
        /// find big files here`. With none, the request is read from stdin.
        query: Vec<String>,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        ask: AskArgs,
        /// Print one JSON object instead of text.
        #[arg(long, conflicts_with = "raw")]
        json: bool,
        /// Print the best command alone, for scripts.
        #[arg(long, conflicts_with = "lines")]
        raw: bool,
        /// One candidate a line, ranked: its risk, a tab, the command, a
        /// tab, the risk's reason (for the shell widget, `cmdbar init`).
        #[arg(long, conflicts_with = "json")]
        lines: bool,
        #[arg(long, default_value_t = 96)]
        max_tokens: usize,
    },
    /// Answer many requests on one loaded model: JSON lines {"id", "query"}
    /// on stdin, one JSON line {"id", "candidates", "timings"} or
    /// {"id", "error"} per request on stdout.
    Batch {
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        ask: AskArgs,
        /// Don't compute the prompt's fixed start right after the load (as
        /// the app does), so the first request pays for it: for measuring.
        #[arg(long)]
        no_warm_up: bool,
    },
    /// Describe an existing command piece by piece, with its risk.
    Explain {
        /// The command, quoted as one argument.
        command: String,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        target: TargetArgs,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Get and list models.
    Models(models::ModelsArgs),
    /// Print the shell widget for the rc file: `eval "$(cmdbar init zsh)"`.
    /// Its key (default Ctrl+G) turns the words on the prompt line into a
    /// command, ready to edit; pressed again, the next one.
    Init {
        shell: init::InitShell,
        /// ctrl-<letter> or alt-<letter>
        #[arg(long, default_value = "ctrl-g")]
        key: String,
    },
    /// The tldr pages, whose examples go into the prompt.
    #[command(subcommand)]
    Tldr(TldrCommand),
    /// Measure load time, prefill and decode speed, and time to a command.
    Bench(bench::BenchArgs),
    /// Many back-to-back requests with cancellations; reports memory, thread
    /// and open-file growth (a soak test for long sessions).
    Soak(bench::SoakArgs),
}

#[derive(Subcommand)]
enum TldrCommand {
    /// Download the pages (upstream's tldr-pages.en.zip) into the cache.
    Update {
        /// The archive's URL or a local path [default: $CMDBAR_TLDR_URL, else upstream's]
        #[arg(long)]
        url: Option<String>,
    },
    /// Where the pages come from, when, and how many examples they hold.
    Status,
    /// The examples a request would get.
    Search {
        query: Vec<String>,
        #[arg(long, value_parser = parse_os)]
        os: Option<Os>,
        #[arg(long, short = 'n', default_value_t = 3)]
        examples: usize,
    },
}

fn tldr(cmd: TldrCommand) -> anyhow::Result<()> {
    let store = cmdbar_tldr::Store::from_env();
    match cmd {
        TldrCommand::Update { url } => {
            let url = url.unwrap_or_else(cmdbar_tldr::Store::url_from_env);
            match store.update(&url)? {
                cmdbar_tldr::Updated::Fetched { examples } => {
                    println!("{examples} examples from {url} in {}", store.path().display())
                }
                cmdbar_tldr::Updated::Unchanged => println!("the pages at {url} have not changed"),
            }
        }
        TldrCommand::Status => match store.load()? {
            Some(d) => println!(
                "{} examples from {}, fetched {} s ago, in {}",
                d.examples.len(),
                d.source,
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |n| n.as_secs().saturating_sub(d.fetched_at)),
                store.path().display()
            ),
            None => println!("no pages yet: `cmdbar tldr update` downloads them"),
        },
        TldrCommand::Search { query, os, examples } => {
            let mut ctx = Context::detect();
            ctx.os = os.unwrap_or(ctx.os);
            let Some(ex) = cmdbar_suggest::examples::Examples::load(&ctx) else {
                anyhow::bail!("no pages yet: `cmdbar tldr update` downloads them");
            };
            for e in ex.for_query(&query.join(" "), examples) {
                println!("{}: {}", e.description, e.command);
            }
        }
    }
    Ok(())
}

fn parse_os(s: &str) -> Result<Os, String> {
    match s {
        "macos" => Ok(Os::MacOs),
        "linux" => Ok(Os::Linux),
        _ => Err(format!("unknown OS '{s}' (macos, linux)")),
    }
}

/// The model path from the flag, else `$CMDBAR_MODEL`, else the active
/// model (`cmdbar models use`, or the app's choice), else the default
/// model wherever it is installed; None when there is none.
fn model_path(arg: &Option<PathBuf>) -> Option<PathBuf> {
    if let Some(p) = arg.clone().or_else(|| std::env::var_os("CMDBAR_MODEL").map(PathBuf::from)) {
        return Some(p);
    }
    let active = cmdbar_settings::Settings::load(&cmdbar_settings::settings_path()).value.active_model;
    active.or_else(cmdbar_models::default_model_path)
}

/// No model to load, and what to run about it.
#[derive(Debug, thiserror::Error)]
#[error(
    "no model is installed; download the default one with `cmdbar models pull {id}` ({size:.1} GB), \
     or give one with --model FILE.gguf"
)]
pub struct NoModel {
    id: &'static str,
    size: f64,
}

impl NoModel {
    pub fn new() -> Self {
        let d = cmdbar_models::catalog::default_entry();
        Self { id: &d.id, size: d.size as f64 / 1e9 }
    }
}

/// Spawns the engine thread and loads the model on it.
pub fn start(args: &ModelArgs) -> anyhow::Result<(Engine, ModelInfo)> {
    let path = model_path(&args.model).ok_or_else(NoModel::new)?;
    let engine = Engine::spawn(EngineConfig { device: args.device, max_context: args.context });
    let info = engine.load(&path).recv().map_err(|_| EngineError::Disconnected)?.map_err(|e| match e {
        // The chosen or default file is gone: say how to get one.
        EngineError::NotFound(p) => anyhow::Error::new(EngineError::NotFound(p))
            .context(format!("download the default model with `cmdbar models pull {}`", NoModel::new().id)),
        e => e.into(),
    })?;
    Ok((engine, info))
}

#[derive(Serialize)]
struct JsonOut<'a> {
    candidates: &'a [cmdbar_suggest::Candidate],
    hidden: usize,
    notices: &'a [String],
    model: &'a str,
    model_path: &'a std::path::Path,
    timings: JsonTimings<'a>,
}

#[derive(Serialize)]
struct JsonTimings<'a> {
    load_ms: u64,
    #[serde(flatten)]
    request: &'a cmdbar_engine::Timings,
}

fn exit_code(e: &anyhow::Error) -> u8 {
    if let Some(e) = e.downcast_ref::<SuggestError>() {
        return match e {
            SuggestError::EmptyQuery
            | SuggestError::NotARequest(_)
            | SuggestError::ContextTooSmall { .. }
            | SuggestError::EmptyCommand
            | SuggestError::CommandTooLong { .. }
            | SuggestError::BadCommand(_) => 2,
            SuggestError::NoCommand | SuggestError::Cancelled => 5,
            SuggestError::Engine(e) => engine_code(e),
        };
    }
    if e.downcast_ref::<cmdbar_models::ModelsError>().is_some() {
        return 6;
    }
    if e.downcast_ref::<NoModel>().is_some() {
        return 3;
    }
    e.downcast_ref::<EngineError>().map(engine_code).unwrap_or(1)
}

fn engine_code(e: &EngineError) -> u8 {
    use EngineError::*;
    match e {
        EmptyPrompt | ContextOverflow { .. } => 2,
        NotFound(_)
        | Io { .. }
        | NotGguf { .. }
        | Corrupt { .. }
        | UnsupportedArchitecture(_)
        | UnsupportedQuantization { .. }
        | Tokenizer(_)
        | Template(_) => 3,
        NoModel | Inference(_) | Disconnected | Crashed(_) => 4,
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CMDBAR_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Suggest { query, model, ask, json, raw, lines, max_tokens } => match request(query) {
            Ok(q) => suggest(&q, &model, ask.context(), ask.options(max_tokens), Output::pick(json, raw, lines)),
            Err(e) => Err(e),
        },
        Command::Batch { model, ask, no_warm_up } => {
            batch(&model, ask.context(), ask.options(Options::default().max_tokens), !no_warm_up)
        }
        Command::Explain { command, model, target, json } => explain(&command, &model, target.context(), json),
        Command::Models(cmd) => models::run(cmd),
        Command::Tldr(cmd) => tldr(cmd),
        Command::Init { shell, key } => std::env::current_exe()
            .map_err(anyhow::Error::from)
            .and_then(|exe| init::snippet(shell, &key, &exe.to_string_lossy()))
            .map(|s| print!("{s}")),
        Command::Bench(args) => bench::run(args),
        Command::Soak(args) => bench::soak(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmdbar: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

#[derive(serde::Deserialize)]
struct BatchIn {
    id: serde_json::Value,
    query: String,
}

fn batch(model: &ModelArgs, ctx: Context, opts: Options, warm_up: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, Write};
    let (engine, info) = start(model)?;
    let examples = (opts.examples > 0).then(|| cmdbar_suggest::examples::Examples::load(&ctx)).flatten();
    // As the app does after a load: the fixed prompt start is computed
    // while the first request is being read.
    if warm_up {
        drop(cmdbar_suggest::warm_up(&engine, &ctx));
    }
    let stdout = std::io::stdout();
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        if line.trim().is_empty() {
            continue;
        }
        // A bad line gets an error line of its own; the batch goes on.
        let out = match serde_json::from_str::<BatchIn>(&line) {
            Err(e) => serde_json::json!({
                "id": null, "line": n + 1,
                "error": format!("expected {{\"id\", \"query\"}}: {e}"),
            }),
            Ok(input) => {
                let result = cmdbar_suggest::prepare_with(&ctx, &input.query, &opts, &info, examples.as_ref())
                    .and_then(|r| cmdbar_suggest::suggest(&engine, r, |_| {}));
                match result {
                    Ok(s) => serde_json::json!({
                        "id": input.id, "candidates": s.candidates, "hidden": s.hidden,
                        "notices": s.notices, "timings": s.timings,
                    }),
                    Err(e) => serde_json::json!({"id": input.id, "error": e.to_string()}),
                }
            }
        };
        let mut w = stdout.lock();
        writeln!(w, "{out}")?;
        w.flush()?;
    }
    Ok(())
}

/// The request from the words given, else from stdin (a pipe or a file).
fn request(words: Vec<String>) -> anyhow::Result<String> {
    use std::io::{IsTerminal, Read};
    if !words.is_empty() {
        return Ok(words.join(" "));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Err(SuggestError::EmptyQuery.into());
    }
    let mut q = String::new();
    // A request is short; more than this is not one.
    stdin.lock().take(64 << 10).read_to_string(&mut q).context("reading the request from stdin")?;
    Ok(q.trim().to_string())
}

#[derive(Clone, Copy, PartialEq)]
enum Output {
    Text,
    Json,
    /// The best command alone.
    Raw,
    /// `risk<TAB>command<TAB>reason` per candidate.
    Lines,
}

impl Output {
    fn pick(json: bool, raw: bool, lines: bool) -> Self {
        match (json, raw, lines) {
            (true, _, _) => Output::Json,
            (_, true, _) => Output::Raw,
            (_, _, true) => Output::Lines,
            _ => Output::Text,
        }
    }
}

fn suggest(query: &str, model: &ModelArgs, ctx: Context, opts: Options, output: Output) -> anyhow::Result<()> {
    let json = output != Output::Text;
    // Refuse a bad request before paying for a model load.
    cmdbar_suggest::check_query(query)?;
    let (engine, info) = start(model)?;
    let examples = (opts.examples > 0).then(|| cmdbar_suggest::examples::Examples::load(&ctx)).flatten();
    let prepared = cmdbar_suggest::prepare_with(&ctx, query, &opts, &info, examples.as_ref())?;
    if !json {
        for n in &prepared.notices {
            eprintln!("note: {n}");
        }
    }
    let mut shown = 0;
    let out = cmdbar_suggest::suggest(&engine, prepared, |c| {
        if !json {
            shown += 1;
            let confirm = if c.action == Action::Confirm { ", confirm before use" } else { "" };
            println!("{shown}. {}\n   [{}{confirm}] {}", c.command, c.risk.as_str(), c.explanation);
            if c.risk > Risk::Safe {
                println!("   risk: {}", c.risk_reason);
            }
            if let Some(s) = &c.safer {
                println!("   safer first: {s}");
            }
            if let Some(p) = &c.portability {
                println!("   may not run here: {p}");
            }
        }
    })?;
    if output == Output::Lines {
        // A command of several lines (or with a tab) cannot be one line.
        let one_line = |t: &str| !t.contains(['\n', '\r', '\t']);
        let shown: Vec<_> = out.candidates.iter().filter(|c| one_line(&c.command)).collect();
        if shown.is_empty() {
            return Err(SuggestError::NoCommand.into());
        }
        for c in shown {
            println!("{}\t{}\t{}", c.risk.as_str(), c.command, c.risk_reason.replace(['\n', '\t'], " "));
        }
    } else if output == Output::Raw {
        // The best after ranking; nothing when every candidate was hidden.
        match out.candidates.first() {
            Some(c) => {
                if c.risk >= Risk::High {
                    eprintln!("cmdbar: {} risk: {}", c.risk.as_str(), c.risk_reason);
                }
                println!("{}", c.command)
            }
            None => return Err(SuggestError::NoCommand.into()),
        }
    } else if json {
        let j = JsonOut {
            candidates: &out.candidates,
            hidden: out.hidden,
            notices: &out.notices,
            model: &info.name,
            model_path: &info.path,
            timings: JsonTimings { load_ms: info.load_ms, request: &out.timings },
        };
        println!("{}", serde_json::to_string(&j).context("serialising the answer")?);
    } else if out.hidden > 0 {
        eprintln!("note: {}", out.notices.last().map(String::as_str).unwrap_or_default());
    }
    Ok(())
}

fn explain(command: &str, model: &ModelArgs, ctx: Context, json: bool) -> anyhow::Result<()> {
    if command.trim().is_empty() {
        return Err(SuggestError::EmptyCommand.into());
    }
    cmdbar_safety::parts(command).map_err(SuggestError::BadCommand)?;
    let (engine, info) = start(model)?;
    let e = cmdbar_suggest::explain::explain(&engine, &ctx, command, &info)?;
    if json {
        println!("{}", serde_json::to_string(&e).context("serialising the answer")?);
        return Ok(());
    }
    println!("{}", e.command);
    for p in &e.pieces {
        if p.meaning.is_empty() {
            println!("  {}", p.part);
        } else {
            println!("  {}  — {}", p.part, p.meaning);
        }
    }
    if !e.summary.is_empty() {
        println!("{}", e.summary);
    }
    println!("[{}] {}", e.risk.as_str(), e.risk_reason);
    if let Some(s) = &e.safer {
        println!("safer first: {s}");
    }
    if let Some(p) = &e.portability {
        println!("may not run here: {p}");
    }
    Ok(())
}
