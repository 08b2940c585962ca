//! What the walker and the per-tool rules share: a verdict, what flows
//! into a command, where it stands, and the walker's state. The walker's
//! methods are in judge.rs; the rules call them on the `Judge` they get.
use crate::words::{Base, Env};
use crate::{Dialect, Risk};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub risk: Risk,
    pub reason: String,
    /// A safer command for this part: (the part as written, its replacement).
    pub safer: Option<(String, String)>,
}

impl Verdict {
    pub(crate) fn safe() -> Self {
        Verdict { risk: Risk::Safe, reason: "reads only; changes nothing".into(), safer: None }
    }
    pub(crate) fn new(risk: Risk, reason: impl Into<String>) -> Self {
        Verdict { risk, reason: reason.into(), safer: None }
    }
    /// A safer replacement for the simple command being judged, as written.
    pub(crate) fn safer(mut self, ctx: &Ctx, to: Option<String>) -> Self {
        if let Some(to) = to.filter(|t| *t != ctx.raw && !ctx.raw.is_empty()) {
            self.safer = Some((ctx.raw.clone(), to));
        }
        self
    }
    /// The higher of two; on a tie the first stands.
    pub(crate) fn or(self, other: Verdict) -> Verdict {
        if other.risk > self.risk {
            other
        } else {
            self
        }
    }
    pub(crate) fn at_least(self, risk: Risk, reason: impl Into<String>) -> Verdict {
        if self.risk < risk {
            Verdict::new(risk, reason)
        } else {
            self
        }
    }
}

/// What flows into a command's standard input.
#[derive(Debug, Clone, Default)]
pub(crate) struct Input {
    /// A download comes in (`curl … |`, `<<< "$(curl …)"`).
    pub download: bool,
    /// Decoded, hidden text comes in (`base64 -d |`).
    pub decoded: bool,
    /// The text, where it is known (`echo …|`, a here-document).
    pub text: Option<String>,
    /// Something comes in at all (a pipe or a redirection).
    pub some: bool,
    /// Where the download comes from.
    pub url: Option<String>,
}

/// Where a simple command is, for the rules that need it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ctx {
    pub stdin: Input,
    /// The simple command as written, for the safer alternative.
    pub raw: String,
    /// The wrapper words before the command (`sudo -u x`), kept in a safer
    /// alternative.
    pub prefix: Vec<String>,
    pub wrappers: usize,
}

pub(crate) struct Judge {
    pub dialect: Dialect,
    pub depth: usize,
    pub env: Env,
    pub cwd: Option<(Base, Vec<String>)>,
    /// Files an earlier command downloaded (`curl -o x.sh`).
    pub downloaded: Vec<String>,
    pub funcs: Vec<String>,
    pub budget: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Write {
    Append,
    Overwrite,
    Copy,
}

/// Assignments that change what later commands do.
pub(crate) fn special(name: &str, value: &str) -> Verdict {
    match name {
        "PATH" if !value.contains("$PATH") && !value.contains("${PATH}") => {
            Verdict::new(Risk::Moderate, "replaces PATH, changing which programs every later command runs")
        }
        "PATH" => Verdict::safe(),
        "LD_PRELOAD" | "LD_LIBRARY_PATH" | "DYLD_INSERT_LIBRARIES" | "DYLD_LIBRARY_PATH" => {
            Verdict::new(Risk::Moderate, format!("sets {name}, which loads other code into every program it runs"))
        }
        "PROMPT_COMMAND" | "BASH_ENV" | "ENV" | "ZDOTDIR" | "PS1" | "PS0" | "PS4"
            if value.contains(['$', '`']) || name != "PS1" =>
        {
            Verdict::new(Risk::Moderate, format!("sets {name}, which runs code as the shell works"))
        }
        "HISTFILE" | "HISTSIZE" | "HISTFILESIZE" if value.is_empty() || value == "0" || value == "/dev/null" => {
            Verdict::new(Risk::Moderate, "turns off your shell history")
        }
        _ => Verdict::safe(),
    }
}
