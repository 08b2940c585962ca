//! Rates how risky a shell command is, with a reason a user can read and,
//! for high and critical commands, a safer command to consider.
//!
//! Default-deny: a command is "safe" only when every simple command in its
//! syntax tree is a known read-only utility used with flags known to be
//! read-only. Anything else is at least "moderate", and the reason names
//! what is not known. The command is parsed with tree-sitter (bash, or fish
//! for fish; zsh through the bash grammar with zsh's own forms handled), and
//! judged through pipes, lists, compound commands, substitutions,
//! redirections, wrappers and code in strings. Where the parser cannot read
//! it, the words are scanned too, so a parse failure never lowers a rating.
//! Nothing is ever executed.
use serde::{Deserialize, Serialize};

mod interp;
mod judge;
pub mod names;
mod request;
mod rules;
mod scan;
mod syntax;
mod tools;
mod verdict;
mod words;
mod wrappers;

pub use request::request_risk;

use verdict::{Input, Judge, Verdict};

/// Longer commands are not parsed; their words are still scanned.
pub const MAX_COMMAND_BYTES: usize = 16 * 1024;

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Safe,
    Moderate,
    High,
    Critical,
}

impl Risk {
    /// Its name in JSON: "safe", "moderate", "high", "critical".
    pub fn as_str(self) -> &'static str {
        names::name(&self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub risk: Risk,
    /// What the command does that earns the rating, as a phrase that follows
    /// "this command": "deletes your home folder and everything in it".
    pub reason: String,
    /// For high and critical commands, where there is a clear one: a safer
    /// command to run first or instead (a preview, a dry run, a prompt).
    /// Shown beside the command; it never replaces it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub safer: Option<String>,
}

/// The shell whose syntax the command is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    #[default]
    Bash,
    Zsh,
    Fish,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        names::name(&self)
    }
}

/// How cautious the user wants to be: what is shown, what needs a second,
/// explicit confirm before it is copied, and what is hidden.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Strict,
    #[default]
    Moderate,
    Permissive,
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Show,
    Confirm,
    Hide,
}

impl Level {
    /// Critical never goes without a confirm, whatever the level.
    pub fn action(self, risk: Risk) -> Action {
        match (self, risk) {
            (_, Risk::Safe) => Action::Show,
            (Level::Strict, Risk::Moderate) => Action::Confirm,
            (Level::Strict, _) => Action::Hide,
            (Level::Moderate, Risk::Moderate) => Action::Show,
            (Level::Moderate, _) => Action::Confirm,
            (Level::Permissive, Risk::Critical) => Action::Confirm,
            (Level::Permissive, _) => Action::Show,
        }
    }

    /// Its name in the settings file and on the command line.
    pub fn as_str(self) -> &'static str {
        names::name(&self)
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        names::parse(s, "safety level")
    }
}

/// One simple command of a command line, as the shell would split it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The words as written, quotes kept.
    pub raw: Vec<String>,
    /// The words with quotes removed.
    pub words: Vec<String>,
    /// Redirections: operator and target.
    pub redirects: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot parse the command: {0}")]
pub struct ParseError(String);

/// Splits a bash command line into its simple commands, in order, across
/// pipes, lists and compound commands (not into substitutions).
pub fn parts(command: &str) -> Result<Vec<Part>, ParseError> {
    if command.len() > MAX_COMMAND_BYTES {
        return Err(ParseError("the command is too long".into()));
    }
    let script = match syntax::parse(&clean(command), Dialect::Bash) {
        Ok(s) => s,
        Err(syntax::Refused::TooDeep) => return Err(ParseError("it nests too deeply".into())),
        Err(syntax::Refused::TimedOut) => return Err(ParseError("it took too long to parse".into())),
    };
    if script.errors || script.too_deep {
        return Err(ParseError("the shell syntax is incomplete or wrong (unbalanced quotes?)".into()));
    }
    let mut out = vec![];
    for n in &script.nodes {
        collect_parts(n, &mut out);
    }
    Ok(out)
}

