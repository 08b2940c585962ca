//! Takes the command and its explanation out of whatever the model wrote:
//! a fenced block, inline backticks, a JSON object, labels or bare lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub command: String,
    pub explanation: String,
}

pub fn parse(text: &str) -> Option<Parsed> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some(p) = from_json(text) {
        return Some(p);
    }
    // With a fence present, the fence is the answer: a blank one is nothing,
    // never a line such as "```sh".
    if text.contains("```") {
        return from_fence(text);
    }
    from_lines(text)
}

/// True once the text so far holds a whole fenced command (the fence
/// opened and closed): the explanation may still be coming.
pub fn command_closed(text: &str) -> bool {
    text.find("```").is_some_and(|open| text[open + 3..].contains("```"))
}

/// True when the model answered in sentences instead of a command, as it
/// does to a greeting: no code block, and the text reads like prose.
pub fn is_prose(text: &str) -> bool {
    let t = text.trim();
    if t.contains("```") || t.trim_start().starts_with('{') {
        return false;
    }
    let first = t.lines().next().unwrap_or("").trim();
    let word = first.split_whitespace().next().unwrap_or("");
    let capital =
        word.chars().next().is_some_and(|c| c.is_uppercase()) && word.chars().skip(1).any(|c| c.is_lowercase());
    let sentence = first.ends_with(['.', '!', '?']) || word.ends_with([',', '!']) || word.contains('\'');
    capital && sentence && first.split_whitespace().count() >= 3
}

fn from_json(text: &str) -> Option<Parsed> {
    let start = text.find('{')?;
    let end = text.rfind('}')?;
    let v: serde_json::Value = serde_json::from_str(text.get(start..=end)?).ok()?;
    let command = v.get("command")?.as_str()?.trim().to_string();
    let explanation = v.get("explanation").and_then(|e| e.as_str()).map(clean_explanation).unwrap_or_default();
    (!command.is_empty()).then_some(Parsed { command, explanation })
}

fn from_fence(text: &str) -> Option<Parsed> {
    let open = text.find("```")?;
    let after_open = &text[open + 3..];
    // The rest of the opening line is a language tag (or nothing).
    let body_start = after_open.find('\n').map(|i| i + 1).unwrap_or(after_open.len());
    let tag = after_open[..body_start].trim();
    let body = &after_open[body_start..];
    let (body, rest) = match body.find("```") {
        Some(close) => (&body[..close], &body[close + 3..]),
        None => (body, ""),
    };
    // "```ls -la```" on one line: the tag is the command.
    let command = if body.trim().is_empty() && !tag.is_empty() && !is_lang_tag(tag) {
        tag.trim_end_matches("```").to_string()
    } else {
        clean_command(body)
    };
    if command.is_empty() {
        return None;
    }
    let explanation = first_sentence_line(rest).or_else(|| first_sentence_line(&text[..open])).unwrap_or_default();
    Some(Parsed { command, explanation })
}

fn is_lang_tag(tag: &str) -> bool {
    matches!(tag, "sh" | "bash" | "zsh" | "fish" | "shell" | "console" | "terminal" | "text")
}

fn from_lines(text: &str) -> Option<Parsed> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next()?;
    let command = clean_command(strip_label(first, &["command:", "cmd:"]));
    if command.is_empty() {
        return None;
    }
    let explanation = lines.next().map(clean_explanation).unwrap_or_default();
    Some(Parsed { command, explanation })
}

fn clean_command(body: &str) -> String {
    let lines: Vec<&str> = body
        .lines()
        .map(|l| l.trim_end())
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.strip_prefix("$ ").unwrap_or(l))
        .collect();
    let joined = lines.join("\n");
    let s = joined.trim();
    let s = s.strip_prefix('`').and_then(|s| s.strip_suffix('`')).unwrap_or(s);
    s.trim().to_string()
}

fn strip_label<'a>(line: &'a str, labels: &[&str]) -> &'a str {
    let lower = line.to_ascii_lowercase();
    for l in labels {
        if lower.starts_with(l) {
            return line[l.len()..].trim();
        }
    }
    line
}

