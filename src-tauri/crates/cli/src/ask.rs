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
    /// The commands printed, in the order printed: row n is `printed[n - 1]`.
    printed: Vec<String>,
    /// The numbers of rows printed without an explanation.
    unexplained: Vec<usize>,
}

impl Printer {
    fn new(on: bool, not: Option<String>, color: bool) -> Self {
        Printer { on, not, color, printed: vec![], unexplained: vec![] }
    }

    fn print(&mut self, c: &Candidate) {
        if let Some(row) = self.row(c) {
            print!("{row}");
        }
    }

    /// A candidate's lines, numbered after the rows printed; None when it
    /// is not printed (not text output, the command `--not` names, one
    /// whose explanation is still to come, or one printed already: a row is
    /// printed once, and an explanation it gets later goes in `finish`).
    fn row(&mut self, c: &Candidate) -> Option<String> {
        if !self.on
            || c.pending
            || self.printed.contains(&c.command)
            || self.not.as_deref().is_some_and(|n| cmdbar_suggest::fix::is_same(&c.command, n))
        {
            return None;
        }
        self.printed.push(c.command.clone());
        let n = self.printed.len();
        if c.explanation.is_empty() {
            self.unexplained.push(n);
        }
        let confirm = if c.action == Action::Confirm { ", confirm before use" } else { "" };
        let (on, off) = if self.color { (badge_colour(c.risk), "\x1b[0m") } else { ("", "") };
        let mut s = format!("{n}. {}\n   {on}[{}{confirm}]{off} {}\n", c.command, c.risk.as_str(), c.explanation);
        if c.risk > Risk::Safe {
            s.push_str(&format!("   risk: {}\n", c.risk_reason));
        }
        if let Some(safer) = &c.safer {
            s.push_str(&format!("   safer first: {safer}\n"));
        }
        if let Some(p) = &c.portability {
            s.push_str(&format!("   may not run here: {p}\n"));
        }
        Some(s)
    }

    /// What the final answer adds to the rows printed as they came: the
    /// explanations written since (`N: …`), rows the ranking took in that
    /// were not printed, and the ranked order when it is not the order
    /// printed (a printed row missing from it was ranked out).
    fn finish(&mut self, out: &[Candidate]) -> String {
        if !self.on {
            return String::new();
        }
        let mut s = String::new();
        for &n in &self.unexplained {
            let command = &self.printed[n - 1];
            if let Some(c) = out.iter().find(|c| &c.command == command && !c.explanation.is_empty()) {
                s.push_str(&format!("{n}: {}\n", c.explanation));
            }
        }
        let mut order = Vec::with_capacity(out.len());
        for c in out {
            if let Some(i) = self.printed.iter().position(|p| *p == c.command) {
                order.push(i + 1);
            } else if let Some(row) = self.row(c) {
                s.push_str(&row);
                order.push(self.printed.len());
            }
        }
        if !order.iter().copied().eq(1..=self.printed.len()) {
            let list: Vec<String> = order.iter().map(ToString::to_string).collect();
            s.push_str(&format!("ranked: {} (best first)\n", list.join(", ")));
        }
        s
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
        let mut printer = Printer::new(text, self.not.clone(), text && self.color.enabled());
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
        print!("{}", printer.finish(&answer.candidates));
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
            Err(ClientError::Gone { .. }) if printer.printed.is_empty() => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(command: &str, explanation: &str) -> Candidate {
        Candidate {
            command: command.into(),
            explanation: explanation.into(),
            risk: Risk::Safe,
            risk_reason: "reads only; changes nothing".into(),
            action: Action::Show,
            safer: None,
            portability: None,
            score: -0.1,
            votes: 1,
            pending: false,
        }
    }

    #[test]
    fn a_late_explanation_is_printed_under_its_row_number() {
        let mut p = Printer::new(true, None, false);
        assert_eq!(p.row(&cand("ls -1", "One per line.")).unwrap(), "1. ls -1\n   [safe] One per line.\n");
        p.row(&cand("du -sh .", ""));
        let out = [cand("ls -1", "One per line."), cand("du -sh .", "Shows the folder's size.")];
        assert_eq!(p.finish(&out), "2: Shows the folder's size.\n", "same rows, same order: no ranked line");
    }

    #[test]
    fn a_new_order_and_a_row_ranked_in_are_printed() {
        let mut p = Printer::new(true, None, false);
        for c in ["ls", "ls -1", "du -sh ."] {
            p.row(&cand(c, "x"));
        }
        // `ls -1` was ranked out as a near-copy; a later answer took its place.
        let out = [cand("du -sh .", "x"), cand("ls", "x"), cand("find . -maxdepth 1", "Finds.")];
        assert_eq!(p.finish(&out), "4. find . -maxdepth 1\n   [safe] Finds.\nranked: 3, 1, 4 (best first)\n");
    }

    #[test]
    fn other_outputs_and_the_excluded_command_print_nothing() {
        let mut p = Printer::new(true, None, false);
        assert!(p.row(&Candidate { pending: true, ..cand("ls", "") }).is_none(), "printed once, whole");
        assert!(p.row(&cand("ls", "")).is_some());
        assert!(p.row(&cand("ls", "Lists.")).is_none(), "a row is printed once");
        assert_eq!(p.finish(&[cand("ls", "Lists.")]), "1: Lists.\n");
        let mut off = Printer::new(false, None, false);
        assert!(off.row(&cand("ls", "x")).is_none());
        assert_eq!(off.finish(&[cand("ls", "x")]), "");
        let mut not = Printer::new(true, Some("ls".into()), false);
        assert!(not.row(&cand("ls", "x")).is_none());
        assert!(not.row(&cand("ls -1", "x")).is_some());
        assert_eq!(not.finish(&[cand("ls -1", "x")]), "");
    }
}
