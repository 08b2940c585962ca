//! One request, answered by the running app's warm engine when it serves
//! (`cmdbar_socket`), else by a model loaded here, or by a server when one
//! is given (`--server`); printed as text, JSON,
//! the command alone, or lines for the shell widget.
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cmdbar_safety::{Action, Risk};
use cmdbar_socket::{Client, ClientError, ErrorKind};
use cmdbar_suggest::{Candidate, Context, Options, SuggestError};
use serde::Serialize;

use crate::load::{start, ModelArgs};

#[derive(Clone, Copy, PartialEq)]
pub enum Output {
    Text,
    Json,
    /// The best command alone.
    Raw,
    /// `risk<TAB>command<TAB>reason` per candidate.
    Lines,
}

impl Output {
    pub fn pick(json: bool, raw: bool, lines: bool) -> Self {
        match (json, raw, lines) {
            (true, _, _) => Output::Json,
            (_, true, _) => Output::Raw,
            (_, _, true) => Output::Lines,
            _ => Output::Text,
        }
    }
}

/// Colour for text output: on a terminal unless `NO_COLOR` is set
/// (no-color.org), or as `--color` says.
#[derive(Clone, Copy, Debug, PartialEq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
            }
        }
    }
}

/// Where the answer came from: the running app (or `cmdbar serve`), a
/// model loaded by this process, or a server (`--server`).
#[derive(Serialize, Clone, Copy, PartialEq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    App,
    Here,
    Server,
}

/// How a request is answered and shown.
pub struct Ask<'a> {
    pub model: &'a ModelArgs,
    pub ctx: Context,
    pub opts: Options,
    pub output: Output,
    pub color: ColorChoice,
    /// Never ask the running app.
    pub no_app: bool,
    /// A command left out of the answer: the failed one, for `fix`.
    pub not: Option<String>,
    /// Ask this server; neither the app nor a local model is used.
    pub server: Option<cmdbar_remote::RemoteConfig>,
}

struct Answer {
    candidates: Vec<Candidate>,
    hidden: usize,
    notices: Vec<String>,
    timings: cmdbar_engine::Timings,
    model: String,
    model_path: PathBuf,
    load_ms: u64,
    source: Source,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    candidates: &'a [Candidate],
    hidden: usize,
    notices: &'a [String],
    model: &'a str,
    model_path: &'a Path,
    /// `app` when the running app answered, `here` when this process did.
    served_by: Source,
    timings: JsonTimings<'a>,
}

#[derive(Serialize)]
struct JsonTimings<'a> {
    load_ms: u64,
    #[serde(flatten)]
    request: &'a cmdbar_engine::Timings,
}

/// Prints each candidate as it arrives, in text output.
struct Printer {
    on: bool,
    not: Option<String>,
    color: bool,
    shown: usize,
    /// Rows printed without an explanation: (their number, the command).
    unexplained: Vec<(usize, String)>,
}

impl Printer {
    fn print(&mut self, c: &Candidate) {
        if !self.on || self.not.as_deref().is_some_and(|n| cmdbar_suggest::fix::is_same(&c.command, n)) {
            return;
        }
        self.shown += 1;
        let confirm = if c.action == Action::Confirm { ", confirm before use" } else { "" };
        let (on, off) = if self.color { (badge_colour(c.risk), "\x1b[0m") } else { ("", "") };
        println!("{}. {}\n   {on}[{}{confirm}]{off} {}", self.shown, c.command, c.risk.as_str(), c.explanation);
        if c.explanation.is_empty() {
            self.unexplained.push((self.shown, c.command.clone()));
        }
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

    /// The explanations written after the rows were printed, by row number.
    fn late(&self, out: &[Candidate]) {
        for (n, command) in &self.unexplained {
            if let Some(c) = out.iter().find(|c| &c.command == command && !c.explanation.is_empty()) {
                println!("{n}: {}", c.explanation);
            }
        }
    }
}

fn badge_colour(r: Risk) -> &'static str {
    match r {
        Risk::Safe => "\x1b[32m",
        Risk::Moderate => "\x1b[33m",
        Risk::High => "\x1b[31m",
        Risk::Critical => "\x1b[1;31m",
    }
}