/// An explanation asked for on its own: its first line that is not a
/// code fence or a command of its own.
pub fn explanation(text: &str) -> Option<String> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    if first.starts_with("```") || first.starts_with('$') {
        return None;
    }
    let line = first_sentence_line(first)?;
    // An answer to "what does it do" opens with its subject; a row's
    // explanation, like the worked examples', opens with the verb.
    let verb = ["It ", "This command ", "The command ", "That command "]
        .iter()
        .find_map(|s| line.strip_prefix(s))
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase()));
    Some(match verb {
        Some(rest) => rest[..1].to_ascii_uppercase() + &rest[1..],
        None => line,
    })
}

fn first_sentence_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("```"))
        .map(clean_explanation)
        .filter(|e| !e.is_empty())
}

fn clean_explanation(line: &str) -> String {
    let l = line.trim().trim_start_matches(['-', '*', '#', '>']).trim();
    let l = strip_label(l, &["explanation:", "description:"]);
    l.replace('`', "").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_closed_once_its_fence_is() {
        assert!(!command_closed("```sh\nls -la"));
        assert!(!command_closed("ls -la ``"));
        assert!(command_closed("```sh\nls -la\n```"));
        assert!(command_closed("```sh\nls -la\n```\nLists"));
    }

    fn p(cmd: &str, expl: &str) -> Option<Parsed> {
        Some(Parsed { command: cmd.into(), explanation: expl.into() })
    }

    #[test]
    fn prose_is_told_from_commands() {
        for t in ["Hello! How can I assist you today?", "I'm sorry, I can't help with that.", "Sure, here you go."] {
            assert!(is_prose(t), "{t}");
        }
        for t in
            ["ls -la", "```sh\nls\n```\nLists files.", "Rscript run.R", "echo Hello, world!", "{\"command\": \"ls\"}"]
        {
            assert!(!is_prose(t), "{t}");
        }
    }

    #[test]
    fn an_explanation_asked_for_alone_is_its_first_line_and_never_a_command() {
        assert_eq!(explanation("\n- Lists `ls` output.\nMore."), Some("Lists ls output.".into()));
        assert_eq!(explanation("```sh\nls\n```"), None);
        assert_eq!(explanation("$ ls -l"), None);
        assert_eq!(explanation("  \n"), None);
        assert_eq!(explanation("It shows the disk usage."), Some("Shows the disk usage.".into()));
        assert_eq!(explanation("This command lists files."), Some("Lists files.".into()));
        assert_eq!(explanation("It's a loop."), Some("It's a loop.".into()));
    }

    #[test]
    fn fenced_block_then_sentence() {
        assert_eq!(parse("```sh\nls -la\n```\nLists all files."), p("ls -la", "Lists all files."));
    }

    #[test]
    fn fence_without_language_and_prompt_sign() {
        assert_eq!(parse("```\n$ ls -la\n```\n- Lists files"), p("ls -la", "Lists files"));
    }

    #[test]
    fn unterminated_fence_from_a_cut_generation() {
        assert_eq!(parse("```bash\nfind . -name '*.rs'"), p("find . -name '*.rs'", ""));
    }

    #[test]
    fn explanation_before_the_fence() {
        assert_eq!(parse("This lists files:\n```bash\nls\n```"), p("ls", "This lists files:"));
    }

    #[test]
    fn one_line_fence() {
        assert_eq!(parse("```ls -la```"), p("ls -la", ""));
    }

    #[test]
    fn json_object_with_stray_text() {
        let t = "Sure! {\"command\": \"echo \\\"hi\\\"\", \"explanation\": \"Prints hi.\"} done";
        assert_eq!(parse(t), p("echo \"hi\"", "Prints hi."));
    }

    #[test]
    fn labelled_lines() {
        assert_eq!(
            parse("Command: `df -h`\nExplanation: Shows free disk space."),
            p("df -h", "Shows free disk space.")
        );
    }

    #[test]
    fn multi_line_command_is_kept_whole() {
        let t = "```sh\nfor f in *.txt; do\n  wc -l \"$f\"\ndone\n```\nCounts lines.";
        assert_eq!(parse(t).unwrap().command, "for f in *.txt; do\n  wc -l \"$f\"\ndone");
    }

    #[test]
    fn quotes_survive() {
        assert_eq!(parse("```sh\ngrep -r \"it's\" .\n```").unwrap().command, "grep -r \"it's\" .");
    }

    #[test]
    fn empty_and_blank_fences_are_nothing() {
        assert_eq!(parse(""), None);
        assert_eq!(parse("   \n "), None);
        assert_eq!(parse("```sh\n\n```"), None);
    }
}
