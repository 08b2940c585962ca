//! `cmdbar explain`: describes an existing command piece by piece. The
//! shell parser checks and splits the command; the model says what each
//! piece does; the safety classifier rates the whole.
use cmdbar_engine::{Backend, Message, ModelInfo, Request};
use cmdbar_safety::Risk;
use serde::{Deserialize, Serialize};

use crate::{context::Context, SuggestError};

/// Longest command explained; a cut command would mean something else.
pub const MAX_COMMAND_CHARS: usize = 1000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Piece {
    pub part: String,
    pub meaning: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub command: String,
    pub pieces: Vec<Piece>,
    pub summary: String,
    pub risk: Risk,
    pub risk_reason: String,
    /// A safer form of the command, for high and critical ones.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub safer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portability: Option<String>,
}

const EXAMPLE_COMMAND: &str = "du -sh * | sort -h";
const EXAMPLE_ANSWER: &str = "`du -sh *` — shows the total size of each file and folder here, in readable units\n\
`sort -h` — sorts those lines by size, smallest first\n\
Summary: Lists everything in the current folder by size.";

/// Checks the command and builds the request that explains it.
pub fn prepare(ctx: &Context, command: &str, model: &ModelInfo) -> Result<Request, SuggestError> {
    let command = model.control_tokens.strip(command);
    let command = command.trim();
    if command.is_empty() {
        return Err(SuggestError::EmptyCommand);
    }
    let chars = command.chars().count();
    if chars > MAX_COMMAND_CHARS || command.len() + 512 > model.context_length {
        return Err(SuggestError::CommandTooLong { chars, max: MAX_COMMAND_CHARS });
    }
    cmdbar_safety::parts(command).map_err(SuggestError::BadCommand)?;
    let system = format!(
        "You explain shell commands for {} in the {} shell. Write one line per piece of the command, \
         as `piece` — what it does. End with a line that starts with Summary: and says what the whole command does.",
        ctx.os.describe(),
        ctx.shell.name()
    );
    Ok(Request {
        max_tokens: 256,
        stop: vec!["\n\n\n".into()],
        ..Request::chat(vec![
            Message::new("system", system),
            Message::new("user", EXAMPLE_COMMAND),
            Message::new("assistant", EXAMPLE_ANSWER),
            Message::new("user", command),
        ])
    })
}

pub fn explain(
    engine: &dyn Backend,
    ctx: &Context,
    command: &str,
    model: &ModelInfo,
) -> Result<Explanation, SuggestError> {
    let request = prepare(ctx, command, model)?;
    let mut text = String::new();
    crate::run(engine, request, &crate::Stop::default(), |_, t, _| text = t.to_string())?;
    Ok(assemble(ctx, command.trim(), &text))
}

/// Joins the model's lines to the parsed command. Lines about pieces that
/// are not in the command are dropped; if none are left, the parser's
/// split stands alone, so the user never sees a mangled answer.
pub fn assemble(ctx: &Context, command: &str, text: &str) -> Explanation {
    let flat = normalise(command);
    let mut pieces = vec![];
    let mut summary = String::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("```")) {
        if let Some(s) = line.strip_prefix("Summary:").or_else(|| line.strip_prefix("summary:")) {
            summary = s.trim().to_string();
        } else if let Some((part, meaning)) = split_line(line) {
            if !part.is_empty() && flat.contains(&normalise(&part)) && !meaning.is_empty() {
                pieces.push(Piece { part, meaning });
            }
        }
    }
    if pieces.is_empty() {
        pieces = cmdbar_safety::parts(command)
            .unwrap_or_default()
            .into_iter()
            .map(|p| Piece { part: p.raw.join(" "), meaning: String::new() })
            .collect();
    }
    let a = crate::Judge::new(ctx.os, ctx.shell, None).assess(command);
    Explanation {
        command: command.to_string(),
        pieces,
        summary,
        risk: a.risk,
        risk_reason: a.reason,
        safer: a.safer,
        portability: crate::portability::problem(ctx.os, command),
    }
}

/// "`part` — meaning", "part - meaning" or "part: meaning".
fn split_line(line: &str) -> Option<(String, String)> {
    let line = line.trim_start_matches(['-', '*', '•']).trim();
    if let Some(rest) = line.strip_prefix('`') {
        let (part, after) = rest.split_once('`')?;
        let meaning = after.trim().trim_start_matches(['—', '–', '-', ':']).trim();
        return Some((part.trim().to_string(), meaning.to_string()));
    }
    let (part, meaning) = [" — ", " – ", " - ", ": "].iter().find_map(|sep| line.split_once(sep))?;
    Some((part.trim().to_string(), meaning.trim().to_string()))
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{Os, Shell};

    fn ctx() -> Context {
        Context { os: Os::MacOs, shell: Shell::Zsh, cwd: None }
    }

    #[test]
    fn lines_become_pieces_and_summary() {
        let e = assemble(
            &ctx(),
            "ls -la | grep foo",
            "`ls -la` — lists all files\n- grep foo: keeps lines with foo\nSummary: Finds foo.",
        );
        assert_eq!(
            e.pieces,
            vec![
                Piece { part: "ls -la".into(), meaning: "lists all files".into() },
                Piece { part: "grep foo".into(), meaning: "keeps lines with foo".into() },
            ]
        );
        assert_eq!(e.summary, "Finds foo.");
        assert_eq!(e.risk, Risk::Safe);
    }

    #[test]
    fn pieces_not_in_the_command_are_dropped_and_the_split_stands_in() {
        let e = assemble(&ctx(), "rm -rf build && make", "`cargo clean` — cleans\nsome chatter");
        assert_eq!(e.pieces.iter().map(|p| p.part.as_str()).collect::<Vec<_>>(), ["rm -rf build", "make"]);
        assert!(e.pieces.iter().all(|p| p.meaning.is_empty()));
        assert_eq!(e.risk, Risk::High);
    }

    #[test]
    fn gnu_flags_are_noted_on_macos() {
        assert!(assemble(&ctx(), "du --max-depth=1", "").portability.is_some());
    }
}
