//! `cmdbar`: the same core as the app, on the command line.
//!
//! Exit codes: 0 success; 2 bad usage or a bad request (empty, not a task,
//! an unparseable command to explain);
//! 3 the model file is missing, not GGUF, corrupt or unsupported;
//! 4 inference failed (or the server did); 5 the model gave no usable command; 6 a download
//! failed (not found, refused, network, checksum, disk space).
mod ask;
mod bench;
mod init;
mod load;
mod models;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use cmdbar_engine::EngineError;
use cmdbar_safety::Level;
use cmdbar_suggest::{Context, Options, Os, Shell, SuggestError};
use load::{start, ModelArgs, NoModel, ServerArgs};

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

/// How an answer is shown: shared by `suggest` and `fix`.
#[derive(clap::Args)]
struct ShowArgs {
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
    /// Colour the risk in text output: auto (on a terminal, unless
    /// $NO_COLOR is set), always or never.
    #[arg(long, value_enum, default_value = "auto")]
    color: ask::ColorChoice,
    /// Load the model here even when the running app could answer.
    #[arg(long)]
    no_app: bool,
}

impl ShowArgs {
    /// The request's asker; `not`: a command left out (the failed one).
    fn ask<'a>(&self, model: &'a ModelArgs, ask: &AskArgs, max_tokens: usize, not: Option<String>) -> ask::Ask<'a> {
        ask::Ask {
            model,
            ctx: ask.context(),
            opts: ask.options(max_tokens),
            output: ask::Output::pick(self.json, self.raw, self.lines),
            color: self.color,
            no_app: self.no_app,
            not,
            server: None,
        }
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
    /// Decode the candidates one after another instead of together (for
    /// comparisons; the output is the same).
    #[arg(long, hide = true)]
    sequential: bool,
    /// Completions drawn to choose the candidates from (at least
    /// --candidates): agreement among more of them ranks better.
    #[arg(long, default_value_t = Options::default().pool)]
    pool: usize,
    /// Decode one token at a time, without checking tokens drafted from the
    /// prompt (for comparisons; the output is the same).
    #[arg(long, hide = true)]
    no_drafts: bool,
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
            sequential: self.sequential,
            pool: self.pool,
            speculate: !self.no_drafts,
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
        server: ServerArgs,
        #[command(flatten)]
        ask: AskArgs,
        #[arg(long, default_value_t = 96)]
        max_tokens: usize,
        #[command(flatten)]
        show: ShowArgs,
    },
    /// Suggest a fix for the last command: by default the one the shell
    /// hook of `cmdbar init` recorded ($CMDBAR_LAST_COMMAND, with its exit
    /// status in $CMDBAR_LAST_STATUS). The widget's key on an empty line
    /// does the same.
    Fix {
        /// The command to fix [default: $CMDBAR_LAST_COMMAND]
        #[arg(long)]
        command: Option<String>,
        /// Its exit status [default: $CMDBAR_LAST_STATUS]
        #[arg(long, allow_negative_numbers = true)]
        status: Option<i32>,
        /// The end of its error output, if you have it.
        #[arg(long)]
        error: Option<String>,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        server: ServerArgs,
        #[command(flatten)]
        ask: AskArgs,
        #[command(flatten)]
        show: ShowArgs,
    },
    /// Keep a model loaded and answer `cmdbar` and the shell widget from it
    /// over a local socket, as the running app does.
    Serve {
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Print shell completions: `cmdbar completions zsh > ~/.zfunc/_cmdbar`.
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff): `cmdbar man > ~/.local/share/man/man1/cmdbar.1`.
    Man,
    /// Answer many requests on one loaded model: JSON lines {"id", "query",
    /// "cwd"?} on stdin, one JSON line {"id", "candidates", "timings"} or
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
        Remote(r) => match r.kind {
            cmdbar_engine::error::RemoteKind::BadUrl | cmdbar_engine::error::RemoteKind::Unsupported => 2,
            _ => 4,
        },
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("CMDBAR_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Suggest { query, model, server, ask, max_tokens, show } => request(query).and_then(|q| {
            let mut a = show.ask(&model, &ask, max_tokens, None);
            a.server = server.config(&model);
            a.run(&q)
        }),
        Command::Fix { command, status, error, model, server, ask, show } => fix(command, status, error.as_deref())
            .and_then(|(q, failed)| {
                let mut a = show.ask(&model, &ask, Options::default().max_tokens, Some(failed));
                a.server = server.config(&model);
                a.run(&q)
            }),
        Command::Serve { model } => serve::run(&model),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "cmdbar",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(<Cli as clap::CommandFactory>::command())
            .render(&mut std::io::stdout())
            .map_err(Into::into),
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
    /// The folder this request's command will run in [default: --cwd].
    #[serde(default)]
    cwd: Option<PathBuf>,
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
                let mut ctx = ctx.clone();
                ctx.cwd = input.cwd.or(ctx.cwd);
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

/// The request for `cmdbar fix` and the failed command, from the flags,
/// else from what the shell hook recorded.
fn fix(command: Option<String>, status: Option<i32>, error: Option<&str>) -> anyhow::Result<(String, String)> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let from_hook = command.is_none();
    let Some(command) = command.or_else(|| env("CMDBAR_LAST_COMMAND")) else {
        return Err(SuggestError::NotARequest(
            "no last command to fix: give it with --command, or add the shell hook, \
             `eval \"$(cmdbar init zsh)\"` (or bash, fish), to your shell's rc file"
                .into(),
        )
        .into());
    };
    let status = status.or_else(|| if from_hook { env("CMDBAR_LAST_STATUS")?.trim().parse().ok() } else { None });
    Ok((cmdbar_suggest::fix::request(&command, status, error), command))
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