impl Ask<'_> {
    pub fn run(&self, query: &str) -> anyhow::Result<()> {
        // Refuse a bad request before paying for anything.
        cmdbar_suggest::check_query(query)?;
        let text = self.output == Output::Text;
        let mut printer = Printer {
            on: text,
            not: self.not.clone(),
            color: text && self.color.enabled(),
            shown: 0,
            unexplained: vec![],
        };
        let mut answer = match &self.server {
            Some(server) => self.ask_server(server.clone(), query, &mut printer)?,
            None => match self.via_app(query, &mut printer)? {
                Some(a) => a,
                None => self.here(query, &mut printer)?,
            },
        };
        if let Some(n) = &self.not {
            answer.candidates.retain(|c| !cmdbar_suggest::fix::is_same(&c.command, n));
        }
        printer.late(&answer.candidates);
        self.show(&answer)
    }

    /// The app's answer; None when no app answers, or it can't (another
    /// protocol, no model yet, another model asked for, quit before a
    /// word), so the caller loads the model itself.
    fn via_app(&self, query: &str, printer: &mut Printer) -> anyhow::Result<Option<Answer>> {
        if self.no_app || std::env::var_os("CMDBAR_NO_APP").is_some_and(|v| !v.is_empty()) {
            return Ok(None);
        }
        let note = |e: &dyn std::fmt::Display| tracing::info!("not through the app: {e}");
        let client = match Client::connect(&cmdbar_socket::socket_path()) {
            Ok(c) => c,
            Err(ClientError::NotServing(_)) => return Ok(None),
            Err(e) => {
                eprintln!("note: {e}; loading the model here");
                return Ok(None);
            }
        };
        let Some(serving) = client.model_path().map(Path::to_path_buf) else {
            note(&"the app has no model loaded yet");
            return Ok(None);
        };
        if let Some(wanted) = crate::load::explicit_model(&self.model.model) {
            if !same_file(&wanted, &serving) {
                note(&format!("{} asked for, the app has {}", wanted.display(), serving.display()));
                return Ok(None);
            }
        }
        match client.suggest(query, &self.ctx, &self.opts, |c| printer.print(c)) {
            Ok(a) => Ok(Some(Answer {
                candidates: a.candidates,
                hidden: a.hidden,
                notices: a.notices,
                timings: a.timings,
                model: a.model,
                model_path: a.model_path,
                load_ms: 0,
                source: Source::App,
            })),
            // Nothing printed yet: the answer can still come from here.
            Err(ClientError::Gone { .. }) if printer.shown == 0 => {
                eprintln!("note: the app quit mid-request; loading the model here");
                Ok(None)
            }
            Err(ClientError::Server { kind: ErrorKind::NotReady, message }) => {
                note(&message);
                Ok(None)
            }
            Err(ClientError::Server { kind, message }) => Err(match kind {
                ErrorKind::Request => SuggestError::NotARequest(message).into(),
                ErrorKind::NoCommand => SuggestError::NoCommand.into(),
                ErrorKind::Cancelled => SuggestError::Cancelled.into(),
                _ => anyhow::Error::new(cmdbar_engine::EngineError::Inference(message)),
            }),
            Err(e) => Err(e.into()),
        }
    }

    fn here(&self, query: &str, printer: &mut Printer) -> anyhow::Result<Answer> {
        let (engine, info) = start(self.model)?;
        let examples = (self.opts.examples > 0).then(|| cmdbar_suggest::examples::Examples::load(&self.ctx)).flatten();
        let prepared = cmdbar_suggest::prepare_with(&self.ctx, query, &self.opts, &info, examples.as_ref())?;
        let s = cmdbar_suggest::suggest(&engine, prepared, |c| printer.print(c))?;
        Ok(Answer {
            candidates: s.candidates,
            hidden: s.hidden,
            notices: s.notices,
            timings: s.timings,
            model: info.name,
            model_path: info.path,
            load_ms: info.load_ms,
            source: Source::Here,
        })
    }

    fn ask_server(
        &self,
        config: cmdbar_remote::RemoteConfig,
        query: &str,
        printer: &mut Printer,
    ) -> anyhow::Result<Answer> {
        let remote = cmdbar_remote::Remote::new(config)?;
        let info = remote.info().clone();
        let examples = (self.opts.examples > 0).then(|| cmdbar_suggest::examples::Examples::load(&self.ctx)).flatten();
        let prepared = cmdbar_suggest::prepare_with(&self.ctx, query, &self.opts, &info, examples.as_ref())?;
        let s = cmdbar_suggest::suggest(&remote, prepared, |c| printer.print(c))?;
        Ok(Answer {
            candidates: s.candidates,
            hidden: s.hidden,
            notices: s.notices,
            timings: s.timings,
            model: info.name,
            // The server's address: there is no file here.
            model_path: info.path,
            load_ms: 0,
            source: Source::Server,
        })
    }

    fn show(&self, out: &Answer) -> anyhow::Result<()> {
        match self.output {
            Output::Lines => {
                // A command of several lines (or with a tab) cannot be one line.
                let one_line = |t: &str| !t.contains(['\n', '\r', '\t']);
                let shown: Vec<_> = out.candidates.iter().filter(|c| one_line(&c.command)).collect();
                if shown.is_empty() {
                    return Err(SuggestError::NoCommand.into());
                }
                for c in shown {
                    println!("{}\t{}\t{}", c.risk.as_str(), c.command, c.risk_reason.replace(['\n', '\t'], " "));
                }
            }
            // The best after ranking; nothing when every candidate was hidden.
            Output::Raw => match out.candidates.first() {
                Some(c) => {
                    if c.risk >= Risk::High {
                        eprintln!("cmdbar: {} risk: {}", c.risk.as_str(), c.risk_reason);
                    }
                    println!("{}", c.command)
                }
                None => return Err(SuggestError::NoCommand.into()),
            },
            Output::Json => {
                let j = JsonOut {
                    candidates: &out.candidates,
                    hidden: out.hidden,
                    notices: &out.notices,
                    model: &out.model,
                    model_path: &out.model_path,
                    served_by: out.source,
                    timings: JsonTimings { load_ms: out.load_ms, request: &out.timings },
                };
                println!("{}", serde_json::to_string(&j).context("serialising the answer")?);
            }
            Output::Text => {
                for n in &out.notices {
                    eprintln!("note: {n}");
                }
                if out.candidates.is_empty() && out.hidden == 0 {
                    return Err(SuggestError::NoCommand.into());
                }
            }
        }
        Ok(())
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