fn collect_parts(n: &syntax::Node, out: &mut Vec<Part>) {
    use syntax::Node;
    match n {
        Node::Cmd(c) => {
            let unquoted = |w: &syntax::Word| w.pieces.iter().map(syntax::piece_text).collect::<String>();
            let raw: Vec<String> = c.words.iter().map(|w| w.raw.clone()).collect();
            let words: Vec<String> = c.words.iter().map(unquoted).collect();
            let redirects = c.redirects.iter().map(|r| (r.op.clone(), unquoted(&r.target))).collect();
            if !words.is_empty() || !c.redirects.is_empty() {
                out.push(Part { raw, words, redirects });
            }
        }
        Node::Pipe(v) | Node::Seq(v) => v.iter().for_each(|n| collect_parts(n, out)),
        Node::Group { body, .. } | Node::Func { body, .. } => body.iter().for_each(|n| collect_parts(n, out)),
        Node::Bg(b) => collect_parts(b, out),
    }
}

/// Rates a bash command.
pub fn classify(command: &str) -> Assessment {
    classify_in(command, Dialect::Bash)
}

/// Rates a command written for `shell`.
pub fn classify_in(command: &str, shell: Dialect) -> Assessment {
    let mut j = Judge::new(shell);
    let v = judge_text(&mut j, command, &Input::default());
    let safer = match (&v.safer, v.risk >= Risk::High) {
        (Some((from, to)), true) => {
            let from = from.trim();
            // An empty `from` stands for the whole command.
            Some(if !from.is_empty() && command.matches(from).count() == 1 {
                command.replacen(from, to, 1)
            } else {
                to.clone()
            })
        }
        _ => None,
    };
    Assessment { risk: v.risk, reason: v.reason, safer }
}

/// Control characters other than newline and tab are judged as the spaces
/// a terminal shows.
fn clean(text: &str) -> std::borrow::Cow<'_, str> {
    let odd = |c: char| c.is_control() && c != '\n' && c != '\t';
    if text.contains(odd) {
        text.replace(odd, " ").into()
    } else {
        text.into()
    }
}

/// Parses and judges shell text; used for the command and, nested, for
/// code in strings.
pub(crate) fn judge_text(j: &mut Judge, text: &str, stdin: &Input) -> Verdict {
    let text = clean(text);
    let shell = j.dialect.name();
    if text.len() > MAX_COMMAND_BYTES {
        let v = scan::scan(j, &text);
        return v.at_least(Risk::Moderate, format!("is too long to judge (over {} KiB)", MAX_COMMAND_BYTES / 1024));
    }
    let (src, extra) = if j.dialect == Dialect::Zsh { scan::zsh_prepare(&text) } else { (text.to_string(), vec![]) };
    let mut v = Verdict::safe();
    for code in extra {
        v = v.or(j
            .code(&code, Dialect::Zsh, &Input::default())
            .at_least(Risk::Moderate, "runs code from a zsh glob qualifier"));
    }
    match syntax::parse(&src, j.dialect) {
        Ok(script) => {
            v = v.or(j.script(&script, stdin));
            if script.errors || script.too_deep {
                let why = if script.too_deep {
                    "nests too deeply to judge".to_string()
                } else {
                    format!("cannot be read fully as {shell} syntax (unbalanced quotes or brackets?)")
                };
                v = v.or(scan::scan(j, &text)).at_least(Risk::Moderate, why);
            }
        }
        Err(e) => {
            let why = match e {
                syntax::Refused::TooDeep => "nests too deeply to judge",
                syntax::Refused::TimedOut => "took too long to parse",
            };
            v = v.or(scan::scan(j, &text)).at_least(Risk::Moderate, why);
        }
    }
    v
}

#[cfg(test)]
mod tests;
