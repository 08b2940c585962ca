//! The prompt: a short system message and a few worked examples for the
//! user's OS. They stay the same for every query (a cacheable prefix); only
//! the final user turn changes.
use cmdbar_engine::Message;

use crate::context::{Context, Os};

struct Example {
    request: &'static str,
    command: &'static str,
    explanation: &'static str,
}

const LINUX: &[Example] = &[
    Example {
        request: "show the size of each folder here",
        command: "du -h --max-depth=1 .",
        explanation: "Shows the disk usage of each folder in the current directory.",
    },
    Example {
        request: "find log files under /var changed in the last day",
        command: "find /var -name '*.log' -mtime -1",
        explanation: "Lists .log files below /var modified within the last 24 hours.",
    },
];

const MACOS: &[Example] = &[
    Example {
        request: "show the size of each folder here",
        command: "du -h -d 1 .",
        explanation: "Shows the disk usage of each folder in the current directory.",
    },
    Example {
        request: "replace foo with bar in notes.txt",
        command: "sed -i '' 's/foo/bar/g' notes.txt",
        explanation: "Edits notes.txt in place, replacing every foo with bar.",
    },
];

pub fn system_prompt(ctx: &Context) -> String {
    let mut s = format!(
        "You write one shell command for {} in the {} shell. \
         Answer with the command in a code block, then one short sentence explaining it. \
         Use tools that ship with the system.",
        ctx.os.describe(),
        ctx.shell.name()
    );
    if let Some(cwd) = &ctx.cwd {
        s.push_str(&format!(" The current directory is {}.", cwd.display()));
    }
    s
}

pub fn format_answer(command: &str, explanation: &str) -> String {
    format!("```sh\n{command}\n```\n{explanation}")
}

/// The system message and the worked examples: the same for every request
/// in this context, so the engine can compute them once.
pub fn prefix(ctx: &Context) -> Vec<Message> {
    let examples = match ctx.os {
        Os::Linux => LINUX,
        Os::MacOs => MACOS,
    };
    let mut m = vec![Message::new("system", system_prompt(ctx))];
    for ex in examples {
        m.push(Message::new("user", ex.request));
        m.push(Message::new("assistant", format_answer(ex.command, ex.explanation)));
    }
    m
}

pub fn messages(ctx: &Context, query: &str) -> Vec<Message> {
    messages_with(ctx, query, &[])
}

/// With examples retrieved for this request in its turn: after the
/// cached prefix, so the prefix stays the same for every request.
pub fn messages_with(ctx: &Context, query: &str, examples: &[cmdbar_tldr::Example]) -> Vec<Message> {
    let mut m = prefix(ctx);
    m.push(Message::new("user", user_turn(query, examples)));
    m
}

/// The request alone, or the request after examples marked as reference
/// that may not fit.
pub fn user_turn(query: &str, examples: &[cmdbar_tldr::Example]) -> String {
    if examples.is_empty() {
        return query.to_string();
    }
    let mut s = String::from(
        "Examples from the tldr pages (placeholders in them are to be replaced; ignore the ones that don't fit):\n",
    );
    for e in examples {
        s.push_str(&format!("- {}: `{}`\n", e.description, e.command));
    }
    s.push_str(&format!("\nRequest: {query}"));
    s
}

/// The request answered with `command` alone, and the question that asks
/// the model for the sentence it left out.
pub fn ask_to_explain(request: &[Message], command: &str) -> Vec<Message> {
    let mut m = request.to_vec();
    m.push(Message::new("assistant", format!("```sh\n{command}\n```")));
    m.push(Message::new("user", "In one short sentence, what does that command do?"));
    m
}

/// The user turn again, asking for commands other than those given.
pub fn ask_for_others(query: &str, given: &[String]) -> String {
    let list: Vec<String> = given.iter().map(|c| format!("`{c}`")).collect();
    format!("{query}\n(Give a different command than {}.)", list.join(" or "))
}

/// The user turn again, saying which commands will not run on `os` and why,
/// and asking for one that will.
pub fn ask_for_working(query: &str, os: Os, broken: &[(String, String)]) -> String {
    let list: Vec<String> = broken.iter().map(|(c, why)| format!("`{c}` ({why})")).collect();
    let os = match os {
        Os::MacOs => "macOS",
        Os::Linux => "Linux",
    };
    format!("{query}\n(These will not work on this {os}: {}. Give a command that will.)", list.join("; "))
}
